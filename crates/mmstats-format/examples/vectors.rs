//! Writes the test vectors of FORMAT.md §10: `format-spec/vectors/<case>.mmstats` and the
//! expected reading, `<case>.json`.
//!
//! Run with `cargo run -p mmstats-format --example vectors`. The files are laid out with
//! [`Plan`] and [`Placement`], and each value slot is filled with the words FORMAT.md §5 gives
//! for the value the JSON states, so a reader that decodes the file reproduces the JSON exactly.

use std::path::{Path, PathBuf};

use mmstats_format::layout::{HEADER_LEN, RECORD_LEN, state};
use mmstats_format::{
    ByteOrder, FieldMeta, HistogramValue, Identity, Kind, MovingAverageValue, Num, Period,
    Placement, Plan, Record, Reserve, Value, ValueType, WindowedValue, slot_words, text_words, v1,
};
use serde_json::{Value as Json, json};

/// Unix seconds at which the windowed vectors' newest period starts.
const NOW: u64 = 1_700_000_000;

/// A field and the value its slot holds.
type Filled = (FieldMeta, Value);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../format-spec/vectors")
        .canonicalize()
        .or_else(|_| {
            let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../format-spec/vectors");
            std::fs::create_dir_all(&d).and_then(|()| d.canonicalize())
        })?;
    let cases: Vec<(&str, ByteOrder, u64, Vec<Filled>)> = vec![
        ("scalars", ByteOrder::Little, 0, scalars()),
        ("texts", ByteOrder::Little, 0, texts()),
        ("averages", ByteOrder::Little, 0, averages()),
        ("histograms", ByteOrder::Little, 0, histograms()),
        ("windowed", ByteOrder::Little, 0, windowed()),
        ("system", ByteOrder::Little, state::PROCESS, system()),
        ("big_endian", ByteOrder::Big, state::CLOSED, big_endian()),
        ("no_fields", ByteOrder::Little, 0, Vec::new()),
        ("labels", ByteOrder::Little, 0, labelled()),
    ];
    for (name, order, state_bits, fields) in cases {
        let (bytes, json) = build(order, state_bits, &fields)?;
        write(&dir, name, &bytes, &json)?;
    }
    let (bytes, json) = version_1();
    write(&dir, "version_1", &bytes, &json)?;
    let (bytes, json) = jvm_big_endian();
    let path = dir.join("jvm_big_endian.hsperfdata");
    std::fs::write(&path, bytes)?;
    std::fs::write(
        path.with_extension("json"),
        serde_json::to_string_pretty(&json)? + "\n",
    )?;
    println!("wrote {}", path.display());
    Ok(())
}

/// A HotSpot performance data file as a big-endian JVM (SPARC, s390x) writes it
/// (HSPERFDATA.md), and its reading. The expected fields are written out by hand, not derived
/// from the decoder's mapping.
fn jvm_big_endian() -> (Vec<u8>, Json) {
    use mmstats_format::hsperf::{Builder, TYPE_LONG, Units, Variability};
    let mut b = Builder::new(ByteOrder::Big);
    b.long(
        "sun.os.hrt.frequency",
        Units::Hertz,
        Variability::Constant,
        1_000_000,
    )
    .long(
        "sun.rt.createVmBeginTime",
        Units::None,
        Variability::Constant,
        1_700_000_000_250,
    )
    .string(
        "sun.rt.javaCommand",
        Variability::Constant,
        "com.example.Main --port 8080",
        64,
    )
    .string(
        "java.property.java.vm.name",
        Variability::Constant,
        "OpenJDK 64-Bit Server VM",
        32,
    )
    .long(
        "sun.gc.collector.0.invocations",
        Units::Events,
        Variability::Monotonic,
        12,
    )
    .long(
        "sun.gc.collector.0.time",
        Units::Ticks,
        Variability::Monotonic,
        2_500_000,
    )
    .long(
        "sun.gc.collector.0.lastExitTime",
        Units::Ticks,
        Variability::Variable,
        750_000,
    )
    .long(
        "sun.gc.generation.0.space.0.used",
        Units::Bytes,
        Variability::Variable,
        1 << 20,
    )
    .long(
        "sun.gc.generation.0.space.0.capacity",
        Units::Bytes,
        Variability::Variable,
        5_000_000_000,
    )
    .long(
        "sun.gc.policy.change",
        Units::None,
        Variability::Variable,
        -5,
    )
    .string(
        "sun.gc.cause",
        Variability::Variable,
        "G1 Evacuation Pause",
        32,
    )
    // A vector of longs: valid, but not read.
    .raw("sun.ci.vector", TYPE_LONG, 2, 1, 1, 8, &[0xff; 16]);
    let bytes = b.finish(4096);
    let f = |label: &str,
             kind: &str,
             ty: &str,
             combine: &str,
             unit: &str,
             capacity: u32,
             value: Json| {
        json!({
            "label": label, "kind": kind, "type": ty, "combine": combine, "unit": unit,
            "help": "", "param": 0, "capacity": capacity, "value": value,
        })
    };
    let json = json!({
        "format_version": "hsperfdata",
        "byte_order": "big",
        "pid": null,
        "command": "com.example.Main",
        "writer": "OpenJDK 64-Bit Server VM",
        "created_ms": 1_700_000_000_250u64,
        "fields": [
            f("sun.os.hrt.frequency", "constant", "i64", "last", "hertz", 0, json!(1_000_000)),
            f("sun.rt.createVmBeginTime", "constant", "i64", "last", "", 0, json!(1_700_000_000_250u64)),
            f("sun.rt.javaCommand", "constant", "text", "last", "", 64, json!("com.example.Main --port 8080")),
            f("java.property.java.vm.name", "constant", "text", "last", "", 32, json!("OpenJDK 64-Bit Server VM")),
            f("sun.gc.collector.0.invocations", "counter", "i64", "sum", "events", 0, json!(12)),
            f("sun.gc.collector.0.time", "counter", "f64", "sum", "seconds", 0, json!(2.5)),
            f("sun.gc.collector.0.lastExitTime", "gauge", "f64", "sum", "seconds", 0, json!(0.75)),
            f("sun.gc.generation.0.space.0.used", "gauge", "i64", "sum", "bytes", 0, json!(1_048_576)),
            f("sun.gc.generation.0.space.0.capacity", "gauge", "i64", "sum", "bytes", 0, json!(5_000_000_000u64)),
            f("sun.gc.policy.change", "gauge", "i64", "sum", "", 0, json!(-5)),
            f("sun.gc.cause", "text", "text", "last", "", 32, json!("G1 Evacuation Pause")),
            // The counters the prologue holds, as the JVM lists them too.
            f("sun.perfdata.majorVersion", "constant", "i64", "last", "", 0, json!(2)),
            f("sun.perfdata.minorVersion", "constant", "i64", "last", "", 0, json!(0)),
            f("sun.perfdata.used", "gauge", "i64", "sum", "bytes", 0, json!(832)),
            f("sun.perfdata.overflow", "gauge", "i64", "sum", "bytes", 0, json!(0)),
            f("sun.perfdata.timestamp", "gauge", "f64", "sum", "seconds", 0, json!(1e-6)),
            f("sun.perfdata.size", "constant", "i64", "last", "bytes", 0, json!(4096)),
        ],
    });
    (bytes, json)
}

fn write(dir: &Path, name: &str, bytes: &[u8], json: &Json) -> std::io::Result<()> {
    let file = |ext: &str| -> PathBuf { dir.join(format!("{name}.{ext}")) };
    std::fs::write(file("mmstats"), bytes)?;
    std::fs::write(file("json"), serde_json::to_string_pretty(json)? + "\n")?;
    println!("wrote {}", file("mmstats").display());
    Ok(())
}

fn meta(label: &str, kind: Kind, vt: ValueType) -> FieldMeta {
    FieldMeta::new(label, kind, vt)
}

fn with(mut m: FieldMeta, help: &str, unit: &str, param: u16, capacity: u32) -> FieldMeta {
    m.help = help.into();
    m.unit = unit.into();
    m.param = param;
    m.capacity = capacity;
    m
}

fn num(n: Num) -> Value {
    Value::Number(n)
}

fn scalars() -> Vec<Filled> {
    use Kind::{Constant, Counter, Gauge, Timestamp};
    use ValueType::*;
    vec![
        (
            with(
                meta("requests", Counter, U64),
                "requests served",
                "requests",
                0,
                0,
            ),
            num(Num::U(17)),
        ),
        (meta("c.u8", Counter, U8), num(Num::U(255))),
        (meta("c.u16", Counter, U16), num(Num::U(65_535))),
        (meta("c.u32", Counter, U32), num(Num::U(4_000_000_000))),
        (meta("c.u64", Counter, U64), num(Num::U(u64::MAX))),
        (meta("c.i8", Counter, I8), num(Num::I(-128))),
        (meta("c.i16", Counter, I16), num(Num::I(-30_000))),
        (meta("c.i32", Counter, I32), num(Num::I(-2_000_000_000))),
        (meta("c.i64", Counter, I64), num(Num::I(i64::MIN + 1))),
        (meta("c.f32", Counter, F32), num(Num::F(1.5))),
        (meta("c.f64", Counter, F64), num(Num::F(-0.125))),
        (
            with(meta("temperature", Gauge, F64), "", "celsius", 0, 0),
            num(Num::F(21.75)),
        ),
        (meta("g.i16", Gauge, I16), num(Num::I(-7))),
        (meta("g.u8", Gauge, U8), num(Num::U(3))),
        (meta("ready", Gauge, Bool), Value::Bool(true)),
        (meta("paused", Gauge, Bool), Value::Bool(false)),
        (meta("workers", Constant, U32), num(Num::U(8))),
        (meta("offset", Constant, I64), num(Num::I(-42))),
        (meta("ratio", Constant, F32), num(Num::F(0.25))),
        (meta("debug", Constant, Bool), Value::Bool(true)),
        (
            with(meta("started", Timestamp, F64), "", "seconds", 0, 0),
            num(Num::F(1_700_000_000.5)),
        ),
        (
            with(meta("deadline", Timestamp, U64), "", "milliseconds", 0, 0),
            num(Num::U(1_700_000_000_123)),
        ),
    ]
}

fn texts() -> Vec<Filled> {
    use Kind::*;
    use ValueType::Text as T;
    let text = |s: &str| Value::Text(s.into());
    vec![
        (
            with(meta("status", Text, T), "what the worker does", "", 0, 64),
            text("héllo wörld ✓ 日本語 🦀"),
        ),
        (with(meta("empty", Text, T), "", "", 0, 8), text("")),
        (with(meta("full", Text, T), "", "", 0, 5), text("abcde")),
        (
            with(meta("sys.version", Constant, T), "", "", 0, 32),
            text("mmstats-rust 0.1.0"),
        ),
        (
            with(meta("greek", Constant, T), "", "", 0, 13),
            text("αβγδεζ"),
        ),
    ]
}

fn averages() -> Vec<Filled> {
    use Kind::{Average, MovingAverage};
    use ValueType::*;
    vec![
        (
            with(
                meta("query.rows", Average, U64),
                "rows per query",
                "rows",
                0,
                0,
            ),
            Value::Average {
                count: 4,
                sum: Num::U(1000),
            },
        ),
        (
            meta("balance", Average, I32),
            Value::Average {
                count: 3,
                sum: Num::I(-90),
            },
        ),
        (
            with(meta("load", Average, F64), "", "ratio", 0, 0),
            Value::Average {
                count: 2,
                sum: Num::F(1.25),
            },
        ),
        (
            meta("never", Average, U16),
            Value::Average {
                count: 0,
                sum: Num::U(0),
            },
        ),
        (
            with(meta("rtt", MovingAverage, F64), "", "milliseconds", 0, 100),
            Value::MovingAverage(Box::new(MovingAverageValue {
                count: 250,
                window_count: 100,
                window_sum: Num::F(512.5),
                last: Num::F(4.75),
            })),
        ),
        (
            with(meta("drift", MovingAverage, I64), "", "", 0, 10),
            Value::MovingAverage(Box::new(MovingAverageValue {
                count: 3,
                window_count: 3,
                window_sum: Num::I(-30),
                last: Num::I(-12),
            })),
        ),
    ]
}

fn histogram(k: u16, capacity: u32, values: &[u64], window: Option<usize>) -> HistogramValue {
    let mut h = HistogramValue::empty(u32::from(k), capacity as usize);
    for v in values {
        h.record(*v);
    }
    if let Some(n) = window {
        let recent = &values[values.len().saturating_sub(n)..];
        h.window_count = recent.len() as u64;
        h.window_sum = recent.iter().sum();
    }
    h
}

fn histograms() -> Vec<Filled> {
    use Kind::*;
    use ValueType::U64;
    let sizes: Vec<u64> = (0..40).map(|i| i * i * 37 + 3).collect();
    let durations = [
        1_500,
        2_000,
        2_100,
        90_000,
        1_000_000,
        45_000_000,
        7,
        123_456_789,
    ];
    vec![
        (
            with(
                meta("response.bytes", Histogram, U64),
                "body sizes",
                "bytes",
                5,
                320,
            ),
            Value::Histogram(histogram(5, 320, &sizes, None).into()),
        ),
        (
            with(meta("small", Histogram, U64), "", "", 2, 8),
            Value::Histogram(histogram(2, 8, &[0, 1, 5, 7, 9, 1000], None).into()),
        ),
        (
            with(meta("idle", Histogram, U64), "", "", 5, 64),
            Value::Histogram(histogram(5, 64, &[], None).into()),
        ),
        (
            with(
                meta("latency", Timer, U64),
                "request time",
                "nanoseconds",
                5,
                1000,
            ),
            Value::Histogram(histogram(5, 1000, &durations, Some(4)).into()),
        ),
    ]
}

fn windowed() -> Vec<Filled> {
    use Kind::Windowed as W;
    use ValueType::*;
    let p = NOW; // width 1
    let slots = |cap: u64, used: &[(u64, u64, Num)]| -> Vec<Period> {
        let mut s = vec![
            Period {
                period: 0,
                count: 0,
                sum: Num::U(0),
            };
            cap as usize
        ];
        for (period, count, sum) in used {
            s[(period % cap) as usize] = Period {
                period: *period,
                count: *count,
                sum: *sum,
            };
        }
        s
    };
    let zero_f = |mut v: Vec<Period>| {
        for s in &mut v {
            if s.period == 0 {
                s.sum = Num::F(0.0);
            }
        }
        v
    };
    let zero_i = |mut v: Vec<Period>| {
        for s in &mut v {
            if s.period == 0 {
                s.sum = Num::I(0);
            }
        }
        v
    };
    vec![
        (
            with(meta("hits", W, U64), "hits per second", "requests", 1, 4),
            Value::Windowed(Box::new(WindowedValue {
                width: 1,
                count: 30,
                sum: Num::U(30),
                slots: slots(
                    4,
                    &[
                        (p - 2, 5, Num::U(5)),
                        (p - 1, 10, Num::U(10)),
                        (p, 15, Num::U(15)),
                    ],
                ),
            })),
        ),
        (
            with(meta("payload", W, F64), "", "bytes", 10, 6),
            Value::Windowed(Box::new(WindowedValue {
                width: 10,
                count: 3,
                sum: Num::F(7.5),
                slots: zero_f(slots(6, &[(NOW / 10, 3, Num::F(7.5))])),
            })),
        ),
        (
            with(meta("delta", W, I32), "", "", 60, 2),
            Value::Windowed(Box::new(WindowedValue {
                width: 60,
                count: 2,
                sum: Num::I(-5),
                slots: zero_i(slots(
                    2,
                    &[(NOW / 60 - 1, 1, Num::I(-8)), (NOW / 60, 1, Num::I(3))],
                )),
            })),
        ),
    ]
}

fn system() -> Vec<Filled> {
    use Kind::{Constant, Counter, Timestamp};
    use ValueType::*;
    vec![
        (meta("sys.pid", Constant, U32), num(Num::U(4242))),
        (meta("sys.tid", Constant, U32), num(Num::U(0))),
        (meta("sys.uid", Constant, U32), num(Num::U(1000))),
        (meta("sys.gid", Constant, U32), num(Num::U(1000))),
        (
            with(meta("sys.created", Timestamp, F64), "", "seconds", 0, 0),
            num(Num::F(1_700_000_000.25)),
        ),
        (
            with(
                meta("sys.version", Constant, ValueType::Text),
                "",
                "",
                0,
                32,
            ),
            Value::Text("mmstats-rust 0.1.0".into()),
        ),
        (
            meta("web.stats.status.2XX", Counter, U64),
            num(Num::U(1234)),
        ),
    ]
}

/// One family in several series (FORMAT.md §3.5), a value that needs escaping, a labelled
/// histogram, and a plain field of the same name beside them.
fn labelled() -> Vec<Filled> {
    use Kind::{Counter, Gauge};
    use ValueType::*;
    let requests = || {
        with(
            meta("http.requests", Counter, U64),
            "requests served",
            "requests",
            0,
            0,
        )
    };
    let mut latency = histograms()[0].clone();
    latency.0 = with(
        meta("http.latency", Kind::Histogram, U64),
        "",
        "nanoseconds",
        5,
        latency.0.capacity,
    );
    vec![
        (requests(), num(Num::U(10))),
        (
            requests().with_labels([("method", "GET"), ("code", "200")]),
            num(Num::U(7)),
        ),
        (
            requests().with_labels([("method", "POST"), ("code", "500")]),
            num(Num::U(3)),
        ),
        (
            meta("queue.depth", Gauge, I64).with_labels([("path", "/a,b\"c\\d\n}")]),
            num(Num::I(-2)),
        ),
        (latency.0.with_labels([("method", "GET")]), latency.1),
    ]
}

fn big_endian() -> Vec<Filled> {
    use Kind::{Constant, Gauge};
    use ValueType::*;
    let mut f = scalars();
    f.truncate(11);
    f.extend(texts().into_iter().take(2));
    f.extend(averages().into_iter().take(5));
    f.extend(histograms().into_iter().skip(1).take(1));
    f.extend(histograms().into_iter().skip(3));
    f.extend(windowed().into_iter().take(3));
    f.push((meta("on", Gauge, Bool), Value::Bool(true)));
    f.push((meta("tiny", Constant, I8), num(Num::I(-1))));
    f
}

/// The words of a value slot (native values, FORMAT.md §5), with an even sequence word.
fn words(m: &FieldMeta, v: &Value) -> Vec<u64> {
    let vt = m.value_type;
    let seq = 2;
    let len = slot_words(m.slot_length().expect("valid field"));
    let mut w = match v {
        Value::Number(n) => vec![n.to_word(vt)],
        Value::Bool(b) => vec![u64::from(*b)],
        Value::Text(s) => {
            let (t, used) = text_words(s, m.capacity);
            assert_eq!(used, s.len(), "text {:?} fits its capacity", m.label);
            let mut w = vec![seq];
            w.extend(t);
            w
        }
        Value::Average { count, sum } => vec![seq, *count, sum.to_wide(vt)],
        Value::MovingAverage(m) => vec![
            seq,
            m.count,
            m.window_count,
            m.window_sum.to_wide(vt),
            m.last.to_wide(vt),
        ],
        Value::Histogram(h) => {
            let mut w = vec![
                seq,
                h.count,
                h.sum,
                h.min,
                h.max,
                h.last,
                h.window_count,
                h.window_sum,
            ];
            w.extend(h.dense_buckets());
            w
        }
        Value::Windowed(win) => {
            let mut w = vec![seq, win.count, win.sum.to_wide(vt)];
            for s in &win.slots {
                w.extend([s.period, s.count, s.sum.to_wide(vt)]);
            }
            w
        }
    };
    assert!(
        w.len() <= len,
        "{}: {} words, slot has {len}",
        m.label,
        w.len()
    );
    w.resize(len, 0);
    w
}

fn identity() -> Identity {
    Identity {
        pid: 4242,
        tid: 4243,
        start_time: 987_654,
        boot_id: *b"\x4a\x5c\x8e\x62\x9a\x3e\x4d\x2b\x8e\x1f\x0b\x7a\x6c\x5d\x4e\x3f",
        created_ns: 1_700_000_000_250_000_000,
        uid: 1000,
        gid: 100,
        writer: "mmstats-rust 0.1.0".into(),
    }
}

/// Lays out and fills a version-2 file; returns its bytes and the expected reading.
fn build(
    order: ByteOrder,
    state_bits: u64,
    fields: &[Filled],
) -> Result<(Vec<u8>, Json), Box<dyn std::error::Error>> {
    let metas: Vec<FieldMeta> = fields.iter().map(|(m, _)| m.clone()).collect();
    let reserve = Reserve {
        fields: 2,
        strings: 32,
        values: 64,
    };
    let mut plan = Plan::new(&metas, reserve)?;
    let mut image = vec![0u8; plan.geometry().file_length as usize];
    let placements: Vec<Placement> = metas
        .iter()
        .map(|m| plan.place(m))
        .collect::<Result<_, _>>()?;
    let mut header = plan.header(identity());
    header.live.state = state_bits;
    header.byte_order = order;
    image[..HEADER_LEN].copy_from_slice(&header.encode());
    for (p, (m, v)) in placements.iter().zip(fields) {
        p.apply_to_image(&mut image);
        // The plan encodes records natively; re-encode in the file's order.
        let record = Record::decode(&p.record, ByteOrder::NATIVE).encode(order);
        image[p.record_offset..p.record_offset + RECORD_LEN].copy_from_slice(&record);
        let is_text = matches!(v, Value::Text(_));
        for (i, w) in words(m, v).into_iter().enumerate() {
            let at = p.value_offset + 8 * i;
            // Text bytes are stored in file order whatever the byte order (FORMAT.md §5.2).
            let bytes = if is_text && i >= 2 {
                w.to_ne_bytes()
            } else {
                match order {
                    ByteOrder::Little => w.to_le_bytes(),
                    ByteOrder::Big => w.to_be_bytes(),
                }
            };
            image[at..at + 8].copy_from_slice(&bytes);
        }
    }
    let id = identity();
    let json = json!({
        "format_version": 2,
        "byte_order": match order { ByteOrder::Little => "little", ByteOrder::Big => "big" },
        "pid": id.pid,
        "tid": id.tid,
        "uid": id.uid,
        "gid": id.gid,
        "start_time": id.start_time,
        "created_ns": id.created_ns,
        "writer": id.writer,
        "closed": state_bits & state::CLOSED != 0,
        "process": state_bits & state::PROCESS != 0,
        "fields": fields.iter().map(|(m, v)| field_json(m, v)).collect::<Vec<_>>(),
    });
    Ok((image, json))
}

/// A version-1 file with every type code.
fn version_1() -> (Vec<u8>, Json) {
    let mut name = "wörker".as_bytes().to_vec();
    name.resize(16, 0);
    let ne = |b: &[u8]| b.to_vec();
    let bytes = v1::encode(&[
        ("sys.pid", "I", ne(&4242u32.to_ne_bytes())),
        ("sys.tid", "I", ne(&4243u32.to_ne_bytes())),
        ("sys.uid", "I", ne(&1000u32.to_ne_bytes())),
        ("sys.gid", "I", ne(&100u32.to_ne_bytes())),
        ("sys.created", "d", ne(&1_700_000_000.5f64.to_ne_bytes())),
        ("v.b", "b", ne(&(-5i8).to_ne_bytes())),
        ("v.B", "B", ne(&200u8.to_ne_bytes())),
        ("v.h", "h", ne(&(-300i16).to_ne_bytes())),
        ("v.H", "H", ne(&60_000u16.to_ne_bytes())),
        ("v.i", "i", ne(&(-70_000i32).to_ne_bytes())),
        ("v.q", "q", ne(&(-5_000_000_000i64).to_ne_bytes())),
        ("v.Q", "Q", ne(&5_000_000_000u64.to_ne_bytes())),
        ("v.f", "f", ne(&2.5f32.to_ne_bytes())),
        ("v.?", "?", vec![1]),
        ("name", "16s", name),
    ]);
    let gauge = |label: &str, vt: ValueType, n: Value| (meta(label, Kind::Gauge, vt), n);
    let system = |label: &str, vt: ValueType, n: Value| (meta(label, Kind::Constant, vt), n);
    let mut text = meta("name", Kind::Text, ValueType::Text);
    text.capacity = 16;
    let fields = [
        system("sys.pid", ValueType::U32, num(Num::U(4242))),
        system("sys.tid", ValueType::U32, num(Num::U(4243))),
        system("sys.uid", ValueType::U32, num(Num::U(1000))),
        system("sys.gid", ValueType::U32, num(Num::U(100))),
        system("sys.created", ValueType::F64, num(Num::F(1_700_000_000.5))),
        gauge("v.b", ValueType::I8, num(Num::I(-5))),
        gauge("v.B", ValueType::U8, num(Num::U(200))),
        gauge("v.h", ValueType::I16, num(Num::I(-300))),
        gauge("v.H", ValueType::U16, num(Num::U(60_000))),
        gauge("v.i", ValueType::I32, num(Num::I(-70_000))),
        gauge("v.q", ValueType::I64, num(Num::I(-5_000_000_000))),
        gauge("v.Q", ValueType::U64, num(Num::U(5_000_000_000))),
        gauge("v.f", ValueType::F32, num(Num::F(2.5))),
        gauge("v.?", ValueType::Bool, Value::Bool(true)),
        (text, Value::Text("wörker".into())),
    ];
    let json = json!({
        "format_version": 1,
        "pid": 4242,
        "tid": 4243,
        "uid": 1000,
        "gid": 100,
        "fields": fields.iter().map(|(m, v)| field_json(m, v)).collect::<Vec<_>>(),
    });
    (bytes, json)
}

/// One field in the JSON form of FORMAT.md §10.
fn field_json(m: &FieldMeta, v: &Value) -> Json {
    serde_json::to_value(mmstats_format::vector::VectorField::new(m, v)).expect("field")
}
