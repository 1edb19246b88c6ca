//! pollstats (being written).

fn main() {
    eprintln!("pollstats: not built yet");
    std::process::exit(2);
}
