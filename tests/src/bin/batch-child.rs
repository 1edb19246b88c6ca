//! A batch job for cross-process tests: worker threads that end at known times.
//!
//! `batch-child RATE SWITCH LIFETIME...` starts one worker thread per LIFETIME (seconds; `0`:
//! until standard input closes). Each does RATE jobs a second on a fixed schedule (job `n` at
//! `start + n / RATE`), counting them in `batch.jobs`, in the windowed `batch.recent` and timing
//! each as 1 ms before SWITCH seconds and 10 ms after in `batch.latency`. Files go where
//! `MMSTATS_PATH` says. Once every worker's file exists it prints `ready START` (START in Unix
//! seconds) on stdout. A worker's file is folded into the process file when it ends; the
//! process exits cleanly once standard input closes and every worker is done.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mmstats::{Counter, Timer, Windowed};

#[derive(mmstats::Stats)]
#[stats(prefix = "batch.", name = "batch")]
struct BatchStats {
    /// jobs done
    jobs: Counter,
    /// jobs over the last minute
    #[stat(capacity = 60)]
    recent: Windowed<u64>,
    /// time a job took
    latency: Timer,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: batch-child RATE SWITCH LIFETIME...";
    let mut args = std::env::args().skip(1);
    let rate: u32 = args.next().ok_or(usage)?.parse()?;
    let switch: f64 = args.next().ok_or(usage)?.parse()?;
    let lifetimes: Vec<f64> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if lifetimes.is_empty() || rate == 0 {
        return Err(usage.into());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(Barrier::new(lifetimes.len() + 1));
    let go = Arc::new(Barrier::new(lifetimes.len() + 1));
    let start_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let workers: Vec<_> = lifetimes
        .iter()
        .map(|&life| {
            let (stop, ready, go, start_at) = (
                Arc::clone(&stop),
                Arc::clone(&ready),
                Arc::clone(&go),
                Arc::clone(&start_at),
            );
            std::thread::spawn(move || {
                let stats = BatchStats::try_local().expect("stats file");
                ready.wait();
                go.wait();
                let start = *start_at.get().expect("start set before go");
                let period = Duration::from_secs(1) / rate;
                let mut n: u32 = 0;
                loop {
                    let due = start + period * n;
                    let elapsed = due.duration_since(start).as_secs_f64();
                    if (life > 0.0 && elapsed >= life)
                        || (life == 0.0 && stop.load(Ordering::Relaxed))
                    {
                        break;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    stats.jobs.incr(1);
                    stats.recent.record(1);
                    let ms = if elapsed < switch { 1 } else { 10 };
                    stats.latency.record(Duration::from_millis(ms));
                    n += 1;
                }
            })
        })
        .collect();
    ready.wait();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs_f64();
    start_at
        .set(Instant::now())
        .map_err(|_| "start set twice")?;
    go.wait();
    println!("ready {now:.6}");
    std::io::stdout().flush()?;
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().map_err(|_| "a worker panicked")?;
    }
    Ok(())
}
