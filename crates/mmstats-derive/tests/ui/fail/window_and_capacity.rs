use mmstats::Text;

#[derive(mmstats::Stats)]
struct Both {
    #[stat(window = 10, capacity = 64)]
    text: Text,
}

fn main() {}
