//! Handles are `Send` but not `Sync`: one thread at a time writes a field, which is why an
//! update is a plain load and store. Sharing one between threads does not compile.

use mmstats::{Histogram, Text, Timer, Windowed};

fn assert_sync<T: Sync>() {}

fn main() {
    assert_sync::<Text>();
    assert_sync::<Histogram>();
    assert_sync::<Timer>();
    assert_sync::<Windowed<u64>>();
}
