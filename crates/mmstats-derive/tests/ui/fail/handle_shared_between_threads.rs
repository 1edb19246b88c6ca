//! A handle cannot be shared between threads: two threads incrementing one counter would lose
//! updates, since an increment is a plain load and store.

use mmstats::{Options, Stats};

fn main() {
    let stats = Stats::in_memory(Options::new()).unwrap();
    let hits = stats.counter("hits").register().unwrap();
    std::thread::scope(|s| {
        s.spawn(|| hits.incr(1));
        hits.incr(1);
    });
}
