//! Models: structs of handles registered together, per instance or per thread.

use mmstats::__private::LocalCell;
use mmstats::{Counter, Error, Gauge, Instance, Options, Reserve, Stats, StatsModel};
use mmstats_format::layout::state;
use mmstats_format::{Num, Value};

use crate::file::{decode, names};

/// What `#[derive(StatsModel)]` would generate for a small struct.
#[derive(Debug)]
struct Web {
    hits: Counter,
    busy: Gauge<u32>,
}

impl StatsModel for Web {
    const NAME: &'static str = "web";
    const PREFIX: &'static str = "web.";
    fn register_all(stats: &Stats) -> Result<Self, Error> {
        Ok(Web {
            hits: stats.counter("hits").register()?,
            busy: stats.gauge::<u32>("busy").register()?,
        })
    }
    fn reserve() -> Reserve {
        Reserve {
            fields: 2,
            strings: 16,
            values: 16,
        }
    }
}

impl Web {
    fn local() -> mmstats::Local<Web> {
        mmstats::__private::thread_local! {
            static CELL: LocalCell<Web> = const { LocalCell::new() };
        }
        CELL.with(LocalCell::get)
    }
}

#[test]
fn an_instance_registers_every_field_with_both_prefixes() {
    let tmp = tempfile::tempdir().unwrap();
    let web = Instance::<Web>::create(
        Options::new()
            .dir(tmp.path())
            .prefix("eu.")
            .file_template("{NAME}.mmstats")
            .reserve(Reserve {
                fields: 0,
                strings: 0,
                values: 0,
            }),
    )
    .unwrap();
    web.hits.incr(2);
    web.busy.set(5);
    assert_eq!(names(tmp.path()), ["web.mmstats"]);
    let d = decode(web.stats().path());
    assert_eq!(d.value("web.eu.hits"), Value::Number(Num::U(2)));
    assert_eq!(d.value("web.eu.busy"), Value::Number(Num::U(5)));
    // The model's reserve was enough on its own; the options' reserve is used up.
    assert!(web.stats().counter("more").register().is_err());
    web.close().unwrap();
    assert!(names(tmp.path()).is_empty());
}

#[test]
fn instances_of_a_model_reserve_room_for_later_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let web = Instance::<Web>::create(Options::new().dir(tmp.path())).unwrap();
    let extra = web.stats().counter("extra").register().unwrap();
    extra.incr(1);
    assert_eq!(
        decode(web.stats().path()).value("web.extra"),
        Value::Number(Num::U(1))
    );
}

/// Runs in a child process (see `local_instances_follow_their_thread`), where the stats
/// directory comes from the environment.
fn local_child() {
    let here = Web::local();
    here.hits.incr(1);
    Web::local().hits.incr(1);
    assert_eq!(here.hits.get(), 2, "one instance per thread");
    let mine = here.stats().path().to_path_buf();
    let dir = mine.parent().unwrap().to_path_buf();
    let totals = dir.join("web-totals.mmstats");
    assert!(!totals.exists(), "no totals before a thread ends");

    let worker = |n: u64| {
        std::thread::spawn(move || {
            let l = Web::local();
            l.hits.incr(n);
            l.busy.set(7);
            let p = l.stats().path().to_path_buf();
            (p.clone(), p.exists())
        })
        .join()
        .unwrap()
    };
    let (theirs, existed) = worker(10);
    assert!(existed);
    assert_ne!(mine, theirs);
    assert!(!theirs.exists(), "the thread's exit removed its file");
    assert!(mine.exists());
    assert_eq!(decode(&mine).value("web.hits"), Value::Number(Num::U(2)));

    // Its counters went to the process totals first.
    let t = decode(&totals);
    assert_eq!(t.header.identity.tid, 0);
    assert_eq!(t.header.identity.pid, std::process::id());
    assert_eq!(t.header.live.state & state::PROCESS, state::PROCESS);
    assert_eq!(t.value("sys.tid"), Value::Number(Num::U(0)));
    assert_eq!(t.value("web.hits"), Value::Number(Num::U(10)));
    assert!(
        t.fields.iter().all(|f| f.meta.label != "web.busy"),
        "gauges are not folded"
    );

    worker(5);
    let t = decode(&totals);
    assert_eq!(t.value("web.hits"), Value::Number(Num::U(15)));
}

#[test]
fn local_instances_follow_their_thread() {
    let Some((tmp, _)) =
        crate::run_in_child("model::local_instances_follow_their_thread", local_child)
    else {
        return;
    };
    // The process's exit removed every file it had: the test thread's (folded and removed when
    // it ended) and the totals file.
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
}
