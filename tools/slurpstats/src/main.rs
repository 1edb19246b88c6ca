//! slurpstats (being written).

fn main() {
    eprintln!("slurpstats: not built yet");
    std::process::exit(2);
}
