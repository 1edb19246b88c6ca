//! Rendering `/metrics` and `/api/stats`, and one sampler tick, over 1,000 files of 50 fields.
//!
//! Goals: each render under 50 ms; a sampler tick (run once a second) under 20 ms, i.e. under
//! 2% of one core.

#![allow(missing_docs)]

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mmash::paths::Roots;
use mmash::server::State;
use mmash::stream::StatsChunks;
use mmstats_reader::Scanner;
use mmstats_render::prometheus::{PromOptions, render};

const FILES: u32 = 1000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    mmstats_testkit::mix::write_files(dir.path(), FILES, 10_000);
    let roots = Roots::new(vec![dir.path().to_path_buf()], "*.mmstats").unwrap();
    let mut scanner = Scanner::new(roots.patterns());
    let snaps = scanner.scan().snapshots;
    assert_eq!(snaps.len(), FILES as usize);
    assert_eq!(snaps[0].fields.len(), 50);

    let mut g = c.benchmark_group("1000 files x 50 fields");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("/metrics text 0.0.4", |b| {
        b.iter(|| {
            let mut out = String::with_capacity(8 << 20);
            render(&snaps, &PromOptions::default(), &mut out);
            out.len()
        })
    });
    g.bench_function("/metrics OpenMetrics", |b| {
        let opts = PromOptions {
            openmetrics: true,
            ..PromOptions::default()
        };
        b.iter(|| {
            let mut out = String::with_capacity(8 << 20);
            render(&snaps, &opts, &mut out);
            out.len()
        })
    });
    g.bench_function("/metrics --aggregate", |b| {
        let opts = PromOptions {
            aggregate: true,
            ..PromOptions::default()
        };
        b.iter(|| {
            let mut out = String::new();
            render(&snaps, &opts, &mut out);
            out.len()
        })
    });
    let mut engine = mmstats_reader::Intervals::new();
    engine.update(&snaps);
    let sample = engine.update(&snaps);
    g.bench_function("interval engine: Intervals::update", |b| {
        b.iter(|| engine.update(&snaps).processes.len())
    });
    // What mmash's /api/stats streams: every chunk of the document of a sample with intervals.
    let served = State::new(roots.clone(), None, false, false);
    let mut served_scanner = served.scanner();
    served.sample_once(&mut served_scanner);
    served.sample_once(&mut served_scanner);
    let current = served.current();
    g.bench_function("/api/stats JSON", |b| {
        b.iter(|| {
            StatsChunks::new(current.clone(), None, Vec::new())
                .map(|chunk| chunk.len())
                .sum::<usize>()
        })
    });
    g.bench_function("sampler: Scanner::scan alone", |b| {
        let mut scanner = Scanner::new(roots.patterns());
        b.iter(|| scanner.scan().snapshots.len())
    });
    g.bench_function("sampler: History::record alone", |b| {
        let mut h = mmash::history::History::new();
        let mut t = 1_000_000.0;
        b.iter(|| {
            t += 1.0;
            h.record(t, &sample);
        })
    });
    g.bench_function("sampler: ProcessHistory::record alone", |b| {
        let mut h = mmash::process_history::ProcessHistory::new();
        let mut t = 1_000_000.0;
        b.iter(|| {
            t += 1.0;
            h.record(t, &sample);
        })
    });
    let state = State::new(roots.clone(), None, false, false);
    let mut scanner = state.scanner();
    state.sample_once(&mut scanner);
    g.bench_function("sampler tick (scan + intervals + history)", |b| {
        b.iter(|| state.sample_once(&mut scanner))
    });
    g.finish();

    let mut out = String::new();
    render(&snaps, &PromOptions::default(), &mut out);
    let stats: usize = StatsChunks::new(current.clone(), None, Vec::new())
        .map(|chunk| chunk.len())
        .sum();
    eprintln!(
        "sizes: /metrics {} bytes, /api/stats {} bytes; history holds {} series",
        out.len(),
        stats,
        state.history.lock().unwrap().len()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
