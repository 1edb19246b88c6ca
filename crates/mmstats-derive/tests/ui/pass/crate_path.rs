//! `#[stats(crate = "...")]` for a re-exported or renamed mmstats.

mod reexport {
    pub use ::mmstats as metrics;
}

#[derive(::mmstats::Stats)]
#[stats(crate = "crate::reexport::metrics", name = "renamed")]
struct Renamed {
    hits: reexport::metrics::Counter,
}

fn main() {
    assert_eq!(<Renamed as reexport::metrics::StatsModel>::NAME, "renamed");
    fn hits(r: &Renamed) -> &reexport::metrics::Counter {
        &r.hits
    }
    let _ = hits;
}
