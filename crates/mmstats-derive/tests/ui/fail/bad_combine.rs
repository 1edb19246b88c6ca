use mmstats::Counter;

#[derive(mmstats::Stats)]
struct BadCombine {
    #[stat(combine = "total")]
    hits: Counter,
}

fn main() {}
