//! A simulated multi-threaded web server that publishes its stats with mmstats.
//!
//! Each worker thread handles fake requests (a path, a status, a response size and a latency
//! drawn at random) and records them in its own stats file. Watch it with
//! `pollstats -p web. requests,status.2XX,status.5XX,bytes` or `slurpstats`.
//!
//! Usage: `webserver [--threads N] [--seconds S] [--rate R]` (R requests per second per thread).

use std::time::{Duration, Instant};

use mmstats::{Options, Stats};

/// A small, fast pseudo-random generator (xorshift64*), enough for a simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PATHS: [&str; 5] = [
    "/",
    "/login",
    "/search?q=mmstats",
    "/static/app.js",
    "/api/orders",
];

fn worker(id: u64, rate: f64, run_for: Duration) -> Result<(), mmstats::Error> {
    let stats = Stats::create(Options::new().name("webserver").prefix("web."))?;
    let requests = stats
        .counter("requests")
        .help("requests handled")
        .unit("requests")
        .register()?;
    let ok = stats
        .counter("status.2XX")
        .help("responses with a 2xx status")
        .register()?;
    let client_err = stats
        .counter("status.4XX")
        .help("responses with a 4xx status")
        .register()?;
    let server_err = stats
        .counter("status.5XX")
        .help("responses with a 5xx status")
        .register()?;
    let bytes = stats
        .counter("bytes")
        .help("response bytes sent")
        .unit("bytes")
        .register()?;
    let in_flight = stats
        .gauge::<u32>("in_flight")
        .help("requests being handled")
        .register()?;
    let last_ms = stats
        .gauge::<f64>("latency.last")
        .help("latency of the last request")
        .unit("milliseconds")
        .register()?;
    let last_path = stats
        .text("last_path", 64)
        .help("path of the last request")
        .register()?;
    stats.constant("worker", id)?;

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1).wrapping_mul(0x1234_5678_9abc_def1));
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut n = 0u32;
    while start.elapsed() < run_for {
        in_flight.set(1);
        let path = PATHS[rng.below(PATHS.len() as u64) as usize];
        let roll = rng.below(1000);
        let latency_us = 200 + rng.below(800) + if roll < 20 { 20_000 } else { 0 };
        std::thread::sleep(Duration::from_micros(latency_us.min(5_000)));
        match roll {
            0..=14 => server_err.incr(1),
            15..=79 => client_err.incr(1),
            _ => ok.incr(1),
        }
        requests.incr(1);
        bytes.incr(512 + rng.below(64 * 1024));
        last_ms.set(latency_us as f64 / 1000.0);
        last_path.set(path);
        in_flight.set(0);
        n += 1;
        if let Some(wait) = (start + period * n).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    stats.close()
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads = arg(&args, "--threads", 4.0) as u64;
    let seconds = arg(&args, "--seconds", 60.0);
    let rate = arg(&args, "--rate", 200.0).max(1.0);
    let run_for = Duration::from_secs_f64(seconds);
    eprintln!("webserver: {threads} workers, {rate} requests/s each, for {seconds} s");
    let workers: Vec<_> = (0..threads)
        .map(|id| std::thread::spawn(move || worker(id, rate, run_for)))
        .collect();
    let mut failed = false;
    for w in workers {
        match w.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("webserver: {e}");
                failed = true;
            }
            Err(_) => failed = true,
        }
    }
    std::process::exit(i32::from(failed));
}
