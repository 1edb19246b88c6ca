//! Every handle kind round-trips through the file; registration follows FORMAT.md §7.

use mmstats::{Combine, Error, FieldDecl, Gauge, Kind, Options, Stats, ValueType};
use mmstats_format::{FieldError, Num, Reserve, Value};

use crate::file::decode;

fn stats(tmp: &tempfile::TempDir) -> Stats {
    Stats::create(Options::new().dir(tmp.path()).prefix("web.")).unwrap()
}

#[test]
fn counters_round_trip_and_wrap() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let c = s
        .counter("status.2XX")
        .help("responses with a 2xx status")
        .unit("requests")
        .register()
        .unwrap();
    c.incr(1);
    c.incr(41);
    assert_eq!(c.get(), 42);
    let d = decode(s.path());
    let f = d.field("web.status.2XX");
    assert_eq!(f.meta.kind, Kind::Counter);
    assert_eq!(f.meta.value_type, ValueType::U64);
    assert_eq!(f.meta.combine, Combine::Sum);
    assert_eq!(f.meta.help, "responses with a 2xx status");
    assert_eq!(f.meta.unit, "requests");
    assert_eq!(d.value("web.status.2XX"), Value::Number(Num::U(42)));

    c.incr(u64::MAX);
    assert_eq!(c.get(), 41, "wraps");
    assert_eq!(
        decode(s.path()).value("web.status.2XX"),
        Value::Number(Num::U(41))
    );
}

fn gauge_round_trip<T: mmstats::GaugeValue + PartialEq + std::fmt::Debug>(
    s: &Stats,
    label: &str,
    v: T,
    want: Value,
) {
    let g: Gauge<T> = s.gauge::<T>(label).register().unwrap();
    g.set(v);
    assert_eq!(g.get(), v);
    let d = decode(s.path());
    let full = format!("web.{label}");
    assert_eq!(d.field(&full).meta.kind, Kind::Gauge);
    assert_eq!(d.field(&full).meta.value_type, T::TYPE);
    assert_eq!(d.value(&full), want, "{label}");
}

#[test]
fn gauges_of_every_type_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    gauge_round_trip(&s, "u8", 250u8, Value::Number(Num::U(250)));
    gauge_round_trip(&s, "u16", 65000u16, Value::Number(Num::U(65000)));
    gauge_round_trip(
        &s,
        "u32",
        4_000_000_000u32,
        Value::Number(Num::U(4_000_000_000)),
    );
    gauge_round_trip(&s, "u64", u64::MAX, Value::Number(Num::U(u64::MAX)));
    gauge_round_trip(&s, "i8", -128i8, Value::Number(Num::I(-128)));
    gauge_round_trip(&s, "i16", -300i16, Value::Number(Num::I(-300)));
    gauge_round_trip(&s, "i32", -70000i32, Value::Number(Num::I(-70000)));
    gauge_round_trip(&s, "i64", i64::MIN, Value::Number(Num::I(i64::MIN)));
    gauge_round_trip(&s, "f32", 0.25f32, Value::Number(Num::F(0.25)));
    gauge_round_trip(&s, "f64", -1e300f64, Value::Number(Num::F(-1e300)));
    gauge_round_trip(&s, "bool", true, Value::Bool(true));
}

#[test]
fn gauges_go_down_as_well_as_up() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let g = s
        .gauge::<i32>("level")
        .combine(Combine::Max)
        .register()
        .unwrap();
    g.set(10);
    g.set(-3);
    let d = decode(s.path());
    assert_eq!(d.value("web.level"), Value::Number(Num::I(-3)));
    assert_eq!(d.field("web.level").meta.combine, Combine::Max);
}

#[test]
fn text_round_trips_and_truncates_on_a_character_boundary() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t = s.text("last_path", 10).register().unwrap();
    assert_eq!(t.capacity(), 10);
    assert_eq!(
        decode(s.path()).value("web.last_path"),
        Value::Text("".into())
    );
    t.set("/index.html");
    assert_eq!(
        decode(s.path()).value("web.last_path"),
        Value::Text("/index.htm".into())
    );
    t.set("ééééé!"); // 11 bytes: the fifth é would cross the limit
    assert_eq!(
        decode(s.path()).value("web.last_path"),
        Value::Text("ééééé".into())
    );
    t.set("short");
    let d = decode(s.path());
    assert_eq!(d.value("web.last_path"), Value::Text("short".into()));
    let f = d.field("web.last_path");
    assert_eq!(
        (f.meta.kind, f.meta.capacity, f.value_length),
        (Kind::Text, 10, 32)
    );
    // Every update made the sequence word even again.
    let seq = u64::from_ne_bytes(d.bytes[f.value_offset as usize..][..8].try_into().unwrap());
    assert_eq!(seq % 2, 0);
    assert_eq!(seq, 6, "three updates");
}

#[test]
fn timestamps_are_seconds_since_the_epoch() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let t = s.timestamp("started").register().unwrap();
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500);
    t.set(when);
    assert_eq!(t.get_secs(), 1_700_000_000.5);
    let d = decode(s.path());
    assert_eq!(
        d.value("web.started"),
        Value::Number(Num::F(1_700_000_000.5))
    );
    let f = d.field("web.started");
    assert_eq!(
        (f.meta.kind, f.meta.unit.as_str()),
        (Kind::Timestamp, "seconds")
    );
    t.set(std::time::UNIX_EPOCH - std::time::Duration::from_secs(2));
    assert_eq!(t.get_secs(), -2.0);
    t.set_now();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((t.get_secs() - now).abs() < 5.0);
}

#[test]
fn constants_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    s.constant("workers", 8u16).unwrap();
    s.constant("ratio", 0.5f64).unwrap();
    s.constant("debug", false).unwrap();
    s.constant_text("build", "1.2.3-abc").unwrap();
    s.constant_text("empty", "").unwrap();
    let d = decode(s.path());
    assert_eq!(d.value("web.workers"), Value::Number(Num::U(8)));
    assert_eq!(d.value("web.ratio"), Value::Number(Num::F(0.5)));
    assert_eq!(d.value("web.debug"), Value::Bool(false));
    assert_eq!(d.value("web.build"), Value::Text("1.2.3-abc".into()));
    assert_eq!(d.value("web.empty"), Value::Text("".into()));
    assert_eq!(d.field("web.build").meta.kind, Kind::Constant);
    assert_eq!(d.field("web.workers").meta.value_type, ValueType::U16);
}

#[test]
fn generic_registration_takes_a_declaration() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let decl = FieldDecl {
        label: "queue.depth".into(),
        help: "jobs waiting".into(),
        unit: "jobs".into(),
        combine: Some(Combine::Sum),
        ..FieldDecl::default()
    };
    let g: Gauge<u64> = s.register(decl).unwrap();
    g.set(7);
    let text: mmstats::Text = s
        .register(FieldDecl {
            capacity: Some(4),
            ..FieldDecl::new("state")
        })
        .unwrap();
    text.set("idle");
    let d = decode(s.path());
    assert_eq!(d.value("web.queue.depth"), Value::Number(Num::U(7)));
    assert_eq!(d.field("web.queue.depth").meta.help, "jobs waiting");
    assert_eq!(d.field("web.queue.depth").meta.combine, Combine::Sum);
    assert_eq!(d.value("web.state"), Value::Text("idle".into()));
}

#[test]
fn duplicate_labels_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let _c = s.counter("hits").register().unwrap();
    let err = s.counter("hits").register().unwrap_err();
    assert!(
        matches!(err, Error::Field(FieldError::DuplicateLabel(ref l)) if l == "web.hits"),
        "{err}"
    );
    assert!(s.gauge::<u8>("hits").register().is_err());
    assert!(s.constant("hits", 1u8).is_err());
    // The system fields are taken as well, without the prefix.
    let bare = Stats::create(Options::new().dir(tmp.path()).file_template("bare.mmstats")).unwrap();
    assert!(bare.constant("sys.pid", 1u32).is_err());
    assert_eq!(
        decode(s.path())
            .labels()
            .iter()
            .filter(|l| **l == "web.hits")
            .count(),
        1
    );
}

#[test]
fn invalid_declarations_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path())).unwrap();
    assert!(matches!(s.counter("").register(), Err(Error::Field(_))));
    assert!(s.text("t", 0).register().is_err());
    assert!(s.text("t", 65537).register().is_err());
    assert!(s.counter(&"x".repeat(1025)).register().is_err());
    assert!(s.counter("c").unit(&"u".repeat(65)).register().is_err());
    let before = decode(s.path());
    assert_eq!(before.fields.len(), 6, "nothing was added");
}

#[test]
fn fields_added_after_creation_bump_the_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let before = decode(s.path()).header.live;
    let c = s.counter("late").register().unwrap();
    c.incr(3);
    let after = decode(s.path());
    assert_eq!(after.header.live.field_count, before.field_count + 1);
    assert_eq!(after.header.live.generation, before.generation + 1);
    assert!(after.header.live.strings_used > before.strings_used);
    assert!(after.header.live.values_used > before.values_used);
    assert_eq!(after.value("web.late"), Value::Number(Num::U(3)));
}

#[test]
fn the_reserve_runs_out_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Stats::create(Options::new().dir(tmp.path()).reserve(Reserve {
        fields: 2,
        strings: 64,
        values: 64,
    }))
    .unwrap();
    let a = s.counter("a").register().unwrap();
    let _b = s.counter("b").register().unwrap();
    let err = s.counter("c").register().unwrap_err();
    assert!(err.to_string().contains("no room"), "{err}");
    a.incr(1);
    let d = decode(s.path());
    assert_eq!(d.fields.len(), 8);
    assert_eq!(d.value("a"), Value::Number(Num::U(1)));
}

#[test]
fn handles_move_to_other_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let c = s.counter("moved").register().unwrap();
    let c = std::thread::spawn(move || {
        for _ in 0..1000 {
            c.incr(1);
        }
        c
    })
    .join()
    .unwrap();
    assert_eq!(c.get(), 1000);
    assert_eq!(
        decode(s.path()).value("web.moved"),
        Value::Number(Num::U(1000))
    );
}

#[test]
fn registration_works_from_several_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    std::thread::scope(|scope| {
        for t in 0..4 {
            let s = &s;
            scope.spawn(move || {
                for i in 0..8 {
                    s.counter(&format!("t{t}.c{i}")).register().unwrap().incr(i);
                }
            });
        }
    });
    let d = decode(s.path());
    assert_eq!(d.fields.len(), 6 + 32);
    assert_eq!(d.value("web.t3.c7"), Value::Number(Num::U(7)));
}

/// The writer refuses what `#[derive(StatsModel)]` refuses at compile time (FORMAT.md §3.3): both
/// call `mmstats_format::strings`.
#[test]
fn labels_units_and_prefixes_with_whitespace_are_refused() {
    use mmstats_format::strings::StringError;
    let tmp = tempfile::tempdir().unwrap();
    let s = stats(&tmp);
    let string_error = |e: Error| match e {
        Error::Field(FieldError::BadString { kind, .. }) => kind,
        other => panic!("not a string error: {other}"),
    };
    let err = s.counter("two words").register().unwrap_err();
    assert_eq!(string_error(err), StringError::Whitespace);
    let err = s.counter("tab\there").register().unwrap_err();
    assert_eq!(string_error(err), StringError::Whitespace);
    let err = s.counter("rate").unit("per second").register().unwrap_err();
    assert_eq!(string_error(err), StringError::UnitNotAWord);
    let spaced = Stats::create(
        Options::new()
            .dir(tmp.path())
            .prefix("my app.")
            .file_template("spaced.mmstats"),
    )
    .unwrap();
    let err = spaced.counter("hits").register().unwrap_err();
    assert_eq!(string_error(err), StringError::Whitespace);
    // Label values are not names: any text without NUL (FORMAT.md §3.5).
    s.counter("by_method")
        .label("method", "GET /x")
        .register()
        .unwrap();
    assert!(
        decode(s.path())
            .fields
            .iter()
            .any(|f| f.meta.label == "web.by_method{method=\"GET /x\"}")
    );
}
