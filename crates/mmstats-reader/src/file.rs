//! One open stats file: validation on open, cached metadata, consistent snapshots.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::mem;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::time::SystemTime;

use mmstats_format::layout::{self, HEADER_LEN, RECORD_LEN, header as h};
use mmstats_format::{
    ByteOrder, Detected, FieldMeta, FormatError, Header, TableView, V1Error, Value, ValueType,
    slot_words,
};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::clock::time_from_ns;
use crate::error::{ErrorKind, ReadError, ValueError};
use crate::region::Region;
use crate::seqlock::{Failure, SeqLock, SparseCopy};
use crate::snapshot::{FieldValue, Snapshot};
use crate::writer::{FileInfo, FormatVersion};
use crate::{hsperf, v1};

/// One open stats file, with its parsed metadata cached until the generation changes.
///
/// Version-2 files are mapped read-only and read word by word with atomic loads; the field
/// table is parsed once and re-parsed only when the file's `generation` changes (FORMAT.md §7),
/// so taking a snapshot costs one load per scalar value and one short retry loop per multi-word
/// value. Version-1 files are small and are re-read with a plain `pread` on each snapshot.
#[derive(Debug)]
pub struct StatsFile {
    path: PathBuf,
    /// Opened with `O_NOFOLLOW`: the path itself, not what it points to, must stay the same.
    nofollow: bool,
    file: File,
    info: Arc<FileInfo>,
    fields: Vec<Arc<FieldMeta>>,
    source: Source,
    /// The values of the last snapshot, shared with it: handed out again, as the same slice,
    /// while nothing in the file changed.
    last: Option<Arc<[FieldValue]>>,
    /// Whether the path was a symlink (or not plainly this file) when it was opened: a path
    /// that turns into a symlink later names a new file ([`StatsFile::is_replaced`]).
    linked: bool,
}

#[derive(Debug)]
enum Source {
    /// A version-1 file and the values read with its metadata.
    V1 { values: Vec<Value> },
    /// A mapped version-2 file.
    V2(Mapped),
    /// A mapped HotSpot JVM performance data file.
    Hsperf(hsperf::Mapped),
}

#[derive(Debug)]
struct Mapped {
    region: Region,
    order: ByteOrder,
    /// The `generation` word as loaded (file order), for a cheap comparison.
    generation_raw: u64,
    /// The `state` word as loaded (file order).
    state_raw: u64,
    /// Per field, how its value is read (its offset is in `watch`).
    slots: Vec<Slot>,
    /// Per field, the byte offset of its slot, which is also that of the one word that tells
    /// whether its value changed: the value itself for a scalar, the sequence word of a
    /// multi-word value (FORMAT.md §4.2).
    watch: Vec<u32>,
    /// Each of those words as loaded when the value in [`StatsFile::last`] was read: while the
    /// word is the same, so is the value, and it is neither copied out nor decoded again.
    seen: Vec<u64>,
    /// No field is stale: the last values may be handed out whole.
    fresh: bool,
}

/// How one field's value is read, and whether the remembered one stands for it: 8 bytes, kept
/// for every field of every open file.
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Words in the slot.
    words: u32,
    /// A multi-word value (or text), read under its sequence word.
    multi: bool,
    /// The remembered value does not stand for the file's, whatever its word says: never
    /// read (new metadata), or its read failed.
    stale: bool,
}

/// Largest version-1 file we read (the original writer's files are a few pages).
const V1_MAX_LEN: u64 = layout::limits::V1_FILE_LENGTH_MAX;

impl StatsFile {
    /// Opens and validates a file of either format, following symlinks.
    pub fn open(path: impl AsRef<Path>) -> Result<StatsFile, ReadError> {
        StatsFile::open_with(path.as_ref(), false)
    }

    /// Like [`StatsFile::open`] but refuses a symlink at the path's last component
    /// (`O_NOFOLLOW`), for tools that delete files.
    pub fn open_nofollow(path: impl AsRef<Path>) -> Result<StatsFile, ReadError> {
        StatsFile::open_with(path.as_ref(), true)
    }

    fn open_with(path: &Path, nofollow: bool) -> Result<StatsFile, ReadError> {
        // O_NONBLOCK so that a fifo planted under a stats name cannot hang us; it has no effect
        // on the regular files we accept. std adds O_CLOEXEC.
        let mut flags = libc::O_NONBLOCK;
        if nofollow {
            flags |= libc::O_NOFOLLOW;
        }
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(flags)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                // Without O_NOFOLLOW, ELOOP is a loop of symlinks, not a symlink refused.
                Some(libc::ELOOP) if !nofollow => ReadError::new(path, ErrorKind::Io(e)),
                _ => ReadError::io(path, e),
            })?;
        let md = file.metadata().map_err(|e| ReadError::io(path, e))?;
        if !md.file_type().is_file() {
            return Err(ReadError::new(path, ErrorKind::NotRegular));
        }
        let size = md.len();
        let dev_ino = (md.dev(), md.ino());
        // What the name itself is, now that the file is open: anything but this very file,
        // not through a symlink, counts as linked.
        let linked = std::fs::symlink_metadata(path)
            .map_or(true, |l| l.is_symlink() || (l.dev(), l.ino()) != dev_ino);
        let mut first = [0u8; 8];
        let n = read_prefix(&file, &mut first).map_err(|e| ReadError::io(path, e))?;
        let detected =
            mmstats_format::detect(&first[..n]).map_err(|e| ReadError::format(path, e))?;
        Ok(match detected {
            Detected::V1 => {
                let bytes = read_v1(&file, size).map_err(|k| ReadError::new(path, k))?;
                let (info, fields, values) =
                    v1::decode(&bytes, dev_ino).map_err(|e| ReadError::format(path, e))?;
                StatsFile {
                    path: path.to_path_buf(),
                    nofollow,
                    file,
                    info: Arc::new(info),
                    fields: fields.into_iter().map(Arc::new).collect(),
                    source: Source::V1 { values },
                    last: None,
                    linked,
                }
            }
            Detected::Hsperf => {
                let (mapped, info, fields) = hsperf::Mapped::open(path, &file, size, dev_ino)?;
                StatsFile {
                    path: path.to_path_buf(),
                    nofollow,
                    file,
                    info: Arc::new(info),
                    fields: fields.into_iter().map(Arc::new).collect(),
                    source: Source::Hsperf(mapped),
                    last: None,
                    linked,
                }
            }
            Detected::V2 => {
                if size < HEADER_LEN as u64 || size % layout::WORD as u64 != 0 {
                    // Not mappable as words; let the header decoder say what is wrong.
                    let mut head = vec![0u8; HEADER_LEN.min(size as usize)];
                    let n = read_prefix(&file, &mut head).map_err(|e| ReadError::io(path, e))?;
                    let err = match Header::decode(&head[..n], size) {
                        Err(e) => e,
                        Ok(_) => FormatError::BadHeader {
                            field: "file_length",
                            value: size,
                        },
                    };
                    return Err(ReadError::format(path, err));
                }
                let region = Region::map(&file, size).map_err(|e| ReadError::io(path, e))?;
                let mut this = StatsFile {
                    path: path.to_path_buf(),
                    nofollow,
                    file,
                    info: Arc::new(FileInfo::new(FormatVersion::V2, dev_ino)),
                    fields: Vec::new(),
                    source: Source::V2(Mapped {
                        region,
                        order: ByteOrder::NATIVE,
                        generation_raw: 0,
                        state_raw: 0,
                        slots: Vec::new(),
                        watch: Vec::new(),
                        seen: Vec::new(),
                        fresh: false,
                    }),
                    last: None,
                    linked,
                };
                this.parse_v2()?;
                this
            }
        })
    }

    /// The path it was opened as.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Identity and state of its writer.
    pub fn info(&self) -> &FileInfo {
        &self.info
    }

    /// Makes each field's metadata the equal one kept in `table`, where there is one, and
    /// keeps the others there: the files of one program describe the same fields, and share
    /// one copy of their metadata instead of holding one each.
    pub(crate) fn share_fields(&mut self, table: &mut SharedFields) {
        for meta in &mut self.fields {
            *meta = table.share(meta);
        }
    }

    /// Field metadata as of the last refresh.
    pub fn fields(&self) -> &[Arc<FieldMeta>] {
        &self.fields
    }

    /// Re-reads the metadata if the generation changed; `true` if it did.
    ///
    /// Also checks that the file still has the size it had when opened and has not been
    /// removed ([`ErrorKind::Vanished`]); see the notes on truncation in the crate's `region`
    /// module. For a version-1 file, re-reads the whole file.
    pub fn refresh(&mut self) -> Result<bool, ReadError> {
        self.refresh_with(Check::Live)
    }

    fn refresh_with(&mut self, check: Check) -> Result<bool, ReadError> {
        let md = match (&self.source, check) {
            (Source::V2(_), Check::Listed) => None,
            _ => Some(
                self.file
                    .metadata()
                    .map_err(|e| ReadError::io(&self.path, e))?,
            ),
        };
        if check == Check::Live && md.as_ref().is_some_and(|md| md.nlink() == 0) {
            return Err(ReadError::new(&self.path, ErrorKind::Vanished));
        }
        let size = md.as_ref().map(|md| md.len());
        match &mut self.source {
            Source::V1 { .. } => self.reload_v1(size.unwrap_or(0)),
            Source::V2(m) => {
                if m.region.faulted() {
                    return Err(ReadError::new(&self.path, ErrorKind::Shrunk));
                }
                if let Some(size) = size
                    && size != m.region.len() as u64
                {
                    return Err(ReadError::format(
                        &self.path,
                        FormatError::SizeMismatch {
                            header: m.region.len() as u64,
                            actual: size,
                        },
                    ));
                }
                let generation = m.region.load(h::GENERATION);
                fence(Ordering::Acquire);
                if generation == Some(m.generation_raw) {
                    return Ok(false);
                }
                self.parse_v2()?;
                Ok(true)
            }
            Source::Hsperf(m) => {
                let size = size.unwrap_or(0);
                if size != m.size() {
                    return Err(ReadError::format(
                        &self.path,
                        FormatError::SizeMismatch {
                            header: m.size(),
                            actual: size,
                        },
                    ));
                }
                match m.refresh().map_err(|e| ReadError::format(&self.path, e))? {
                    Some(metas) => {
                        self.fields = metas
                            .into_iter()
                            .enumerate()
                            .map(|(i, meta)| match self.fields.get(i) {
                                Some(old) if **old == meta => Arc::clone(old),
                                _ => Arc::new(meta),
                            })
                            .collect();
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
        }
    }

    /// Refreshes, then reads every value consistently.
    ///
    /// A value that cannot be read (a multi-word value whose writer is mid-update or died
    /// there, or a corrupt slot) is an `Err` for that field alone. While no value changed, the
    /// snapshot shares its values with the previous one ([`Snapshot::same_values`]).
    pub fn snapshot(&mut self) -> Result<Snapshot, ReadError> {
        self.snapshot_at(SystemTime::now(), Check::Live, &mut Scratch::default())
    }

    /// A last snapshot of a file whose name is gone (its writer removed it on exit): the values
    /// it held when it was unlinked, still readable through the open file. With it a reader
    /// counts what a process did between its previous sample and its exit.
    pub fn final_snapshot(&mut self) -> Result<Snapshot, ReadError> {
        self.snapshot_at(SystemTime::now(), Check::Unlinked, &mut Scratch::default())
    }

    /// Refreshes as `check` says, then reads every value, copying changed ones through
    /// `scratch`; the snapshot says it was taken at `taken`.
    pub(crate) fn snapshot_at(
        &mut self,
        taken: SystemTime,
        check: Check,
        scratch: &mut Scratch,
    ) -> Result<Snapshot, ReadError> {
        self.refresh_with(check)?;
        let fields = self.read_values(scratch)?;
        Ok(Snapshot {
            path: self.path.clone(),
            info: Arc::clone(&self.info),
            taken,
            listed: None,
            appeared: None,
            fold_seq: self.fold_seq(),
            fields,
            settled: true,
            liveness: None,
        })
    }

    /// Every value: the slice of the last snapshot again while nothing changed, else a new
    /// one, which becomes the last.
    fn read_values(&mut self, scratch: &mut Scratch) -> Result<Arc<[FieldValue]>, ReadError> {
        let (fields, state) = match &mut self.source {
            Source::V1 { values } => {
                let fresh = self
                    .fields
                    .iter()
                    .zip(values.iter())
                    .map(|(meta, v)| FieldValue {
                        meta: Arc::clone(meta),
                        value: Ok(v.clone()),
                    })
                    .collect();
                (shared(&mut self.last, fresh), None)
            }
            Source::Hsperf(m) => (shared(&mut self.last, m.read(&self.fields)), None),
            Source::V2(m) => {
                let state = m.region.load(h::STATE).unwrap_or(m.state_raw);
                let (file, path, dev_ino) = (&self.file, &self.path, self.info.dev_ino);
                let mut held = None;
                let fields = m.read_values(&self.fields, &mut self.last, scratch, &mut || {
                    *held.get_or_insert_with(|| lock_held(file, path, dev_ino))
                });
                if m.region.faulted() {
                    // A load hit a page the file no longer has: what we read is zeros, not
                    // values. The remembered copies may be too; the mapping stays refused.
                    self.last = None;
                    return Err(ReadError::new(&self.path, ErrorKind::Shrunk));
                }
                let changed = (state != m.state_raw).then_some((state, m.order));
                if changed.is_some() {
                    m.state_raw = state;
                }
                (fields, changed)
            }
        };
        if let Some((state, order)) = state {
            let info = self.info_mut();
            let bits = order.word(state);
            info.closed = bits & layout::state::CLOSED != 0;
            info.process_totals = bits & layout::state::PROCESS != 0;
            info.folded = bits & layout::state::FOLDED != 0;
        }
        Ok(fields)
    }

    /// Asks the CPU to fetch the words a snapshot looks at first (each field's watched word:
    /// a scalar's value, a multi-word value's sequence word) of a mapped file, so that a scan
    /// about to read this file after another waits for them while it reads the other.
    pub(crate) fn prefetch_watched(&self) {
        let Source::V2(m) = &self.source else {
            return;
        };
        m.region.prefetch(h::GENERATION);
        m.region.prefetch(h::STATE);
        let mut line = usize::MAX;
        for off in &m.watch {
            let at = *off as usize / 64;
            if at != line {
                m.region.prefetch(*off as usize);
                line = at;
            }
        }
    }

    /// The `fold_seq` word of a process file (FORMAT.md §6.4), loaded with acquire ordering;
    /// `None` for other files.
    pub fn fold_seq(&self) -> Option<u64> {
        let Source::V2(m) = &self.source else {
            return None;
        };
        if !self.info.process_totals {
            return None;
        }
        let raw = m.region.load(h::FOLD_SEQ)?;
        fence(Ordering::Acquire);
        Some(m.order.word(raw))
    }

    /// True if the path now names a different file, or nothing, or is a symlink where it was
    /// not one when the file was opened. For a file opened with [`StatsFile::open_nofollow`],
    /// any symlink now at the path counts as a different file.
    pub fn is_replaced(&self) -> bool {
        let Ok(md) = std::fs::symlink_metadata(&self.path) else {
            return true;
        };
        if !md.is_symlink() {
            return (md.dev(), md.ino()) != self.info.dev_ino;
        }
        if self.nofollow || !self.linked {
            return true;
        }
        std::fs::metadata(&self.path).map_or(true, |md| (md.dev(), md.ino()) != self.info.dev_ino)
    }

    /// True if some process holds the file's `flock` (its writer is alive).
    ///
    /// Asks with a non-blocking shared lock on a separate open of the same file (through
    /// `/proc/self/fd`, or the path if it still names this file), released at once, so the
    /// lock state of our own descriptor never changes and other readers asking the same
    /// question do not count as writers. Only if the file cannot be opened again (its mode
    /// changed since we opened it) does it ask on a duplicate of our own descriptor, which
    /// never holds a lock of its own.
    pub fn lock_held(&self) -> bool {
        lock_held(&self.file, &self.path, self.info.dev_ino)
    }

    fn info_mut(&mut self) -> &mut FileInfo {
        Arc::make_mut(&mut self.info)
    }

    /// (Re-)parses a mapped file's header and table, keeping the old cache on error.
    fn parse_v2(&mut self) -> Result<(), ReadError> {
        let Source::V2(m) = &self.source else {
            return Ok(());
        };
        let read = read_metadata(&m.region);
        if m.region.faulted() {
            return Err(ReadError::new(&self.path, ErrorKind::Shrunk));
        }
        let (header, fields) = read.map_err(|e| ReadError::format(&self.path, e))?;
        let order = header.byte_order;
        let mut metas = Vec::with_capacity(fields.len());
        let mut slots = Vec::with_capacity(fields.len());
        let mut offsets = Vec::with_capacity(fields.len());
        let mut kept = Vec::with_capacity(fields.len());
        for (i, f) in fields.into_iter().enumerate() {
            let meta = match self.fields.get(i) {
                Some(old) if **old == f.meta => {
                    kept.push(true);
                    Arc::clone(old)
                }
                _ => {
                    kept.push(false);
                    Arc::new(f.meta)
                }
            };
            slots.push(Slot {
                // `value_length` is a u32, so its words are too.
                words: slot_words(f.value_length) as u32,
                multi: meta.kind.is_multi_word() || meta.value_type == ValueType::Text,
                stale: true,
            });
            offsets.push(f.value_offset);
            metas.push(meta);
        }
        let id = &header.identity;
        let info = FileInfo {
            pid: Some(id.pid),
            tid: Some(id.tid),
            uid: Some(id.uid),
            gid: Some(id.gid),
            start_time: Some(id.start_time),
            boot_id: Some(id.boot_id),
            created: time_from_ns(id.created_ns),
            writer: id.writer.clone(),
            closed: header.live.state & layout::state::CLOSED != 0,
            process_totals: header.live.state & layout::state::PROCESS != 0,
            folded: header.live.state & layout::state::FOLDED != 0,
            ..FileInfo::new(FormatVersion::V2, self.info.dev_ino)
        };
        if *self.info != info {
            self.info = Arc::new(info);
        }
        self.fields = metas;
        if let Source::V2(m) = &mut self.source {
            m.order = order;
            m.generation_raw = order.word(header.live.generation);
            m.state_raw = order.word(header.live.state);
            // Remembered values stand only for fields whose metadata and slot did not change.
            let mut seen = Vec::with_capacity(slots.len());
            for (i, s) in slots.iter_mut().enumerate() {
                let old = m.slots.get(i).filter(|o| {
                    kept[i] && m.watch.get(i) == Some(&offsets[i]) && o.words == s.words
                });
                seen.push(old.map_or(0, |_| m.seen.get(i).copied().unwrap_or(0)));
                s.stale = old.is_none_or(|o| o.stale);
            }
            m.watch = offsets;
            m.seen = seen;
            m.fresh = !slots.iter().any(|s| s.stale);
            m.slots = slots;
        }
        Ok(())
    }

    fn reload_v1(&mut self, size: u64) -> Result<bool, ReadError> {
        let bytes = read_v1(&self.file, size).map_err(|k| ReadError::new(&self.path, k))?;
        let (mut info, metas, new_values) =
            v1::decode(&bytes, self.info.dev_ino).map_err(|e| ReadError::format(&self.path, e))?;
        info.dev_ino = self.info.dev_ino;
        if *self.info != info {
            self.info = Arc::new(info);
        }
        let changed = metas.len() != self.fields.len()
            || metas.iter().zip(self.fields.iter()).any(|(a, b)| a != &**b);
        if changed {
            self.fields = metas.into_iter().map(Arc::new).collect();
        }
        self.source = Source::V1 { values: new_values };
        Ok(changed)
    }
}

/// What a refresh examines besides the generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// `fstat` the file: it must still have its size and a name.
    Live,
    /// `fstat` it for its size only: its name is gone, and its last values still count.
    Unlinked,
    /// For a mapped file, neither: the caller knows that the name still names this file (its
    /// directory did not change since it was listed). A truncation is still noticed, by the
    /// mapping's fault guard, as soon as a load touches a page the file lost.
    Listed,
}

/// `fresh`, or the remembered slice if it holds the same values (the same metadata, equal
/// values): for files whose values are re-read whole on each snapshot.
fn shared(last: &mut Option<Arc<[FieldValue]>>, fresh: Vec<FieldValue>) -> Arc<[FieldValue]> {
    if let Some(l) = last
        && l.len() == fresh.len()
        && l.iter()
            .zip(&fresh)
            .all(|(a, b)| Arc::ptr_eq(&a.meta, &b.meta) && a.value == b.value)
    {
        return Arc::clone(l);
    }
    let fresh: Arc<[FieldValue]> = fresh.into();
    *last = Some(Arc::clone(&fresh));
    fresh
}

impl Mapped {
    /// Every value, for the fields `metas` (in table order): the slice in `last` (the values of
    /// the previous read) when no field's watched word moved since, found with one load a
    /// field; else one in which the fields whose word did not move keep their values from
    /// `last`, and only the others are copied out and decoded. That slice is `last`'s own,
    /// changed in place, when nothing else holds it (no snapshot handed out still lives): no
    /// new slice, no copy of the unchanged values; else a new one, which becomes `last`.
    fn read_values(
        &mut self,
        metas: &[Arc<FieldMeta>],
        last: &mut Option<Arc<[FieldValue]>>,
        scratch: &mut Scratch,
        lock_held: &mut dyn FnMut() -> bool,
    ) -> Arc<[FieldValue]> {
        let n = self.slots.len().min(metas.len());
        let whole = last.as_ref().filter(|l| l.len() == n && self.fresh);
        let first = match whole {
            Some(l) => match self.region.first_change(&self.watch, &self.seen, 0) {
                None => {
                    // Pairs with the writer's release of each sequence word (FORMAT.md §4.2),
                    // as a seqlock read does.
                    fence(Ordering::Acquire);
                    return Arc::clone(l);
                }
                Some(i) => i,
            },
            None => 0,
        };
        if let Some(l) = last.as_mut().filter(|l| l.len() == n)
            && let Some(values) = Arc::get_mut(l)
        {
            for (i, (field, meta)) in values.iter_mut().zip(metas).enumerate().skip(first) {
                if !self.keeps(i) {
                    if !Arc::ptr_eq(&field.meta, meta) {
                        field.meta = Arc::clone(meta);
                    }
                    let old = mem::replace(&mut field.value, Err(ValueError::WriterDied));
                    field.value = self.read_value(i, meta, scratch, lock_held, old.ok());
                }
            }
            self.fresh = !self.slots.iter().any(|s| s.stale);
            return Arc::clone(l);
        }
        let fresh: Arc<[FieldValue]> = (0..n)
            .map(|i| {
                let meta = &metas[i];
                let kept = last.as_ref().and_then(|l| l.get(i));
                if let Some(kept) = kept
                    && (i < first || self.keeps(i))
                {
                    return kept.clone();
                }
                FieldValue {
                    meta: Arc::clone(meta),
                    value: self.read_value(i, meta, scratch, lock_held, None),
                }
            })
            .collect();
        self.fresh = !self.slots.iter().any(|s| s.stale);
        *last = Some(Arc::clone(&fresh));
        fresh
    }

    /// True if field `i`'s remembered value still holds: it was read whole (not stale) at the
    /// watched word the file has now.
    fn keeps(&self, i: usize) -> bool {
        !self.slots[i].stale && self.region.load(self.watch[i] as usize) == Some(self.seen[i])
    }

    /// Copies out and decodes field `i`'s value, remembering the word it was read at. A
    /// multi-word value is decoded into the storage of `reuse` (the field's value as last
    /// read) when nothing else holds that.
    fn read_value(
        &mut self,
        i: usize,
        meta: &FieldMeta,
        scratch: &mut Scratch,
        lock_held: &mut dyn FnMut() -> bool,
        reuse: Option<Value>,
    ) -> Result<Value, ValueError> {
        let corrupt = |e: FormatError| ValueError::Corrupt(e.to_string());
        let outside = || ValueError::Corrupt("value slot outside the file".into());
        let (slot, offset) = (self.slots[i], self.watch[i] as usize);
        if !slot.multi {
            let Some(word) = self.region.load(offset) else {
                self.slots[i].stale = true;
                return Err(outside());
            };
            // The value depends on this word alone: an error for it is as lasting as a value.
            self.seen[i] = word;
            self.slots[i].stale = false;
            return Value::decode(meta, &[self.order.word(word)], self.order).map_err(corrupt);
        }
        let lock = SeqLock::new(&self.region, offset, self.order);
        let histogram = matches!(
            meta.kind,
            mmstats_format::Kind::Histogram | mmstats_format::Kind::Timer
        );
        let copied = if histogram {
            let (k, capacity) = (u32::from(meta.param), meta.capacity as usize);
            lock.read_histogram(k, capacity, &mut scratch.histogram)
        } else {
            lock.read(slot.words as usize, &mut scratch.words)
        };
        self.slots[i].stale = true;
        match copied {
            Ok(seq) => {
                // A consistent copy: whatever it decodes to, value or error, stands until the
                // sequence word moves.
                self.seen[i] = seq;
                self.slots[i].stale = false;
                if histogram {
                    let h = &scratch.histogram;
                    let (head, indexes, counts) = (&h.head, h.indexes(), h.counts());
                    Value::decode_histogram_reusing(meta, head, indexes, counts, reuse)
                        .map_err(corrupt)
                } else {
                    Value::decode_reusing(meta, &scratch.words, self.order, reuse).map_err(corrupt)
                }
            }
            Err(Failure::Busy) if lock_held() => Err(ValueError::BeingWritten),
            Err(Failure::Busy) => Err(ValueError::WriterDied),
            Err(Failure::OutOfBounds) => Err(outside()),
        }
    }
}

/// One copy of each distinct field metadata among a set of open files (a scanner's): see
/// [`StatsFile::share_fields`].
#[derive(Debug, Default)]
pub(crate) struct SharedFields {
    metas: HashSet<Arc<FieldMeta>>,
    /// How many were kept after the last sweep of those no file uses any more.
    kept: usize,
}

impl SharedFields {
    /// The copy kept of metadata equal to `meta`, which becomes the kept one if there is none.
    fn share(&mut self, meta: &Arc<FieldMeta>) -> Arc<FieldMeta> {
        if let Some(kept) = self.metas.get(&**meta) {
            return Arc::clone(kept);
        }
        // Forget those only this table still holds once it has grown well past what was in
        // use at the last sweep: it stays in proportion to the metadata of the open files.
        if self.metas.len() >= 2 * self.kept + 64 {
            self.metas.retain(|m| Arc::strong_count(m) > 1);
            self.kept = self.metas.len();
        }
        self.metas.insert(Arc::clone(meta));
        Arc::clone(meta)
    }
}

/// Room for copying values out of a file, reused from one changed value to the next, and by a
/// scanner from one file to the next: grown to the largest value copied, never allocated or
/// cleared again.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The words of a multi-word value other than a histogram.
    words: Vec<u64>,
    /// A histogram's head and non-zero buckets.
    histogram: SparseCopy,
}

/// Whether some process holds the `flock` of `file` (at `path`, with this device and inode):
/// see [`StatsFile::lock_held`].
fn lock_held(file: &File, path: &Path, dev_ino: (u64, u64)) -> bool {
    let reopened = File::open(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .ok()
        .filter(|f| same_file(f, dev_ino))
        .or_else(|| File::open(path).ok().filter(|f| same_file(f, dev_ino)))
        .or_else(|| file.try_clone().ok());
    let Some(probe) = reopened else {
        return false;
    };
    match Flock::lock(probe, FlockArg::LockSharedNonblock) {
        Ok(lock) => {
            // Unlocking a lock we hold cannot fail; if it ever did, leak the descriptor
            // rather than panic in the guard's destructor.
            if let Err((lock, _)) = lock.unlock() {
                std::mem::forget(lock);
            }
            false
        }
        Err((_, Errno::EWOULDBLOCK)) => true,
        Err(_) => false,
    }
}

/// Copies the header, table and used strings out of the mapping with word loads (FORMAT.md §7
/// reading order: `generation`, then `field_count`, then the rest) and decodes them.
fn read_metadata(region: &Region) -> Result<(Header, Vec<mmstats_format::Field>), FormatError> {
    let size = region.len() as u64;
    let truncated = || FormatError::Truncated {
        need: HEADER_LEN as u64,
        have: size,
    };
    let generation = region.load(h::GENERATION).ok_or_else(truncated)?;
    fence(Ordering::Acquire);
    let field_count = region.load(h::FIELD_COUNT).ok_or_else(truncated)?;
    fence(Ordering::Acquire);
    let mut head = Vec::with_capacity(HEADER_LEN);
    if !region.copy_bytes(0, HEADER_LEN, &mut head) {
        return Err(truncated());
    }
    head[h::GENERATION..h::GENERATION + 8].copy_from_slice(&generation.to_ne_bytes());
    head[h::FIELD_COUNT..h::FIELD_COUNT + 8].copy_from_slice(&field_count.to_ne_bytes());
    let header = Header::decode(&head, size)?;
    let g = header.geometry;
    // Header::decode checked field_count <= table_capacity and strings_used <= capacity, and
    // every area against the file's size, so these copies are bounded by the file.
    let table_len = header.live.field_count as usize * RECORD_LEN;
    let mut table = Vec::with_capacity(table_len);
    if !region.copy_bytes(HEADER_LEN, table_len, &mut table) {
        return Err(FormatError::OutOfBounds {
            index: 0,
            what: "field table",
            offset: HEADER_LEN as u64,
            len: table_len as u64,
        });
    }
    let strings_len = header.live.strings_used as usize;
    let mut strings = Vec::with_capacity(strings_len);
    if !region.copy_bytes(g.strings_offset as usize, strings_len, &mut strings) {
        return Err(FormatError::OutOfBounds {
            index: 0,
            what: "string area",
            offset: g.strings_offset.into(),
            len: strings_len as u64,
        });
    }
    let fields = TableView {
        order: header.byte_order,
        table: &table,
        strings_offset: g.strings_offset,
        strings: &strings,
        values_offset: g.values_offset,
        values_used: header.live.values_used,
    }
    .decode()?;
    Ok((header, fields))
}

/// Whether `f` is the file with this device and inode.
fn same_file(f: &File, dev_ino: (u64, u64)) -> bool {
    f.metadata().is_ok_and(|md| (md.dev(), md.ino()) == dev_ino)
}

/// Reads up to `buf.len()` bytes from the start of the file; returns how many were read.
fn read_prefix(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads a whole version-1 file of (at most) `size` bytes.
fn read_v1(file: &File, size: u64) -> Result<Vec<u8>, ErrorKind> {
    if size > V1_MAX_LEN {
        return Err(ErrorKind::Format(FormatError::BadV1(V1Error::TooLarge {
            size,
            max: V1_MAX_LEN,
        })));
    }
    let mut bytes = vec![0u8; size as usize];
    let n = read_prefix(file, &mut bytes)?;
    bytes.truncate(n);
    Ok(bytes)
}
