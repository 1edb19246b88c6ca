//! cleanstats (being written).

fn main() {
    eprintln!("cleanstats: not built yet");
    std::process::exit(2);
}
