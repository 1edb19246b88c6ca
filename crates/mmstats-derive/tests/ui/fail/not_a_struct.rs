use mmstats::Counter;

#[derive(mmstats::Stats)]
enum Enum {
    A(Counter),
}

#[derive(mmstats::Stats)]
struct Tuple(Counter, Counter);

#[derive(mmstats::Stats)]
struct Generic<T> {
    hits: T,
}

fn main() {}
