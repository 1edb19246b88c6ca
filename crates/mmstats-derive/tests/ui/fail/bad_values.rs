use mmstats::{Counter, Text};

#[derive(mmstats::Stats)]
#[stats(name = "has space", prefix = 7)]
struct BadValues {
    #[stat(label = "")]
    empty: Counter,
    #[stat(label = "two words")]
    spaced: Counter,
    #[stat(label = 5)]
    number: Counter,
    #[stat(capacity = "64")]
    text: Text,
    #[stat(window = 0)]
    zero: Counter,
    #[stat(unit = "per second", label = "x", label = "y")]
    twice: Counter,
    #[stat(skip, help = "ignored")]
    skipped: u8,
    #[stats(prefix = "misplaced")]
    misplaced: Counter,
}

fn main() {}
