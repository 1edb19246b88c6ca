#![deny(missing_docs)]
//! Doc comments become help texts; the generated functions are documented.

use mmstats::{Counter, Gauge, StatsModel};

/// The model.
#[derive(mmstats::Stats)]
pub struct Documented {
    /// Requests served.
    pub requests: Counter,
    /// Bytes in the queue,
    /// over several lines.
    ///
    /// A second paragraph that is not part of the help.
    pub queue: Gauge<u64>,
    /// Replaced by the explicit help.
    #[stat(help = "explicit help wins")]
    pub explicit: Counter,
}

fn main() {
    assert_eq!(<Documented as StatsModel>::NAME, "documented");
    let _ = Documented::create;
}
