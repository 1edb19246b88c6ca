//! Glue for HotSpot JVM performance data files (`format-spec/HSPERFDATA.md`): mapping one,
//! noticing when the JVM adds entries, reading each value, and the JVM's identity.
//!
//! The JVM stores its values with plain stores, not atomics. Each 8-byte long is 8-aligned in
//! the file, so the one 8-byte load [`Region::load`] makes per long sees either the old or
//! the new value, never a mix (aligned 8-byte accesses are single-copy atomic on every 64-bit
//! CPU a JVM runs on). Strings are copied byte by byte by the JVM and can be read half
//! written; a string is read until two copies in a row agree (at most [`TEXT_TRIES`] times).
//! Values of different entries are not read at one instant: two longs may come from either
//! side of one JVM update, as with jstat.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{Ordering, fence};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::hsperf::{self, Data, Entry, HsperfError, PROLOGUE_LEN, prologue};
use mmstats_format::{ByteOrder, FieldMeta, FormatError, Value};

use crate::error::{ReadError, ValueError};
use crate::process::process_start_time;
use crate::region::Region;
use crate::snapshot::FieldValue;
use crate::writer::Liveness;
use crate::writer::{FileInfo, FormatVersion};

/// How many times a string is copied to get two equal copies in a row.
pub(crate) const TEXT_TRIES: usize = 4;

/// Largest hsperfdata file mapped (JVMs default to 32 KiB; `-XX:PerfDataMemorySize` rarely
/// goes past a few MiB).
const MAX_LEN: u64 = 1 << 30;

/// A mapped hsperfdata file and its parsed entry table.
#[derive(Debug)]
pub(crate) struct Mapped {
    region: Region,
    /// The file's size when opened.
    size: u64,
    order: ByteOrder,
    /// The prologue's words at offsets 0, 8 and 24 as last parsed (file order): accessible
    /// flag, used and overflow, entry offset and count. A change means entries were added.
    words: [u64; 3],
    entries: Vec<Entry>,
    frequency: Option<i64>,
}

/// The prologue words watched for changes.
const WATCHED: [usize; 3] = [0, prologue::USED, prologue::ENTRY_OFFSET];

impl Mapped {
    /// Maps `file` (of `size` bytes) and parses its table; returns it with the JVM's identity
    /// and its fields.
    pub(crate) fn open(
        path: &Path,
        file: &File,
        size: u64,
        dev_ino: (u64, u64),
    ) -> Result<(Mapped, FileInfo, Vec<FieldMeta>), ReadError> {
        let format = |e: HsperfError| ReadError::format(path, FormatError::Hsperf(e));
        if size < PROLOGUE_LEN as u64 {
            return Err(format(HsperfError::Truncated {
                need: PROLOGUE_LEN as u64,
                have: size,
            }));
        }
        if size > MAX_LEN {
            return Err(format(HsperfError::BadPrologue {
                field: "file size",
                value: size,
            }));
        }
        // The region maps whole words; a last partial word is never part of `used` in a file
        // a JVM wrote, and `decode` reports a `used` that reaches into it as truncation.
        let region = Region::map(file, size / 8 * 8).map_err(|e| ReadError::io(path, e))?;
        let mut m = Mapped {
            region,
            size,
            order: ByteOrder::NATIVE,
            words: [0; 3],
            entries: Vec::new(),
            frequency: None,
        };
        let bytes = m.parse().map_err(format)?;
        let md = file.metadata().map_err(|e| ReadError::io(path, e))?;
        let info = m.identity(path, &bytes, &md, dev_ino);
        let metas = m.metas();
        Ok((m, info, metas))
    }

    /// The file's size when opened.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Copies the used bytes out of the mapping and decodes them; on success, the table
    /// replaces the cached one. Returns the bytes.
    fn parse(&mut self) -> Result<Vec<u8>, HsperfError> {
        let mut words = [0u64; 3];
        for (w, off) in words.iter_mut().zip(WATCHED) {
            *w = self.region.load(off).unwrap_or(0);
        }
        fence(Ordering::Acquire);
        let mut head = Vec::with_capacity(PROLOGUE_LEN);
        if !self.region.copy_bytes(0, PROLOGUE_LEN, &mut head) {
            return Err(HsperfError::Truncated {
                need: PROLOGUE_LEN as u64,
                have: self.region.len() as u64,
            });
        }
        let p = hsperf::decode_prologue(&head, self.size)?;
        let mut bytes = Vec::with_capacity(p.used as usize);
        if !self.region.copy_bytes(0, p.used as usize, &mut bytes) {
            return Err(HsperfError::Truncated {
                need: p.used.into(),
                have: self.region.len() as u64,
            });
        }
        let perf = hsperf::decode(&bytes, self.size)?;
        self.frequency = perf.frequency(&bytes);
        self.order = perf.order;
        self.entries = perf.entries;
        self.words = words;
        Ok(bytes)
    }

    /// The fields of the current table.
    pub(crate) fn metas(&self) -> Vec<FieldMeta> {
        self.entries
            .iter()
            .map(|e| e.meta(self.frequency))
            .collect()
    }

    /// Re-parses the table if the JVM added entries since; `Ok(Some(fields))` if it did.
    ///
    /// A JVM counts a new entry before it has written all of it, so a table that fails to
    /// decode after a change is taken as still being written: the cached table (whose entries
    /// never move) stays in use and the next refresh tries again.
    pub(crate) fn refresh(&mut self) -> Result<Option<Vec<FieldMeta>>, FormatError> {
        let changed = WATCHED
            .iter()
            .zip(self.words)
            .any(|(off, old)| self.region.load(*off) != Some(old));
        if !changed {
            return Ok(None);
        }
        match self.parse() {
            Ok(_) => Ok(Some(self.metas())),
            // Overflow and lost accessibility are states of the whole file, not a half-written
            // entry.
            Err(e @ (HsperfError::Overflow(_) | HsperfError::NotAccessible)) => {
                Err(FormatError::Hsperf(e))
            }
            Err(_) if !self.entries.is_empty() => Ok(None),
            Err(e) => Err(FormatError::Hsperf(e)),
        }
    }

    /// Reads every value of the cached table.
    pub(crate) fn read(&self, fields: &[Arc<FieldMeta>]) -> Vec<FieldValue> {
        fields
            .iter()
            .zip(&self.entries)
            .map(|(meta, e)| FieldValue {
                meta: Arc::clone(meta),
                value: self.value(e),
            })
            .collect()
    }

    fn value(&self, e: &Entry) -> Result<Value, ValueError> {
        let outside = || ValueError::Corrupt("value outside the file".into());
        match e.data {
            Data::Long => {
                let word = self.region.load(e.offset).ok_or_else(outside)?;
                let raw = self.order.word(word) as i64;
                Ok(e.long_value(raw, self.frequency))
            }
            Data::Prologue => {
                let start = e.offset / 8 * 8;
                let word = self.region.load(start).ok_or_else(outside)?;
                // The loaded word's bytes in memory order are the file's bytes; decode them in
                // place in a prologue-sized copy.
                let mut prologue = [0u8; PROLOGUE_LEN];
                prologue[start..start + 8].copy_from_slice(&word.to_ne_bytes());
                let raw = e.long(&prologue, self.order).ok_or_else(outside)?;
                Ok(e.long_value(raw, self.frequency))
            }
            Data::Fixed(v) => Ok(e.long_value(v, self.frequency)),
            Data::Text => {
                let start = e.offset / 8 * 8;
                let skip = e.offset - start;
                let mut last: Option<Vec<u8>> = None;
                for _ in 0..TEXT_TRIES {
                    let mut copy = Vec::with_capacity(skip + e.len);
                    if !self.region.copy_bytes(start, skip + e.len, &mut copy) {
                        return Err(outside());
                    }
                    let stable = last.as_ref() == Some(&copy);
                    last = Some(copy);
                    if stable {
                        break;
                    }
                }
                let copy = last.unwrap_or_default();
                Ok(hsperf::text_value(&copy[skip..]))
            }
        }
    }

    /// The JVM's identity: pid from the file name, owner from the file, start time and boot
    /// id from the process when it is the JVM that created the file.
    fn identity(
        &self,
        path: &Path,
        bytes: &[u8],
        md: &std::fs::Metadata,
        dev_ino: (u64, u64),
    ) -> FileInfo {
        let text = |name: &str| match self
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.value(bytes, self.order, None))
        {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        };
        let long = |name: &str| {
            self.entries
                .iter()
                .find(|e| e.name == name)
                .and_then(|e| e.long(bytes, self.order))
        };
        let pid = pid_of(path);
        let created = long(hsperf::VM_BEGIN_LABEL)
            .filter(|ms| *ms > 0)
            .map(|ms| UNIX_EPOCH + Duration::from_millis(ms as u64));
        let start_time = pid.and_then(|p| jvm_start_time(p, created));
        let command = text(hsperf::COMMAND_LABEL).and_then(|c| command_name(&c));
        let writer = match (
            text("java.property.java.vm.name"),
            text("java.property.java.vm.version"),
        ) {
            (Some(n), Some(v)) => format!("{n} {v}"),
            (Some(n), None) => n.to_string(),
            _ => "HotSpot JVM".into(),
        };
        FileInfo {
            pid,
            uid: Some(md.uid()),
            gid: Some(md.gid()),
            start_time,
            boot_id: start_time.and_then(|_| crate::process::current_boot_id()),
            created,
            writer,
            command,
            ..FileInfo::new(FormatVersion::Hsperf, dev_ino)
        }
    }
}

/// The pid a JVM's file is named after (`/tmp/hsperfdata_<user>/<pid>`).
pub(crate) fn pid_of(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok().filter(|p| *p > 0)
}

/// The command name of a `sun.rt.javaCommand`: its first word, the main class or jar as the
/// JVM was started with it (what `jps -l` shows).
pub(crate) fn command_name(java_command: &str) -> Option<String> {
    java_command
        .split_ascii_whitespace()
        .next()
        .map(str::to_string)
}

/// How far before the JVM's own start time (`sun.rt.createVmBeginTime`) its process may have
/// started: a launcher execs the JVM at once, but a program embedding one may create it later.
const LAUNCH_SLACK: Duration = Duration::from_secs(600);

/// Process start times (boot time plus clock ticks) are known to within about a second.
const CLOCK_SLACK: Duration = Duration::from_secs(2);

/// Field 22 of `/proc/<pid>/stat` if process `pid` can be the JVM that began at `created`:
/// it started before the JVM and not long before (pids are reused).
fn jvm_start_time(pid: u32, created: Option<SystemTime>) -> Option<u64> {
    let ticks = process_start_time(pid)?;
    let Some(created) = created else {
        return Some(ticks);
    };
    let started = crate::process::process_start(ticks)?;
    (started <= created + CLOCK_SLACK && started + LAUNCH_SLACK + CLOCK_SLACK >= created)
        .then_some(ticks)
}

/// Whether the JVM of a file whose lock nobody holds is alive (JVMs before JDK 17 hold no
/// lock): its pid names a process that can be the JVM that created the file.
pub(crate) fn liveness(info: &FileInfo) -> Liveness {
    let Some(pid) = info.pid else {
        return Liveness::Dead("the file name is not a pid".into());
    };
    if process_start_time(pid).is_none() {
        return Liveness::Dead(format!("no process {pid}").into());
    }
    match jvm_start_time(pid, info.created) {
        Some(t) if info.start_time.is_none_or(|s| s == t) => Liveness::Alive,
        _ => Liveness::Dead(
            format!("pid {pid} belongs to a process that is not the JVM that wrote the file")
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_and_commands() {
        assert_eq!(pid_of(Path::new("/tmp/hsperfdata_a/1234")), Some(1234));
        assert_eq!(pid_of(Path::new("/tmp/hsperfdata_a/0")), None);
        assert_eq!(pid_of(Path::new("/tmp/hsperfdata_a/12x")), None);
        assert_eq!(pid_of(Path::new("/tmp/hsperfdata_a/99999999999")), None);
        assert_eq!(
            command_name("org.apache.cassandra.service.CassandraDaemon -f").as_deref(),
            Some("org.apache.cassandra.service.CassandraDaemon")
        );
        assert_eq!(command_name("   ").as_deref(), None);
    }

    #[test]
    fn our_own_process_can_be_a_jvm_begun_after_it() {
        let me = std::process::id();
        let now = SystemTime::now();
        assert!(jvm_start_time(me, Some(now)).is_some());
        // A JVM that began long before this process started is not this process.
        let long_ago = now - Duration::from_secs(86_400 * 365);
        assert_eq!(jvm_start_time(me, Some(long_ago)), None);
    }
}
