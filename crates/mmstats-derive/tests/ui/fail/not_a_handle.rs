use mmstats::Counter;

#[derive(mmstats::Stats)]
struct NotAHandle {
    hits: Counter,
    name: String,
}

fn main() {}
