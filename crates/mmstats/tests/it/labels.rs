//! Labelled fields (FORMAT.md §3.5): registration, the cap per family, and process totals that
//! fold each series by its series key.

use mmstats::{Error, Options, Stats};
use mmstats_format::{Num, Value};

use crate::file::{decode, names};

#[test]
fn labelled_registration_writes_sorted_pairs_and_the_series_key() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = Stats::create(Options::new().dir(tmp.path()).prefix("http.")).unwrap();
    let get = stats
        .counter("requests")
        .help("requests served")
        .label("method", "GET")
        .label("code", "200")
        .register()
        .unwrap();
    let post = stats
        .counter("requests")
        .labels([("method", "POST"), ("code", "500")])
        .register()
        .unwrap();
    let plain = stats.counter("requests").register().unwrap();
    get.incr(7);
    post.incr(3);
    plain.incr(1);
    let d = decode(stats.path());
    let key = r#"http.requests{code="200",method="GET"}"#;
    let f = d.field(key);
    assert_eq!(f.meta.name(), "http.requests");
    assert_eq!(
        f.meta.labels,
        [
            ("code".into(), "200".into()),
            ("method".into(), "GET".into())
        ]
    );
    assert_eq!(d.value(key), Value::Number(Num::U(7)));
    assert_eq!(
        d.value(r#"http.requests{code="500",method="POST"}"#),
        Value::Number(Num::U(3))
    );
    assert_eq!(d.value("http.requests"), Value::Number(Num::U(1)));

    // The same series twice, a duplicate key and a bad key are refused with a reason.
    let again = stats
        .counter("requests")
        .labels([("code", "200"), ("method", "GET")]);
    assert!(matches!(again.register(), Err(Error::Field(_))));
    let dup = stats
        .counter("x")
        .labels([("a", "1"), ("a", "2")])
        .register();
    assert!(dup.unwrap_err().to_string().contains("twice"));
    let bad = stats.counter("x").label("no-dash", "1").register();
    assert!(bad.unwrap_err().to_string().contains("label key"));
}

#[test]
fn a_family_past_its_cap_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let stats = Stats::create(Options::new().dir(tmp.path()).label_sets(3)).unwrap();
    for user in 0..3 {
        stats
            .counter("logins")
            .label("user", &user.to_string())
            .register()
            .unwrap();
    }
    let err = stats
        .counter("logins")
        .label("user", "3")
        .register()
        .unwrap_err();
    assert!(
        matches!(err, Error::TooManyLabelSets { cap: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("logins"), "{err}");
    // Other families and plain fields of the same name are not affected.
    stats.counter("logins").register().unwrap();
    stats
        .counter("other")
        .label("user", "3")
        .register()
        .unwrap();
}

#[test]
fn totals_fold_each_series_by_its_key() {
    let Some((tmp, _)) = crate::run_in_child("labels::totals_fold_each_series_by_its_key", || {
        for (method, n) in [("GET", 5), ("POST", 2), ("GET", 4)] {
            std::thread::spawn(move || {
                let stats = Stats::create(Options::new().name("lab").fold_totals(true)).unwrap();
                let c = stats
                    .counter("requests")
                    .label("method", method)
                    .register()
                    .unwrap();
                c.incr(n);
            })
            .join()
            .unwrap();
        }
        let dir = std::env::var("MMSTATS_PATH").unwrap();
        let totals = std::path::Path::new(&dir).join("lab-totals.mmstats");
        let d = decode(&totals);
        assert_eq!(
            d.value(r#"requests{method="GET"}"#),
            Value::Number(Num::U(9))
        );
        assert_eq!(
            d.value(r#"requests{method="POST"}"#),
            Value::Number(Num::U(2))
        );
        mmstats::remove_all();
    }) else {
        return;
    };
    assert!(names(tmp.path()).is_empty(), "{:?}", names(tmp.path()));
}
