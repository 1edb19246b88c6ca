//! A simulated multi-threaded web server that publishes its stats with mmstats.
//!
//! Each worker thread handles fake requests (a path, a status, a response size and a latency
//! drawn at random) and records them through its own thread-local instance of [`WebStats`],
//! one stats file per thread. Watch it with
//! `pollstats -p web. requests,status.2XX,status.5XX,bytes,latency.p99`, `pollstats --tui`,
//! `slurpstats` or `mmash`.
//!
//! Usage: `webserver [--threads N] [--seconds S] [--rate R]` (R requests per second per thread).

use std::time::{Duration, Instant};

use mmstats::{Constant, ConstantText, Counter, Gauge, Histogram, Text, Timer, Windowed};

/// What every worker thread publishes, one file per thread.
#[derive(mmstats::StatsModel)]
#[stats(prefix = "web.", name = "webserver")]
struct WebStats {
    /// requests handled
    #[stat(unit = "requests")]
    requests: Counter,
    #[stat(label = "status.2XX", help = "responses with a 2xx status")]
    ok: Counter,
    #[stat(label = "status.4XX", help = "responses with a 4xx status")]
    client_errors: Counter,
    #[stat(label = "status.5XX", help = "responses with a 5xx status")]
    server_errors: Counter,
    /// response bytes sent
    #[stat(unit = "bytes")]
    bytes: Counter,
    /// requests being handled by this thread
    in_flight: Gauge<u32>,
    /// time to handle a request: percentiles, mean and the moving average of the last 100
    #[stat(window = 100)]
    latency: Timer,
    /// size of each response
    #[stat(label = "response_size", unit = "bytes")]
    response_size: Histogram,
    /// requests over the last minute (rate per second)
    #[stat(label = "recent", capacity = 60)]
    recent: Windowed<u64>,
    /// path of the last request
    #[stat(capacity = 64)]
    last_path: Text,
    /// number of this worker thread
    worker: Constant<u32>,
    /// version of the server
    #[stat(capacity = 16)]
    version: ConstantText,
}

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

/// Handles one fake request and records it.
fn handle(stats: &WebStats, rng: &mut Rng) {
    stats.in_flight.set(1);
    let path = PATHS[rng.below(PATHS.len() as u64) as usize];
    let roll = rng.below(1000);
    let timing = stats.latency.start();
    // Most requests take 0.2 to 1 ms; one in fifty is slow.
    let work_us = 200 + rng.below(800) + if roll < 20 { 4_000 } else { 0 };
    std::thread::sleep(Duration::from_micros(work_us));
    let size = 512 + rng.below(64 * 1024);
    match roll {
        0..=14 => stats.server_errors.incr(1),
        15..=79 => stats.client_errors.incr(1),
        _ => stats.ok.incr(1),
    }
    drop(timing);
    stats.requests.incr(1);
    stats.recent.incr();
    stats.bytes.incr(size);
    stats.response_size.record(size);
    stats.last_path.set(path);
    stats.in_flight.set(0);
}

fn worker(id: u64, rate: f64, run_for: Duration) {
    let stats = WebStats::local();
    stats.worker.set(id as u32);
    stats.version.set(env!("CARGO_PKG_VERSION"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id + 1).wrapping_mul(0x1234_5678_9abc_def1));
    let start = Instant::now();
    let period = Duration::from_secs_f64(1.0 / rate);
    let mut n = 0u32;
    while start.elapsed() < run_for {
        handle(&stats, &mut rng);
        n += 1;
        if let Some(wait) = (start + period * n).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
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
    let failed = workers
        .into_iter()
        .map(|w| w.join())
        .filter(Result::is_err)
        .count();
    std::process::exit(i32::from(failed > 0));
}
