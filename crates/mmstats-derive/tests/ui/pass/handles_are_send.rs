//! Handles are `Send`: a handle can move to the thread that updates it, and its file stays
//! published while it lives there.

use mmstats::{
    Average, Constant, ConstantText, Counter, Gauge, Histogram, MovingAverage, Options, Stats,
    Text, Timer, Timestamp, Windowed,
};

fn assert_send<T: Send>() {}

fn main() {
    assert_send::<Counter>();
    assert_send::<Gauge<u64>>();
    assert_send::<Text>();
    assert_send::<Timestamp>();
    assert_send::<Constant<u32>>();
    assert_send::<ConstantText>();
    assert_send::<Average<u64>>();
    assert_send::<MovingAverage<f64>>();
    assert_send::<Histogram>();
    assert_send::<Timer>();
    assert_send::<Windowed<u64>>();

    let dir = std::env::temp_dir().join(format!("mmstats-ui-send-{}", std::process::id()));
    let stats = Stats::create(Options::new().dir(&dir)).unwrap();
    let path = stats.path().to_path_buf();
    let hits = stats.counter("hits").register().unwrap();
    drop(stats);
    let hits = std::thread::spawn(move || {
        hits.incr(2);
        hits
    })
    .join()
    .unwrap();
    assert_eq!(hits.get(), 2);
    assert!(path.exists());
    drop(hits);
    assert!(!path.exists());
    std::fs::remove_dir(&dir).unwrap();
}
