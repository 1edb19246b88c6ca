//! A writer process for cross-process tests.
//!
//! `writer-child DIR RATE_PER_SEC` creates a stats file in DIR with a counter `ticks`
//! incremented RATE_PER_SEC times a second, a gauge `level` set to the tick count, and a text
//! `status` that changes with it (`mmstats_testkit::torn::step_text` of the tick count); prints
//! `ready <path>` on stdout once the file exists, and exits when its standard input closes (the
//! test dropped its handle) or after 120 s.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

use mmstats_testkit::torn::step_text;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: writer-child DIR RATE_PER_SEC")?;
    let rate: u64 = args
        .next()
        .ok_or("usage: writer-child DIR RATE_PER_SEC")?
        .parse()?;

    let stats = mmstats::Stats::create(mmstats::Options::new().name("child").dir(&dir))?;
    let ticks = stats
        .counter("ticks")
        .help("ticks since start")
        .unit("ticks")
        .register()?;
    let level = stats.gauge::<i64>("level").register()?;
    let status = stats.text("status", 64).register()?;
    status.set(&step_text(0));

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
        }
        let _ = done_tx.send(());
    });

    println!("ready {}", stats.path().display());
    std::io::stdout().flush()?;

    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut n: u64 = 0;
    while start.elapsed() < Duration::from_secs(120) {
        if done_rx.try_recv().is_ok() {
            break;
        }
        n += 1;
        ticks.incr(1);
        level.set(n as i64);
        status.set(&step_text(n));
        let next = start + period * u32::try_from(n).unwrap_or(u32::MAX);
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    stats.close()?;
    Ok(())
}
