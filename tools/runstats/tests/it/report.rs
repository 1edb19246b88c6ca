//! Reports: valid PNGs with something drawn in them, a self-contained page that headless
//! Chromium shows with every chart and without a single request, comparisons of two runs.

use std::path::{Path, PathBuf};

use crate::support::*;

/// The colour of the first and second line of every chart.
const FIRST: [u8; 3] = [31, 119, 180];
const SECOND: [u8; 3] = [255, 127, 14];

/// Decodes a PNG: (width, height, RGB pixels).
fn decode(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "{}: {:?}", path.display(), info.color_type);
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    (info.width, info.height, px)
}

fn charts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("chart-") && n.ends_with(".png")
        })
        .collect();
    v.sort();
    v
}

fn count(px: &[[u8; 3]], colour: [u8; 3]) -> usize {
    px.iter().filter(|p| **p == colour).count()
}

#[test]
fn every_chart_is_a_png_of_the_expected_size_with_lines_drawn() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("web");
    record_webserver(stats.path(), &dir, 3, &["--chart", "web.in_flight"]);
    let pngs = charts(&dir);
    let names: Vec<String> = pngs
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "rates-requests-s",
        "web-latency-per-interval",
        "perf-cpu-used",
        "web-in-flight",
        "host-cpu-busy",
        "host-cpu-by-state",
        "host-memory",
        "host-network",
        "processes-cpu",
        "processes-resident-memory",
    ] {
        assert!(
            names.iter().any(|n| n.contains(want)),
            "no {want} chart in {names:?}"
        );
    }
    for p in &pngs {
        let (w, h, px) = decode(p);
        assert_eq!((w, h), (960, 400), "{}", p.display());
        let white = count(&px, [255, 255, 255]);
        let drawn = px.len() - white;
        assert!(
            drawn > px.len() / 100,
            "{}: only {drawn} pixels drawn",
            p.display()
        );
        // the lines are there, in their colours, and long: not just legend swatches (the
        // second line may lie on the first: a loopback device sends what it receives)
        let line = count(&px, FIRST) + count(&px, SECOND);
        assert!(
            line > 500,
            "{}: {line} pixels of the first two lines",
            p.display()
        );
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<img class=\"chart\"").count(), pngs.len());
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        pngs.len()
    );
    for text in [
        "web.requests.rate",
        "perf.task_clock",
        "Series: host",
        "Series: process",
        "host.mem.available",
        "proc.mem.rss",
        "exit status 0",
        "min",
        "p95",
    ] {
        assert!(html.contains(text), "report lacks {text}");
    }
    // hardware counters this machine lacks are named as unavailable, not shown as zeros
    let run = run_json(&dir);
    for u in run["unavailable"].as_array().unwrap() {
        assert!(html.contains(u["what"].as_str().unwrap()));
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
}

/// runstats' arguments to record the example server into `dir`, sampling every `interval`, the
/// server running `threads` threads for `seconds` at `rate` requests a second.
fn record_args(
    dir: &Path,
    interval: &str,
    threads: &str,
    seconds: &str,
    rate: &str,
) -> Vec<String> {
    let web = bin("webserver");
    let mut args = vec![
        "-o",
        dir.to_str().unwrap(),
        "-i",
        interval,
        "--no-report",
        "--",
    ];
    args.push(web.to_str().unwrap());
    args.extend(["--threads", threads, "--seconds", seconds, "--rate", rate]);
    args.into_iter().map(String::from).collect()
}

/// `runstats report A B -o OUT`, which must succeed: the comparison page's HTML.
fn compare(a: &Path, b: &Path, out: &Path) -> String {
    let o = runstats()
        .arg("report")
        .arg(a)
        .arg(b)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::read_to_string(out.join("report.html")).unwrap()
}

#[test]
fn two_runs_side_by_side_overlay_and_show_their_ratio() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let record = |name: &str, rate: &str| {
        let dir = runs.path().join(name);
        let args = record_args(&dir, "500ms", "2", "3", rate);
        let o = run(
            stats.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    };
    let a = record("before", "60");
    let b = record("after", "120");
    let out = runs.path().join("cmp");
    let html = compare(&a, &b, &out);
    assert!(html.contains("Changes against before"));
    // the row of the request rate: twice the requests, a ratio of about 2 (rates low enough
    // for a busy machine to keep up with both)
    let row = html
        .lines()
        .find(|l| l.starts_with("<tr><td>web.requests.rate</td>"))
        .expect("a change row for web.requests.rate");
    let ratio: f64 = row
        .rsplit("<td class=\"n\">")
        .next()
        .and_then(|c| c.split('x').next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no ratio in {row}"));
    assert!((ratio - 2.0).abs() < 0.2, "ratio {ratio} in {row}");
    // both runs' lines on the rate chart
    let rates = charts(&out)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("rates-requests-s"))
        .expect("the requests chart");
    // the same series in both runs: one colour, a solid line and a dashed one, at the two
    // rates' heights, far apart (the legend's two samples are 18 pixels apart)
    let (w, h, px) = decode(&rates);
    let (w, h) = (w as usize, h as usize);
    let apart = (0..w)
        .filter(|x| {
            let ys: Vec<usize> = (0..h).filter(|y| px[y * w + x] == FIRST).collect();
            ys.last().zip(ys.first()).is_some_and(|(l, f)| l - f > 40)
        })
        .count();
    assert!(
        apart > 100,
        "{apart} columns show the first colour at two heights"
    );
    assert!(
        count(&px, SECOND) < 100,
        "the second run drawn in the same colour"
    );
    assert!(html.contains("before: web.requests.rate") || html.contains("<th>before</th>"));
    // runs one after the other are aligned by their starts, and the page says so
    assert!(html.contains("recorded one after another"), "{html}");
    assert!(html.contains("each in seconds since its own start"));
}

#[test]
fn runs_recorded_at_the_same_time_share_one_clock() {
    // two nodes of one test, recorded together (here: on one machine, half a second apart)
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let node = |name: &str| {
        let dir = runs.path().join(name);
        let child = runstats()
            .env("MMSTATS_PATH", stats.path())
            .arg("-q")
            .args(record_args(&dir, "250ms", "1", "2", "100"))
            .spawn()
            .unwrap();
        (dir, child)
    };
    let (a, mut first) = node("node-a");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (b, mut second) = node("node-b");
    assert!(first.wait().unwrap().success());
    assert!(second.wait().unwrap().success());
    let html = compare(&a, &b, &runs.path().join("cluster"));
    assert!(html.contains("recording at the same time"), "{html}");
    assert!(html.contains("in seconds since the earliest run"), "{html}");
}

#[test]
fn the_page_shows_every_chart_in_headless_chromium_without_any_request() {
    let stats = stats_dir();
    let runs = tempfile::tempdir().unwrap();
    let dir = runs.path().join("web");
    record_webserver(stats.path(), &dir, 2, &[]);
    let expected = charts(&dir).len();
    assert!(expected >= 4);
    let shot = crate::browser::check_page(&dir.join("report.html"), expected);
    let out = artifacts_dir();
    std::fs::write(out.join("runstats-report.png"), &shot).unwrap();
    let (w, h, px) = decode(&out.join("runstats-report.png"));
    assert!(w >= 1000 && h >= 800);
    assert!(count(&px, FIRST) > 100, "no chart line in the screenshot");
}

/// `<repo root>/artifacts`, created: where tests keep what a person may want to look at.
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
