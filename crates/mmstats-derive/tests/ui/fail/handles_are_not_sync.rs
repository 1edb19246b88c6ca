//! Handles are `Send` but not `Sync`: one thread at a time writes a field, which is why an
//! update is a plain load and store. Sharing one between threads does not compile.

use mmstats::{
    Average, Constant, ConstantText, Counter, Gauge, Histogram, MovingAverage, Options, Stats,
    Text, Timer, Timestamp, Windowed,
};

fn assert_sync<T: Sync>() {}

fn main() {
    let stats = Stats::in_memory(Options::new()).unwrap();
    let hits = stats.counter("hits").register().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| hits.incr(1));
        hits.incr(1);
    });

    assert_sync::<Counter>();
    assert_sync::<Gauge<u64>>();
    assert_sync::<Text>();
    assert_sync::<Timestamp>();
    assert_sync::<Constant<u32>>();
    assert_sync::<ConstantText>();
    assert_sync::<Average<u64>>();
    assert_sync::<MovingAverage<f64>>();
    assert_sync::<Histogram>();
    assert_sync::<Timer>();
    assert_sync::<Windowed<u64>>();
}
