//! How much reading costs: one snapshot of a file with every kind of field, and one scan of a
//! thousand files whose metadata is already cached.

use criterion::{Criterion, criterion_group, criterion_main};
use mmstats_format::{FieldMeta, Identity, Kind, Plan, Reserve, ValueType};
use mmstats_reader::{Scanner, StatsFile};

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

fn image() -> Vec<u8> {
    let fields = fields();
    let mut plan = Plan::new(&fields, Reserve::default()).unwrap();
    let mut bytes = vec![0u8; plan.geometry().file_length as usize];
    for f in &fields {
        plan.place(f).unwrap().apply_to_image(&mut bytes);
    }
    bytes[..256].copy_from_slice(&plan.header(Identity::default()).encode());
    bytes
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let bytes = image();
    let one = dir.path().join("one.mmstats");
    std::fs::write(&one, &bytes).unwrap();
    let mut file = StatsFile::open(&one).unwrap();
    c.bench_function("snapshot/21_fields", |b| {
        b.iter(|| file.snapshot().unwrap())
    });

    let many = dir.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for i in 0..1000 {
        std::fs::write(many.join(format!("w-{i}.mmstats")), &bytes).unwrap();
    }
    let mut scanner = Scanner::new(vec![format!("{}/*.mmstats", many.display())]);
    assert_eq!(scanner.scan().snapshots.len(), 1000);
    c.bench_function("scan/1000_files", |b| b.iter(|| scanner.scan()));
}

criterion_group!(benches, bench);
criterion_main!(benches);
