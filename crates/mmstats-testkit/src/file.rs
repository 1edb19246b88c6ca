//! Builds real mmstats files for end-to-end tests, with the format crate's `Plan` (the same
//! layout a writer uses), so the tools can be tested without a writer process.

use std::path::Path;

use mmstats_format::{
    FieldMeta, Header, HistogramValue, Identity, Kind, Plan, Reserve, Value, ValueType,
    full_bucket_count, text_words,
};

/// One file's fields and identity.
#[derive(Debug, Clone)]
pub struct FileBuilder {
    /// The identity the header records.
    pub identity: Identity,
    fields: Vec<(FieldMeta, Vec<u64>)>,
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
            fields: Vec::new(),
        }
    }

    fn field(mut self, meta: FieldMeta, words: Vec<u64>) -> Self {
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
        let mut h = HistogramValue::empty(5, m.capacity as usize);
        for v in values {
            h.record(*v);
        }
        // a timer's moving window holds every value recorded
        h.window_count = h.count;
        h.window_sum = h.sum;
        let w = Value::Histogram(h.into())
            .encode(&m)
            .expect("a timer's slot");
        self.field(m, w)
    }

    /// The file's bytes.
    pub fn image(&self) -> Vec<u8> {
        let metas: Vec<FieldMeta> = self.fields.iter().map(|(m, _)| m.clone()).collect();
        let mut plan = Plan::new(&metas, Reserve::default()).expect("plan");
        let mut image = vec![0u8; plan.geometry().file_length as usize];
        for (meta, words) in self.fields.iter() {
            let p = plan.place(meta).expect("place");
            p.apply_to_image(&mut image);
            for (i, w) in words.iter().enumerate() {
                let at = p.value_offset + 8 * i;
                image[at..at + 8].copy_from_slice(&w.to_ne_bytes());
            }
        }
        let header: Header = plan.header(self.identity.clone());
        image[..256].copy_from_slice(&header.encode());
        image
    }

    /// The offset of a field's value slot in the image.
    pub fn value_offset(&self, label: &str) -> usize {
        let metas: Vec<FieldMeta> = self.fields.iter().map(|(m, _)| m.clone()).collect();
        let mut plan = Plan::new(&metas, Reserve::default()).expect("plan");
        for m in &metas {
            let p = plan.place(m).expect("place");
            if m.label == label {
                return p.value_offset;
            }
        }
        panic!("no field {label}")
    }

    /// Writes the file at `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.image()).expect("write stats file");
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
