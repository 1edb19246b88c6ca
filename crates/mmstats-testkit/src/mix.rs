//! The benchmarks' files: every file a process of its own holding the 50-field mix (30
//! counters, 10 gauges, 4 texts, 2 averages, 2 histograms, 2 timers), the values set from the
//! file's index so that files differ.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let files = mmstats_testkit::mix::write_files(dir.path(), 3, 10_000);
//! assert_eq!(files[2].path, dir.path().join("app-10002-2.mmstats"));
//! assert_eq!(files[0].offsets.len(), 50);
//! # Ok::<(), std::io::Error>(())
//! ```

use std::path::Path;

use mmstats_format::{FieldMeta, Identity, Kind, Num, ValueType, text_words};

use crate::file::{FileBuilder, WrittenFile, histogram_words, meta};

/// The labels of the mix's histograms and timers.
pub const HISTOGRAMS: [&str; 4] = ["app.hist0", "app.hist1", "app.timer0", "app.timer1"];

/// The 50 fields of file `i` and their slot words.
pub fn fields(i: u32) -> Vec<(FieldMeta, Vec<u64>)> {
    let mut v = Vec::with_capacity(50);
    let counter = |label: &str| {
        meta(
            label,
            Kind::Counter,
            ValueType::U64,
            "requests",
            "requests served",
        )
    };
    for j in 0..30 {
        let label = format!("app.group{}.count{j}", j % 5);
        v.push((counter(&label), vec![u64::from(i * 100 + j)]));
    }
    for j in 0..10 {
        let m = meta(
            &format!("app.level{j}"),
            Kind::Gauge,
            ValueType::F64,
            "bytes",
            "a level",
        );
        v.push((m, vec![Num::F(f64::from(i + j)).to_word(ValueType::F64)]));
    }
    for j in 0..4 {
        let m = meta(
            &format!("app.text{j}"),
            Kind::Text,
            ValueType::Text,
            "",
            "some text",
        );
        let (text, _) = text_words("some state", 64);
        v.push((m, [0].into_iter().chain(text).collect()));
    }
    for j in 0..2 {
        let mut m = counter(&format!("app.avg{j}"));
        m.kind = Kind::Average;
        m.combine = Kind::Average.default_combine();
        v.push((m, vec![0, 10, 1234]));
    }
    let values: Vec<u64> = (1..200).map(|x| x * x * 1000).collect();
    for j in 0..2 {
        for (name, kind, unit) in [
            ("hist", Kind::Histogram, "bytes"),
            ("timer", Kind::Timer, "nanoseconds"),
        ] {
            let m = meta(
                &format!("app.{name}{j}"),
                kind,
                ValueType::U64,
                unit,
                "a distribution",
            );
            let words = histogram_words(&m, &values);
            v.push((m, words));
        }
    }
    v
}

/// The identity of the benchmarks' files (and of mmash's test files): process `pid`, thread
/// `tid`, created now, no start time or boot id.
pub fn identity(pid: u32, tid: u32) -> Identity {
    let created_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Identity {
        pid,
        tid,
        created_ns,
        writer: "mmash-tests".into(),
        ..Identity::default()
    }
}

/// File `i` of the mix, written by process `pid`, thread `tid`, created now.
pub fn file(i: u32, pid: u32, tid: u32) -> FileBuilder {
    let builder = FileBuilder::with_identity(identity(pid, tid));
    fields(i)
        .into_iter()
        .fold(builder, |b, (m, w)| b.field(m, w))
}

/// Writes `count` files of the mix into `dir`: file `i` is `app-<pid>-<i>.mmstats` of process
/// `pid = first_pid + i`, thread `i`.
pub fn write_files(dir: &Path, count: u32, first_pid: u32) -> Vec<WrittenFile> {
    (0..count)
        .map(|i| {
            let pid = first_pid + i;
            file(i, pid, i).publish(dir, &format!("app-{pid}-{i}.mmstats"))
        })
        .collect()
}
