//! Builds real mmstats files for end-to-end tests, with the format crate's `Plan` (the same
//! layout a writer uses, FORMAT.md §6.2, §7), so the tools can be tested without a writer
//! process: [`FileBuilder`] lays out fields and their values, [`Image`] is the laid-out bytes
//! (to damage, append to or write out) and [`WrittenFile`] a file on disk to update in place.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use mmstats_format::layout::{HEADER_LEN, header as h};
use mmstats_format::{
    FieldMeta, HistogramValue, Identity, Kind, Plan, Reserve, Value, ValueType, full_bucket_count,
    text_words,
};

/// One file's fields and identity.
#[derive(Debug, Clone)]
pub struct FileBuilder {
    /// The identity the header records.
    pub identity: Identity,
    reserve: Reserve,
    fields: Vec<(FieldMeta, Vec<u64>)>,
}

/// A field's metadata with the sizes a writer gives its kind by default: histograms and timers
/// k = 5 with every bucket, texts 64 bytes, moving averages 10 values, windowed fields 4
/// windows of a second.
pub fn meta(label: &str, kind: Kind, vt: ValueType, unit: &str, help: &str) -> FieldMeta {
    let mut m = FieldMeta::new(label, kind, vt);
    m.unit = unit.into();
    m.help = help.into();
    match kind {
        Kind::Histogram | Kind::Timer => {
            m.param = 5;
            m.capacity = full_bucket_count(5);
        }
        Kind::Text => m.capacity = 64,
        Kind::Constant if vt == ValueType::Text => m.capacity = 64,
        Kind::MovingAverage => m.capacity = 10,
        Kind::Windowed => {
            m.param = 1;
            m.capacity = 4;
        }
        _ => {}
    }
    m
}

/// The slot words (from the sequence word on) of the histogram or timer `meta` after it
/// recorded `values`; a timer's moving window holds every value recorded.
pub fn histogram_words(meta: &FieldMeta, values: &[u64]) -> Vec<u64> {
    let mut h = HistogramValue::empty(meta.param.into(), meta.capacity as usize);
    for v in values {
        h.record(*v);
    }
    if meta.kind == Kind::Timer {
        h.window_count = h.count;
        h.window_sum = h.sum;
    }
    Value::Histogram(h.into())
        .encode(meta)
        .expect("a histogram's slot")
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The machine's boot id, as a writer records it.
pub fn boot_id() -> [u8; 16] {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .and_then(|s| mmstats_format::parse_boot_id(s.trim()))
        .unwrap_or([0; 16])
}

/// Field 22 of `/proc/<pid>/stat`: the process's start time in clock ticks (0 if unknown).
pub fn start_time(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    mmstats_format::parse_start_time(&stat).unwrap_or(0)
}

impl FileBuilder {
    /// A file claiming `pid` and `tid`, created now, on this boot.
    pub fn new(pid: u32, tid: u32) -> FileBuilder {
        FileBuilder {
            identity: Identity {
                pid,
                tid,
                start_time: start_time(pid),
                boot_id: boot_id(),
                created_ns: now_ns(),
                uid: 1000,
                gid: 1000,
                writer: "mmstats-test 0.1.0".into(),
            },
            reserve: Reserve::default(),
            fields: Vec::new(),
        }
    }

    /// A file whose header records `identity`.
    pub fn with_identity(identity: Identity) -> FileBuilder {
        FileBuilder {
            identity,
            reserve: Reserve::default(),
            fields: Vec::new(),
        }
    }

    /// Room for this many more fields, strings and value words (default: `Reserve::default()`).
    pub fn reserve(mut self, reserve: Reserve) -> Self {
        self.reserve = reserve;
        self
    }

    /// A field and its slot's words, from its first word (the sequence word of a multi-word
    /// kind or a text); missing words stay zero.
    pub fn field(mut self, meta: FieldMeta, words: Vec<u64>) -> Self {
        self.fields.push((meta, words));
        self
    }

    /// A u64 counter.
    pub fn counter(self, label: &str, unit: &str, v: u64) -> Self {
        let mut m = FieldMeta::new(label, Kind::Counter, ValueType::U64);
        m.unit = unit.into();
        self.field(m, vec![v])
    }

    /// An f64 gauge.
    pub fn gauge(self, label: &str, unit: &str, v: f64) -> Self {
        let mut m = FieldMeta::new(label, Kind::Gauge, ValueType::F64);
        m.unit = unit.into();
        self.field(m, vec![v.to_bits()])
    }

    /// An i64 gauge.
    pub fn gauge_i64(self, label: &str, unit: &str, v: i64) -> Self {
        let mut m = FieldMeta::new(label, Kind::Gauge, ValueType::I64);
        m.unit = unit.into();
        self.field(m, vec![v as u64])
    }

    /// A text field.
    pub fn text(self, label: &str, s: &str) -> Self {
        let mut m = FieldMeta::new(label, Kind::Text, ValueType::Text);
        m.capacity = 64;
        let (mut w, _) = text_words(s, 64);
        w.insert(0, 0);
        self.field(m, w)
    }

    /// A timer (nanoseconds) that recorded `values`.
    pub fn timer(self, label: &str, values: &[u64]) -> Self {
        let mut m = FieldMeta::new(label, Kind::Timer, ValueType::U64);
        m.unit = "nanoseconds".into();
        m.param = 5;
        m.capacity = full_bucket_count(5);
        let w = histogram_words(&m, values);
        self.field(m, w)
    }

    /// The laid-out file, its values stored.
    pub fn build(&self) -> Image {
        let metas: Vec<FieldMeta> = self.fields.iter().map(|(m, _)| m.clone()).collect();
        let mut image = Image::new(&metas, self.reserve, self.identity.clone());
        for (meta, words) in &self.fields {
            image.set_words(&meta.label, words);
        }
        image
    }

    /// The file's bytes.
    pub fn image(&self) -> Vec<u8> {
        self.build().bytes
    }

    /// The offset of a field's value slot in the image.
    pub fn value_offset(&self, label: &str) -> usize {
        self.build().offset(label)
    }

    /// Writes the file at `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.image()).expect("write stats file");
    }

    /// Writes the file as `dir/name` at once (a temporary name, then a rename), so that no
    /// reader sees it half written.
    pub fn publish(&self, dir: &Path, name: &str) -> WrittenFile {
        self.build().publish(dir, name)
    }
}

/// A file image being built, with the value offset of every field.
#[derive(Debug, Clone)]
pub struct Image {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The layout, to place more fields.
    pub plan: Plan,
    /// The identity the header records.
    pub identity: Identity,
    /// The header's `state` word.
    pub state: u64,
    offsets: HashMap<String, usize>,
}

impl Image {
    /// Lays out `fields` (their values zero) with room for `reserve` more, for the writer
    /// `identity`.
    pub fn new(fields: &[FieldMeta], reserve: Reserve, identity: Identity) -> Image {
        let mut plan = Plan::new(fields, reserve).expect("plan");
        let mut bytes = vec![0u8; plan.geometry().file_length as usize];
        let mut offsets = HashMap::new();
        for f in fields {
            let p = plan.place(f).expect("place");
            p.apply_to_image(&mut bytes);
            offsets.insert(f.label.clone(), p.value_offset);
        }
        let mut image = Image {
            bytes,
            plan,
            identity,
            state: 0,
            offsets,
        };
        image.write_header();
        image
    }

    /// Re-encodes the header from the plan's live words.
    pub fn write_header(&mut self) {
        let mut header = self.plan.header(self.identity.clone());
        header.live.state = self.state;
        self.bytes[..HEADER_LEN].copy_from_slice(&header.encode());
    }

    /// The value offset of a field.
    pub fn offset(&self, label: &str) -> usize {
        *self
            .offsets
            .get(label)
            .unwrap_or_else(|| panic!("no field {label}"))
    }

    /// Stores native words into a field's slot, from its first word.
    pub fn set_words(&mut self, label: &str, words: &[u64]) {
        let at = self.offset(label);
        for (i, w) in words.iter().enumerate() {
            self.bytes[at + 8 * i..at + 8 * i + 8].copy_from_slice(&w.to_ne_bytes());
        }
    }

    /// Writes the image to `dir/name`.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.bytes).expect("write stats file");
        path
    }

    /// Writes the image as `dir/name` at once (a temporary name, then a rename).
    pub fn publish(&self, dir: &Path, name: &str) -> WrittenFile {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, &self.bytes).expect("write stats file");
        let path = dir.join(name);
        std::fs::rename(&tmp, &path).expect("rename stats file");
        WrittenFile {
            path,
            offsets: self.offsets.clone(),
        }
    }

    /// Appends a field to the file at `path` the way FORMAT.md §7 orders it, with positioned
    /// writes: strings, value slot, record, `field_count`, then `generation`.
    pub fn append(&mut self, path: &Path, meta: &FieldMeta) {
        let p = self.plan.place(meta).expect("place");
        p.apply_to_image(&mut self.bytes);
        self.write_header();
        self.offsets.insert(meta.label.clone(), p.value_offset);
        let f = OpenOptions::new()
            .write(true)
            .open(path)
            .expect("open for append");
        let put = |f: &File, at: usize, len: usize, bytes: &[u8]| {
            f.write_all_at(&bytes[at..at + len], at as u64)
                .expect("append");
        };
        put(&f, p.strings_offset, p.strings.len(), &self.bytes);
        put(&f, h::STRINGS_USED, 8, &self.bytes);
        put(&f, p.value_offset, 8 * p.value_words.len(), &self.bytes);
        put(&f, h::VALUES_USED, 8, &self.bytes);
        put(&f, p.record_offset, p.record.len(), &self.bytes);
        put(&f, h::FIELD_COUNT, 8, &self.bytes);
        put(&f, h::GENERATION, 8, &self.bytes);
    }
}

/// A file on disk with the value offset of every field, to update in place as its writer would.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// Where it is.
    pub path: PathBuf,
    /// Each field's label and the offset of its value slot.
    pub offsets: HashMap<String, usize>,
}

impl WrittenFile {
    /// Stores `words` from `label`'s slot + `word` * 8 on, with one positioned write.
    pub fn set_words(&self, label: &str, word: usize, words: &[u64]) {
        let off = self.offsets[label] + 8 * word;
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        let f = OpenOptions::new()
            .write(true)
            .open(&self.path)
            .expect("open for update");
        f.write_all_at(&bytes, off as u64).expect("update");
    }

    /// Stores one word at `label`'s slot + `word` * 8.
    pub fn set_word(&self, label: &str, word: usize, v: u64) {
        store_word(&self.path, self.offsets[label] + 8 * word, v);
    }
}

/// Holds an exclusive `flock` on a file, as a live writer does, until dropped.
#[derive(Debug)]
pub struct Lock {
    /// The locked file: closing it releases the lock.
    _file: std::fs::File,
}

impl Lock {
    /// Locks `path` exclusively (non-blocking; panics if it is already locked).
    pub fn hold(path: &Path) -> Lock {
        let f = std::fs::File::open(path).expect("open to lock");
        f.try_lock().expect("flock failed");
        Lock { _file: f }
    }
}

/// Stores one word at `offset` of the file at `path`, as a writer updates a value.
pub fn store_word(path: &Path, offset: usize, word: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for update");
    f.write_all_at(&word.to_ne_bytes(), offset as u64)
        .expect("update");
}

/// The pid of a child that has exited and been reaped: no process has it (until reused).
pub fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true")
        .spawn()
        .expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait");
    pid
}

/// Writes one file of each kind a reader must refuse into `dir` (truncated, corrupt, empty,
/// foreign, future version, a directory, an unreadable file) and returns their names. The
/// unreadable one (mode 000) is readable after all when the tests run as root.
pub fn hostile_files(dir: &Path) -> Vec<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    let image = FileBuilder::new(1, 2).counter("x", "", 1).image();
    std::fs::write(dir.join("truncated.mmstats"), &image[..300]).unwrap();
    let mut corrupt = image.clone();
    corrupt[256 + 18] = 99; // the first record's kind
    std::fs::write(dir.join("corrupt.mmstats"), &corrupt).unwrap();
    std::fs::write(dir.join("empty.mmstats"), b"").unwrap();
    std::fs::write(dir.join("foreign.mmstats"), b"#!/bin/sh\necho not stats\n").unwrap();
    let mut future = image.clone();
    future[0] = 9;
    std::fs::write(dir.join("future.mmstats"), &future).unwrap();
    std::fs::create_dir(dir.join("dir.mmstats")).unwrap();
    let locked = dir.join("unreadable.mmstats");
    std::fs::write(&locked, &image).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    vec![
        "truncated",
        "corrupt",
        "empty",
        "foreign",
        "future",
        "dir",
        "unreadable",
    ]
}
