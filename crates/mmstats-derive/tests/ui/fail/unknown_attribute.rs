use mmstats::Counter;

#[derive(mmstats::Stats)]
#[stats(prefx = "web.")]
struct Unknown {
    #[stat(lable = "hits", help = "still checked")]
    hits: Counter,
    #[stat(color(red))]
    misses: Counter,
}

fn main() {}
