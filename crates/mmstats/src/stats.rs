//! A stats file and the registration of its fields (FORMAT.md §6, §7, §9).

use std::collections::HashMap;
use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU64, fence};
use std::sync::{Arc, Mutex, PoisonError};

use mmstats_format::layout::{header as h, slot, state};
use mmstats_format::{FieldError, FieldMeta, Kind, Placement, Plan, ValueType, text_words};
use nix::fcntl::{AtFlags, Flock};
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::average::{Average, MovingAverage, Numeric};
use crate::create::{self, Created};
use crate::decl::{FieldDecl, Handle};
use crate::dir::{self, StatsDir};
use crate::error::Error;
use crate::handle::{Counter, Gauge, GaugeValue, Text, Timestamp};
use crate::histogram::{Histogram, Timer};
use crate::identity;
use crate::options::Options;
use crate::region::{Region, Slot};
use crate::totals::{self, Ending, TotalsFile, TotalsKey};
use crate::windowed::Windowed;

/// A stats file and the right to register fields in it.
///
/// Created with [`Stats::create`]; fields are added with [`Stats::counter`], [`Stats::gauge`],
/// [`Stats::text`], [`Stats::constant`] and [`Stats::register`], each returning the handle
/// that updates the field. Registration takes a lock and may be called from any thread; the
/// handles are the hot path and take none.
///
/// Dropping it ends the file once its handles are gone too: each handle holds the file's
/// mapping, so `Stats::create(options)?.counter("hits").register()?` keeps publishing after
/// the stats object is dropped. When the stats object and the last of its handles are gone,
/// the file is folded into the process totals (if asked), marked closed, removed (unless
/// [`Options::keep`] was set) and its lock released. [`Stats::close`] does all that at once,
/// even while handles live: they keep working, into memory no reader sees any more.
///
/// [`Stats::in_memory`] makes one that publishes nothing: same handles, same costs, values
/// kept in this process's memory only.
#[derive(Debug)]
pub struct Stats {
    /// Where the file is; empty for stats kept in memory only.
    path: PathBuf,
    prefix: String,
    region: Arc<Region>,
    registry: Mutex<Registry>,
    /// The file and what closing it takes; `None` in memory only, or once closed.
    file: Option<OpenFile>,
    fold_into: Option<TotalsKey>,
    label_sets: usize,
}

/// A published file and what closing it takes (FORMAT.md §6.4).
#[derive(Debug)]
struct OpenFile {
    /// Its directory, for removing it by name: one descriptor shared by every stats object of
    /// the process in that directory.
    dir: Arc<StatsDir>,
    /// Its name in the directory.
    name: String,
    /// The file, with the writer's lock held.
    lock: Flock<File>,
    /// Left in place when closed.
    keep: bool,
}

/// A file to close once nothing writes into it any more: the open file, and what folding it
/// into the totals reads.
#[derive(Debug)]
struct Closing {
    path: PathBuf,
    file: OpenFile,
    fold_into: Option<TotalsKey>,
    fields: Vec<Published>,
    capacities: mmstats_format::Reserve,
}

/// The published fields of a file and the memory they lie in: what a fold reads.
#[derive(Debug)]
pub(crate) struct Contents<'a> {
    region: &'a Region,
    /// Every published field.
    pub(crate) fields: Vec<Published>,
    /// The capacities the file was created with.
    pub(crate) capacities: mmstats_format::Reserve,
}

impl Ending for Contents<'_> {
    fn fields(&self) -> Vec<(FieldMeta, Vec<u64>)> {
        // The ending file's only writer is the thread folding it: plain loads see all it wrote.
        self.fields
            .iter()
            .map(|f| (f.meta.clone(), load_words(self.region, f)))
            .collect()
    }

    fn capacities(&self) -> mmstats_format::Reserve {
        self.capacities
    }

    fn mark_folded(&self) {
        let st = header_word(self.region, h::STATE);
        st.store(st.load(Relaxed) | state::FOLDED, Release);
    }
}

/// The words of a published field's slot.
fn load_words(region: &Region, field: &Published) -> Vec<u64> {
    (0..field.words)
        .map(|i| slot_word(region, field, i).load(Relaxed))
        .collect()
}

/// Word `i` of `field`'s slot in `region`.
///
/// # Panics
///
/// If `i` is not below the slot's word count.
fn slot_word<'r>(region: &'r Region, field: &Published, i: usize) -> &'r AtomicU64 {
    assert!(i < field.words, "word {i} of a {}-word slot", field.words);
    header_word(region, field.offset + 8 * i)
}

/// The word at `off` of a region whose layout this module made.
fn header_word(region: &Region, off: usize) -> &AtomicU64 {
    region
        .word(off)
        .unwrap_or_else(|| panic!("word {off} outside the region"))
}

/// The layout so far and the fields published, by label.
#[derive(Debug)]
struct Registry {
    plan: Plan,
    fields: HashMap<String, Published>,
    /// Label sets published per family name (labelled fields only).
    families: HashMap<String, usize>,
}

/// Where a published field's value lies: enough to read it back and fold it.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    /// Its metadata.
    pub(crate) meta: FieldMeta,
    /// Absolute offset of its value slot.
    pub(crate) offset: usize,
    /// Words in its value slot.
    pub(crate) words: usize,
}

impl Published {
    fn new(meta: &FieldMeta, p: &Placement) -> Published {
        Published {
            meta: meta.clone(),
            offset: p.value_offset,
            words: p.value_words.len(),
        }
    }
}

/// The first value of a field's slot.
enum Init {
    /// All zero (an empty histogram's `min` is set by the format's initial words).
    Zero,
    /// A single-word value.
    Word(u64),
    /// A text.
    Text(String),
}

impl Init {
    fn apply(&self, p: &mut Placement, meta: &FieldMeta) {
        match self {
            Init::Zero => {}
            Init::Word(w) => p.value_words[slot::VALUE] = *w,
            Init::Text(t) => {
                let (words, _) = text_words(t, meta.capacity);
                for (i, w) in words.into_iter().enumerate() {
                    p.value_words[slot::text::LENGTH + i] = w;
                }
            }
        }
    }
}

/// The reserved system fields of FORMAT.md §9 and their values.
fn system_fields(id: &mmstats_format::Identity) -> Vec<(FieldMeta, Init)> {
    // Help texts: the meanings of FORMAT.md §9, so that every exposition has one.
    let constant = |label: &str, help: &str, v: u32| {
        let mut meta = FieldMeta::new(label, Kind::Constant, ValueType::U32);
        meta.help = help.into();
        (meta, Init::Word(u64::from(v)))
    };
    let mut created = FieldMeta::new("sys.created", Kind::Timestamp, ValueType::F64);
    created.unit = "seconds".into();
    created.help = "creation time".into();
    let mut version = FieldMeta::new("sys.version", Kind::Constant, ValueType::Text);
    version.capacity = identity::WRITER.len() as u32;
    version.help = "the writing library and its version".into();
    vec![
        constant("sys.pid", "process id", id.pid),
        constant("sys.tid", "thread id (0 for a process file)", id.tid),
        constant("sys.uid", "user id", id.uid),
        constant("sys.gid", "group id", id.gid),
        (created, Init::Word((id.created_ns as f64 / 1e9).to_bits())),
        (version, Init::Text(identity::WRITER.to_string())),
    ]
}

impl Stats {
    /// Creates the file (FORMAT.md §6.2) with the `sys.*` fields (§9).
    ///
    /// The directory is checked (a real directory, owned by this user, not writable by group or
    /// others) and created with mode 0700 if missing. The file is built whole under a temporary
    /// name and renamed into place without replacing anything: if the name exists (a stale file
    /// of a dead process whose pid was reused, another stats object of this thread, even a
    /// dangling symlink), it is left untouched and the file takes the next free name,
    /// `web-7-7-2.mmstats` up to `-16`; only if all are taken does this fail with
    /// [`Error::Exists`].
    pub fn create(options: Options) -> Result<Stats, Error> {
        let dir_path = dir::resolve(options.dir.as_deref());
        let dir = StatsDir::shared(&dir_path)?;
        let id = Self::identity(&options);
        let mut template = dir::template(options.file_template.as_deref());
        if options.process_wide {
            template = mmstats_format::names::process_template(&template, &options.process_part);
        }
        if options.totals {
            template = totals::template(&template);
        }
        let name = dir::file_name(
            &template,
            &identity::command(),
            id.pid,
            id.tid,
            &options.name,
        )?;

        let (registry, image) = Self::layout(&options, id)?;
        let Created { file, name, path } = create::create(&dir, &name, options.mode, &image)?;
        let region = match Region::map(&file, image.len()) {
            Ok(region) => region,
            Err(e) => {
                // The file has its name but no writer: remove it rather than leave it behind.
                let _ = unlinkat(&dir.fd, name.as_str(), UnlinkatFlags::NoRemoveDir);
                return Err(Error::io(&path, e));
            }
        };
        totals::track(&path, &file, options.keep);
        let fold_into = options.fold_totals.then(|| TotalsKey {
            model: std::any::TypeId::of::<Stats>(),
            name: options.name.clone(),
            dir: options.dir.clone(),
            template: options.file_template.clone(),
        });
        let label_sets = Self::label_sets(&options);
        Ok(Stats {
            path,
            prefix: options.prefix,
            region: Arc::new(region),
            registry: Mutex::new(registry),
            file: Some(OpenFile {
                dir,
                name,
                lock: file,
                keep: options.keep,
            }),
            fold_into,
            label_sets,
        })
    }

    /// Stats that publish nothing: laid out as [`Stats::create`] would lay out the file, with
    /// the same handles at the same cost, but in this process's memory, so no reader sees them
    /// and nothing on disk is touched. The options' directory, file template, mode, `keep` and
    /// `fold_totals` do not apply; [`Stats::path`] is empty. What a generated `local()` falls
    /// back to when the stats directory is unusable.
    ///
    /// Fails only if the options' reserve cannot be laid out.
    pub fn in_memory(options: Options) -> Result<Stats, Error> {
        let (registry, image) = Self::layout(&options, Self::identity(&options))?;
        let region = Region::heap(&image).map_err(|e| Error::io(PathBuf::new(), e))?;
        let label_sets = Self::label_sets(&options);
        Ok(Stats {
            path: PathBuf::new(),
            prefix: options.prefix,
            region: Arc::new(region),
            registry: Mutex::new(registry),
            file: None,
            fold_into: None,
            label_sets,
        })
    }

    /// Whether these stats are kept in memory only ([`Stats::in_memory`]) instead of
    /// published in a file.
    pub fn is_in_memory(&self) -> bool {
        self.region.is_heap()
    }

    /// Most label sets one family may have in these stats: unbounded in a totals file, which
    /// holds whatever the threads' files folded into it.
    fn label_sets(options: &Options) -> usize {
        if options.totals {
            usize::MAX
        } else {
            options.label_sets
        }
    }

    /// The identity the file's header records.
    fn identity(options: &Options) -> mmstats_format::Identity {
        let mut id = identity::current();
        if options.totals || options.process_wide {
            id.tid = 0;
        }
        id
    }

    /// The registry and the first image of a file with the `sys.*` fields (FORMAT.md §9).
    fn layout(
        options: &Options,
        id: mmstats_format::Identity,
    ) -> Result<(Registry, Vec<u8>), Error> {
        let system = system_fields(&id);
        let metas: Vec<FieldMeta> = system.iter().map(|(m, _)| m.clone()).collect();
        let mut plan = Plan::new(&metas, options.reserve)?;
        let mut image = vec![0u8; plan.geometry().file_length as usize];
        let mut fields = HashMap::new();
        for (meta, init) in &system {
            let mut p = plan.place(meta)?;
            init.apply(&mut p, meta);
            p.apply_to_image(&mut image);
            fields.insert(meta.label.clone(), Published::new(meta, &p));
        }
        let mut header = plan.header(id);
        if options.totals {
            header.live.state |= state::PROCESS;
        }
        let header = header.encode();
        image[..header.len()].copy_from_slice(&header);
        Ok((
            Registry {
                plan,
                fields,
                families: HashMap::new(),
            },
            image,
        ))
    }

    /// Where the file is (empty for stats kept in memory only).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The prefix prepended to every label registered through this object.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Registers a field of any handle type: the prefix is prepended to `decl.label`, the
    /// field is appended to the file (FORMAT.md §7) and its handle returned. Fails if the label
    /// is taken, the declaration is invalid, or the capacity reserved at creation is used up.
    pub fn register<H: Handle>(&self, decl: FieldDecl) -> Result<H, Error> {
        let mut decl = decl;
        decl.label.insert_str(0, &self.prefix);
        let meta = H::meta(&decl)?;
        let slot = self.publish(&meta, &Init::Zero)?;
        Ok(H::bind_decl(slot, &decl))
    }

    /// Declares a counter.
    pub fn counter(&self, label: &str) -> Register<'_, Counter> {
        self.declare(label)
    }

    /// Declares a gauge of type `T`.
    pub fn gauge<T: GaugeValue>(&self, label: &str) -> Register<'_, Gauge<T>> {
        self.declare(label)
    }

    /// Declares a text field of `capacity` bytes (1 to 65536).
    pub fn text(&self, label: &str, capacity: u32) -> Register<'_, Text> {
        let mut r = self.declare(label);
        r.decl.capacity = Some(capacity);
        r
    }

    /// Declares a timestamp (`f64` seconds since the Unix epoch).
    pub fn timestamp(&self, label: &str) -> Register<'_, Timestamp> {
        self.declare(label)
    }

    /// Declares a histogram of `u64` values (FORMAT.md §5.5): 1920 buckets of sub-bucket
    /// exponent 5, covering every `u64` within 1.6%.
    pub fn histogram(&self, label: &str) -> Register<'_, Histogram> {
        self.declare(label)
    }

    /// Declares a timer: a histogram of durations in nanoseconds with the mean of the last
    /// `window` durations (1 to 1,000,000).
    pub fn timer(&self, label: &str, window: u32) -> Register<'_, Timer> {
        let mut r = self.declare(label);
        r.decl.capacity = Some(window);
        r
    }

    /// Declares a running average of values of type `T` (FORMAT.md §5.3).
    pub fn average<T: Numeric>(&self, label: &str) -> Register<'_, Average<T>> {
        self.declare(label)
    }

    /// Declares a moving average of the last `window` values of type `T` (1 to 1,000,000).
    pub fn moving_average<T: Numeric>(
        &self,
        label: &str,
        window: u32,
    ) -> Register<'_, MovingAverage<T>> {
        let mut r = self.declare(label);
        r.decl.capacity = Some(window);
        r
    }

    /// Declares counts and sums of values of type `T` in `slots` one-second slots (2 to 3600),
    /// for rates and means over the last `slots` seconds (FORMAT.md §5.7). Wider slots:
    /// [`Register::width`].
    pub fn windowed<T: Numeric>(&self, label: &str, slots: u32) -> Register<'_, Windowed<T>> {
        let mut r = self.declare(label);
        r.decl.capacity = Some(slots);
        r
    }

    /// Adds a constant, set once now.
    pub fn constant<T: GaugeValue>(&self, label: &str, value: T) -> Result<(), Error> {
        let meta = FieldMeta::new(format!("{}{label}", self.prefix), Kind::Constant, T::TYPE);
        self.publish(&meta, &Init::Word(value.to_word())).map(drop)
    }

    /// Adds a text constant, set once now; its capacity is the text's length.
    pub fn constant_text(&self, label: &str, value: &str) -> Result<(), Error> {
        let mut meta = FieldMeta::new(
            format!("{}{label}", self.prefix),
            Kind::Constant,
            ValueType::Text,
        );
        meta.capacity = value.len().max(1).try_into().unwrap_or(u32::MAX);
        self.publish(&meta, &Init::Text(value.to_string()))
            .map(drop)
    }

    /// Writes the mapping back to the file (`msync`). Readers see every update at once without
    /// it; it only matters for a file on a disk that must survive a machine crash.
    pub fn flush(&self) -> Result<(), Error> {
        self.region.flush().map_err(|e| Error::io(&self.path, e))
    }

    /// Folds the file into the totals (if asked), marks it closed and removes it (unless
    /// kept) now, reporting errors that drop hides. Handles still alive keep working, into
    /// memory that no reader sees any more and no fold counts.
    pub fn close(mut self) -> Result<(), Error> {
        match self.closing() {
            Some(closing) => closing.run(&self.region),
            None => Ok(()),
        }
    }

    fn declare<H: Handle>(&self, label: &str) -> Register<'_, H> {
        Register {
            stats: self,
            decl: FieldDecl::new(label),
            _h: PhantomData,
        }
    }

    /// The header's live word at `off`.
    fn live_word(&self, off: usize) -> &AtomicU64 {
        header_word(&self.region, off)
    }

    /// Appends one field (FORMAT.md §7) and returns its slot.
    fn publish(&self, meta: &FieldMeta, init: &Init) -> Result<Slot, Error> {
        let mut reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        if reg.fields.contains_key(&meta.label) {
            return Err(FieldError::DuplicateLabel(meta.label.clone()).into());
        }
        let family = (!meta.labels.is_empty()).then(|| meta.name().to_string());
        if let Some(name) = &family
            && reg.families.get(name).copied().unwrap_or(0) >= self.label_sets
        {
            return Err(Error::TooManyLabelSets {
                family: name.clone(),
                series: meta.label.clone(),
                cap: self.label_sets,
            });
        }
        let mut p = reg.plan.place(meta)?;
        init.apply(&mut p, meta);
        self.store_placement(&p);
        reg.fields
            .insert(meta.label.clone(), Published::new(meta, &p));
        if let Some(name) = family {
            *reg.families.entry(name).or_default() += 1;
        }
        let slot = self
            .region
            .slot(p.value_offset, p.value_words.len(), meta.capacity)
            .unwrap_or_else(|| panic!("slot of {} outside the mapping", meta.label));
        Ok(slot)
    }

    /// Stores a placement with atomic word stores, in the order of FORMAT.md §7.
    fn store_placement(&self, p: &Placement) {
        let words = |off: usize, bytes: &[u8]| {
            for (i, chunk) in bytes.chunks(8).enumerate() {
                let mut b = [0u8; 8];
                b[..chunk.len()].copy_from_slice(chunk);
                self.live_word(off + 8 * i)
                    .store(u64::from_ne_bytes(b), Relaxed);
            }
        };
        // 1. Strings, then strings_used.
        words(p.strings_offset, &p.strings);
        self.live_word(h::STRINGS_USED)
            .store(p.live.strings_used, Release);
        // 2. The value slot, then values_used.
        for (i, w) in p.value_words.iter().enumerate() {
            self.live_word(p.value_offset + 8 * i).store(*w, Relaxed);
        }
        self.live_word(h::VALUES_USED)
            .store(p.live.values_used, Release);
        // 3. The record.
        words(p.record_offset, &p.record);
        // 4. Publish it, then 5. announce the change.
        fence(Release);
        self.live_word(h::FIELD_COUNT)
            .store(p.live.field_count, Release);
        self.live_word(h::GENERATION)
            .store(p.live.generation, Release);
    }

    /// Folds this file's counters into the process totals of `key` when it closes
    /// ([`crate::totals`]).
    pub(crate) fn fold_on_close(&mut self, key: TotalsKey) {
        self.fold_into = Some(key);
    }

    /// Every published field.
    fn published(&self) -> Vec<Published> {
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        reg.fields.values().cloned().collect()
    }

    /// The published field `meta.label`, published now (with zero values) if missing; `None`
    /// if it exists with other metadata (help texts aside: a description may arrive after a
    /// series was first published) or cannot be added.
    fn find_or_publish(&self, meta: &FieldMeta) -> Option<Published> {
        if let Some(p) = self
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fields
            .get(&meta.label)
        {
            let same = FieldMeta {
                help: p.meta.help.clone(),
                ..meta.clone()
            } == p.meta;
            return same.then(|| p.clone());
        }
        self.publish(meta, &Init::Zero).ok()?;
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        reg.fields.get(&meta.label).cloned()
    }

    /// The capacities this file was created with, as a reserve for a file that must hold
    /// every field this one can.
    fn capacities(&self) -> mmstats_format::Reserve {
        let reg = self.registry.lock().unwrap_or_else(PoisonError::into_inner);
        let g = reg.plan.geometry();
        mmstats_format::Reserve {
            fields: g.table_capacity,
            strings: g.strings_capacity as usize,
            values: g.values_capacity as usize,
        }
    }

    /// The published fields and the memory they lie in, to fold them.
    #[cfg(test)]
    pub(crate) fn contents(&self) -> Contents<'_> {
        Contents {
            region: &self.region,
            fields: self.published(),
            capacities: self.capacities(),
        }
    }

    /// What closing the file takes, taken out of the stats object so that it runs once;
    /// `None` in memory only or once closed.
    fn closing(&mut self) -> Option<Closing> {
        let file = self.file.take()?;
        Some(Closing {
            path: self.path.clone(),
            file,
            fold_into: self.fold_into.take(),
            fields: self.published(),
            capacities: self.capacities(),
        })
    }
}

/// Fluent registration of one field of a [`Stats`]: `stats.counter("hits").help("...").register()?`.
#[derive(Debug)]
pub struct Register<'a, H> {
    pub(crate) stats: &'a Stats,
    pub(crate) decl: FieldDecl,
    pub(crate) _h: PhantomData<H>,
}

impl<H: Handle> Register<'_, H> {
    /// Sets the help text.
    pub fn help(mut self, help: &str) -> Self {
        self.decl.help = help.into();
        self
    }
    /// Sets the unit.
    pub fn unit(mut self, unit: &str) -> Self {
        self.decl.unit = unit.into();
        self
    }
    /// Sets the kind-specific capacity: text bytes, the window of a moving average or timer,
    /// the bucket count of a histogram, the slot count of a windowed field.
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.decl.capacity = Some(capacity);
        self
    }
    /// Sets the slot width in seconds of a windowed field (1 to 3600; default 1): with 60
    /// slots of 60 s, `label.rate` is the rate over the last hour.
    pub fn width(mut self, seconds: u16) -> Self {
        self.decl.width = Some(seconds);
        self
    }
    /// Adds a label pair (FORMAT.md §3.5): fields of the same name with different label sets
    /// are the series of one family (`stats.counter("http.requests").label("method", "GET")`).
    /// Keys match `[A-Za-z_][A-Za-z0-9_]*`; a family takes at most
    /// [`Options::label_sets`](crate::Options::label_sets) label sets per file.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.decl.labels.push((key.into(), value.into()));
        self
    }
    /// Adds label pairs, as [`Register::label`] does for each.
    pub fn labels<'k, 'v>(mut self, pairs: impl IntoIterator<Item = (&'k str, &'v str)>) -> Self {
        self.decl
            .labels
            .extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }
    /// Overrides the combine rule.
    pub fn combine(mut self, rule: mmstats_format::Combine) -> Self {
        self.decl.combine = Some(rule);
        self
    }
    /// Adds the field to the file and returns its handle.
    pub fn register(self) -> Result<H, Error> {
        self.stats.register(self.decl)
    }
}

/// A process's totals file, as the fold of a thread's file writes into it (FORMAT.md §6.4).
impl TotalsFile for Stats {
    /// `fold_seq` becomes odd, so that readers retry instead of counting a thread's values
    /// twice (step 1).
    fn begin_fold(&self) {
        let seq = self.live_word(h::FOLD_SEQ);
        seq.store(seq.load(Relaxed).wrapping_add(1), Relaxed);
        fence(Release);
    }

    /// `fold_seq` becomes even again (step 4).
    fn end_fold(&self) {
        let seq = self.live_word(h::FOLD_SEQ);
        seq.store(seq.load(Relaxed).wrapping_add(1), Release);
    }

    fn words(&self, meta: &FieldMeta) -> Option<Vec<u64>> {
        let p = self.find_or_publish(meta)?;
        Some(load_words(&self.region, &p))
    }

    fn store(&self, meta: &FieldMeta, words: &[u64]) {
        let Some(p) = self.find_or_publish(meta) else {
            return;
        };
        let word = |i: usize| slot_word(&self.region, &p, i);
        let store = |from: usize| {
            for (i, w) in words.iter().enumerate().take(p.words).skip(from) {
                if word(i).load(Relaxed) != *w {
                    word(i).store(*w, Relaxed);
                }
            }
        };
        if p.words == 1 {
            store(slot::VALUE);
        } else {
            let _g = crate::seqlock::WriteGuard::begin(word(slot::SEQ));
            store(slot::SEQ + 1);
        }
    }
}

impl Closing {
    /// Folds the file into the totals (if asked), sets `CLOSED`, removes the file unless kept,
    /// releases the lock (FORMAT.md §6.4).
    fn run(self, region: &Region) -> Result<(), Error> {
        let Closing {
            path,
            file,
            fold_into,
            fields,
            capacities,
        } = self;
        if let Some(key) = fold_into {
            // Before the file goes away, so that totals never go backwards.
            let contents = Contents {
                region,
                fields,
                capacities,
            };
            totals::fold(&key, &contents, |options| {
                let file = Stats::create(options).ok()?;
                Some(Box::new(file) as Box<dyn TotalsFile>)
            });
        }
        totals::untrack(&path);
        let st = header_word(region, h::STATE);
        st.store(st.load(Relaxed) | state::CLOSED, Release);
        let mut result = Ok(());
        if file.keep {
            result = region.flush().map_err(|e| Error::io(&path, e));
        } else if let Err(e) = file.unlink_if_ours(&path) {
            result = Err(e);
        }
        if let Err((_, e)) = file.lock.unlock() {
            result = result.and(Err(Error::io(&path, e)));
        }
        result
    }
}

impl OpenFile {
    /// Unlinks the file's name if it still refers to this file (same device and inode), so a
    /// file that replaced it is never removed.
    fn unlink_if_ours(&self, path: &Path) -> Result<(), Error> {
        let ours = self.lock.metadata().map_err(|e| Error::io(path, e))?;
        match nix::sys::stat::fstatat(
            self.dir.fd.as_fd(),
            self.name.as_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(st) if st.st_dev == ours.dev() && st.st_ino == ours.ino() => {
                unlinkat(&self.dir.fd, self.name.as_str(), UnlinkatFlags::NoRemoveDir)
                    .map_err(|e| Error::io(path, e))
            }
            Ok(_) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        }
    }
}

impl Drop for Stats {
    fn drop(&mut self) {
        // The file ends when the last handle does: until then they keep publishing into it.
        if let Some(closing) = self.closing() {
            self.region.on_last_drop(Box::new(move |region| {
                let _ = closing.run(region);
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seqlock::{begin_read, validate};
    use std::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering::Relaxed;

    /// The value offset and length of `label`, read from the file's bytes.
    fn slot_of(path: &Path, label: &str) -> (usize, usize) {
        let bytes = std::fs::read(path).unwrap();
        let (_, fields) = mmstats_format::decode_file(&bytes).unwrap();
        let f = fields.into_iter().find(|f| f.meta.label == label).unwrap();
        (f.value_offset as usize, f.value_length as usize)
    }

    /// A reader's copy of a text slot through the seqlock protocol (FORMAT.md §4.2), over a
    /// mapping of its own: `None` if 64 attempts found no consistent copy.
    fn read_text(region: &Region, off: usize, words: usize) -> Option<(String, u32)> {
        let seq = region.word(off).unwrap();
        for attempt in 1..=64 {
            if let Some(stamp) = begin_read(seq) {
                let len = region.word(off + 8).unwrap().load(Relaxed) as usize;
                let mut bytes = Vec::with_capacity(8 * words);
                for i in 2..words {
                    let w = region.word(off + 8 * i).unwrap().load(Relaxed);
                    bytes.extend_from_slice(&w.to_ne_bytes());
                }
                if validate(seq, stamp) {
                    assert!(len <= bytes.len(), "length {len} past the slot");
                    bytes.truncate(len);
                    return Some((String::from_utf8(bytes).unwrap(), attempt));
                }
            }
            if attempt % 8 == 0 {
                std::thread::yield_now();
            }
        }
        None
    }

    /// `"N:"` followed by N copies of one letter: any mix of two such texts breaks it.
    fn check_invariant(t: &str) {
        let (n, rest) = t.split_once(':').unwrap_or_else(|| panic!("torn: {t:?}"));
        let n: usize = n.parse().unwrap_or_else(|_| panic!("torn: {t:?}"));
        assert_eq!(rest.len(), n, "torn: {t:?}");
        let first = rest.chars().next();
        assert!(rest.chars().all(|c| Some(c) == first), "torn: {t:?}");
    }

    #[test]
    fn readers_never_see_a_torn_text() {
        let tmp = tempfile::tempdir().unwrap();
        let stats = Stats::create(Options::new().dir(tmp.path())).unwrap();
        let text = stats.text("t", 300).register().unwrap();
        text.set("0:");
        let (off, len) = slot_of(stats.path(), "t");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(stats.path())
            .unwrap();
        let region = Region::map(&file, file.metadata().unwrap().len() as usize).unwrap();
        let stop = AtomicBool::new(false);
        let (reads, distinct, retried) = std::thread::scope(|s| {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0usize;
                while !stop.load(Relaxed) {
                    let n = (i * 37) % 290;
                    let c = char::from(b'a' + (i % 26) as u8);
                    text.set(&format!("{n}:{}", c.to_string().repeat(n)));
                    i += 1;
                }
            });
            let mut reads = 0;
            let mut retried = 0;
            let mut seen = std::collections::HashSet::new();
            while reads < 50_000 {
                if let Some((t, attempts)) = read_text(&region, off, len / 8) {
                    check_invariant(&t);
                    seen.insert(t);
                    reads += 1;
                    retried += usize::from(attempts > 1);
                }
            }
            stop.store(true, Relaxed);
            (reads, seen.len(), retried)
        });
        assert_eq!(reads, 50_000);
        assert!(distinct > 1, "the writer ran while the reader read");
        eprintln!("{reads} reads, {distinct} distinct texts, {retried} retried");
    }
}
