//! What a derived model does at run time: its file, read back through the reader, holds every
//! field as declared, with the values written through the handles.

use mmstats::{Combine, Counter, Gauge, Kind, Options, Stats, StatsModel, Text, ValueType};
use mmstats_format::layout::align8;
use mmstats_format::{Num, Value};
use mmstats_reader::{FieldValue, Snapshot, StatsFile};

#[derive(mmstats::Stats)]
#[stats(prefix = "web.stats.", name = "web")]
struct WebStats {
    #[stat(label = "status.2XX", help = "responses with a 2xx status")]
    status2xx: Counter,
    /// When the last request arrived.
    #[stat(label = "timers.last_hit", unit = "seconds", combine = "max")]
    last_hit: Gauge<f64>,
    #[stat(capacity = 64)]
    build: Text,
    #[stat(skip)]
    note: Option<String>,
}

fn field<'a>(snapshot: &'a Snapshot, label: &str) -> &'a FieldValue {
    snapshot
        .fields
        .iter()
        .find(|f| f.meta.label == label)
        .unwrap_or_else(|| panic!("no field {label} in {:?}", snapshot.fields))
}

#[test]
fn a_derived_model_writes_what_it_declares() {
    let dir = tempfile::tempdir().unwrap();
    let web = WebStats::create(Options::new().dir(dir.path())).unwrap();
    assert!(web.note.is_none());
    web.status2xx.incr(3);
    web.last_hit.set(1.5);
    web.build.set("v1.2.3");

    let mut file = StatsFile::open(web.stats().path()).unwrap();
    let snapshot = file.snapshot().unwrap();

    let status = field(&snapshot, "web.stats.status.2XX");
    assert_eq!(status.meta.kind, Kind::Counter);
    assert_eq!(status.meta.help, "responses with a 2xx status");
    assert_eq!(status.meta.combine, Combine::Sum);
    assert_eq!(status.value, Ok(Value::Number(Num::U(3))));

    let last_hit = field(&snapshot, "web.stats.timers.last_hit");
    assert_eq!(last_hit.meta.kind, Kind::Gauge);
    assert_eq!(last_hit.meta.value_type, ValueType::F64);
    assert_eq!(last_hit.meta.help, "When the last request arrived.");
    assert_eq!(last_hit.meta.unit, "seconds");
    assert_eq!(last_hit.meta.combine, Combine::Max);
    assert_eq!(last_hit.value, Ok(Value::Number(Num::F(1.5))));

    let build = field(&snapshot, "web.stats.build");
    assert_eq!(build.meta.kind, Kind::Text);
    assert_eq!(build.meta.capacity, 64);
    assert_eq!(build.value, Ok(Value::Text("v1.2.3".into())));

    // The skipped field is not in the file; the rest is the system fields.
    let labels: Vec<&str> = snapshot
        .fields
        .iter()
        .map(|f| f.meta.label.as_str())
        .collect();
    assert!(!labels.iter().any(|l| l.contains("note")), "{labels:?}");
    assert!(
        labels
            .iter()
            .all(|l| l.starts_with("web.stats.") || l.starts_with("sys.")),
        "{labels:?}"
    );
}

#[test]
fn reserve_is_the_room_of_the_registered_fields() {
    let room = WebStats::reserve();
    assert_eq!(room.fields, 3);
    let strings = align8("web.stats.status.2XX".len())
        + align8("responses with a 2xx status".len())
        + align8("web.stats.timers.last_hit".len())
        + align8("When the last request arrived.".len())
        + align8("seconds".len())
        + align8("web.stats.build".len());
    assert_eq!(room.strings, strings);
    // A counter and a gauge take a word each; a text of 64 bytes takes seq, length, bytes.
    assert_eq!(room.values, 8 + 8 + (16 + 64));
}

#[test]
fn register_all_adds_the_fields_to_existing_stats() {
    let dir = tempfile::tempdir().unwrap();
    let stats = Stats::create(Options::new().dir(dir.path()).prefix("app.")).unwrap();
    let web = WebStats::register_all(&stats).unwrap();
    web.status2xx.incr(1);
    assert_eq!(web.status2xx.get(), 1);

    let mut file = StatsFile::open(stats.path()).unwrap();
    let snapshot = file.snapshot().unwrap();
    assert_eq!(
        field(&snapshot, "app.status.2XX").value,
        Ok(Value::Number(Num::U(1)))
    );

    // The labels are taken now: registering the model again fails instead of aliasing.
    assert!(WebStats::register_all(&stats).is_err());
}

/// `local()` creates its files in the default directory, which `$MMSTATS_PATH` sets: the test
/// runs itself again as a child process with that variable pointing at a temporary directory.
#[test]
fn local_is_one_instance_per_thread() {
    const NAME: &str = "local_is_one_instance_per_thread";
    if mmstats_testkit::child::is_child(NAME) {
        local_child();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Checks that the child passed and really ran this test.
    mmstats_testkit::child::child_output(NAME, [("MMSTATS_PATH", dir.path().as_os_str())]);
}

fn local_child() {
    let dir = std::path::PathBuf::from(std::env::var_os("MMSTATS_PATH").unwrap());
    let first = std::thread::spawn(move || {
        WebStats::local().status2xx.incr(2);
        WebStats::local().status2xx.incr(3);
        // The thread's file is in the directory, under the model's prefix.
        let mut values = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "mmstats") {
                let snapshot = StatsFile::open(&path).unwrap().snapshot().unwrap();
                values.push(field(&snapshot, "web.stats.status.2XX").value.clone());
            }
        }
        assert!(values.contains(&Ok(Value::Number(Num::U(5)))), "{values:?}");
        WebStats::local().status2xx.get()
    })
    .join()
    .unwrap();
    assert_eq!(first, 5);
    let second = std::thread::spawn(|| WebStats::local().status2xx.get())
        .join()
        .unwrap();
    assert_eq!(second, 0);
}

/// A family of series declared with `labels(...)`.
#[derive(mmstats::Stats)]
#[stats(prefix = "http.")]
struct Http {
    #[stat(label = "requests", labels(method = "GET", code = "200"))]
    get_ok: Counter,
    #[stat(label = "requests", labels(method = "POST", code = "500"))]
    post_failed: Counter,
}

#[test]
fn labelled_fields_of_a_derived_model_are_series_of_one_family() {
    let dir = tempfile::tempdir().unwrap();
    let http = Http::create(Options::new().dir(dir.path())).unwrap();
    http.get_ok.incr(2);
    http.post_failed.incr(1);
    let mut file = StatsFile::open(http.stats().path()).unwrap();
    let snapshot = file.snapshot().unwrap();
    let get = field(&snapshot, r#"http.requests{code="200",method="GET"}"#);
    assert_eq!(get.meta.name(), "http.requests");
    assert_eq!(get.meta.labels.len(), 2);
    assert_eq!(get.value, Ok(Value::Number(Num::U(2))));
    let post = field(&snapshot, r#"http.requests{code="500",method="POST"}"#);
    assert_eq!(post.value, Ok(Value::Number(Num::U(1))));
}

/// The README's one-line registration: the stats object is dropped at the end of the
/// statement, and the handle keeps the file published until it goes.
#[test]
fn the_one_line_idiom_keeps_publishing_to_readers() -> Result<(), mmstats::Error> {
    let dir = tempfile::tempdir().unwrap();
    let options = Options::new().dir(dir.path()).file_template("hits.mmstats");
    let hits = Stats::create(options)?.counter("hits").register()?;
    let path = dir.path().join("hits.mmstats");
    let mut file = StatsFile::open(&path).unwrap();
    for n in 1..=3 {
        hits.incr(10);
        let snapshot = file.snapshot().unwrap();
        assert_eq!(
            field(&snapshot, "hits").value,
            Ok(Value::Number(Num::U(10 * n)))
        );
    }
    // The file is live to a reader opening it now: not closed, its writer holding the lock.
    let mut fresh = StatsFile::open(&path).unwrap();
    assert!(!fresh.info().closed);
    assert_eq!(
        mmstats_reader::liveness(&fresh),
        mmstats_reader::Liveness::Alive
    );
    let snapshot = fresh.snapshot().unwrap();
    assert_eq!(
        field(&snapshot, "hits").value,
        Ok(Value::Number(Num::U(30)))
    );
    drop(hits);
    assert!(!path.exists(), "removed with its last handle");
    Ok(())
}

/// `#[derive(StatsModel)]` is the derive's name, after the trait it implements;
/// `#[derive(Stats)]` (above) is the same macro under its earlier name.
#[derive(mmstats::StatsModel)]
#[stats(prefix = "jobs.")]
struct Jobs {
    done: Counter,
}

#[test]
fn the_derive_is_named_after_the_trait_it_implements() {
    fn model<M: StatsModel>(_: &M) -> &'static str {
        M::NAME
    }
    let dir = tempfile::tempdir().unwrap();
    let jobs = Jobs::create(Options::new().dir(dir.path())).unwrap();
    jobs.done.incr(2);
    assert_eq!(model(&*jobs), "jobs");
    let snapshot = StatsFile::open(jobs.stats().path())
        .unwrap()
        .snapshot()
        .unwrap();
    assert_eq!(
        field(&snapshot, "jobs.done").value,
        Ok(Value::Number(Num::U(2)))
    );
}
