//! How much reading costs: one snapshot of a file with every kind of field, one scan of a
//! thousand files whose metadata is already cached, and the interval engine's update for 100
//! processes whose counters all moved (the benchmarks' 50-field mix, one file a process) and
//! for 10,000 idle processes (the same values again, as the scanner hands them over).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use mmstats_format::{FieldMeta, Identity, Kind, Num, Value, ValueType};
use mmstats_reader::{FileInfo, FormatVersion, Intervals, Scanner, Snapshot, StatsFile};
use mmstats_testkit::file::FileBuilder;
use mmstats_testkit::mix;
use mmstats_testkit::snapshot::SnapshotBuilder;

fn fields() -> Vec<FieldMeta> {
    let mut v = vec![
        FieldMeta::new("requests", Kind::Counter, ValueType::U64),
        FieldMeta::new("temp", Kind::Gauge, ValueType::F64),
        FieldMeta::new("rows", Kind::Average, ValueType::U64),
    ];
    let mut t = FieldMeta::new("status", Kind::Text, ValueType::Text);
    t.capacity = 32;
    v.push(t);
    let mut h = FieldMeta::new("latency", Kind::Timer, ValueType::U64);
    h.param = 5;
    h.capacity = 1024;
    v.push(h);
    for i in 0..16 {
        v.push(FieldMeta::new(
            format!("c{i}"),
            Kind::Counter,
            ValueType::U64,
        ));
    }
    v
}

/// The file's bytes: its fields laid out as a writer lays them, every value zero.
fn image() -> Vec<u8> {
    fields()
        .into_iter()
        .fold(FileBuilder::with_identity(Identity::default()), |b, f| {
            b.field(f, Vec::new())
        })
        .image()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = image();
    let one = dir.path().join("one.mmstats");
    std::fs::write(&one, &bytes).unwrap();
    let mut file = StatsFile::open(&one).unwrap();
    let mut g = c.benchmark_group("reader");
    g.bench_function("snapshot, 21 fields", |b| {
        b.iter(|| file.snapshot().unwrap())
    });

    let many = dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..1000 {
        std::fs::write(many.join(format!("w-{i}.mmstats")), &bytes).unwrap();
    }
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", many.display())]);
    assert_eq!(scanner.scan().snapshots.len(), 1000);
    g.bench_function("scan, 1,000 cached files", |b| b.iter(|| scanner.scan()));

    // Between two updates every counter of every file moves up (from above any value the mix
    // starts with) and every histogram's sequence word moves on (its copy is new, its counts
    // the same); only the update is measured.
    let procs = dir.path().join("procs");
    std::fs::create_dir(&procs).unwrap();
    let files = mix::write_files(&procs, 100, 200_000);
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", procs.display())]);
    let mut engine = Intervals::new().assume_alive();
    engine.update(&scanner.scan().snapshots);
    let moved: Vec<(String, Kind)> = mix::fields(0)
        .into_iter()
        .map(|(m, _)| (m.label, m.kind))
        .filter(|(_, k)| matches!(k, Kind::Counter | Kind::Histogram | Kind::Timer))
        .collect();
    let mut round = 0u64;
    g.bench_function("intervals, 100 changed processes", |b| {
        b.iter_batched(
            || {
                round += 1;
                for f in &files {
                    for (label, kind) in &moved {
                        let word = match kind {
                            Kind::Counter => 10_000 + 1_000 * round,
                            _ => 2 * round,
                        };
                        f.set_word(label, 0, word);
                    }
                }
                scanner.scan().snapshots
            },
            |snapshots| engine.update(&snapshots),
            BatchSize::PerIteration,
        )
    });

    // 10,000 processes of one file each whose values do not change: every update after the
    // second hands each process its previous sample again.
    let idle: Vec<Snapshot> = (0..10_000u32).map(idle_process).collect();
    let mut engine = Intervals::new().assume_alive();
    let mut at = 0;
    let mut again = || {
        at += 1;
        let taken = UNIX_EPOCH + Duration::from_secs(at);
        idle.iter()
            .map(|s| Snapshot { taken, ..s.clone() })
            .collect::<Vec<_>>()
    };
    engine.update(&again());
    engine.update(&again());
    g.bench_function("intervals, 10,000 idle processes", |b| {
        b.iter_batched(
            &mut again,
            |snapshots| engine.update(&snapshots),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// The snapshot of process `i`'s one file: ten counters.
fn idle_process(i: u32) -> Snapshot {
    let pid = 300_000 + i;
    let info = FileInfo {
        pid: Some(pid),
        tid: Some(pid),
        start_time: Some(1),
        boot_id: Some([7; 16]),
        created: Some(UNIX_EPOCH),
        ..FileInfo::new(FormatVersion::V2, (1, u64::from(pid)))
    };
    (0..10u64)
        .fold(
            SnapshotBuilder::new(format!("/run/stats/app-{pid}-{pid}.mmstats"))
                .info(Arc::new(info)),
            |b, j| {
                b.field(
                    FieldMeta::new(format!("app.count{j}"), Kind::Counter, ValueType::U64),
                    Value::Number(Num::U(j)),
                )
            },
        )
        .build()
}

criterion_group!(benches, bench);
criterion_main!(benches);
