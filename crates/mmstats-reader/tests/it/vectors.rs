//! The golden vectors of FORMAT.md §10: every `<case>.mmstats` must read exactly as
//! `<case>.json` says.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use mmstats_format::vector::VectorField;
use mmstats_format::{ByteOrder, Header};
use mmstats_reader::{FormatVersion, Snapshot, StatsFile};
use serde_json::{Value as Json, json};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../format-spec/vectors")
}

/// What the reader read, in the vectors' JSON form.
fn reading(snap: &Snapshot, bytes: &[u8]) -> Json {
    let info = &snap.info;
    let fields: Vec<Json> = snap
        .fields
        .iter()
        .map(|f| {
            let value = f.value.as_ref().expect("every vector value reads");
            serde_json::to_value(VectorField::new(&f.meta, value)).unwrap()
        })
        .collect();
    match info.version {
        FormatVersion::V1 => json!({
            "format_version": 1,
            "pid": info.pid, "tid": info.tid, "uid": info.uid, "gid": info.gid,
            "fields": fields,
        }),
        FormatVersion::V2 => {
            // The reader's API has no byte order; the header decoder tells it.
            let order = Header::decode(bytes, bytes.len() as u64)
                .unwrap()
                .byte_order;
            let created_ns = info
                .created
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i64;
            json!({
                "format_version": 2,
                "byte_order": match order { ByteOrder::Little => "little", ByteOrder::Big => "big" },
                "pid": info.pid, "tid": info.tid, "uid": info.uid, "gid": info.gid,
                "start_time": info.start_time,
                "created_ns": created_ns,
                "writer": info.writer,
                "closed": info.closed,
                "process": info.process_totals,
                "fields": fields,
            })
        }
        FormatVersion::Hsperf => json!({
            "format_version": "hsperfdata",
            "byte_order": match bytes[4] { 0 => "big", _ => "little" },
            "pid": info.pid,
            "command": info.command,
            "writer": info.writer,
            "created_ms": info.created.unwrap().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64,
            "fields": fields,
        }),
    }
}

#[test]
fn every_vector_reads_exactly_as_its_json_says() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "mmstats" || e == "hsperfdata")
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "vectors missing: {cases:?}");
    let mut orders = Vec::new();
    for path in &cases {
        let expected: Json =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        let bytes = std::fs::read(path).unwrap();
        let mut file = StatsFile::open(path).unwrap_or_else(|e| panic!("{e}"));
        let snap = file.snapshot().unwrap();
        let got = reading(&snap, &bytes);
        assert_eq!(
            got,
            expected,
            "{}: reading differs from the vector",
            path.display()
        );
        orders.push(got["byte_order"].clone());
    }
    assert!(orders.contains(&json!("big")), "a big-endian vector");
    assert!(orders.contains(&json!("little")));
    assert!(orders.contains(&Json::Null), "a version-1 vector");
    assert!(
        cases
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "hsperfdata")),
        "a JVM vector"
    );
}

#[test]
fn vectors_cover_every_kind_and_type() {
    let mut kinds = std::collections::BTreeSet::new();
    let mut types = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let j: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if j["format_version"] != 2 {
                continue;
            }
            for f in j["fields"].as_array().unwrap() {
                kinds.insert(f["kind"].as_str().unwrap().to_string());
                types.insert(f["type"].as_str().unwrap().to_string());
            }
        }
    }
    for k in mmstats_format::Kind::ALL {
        assert!(kinds.contains(k.as_str()), "no vector of kind {k}");
    }
    for t in mmstats_format::ValueType::ALL {
        assert!(types.contains(t.as_str()), "no vector of type {t}");
    }
}

#[test]
fn derived_values_of_the_timer_vector() {
    let mut file = StatsFile::open(vectors_dir().join("histograms.mmstats")).unwrap();
    let snap = file.snapshot().unwrap();
    let timer = snap.field("latency").unwrap();
    let exposed = timer.derived_values(snap.taken, snap.info.created);
    let get = |name: &str| exposed.iter().find(|(l, _)| l == name).map(|(_, v)| *v);
    assert_eq!(get("latency.count"), Some(8.0));
    assert_eq!(get("latency.min"), Some(7.0));
    assert_eq!(get("latency.max"), Some(123_456_789.0));
    let p50 = get("latency.p50").unwrap();
    assert!((p50 - 2_100.0).abs() / 2_100.0 < 0.016, "p50 {p50}");
    assert!(
        get("latency.avg").is_some(),
        "timers expose their window mean"
    );
}
