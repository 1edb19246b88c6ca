//! A busy process for the resource tests.
//!
//! `busy-child DIR THREADS MIB` starts a session of its own, touches MIB MiB of memory, runs THREADS threads in all (the
//! main one spins on one core, the others sleep), creates a stats file in DIR with a counter
//! `spins`, prints `ready <path>` on stdout, and exits when its standard input closes or after
//! 120 s.

use std::hint::black_box;
use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: busy-child DIR THREADS MIB";
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or(usage)?;
    let threads: usize = args.next().ok_or(usage)?.parse()?;
    let mib: usize = args.next().ok_or(usage)?.parse()?;

    // A session of its own is a scheduling group of its own (with autogroup), whose priority
    // a test can raise without raising its own.
    let _ = nix::unistd::setsid();

    // every page written, so all of it is resident
    let memory: Vec<u8> = (0..mib << 20).map(|i| (i % 251) as u8).collect();
    black_box(&memory);

    let stats = mmstats::Stats::create(mmstats::Options::new().name("busy").dir(&dir))?;
    let spins = stats.counter("spins").register()?;

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    // main + stdin reader + sleepers = THREADS
    for _ in 2..threads {
        std::thread::spawn(|| {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        });
    }

    println!("ready {}", stats.path().display());
    std::io::stdout().flush()?;

    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < Duration::from_secs(120) {
        for _ in 0..100_000 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        spins.incr(1);
        if done_rx.try_recv().is_ok() {
            break;
        }
    }
    black_box(x);
    stats.close()?;
    Ok(())
}
