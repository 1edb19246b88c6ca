//! The reader tools run as real processes against a real writer process.

use std::process::Command;
use std::time::Duration;

use mmstats_tests::{StatsDir, WriterChild, workspace_bin};

const CHILD: &str = env!("CARGO_BIN_EXE_writer-child");

fn run(tool: &str, args: &[&str], dir: &StatsDir) -> std::process::Output {
    Command::new(workspace_bin(tool))
        .args(args)
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .output()
        .unwrap_or_else(|e| panic!("run {tool}: {e}"))
}

#[test]
fn slurpstats_shows_a_live_writers_fields() {
    let dir = StatsDir::new();
    let child = WriterChild::start(CHILD, dir.path(), 100);
    std::thread::sleep(Duration::from_millis(200));
    let out = run("slurpstats", &[], &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(&child.path().display().to_string()), "{text}");
    let line = |label: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(label))
            .unwrap_or_else(|| panic!("no {label} line in\n{text}"))
            .to_string()
    };
    let ticks: f64 = line("ticks")
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("ticks value in {:?}", line("ticks")));
    assert!(ticks > 0.0);
    assert!(line("sys.pid").contains(&child.pid().to_string()));
    assert!(line("status").contains("tick "), "{}", line("status"));
}

#[test]
fn pollstats_rate_matches_the_writers_pace() {
    let dir = StatsDir::new();
    let _child = WriterChild::start(CHILD, dir.path(), 200);
    let out = run(
        "pollstats",
        &["--csv", "-d", "0.5", "-c", "7", "ticks"],
        &dir,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,ticks"), "{text}");
    let rates: Vec<f64> = lines
        .filter_map(|l| l.split(',').nth(1))
        .filter_map(|v| v.parse().ok())
        .collect();
    assert!(rates.len() >= 5, "rates {rates:?} from\n{text}");
    // Skip the first interval; the rest are per-second rates of a 200/s writer.
    let tail = &rates[1..];
    let mean = tail.iter().sum::<f64>() / tail.len() as f64;
    assert!(
        (mean - 200.0).abs() < 30.0,
        "mean rate {mean} from {rates:?}"
    );
}

#[test]
fn cleanstats_keeps_live_files_and_removes_dead_ones() {
    let dir = StatsDir::new();
    let live = WriterChild::start(CHILD, dir.path(), 10);
    let dead = WriterChild::start(CHILD, dir.path(), 10);
    let dead_path = dead.path().to_path_buf();
    dead.kill();
    assert!(dead_path.exists(), "a crashed writer leaves its file");

    let out = run("cleanstats", &[], &dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dead_path.exists(),
        "the dead writer's file is removed:\n{text}"
    );
    assert!(
        live.path().exists(),
        "the live writer's file stays:\n{text}"
    );
    assert!(text.contains("removed 1, 1 alive"), "{text}");

    let quiet = run("cleanstats", &["--quiet"], &dir);
    assert!(quiet.status.success());
    assert!(
        quiet.stdout.is_empty(),
        "--quiet prints nothing: {:?}",
        quiet.stdout
    );
    assert!(live.path().exists());
}
