use mmstats::Counter;

#[derive(mmstats::Stats)]
struct Duplicate {
    hits: Counter,
    #[stat(label = "hits")]
    other_hits: Counter,
}

fn main() {}
