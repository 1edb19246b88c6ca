//! A program instrumented only with `metrics` macros, publishing through `mmstats-metrics`.
//!
//! `metrics-child fixed` registers descriptions (some before, some after first use), runs
//! threads that start and end with known counts, sets a gauge, then prints `ready` and waits
//! for its standard input to close (or 120 s). Totals when ready:
//!
//! - `http_requests_total{method="GET",code="200"}` 300, `{method="POST",code="500"}` 100,
//!   `{method="GET",code="404"}` 12;
//! - `http_request_duration_seconds{method="GET"}` 300 values of 2 ms;
//! - `queue_depth` 7, `bytes_sent_total` 3 KiB counted in bytes.
//!
//! `metrics-child rate` does the same, then keeps starting a short-lived thread every 100 ms
//! that counts 2 GET and 1 POST requests: 20 and 10 a second.

use std::io::{BufRead, Write};
use std::time::{Duration, Instant};

fn burst(get: u64, post: u64, not_found: u64) {
    for _ in 0..get {
        metrics::counter!("http_requests_total", "method" => "GET", "code" => "200").increment(1);
        metrics::histogram!("http_request_duration_seconds", "method" => "GET").record(0.002);
    }
    for _ in 0..post {
        metrics::counter!("http_requests_total", "method" => "POST", "code" => "500").increment(1);
    }
    for _ in 0..not_found {
        metrics::counter!("http_requests_total", "code" => "404", "method" => "GET").increment(1);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    mmstats_metrics::install().map_err(|e| e.to_string())?;
    // Described before first use.
    metrics::describe_counter!("http_requests_total", "HTTP requests served");
    metrics::describe_counter!(
        "bytes_sent_total",
        metrics::Unit::Kibibytes,
        "response bytes"
    );
    metrics::describe_gauge!("queue_depth", "requests waiting");
    // Threads that start and end.
    let threads: Vec<_> = (0..3)
        .map(|t| std::thread::spawn(move || burst(100, if t < 2 { 50 } else { 0 }, 4)))
        .collect();
    for t in threads {
        t.join().map_err(|_| "a thread panicked")?;
    }
    // Described after first use.
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "request time"
    );
    metrics::gauge!("queue_depth").set(5.0);
    std::thread::spawn(|| metrics::gauge!("queue_depth").increment(2.0))
        .join()
        .map_err(|_| "a thread panicked")?;
    metrics::counter!("bytes_sent_total").increment(3);
    // A gauge described after its first update.
    metrics::gauge!("workers_busy").set(3.0);
    metrics::describe_gauge!("workers_busy", "workers serving a request");
    println!("ready");
    std::io::stdout().flush()?;

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
        let _ = done_tx.send(());
    });
    let end = Instant::now() + Duration::from_secs(120);
    let mut next = Instant::now();
    while Instant::now() < end {
        if done_rx.try_recv().is_ok() {
            break;
        }
        if mode == "rate" {
            let _ = std::thread::spawn(|| burst(2, 1, 0)).join();
            next += Duration::from_millis(100);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Ok(())
}
