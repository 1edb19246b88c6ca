//! mmash (being written).

fn main() {
    eprintln!("mmash: not built yet");
    std::process::exit(2);
}
