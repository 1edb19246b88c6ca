//! A writer whose threads end all the time, for tests of a writer stopped or killed in the
//! middle of a fold (FORMAT.md §6.4).
//!
//! `fold-child DIR JOBS` runs one worker thread after another, forever. Each worker creates
//! its stats file `fold-{PID}-{TID}.mmstats` in DIR, does JOBS jobs (each adds 1 to
//! `fold.jobs`, 2 to `fold.pairs` and records 7 in the histogram `fold.sizes`) and ends, which
//! folds its file into `fold-{PID}-totals.mmstats`. After each worker is joined, the main
//! thread stores how many have ended in the gauge `progress.workers_done` of its own file
//! `progress-{PID}-{TID}.mmstats` (not folded). It prints `ready PATH` (the progress file)
//! once the first worker has ended.

use std::io::Write;

use mmstats::{Options, Stats};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: fold-child DIR JOBS";
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or(usage)?);
    let jobs: u64 = args.next().ok_or(usage)?.parse()?;
    let progress = Stats::create(
        Options::new()
            .name("progress")
            .dir(&dir)
            .file_template("progress-{PID}-{TID}.mmstats"),
    )?;
    let done = progress.gauge::<u64>("progress.workers_done").register()?;
    let mut ended = 0u64;
    loop {
        let dir = dir.clone();
        std::thread::spawn(move || -> Result<(), mmstats::Error> {
            let stats = Stats::create(
                Options::new()
                    .name("fold")
                    .dir(&dir)
                    .file_template("fold-{PID}-{TID}.mmstats")
                    .fold_totals(true),
            )?;
            let jobs_done = stats.counter("fold.jobs").register()?;
            let pairs = stats.counter("fold.pairs").register()?;
            let sizes = stats.histogram("fold.sizes").register()?;
            for _ in 0..jobs {
                jobs_done.incr(1);
                pairs.incr(2);
                sizes.record(7);
            }
            Ok(())
        })
        .join()
        .map_err(|_| "a worker panicked")??;
        ended += 1;
        done.set(ended);
        if ended == 1 {
            println!("ready {}", progress.path().display());
            std::io::stdout().flush()?;
        }
    }
}
