//! The reader tools run as real processes against a real writer process.

use std::process::Command;
use std::time::Duration;

use mmstats_testkit::torn::step_of;
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
    // The status text is the writer's whole step text, the line's last word.
    let status = line("status");
    let word = status.split_whitespace().last().unwrap_or_default();
    step_of(word.trim_matches('"'));
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

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn missing_empty_and_unmatched_are_told_apart_and_fail() {
    let dir = StatsDir::new();
    let missing = dir.path().join("missing");
    let out = Command::new(workspace_bin("slurpstats"))
        .env("MMSTATS_PATH", &missing)
        .env_remove("MMSTATS_GLOB")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no such directory"),
        "{}",
        stderr_of(&out)
    );

    let out = run("slurpstats", &[], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("directory has no stats files"),
        "{}",
        stderr_of(&out)
    );

    let _child = WriterChild::start(CHILD, dir.path(), 10);
    let glob = format!("{}/nothing-*.mmstats", dir.path().display());
    let out = run("slurpstats", &[&glob], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no files match"),
        "{}",
        stderr_of(&out)
    );

    let nofile = format!("{}/nofile.mmstats", dir.path().display());
    for tool in ["slurpstats", "cleanstats"] {
        let out = run(tool, &[&nofile], &dir);
        assert_eq!(out.status.code(), Some(1), "{tool}");
        assert!(
            stderr_of(&out).contains("nofile.mmstats: not found"),
            "{tool}: {}",
            stderr_of(&out)
        );
    }
    // A directory argument means its stats files, in every tool.
    let d = dir.path().display().to_string();
    let out = run("slurpstats", &[&d], &dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ticks"));
    let out = run("cleanstats", &["--dry-run", &d], &dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 alive"));
    let out = run("pollstats", &["-c", "1", "-d", "0.1", "ticks", &d], &dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
}

#[test]
fn a_squatted_stats_directory_is_refused_unless_trusted() {
    use std::os::unix::fs::PermissionsExt;
    // Another user created the directory first, open to everyone (mode 1777), and planted a
    // file: the readers must not read it.
    let dir = StatsDir::new();
    let child = WriterChild::start(CHILD, dir.path(), 10);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    for (tool, args) in [
        ("slurpstats", vec![]),
        ("cleanstats", vec!["--dry-run"]),
        ("pollstats", vec!["-c", "1", "ticks"]),
    ] {
        let out = run(tool, &args, &dir);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{tool}: {err}");
        assert!(
            err.contains("refusing to read this stats directory")
                && err.contains("writable by every user")
                && err.contains("--trust-dir"),
            "{tool}: {err}"
        );
    }
    let out = run("slurpstats", &["--trust-dir"], &dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&child.path().display().to_string()));
    let d = dir.path().display().to_string();
    let out = Command::new(workspace_bin("mmash"))
        .args(["--listen", "127.0.0.1:0", "--path", &d])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr_of(&out).contains("--trust-dir"),
        "{}",
        stderr_of(&out)
    );
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// Every tool answers the hidden `--completions SHELL` and `--man` requests with what clap's
/// own generators make of its flags, and refuses an unknown shell by name.
#[test]
fn every_tool_generates_completions_and_a_man_page_naming_its_flags() {
    let tools: [(&str, &[&str]); 5] = [
        ("slurpstats", &["--json", "--filter", "--trust-dir"]),
        ("pollstats", &["--per-process", "--tui", "--trust-dir"]),
        ("cleanstats", &["--quiet", "--trust-dir"]),
        ("mmash", &["--listen", "--token", "--trust-dir"]),
        ("runstats", &["--duration", "--wait-for", "--description"]),
    ];
    for (tool, flags) in tools {
        let run = |args: &[&str]| {
            Command::new(workspace_bin(tool))
                .args(args)
                .output()
                .unwrap()
        };
        for shell in ["bash", "zsh", "fish"] {
            let out = run(&["--completions", shell]);
            assert!(
                out.status.success(),
                "{tool} {shell}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let script = String::from_utf8(out.stdout).unwrap();
            assert!(script.contains(tool), "{tool} {shell}: {script}");
            for flag in flags {
                // fish names long flags without their dashes (`-l trust-dir`)
                assert!(
                    script.contains(flag.trim_start_matches('-')),
                    "{tool} {shell} lacks {flag}"
                );
            }
        }
        let out = run(&["--man"]);
        assert!(out.status.success(), "{tool} --man");
        let page = String::from_utf8(out.stdout).unwrap();
        assert!(page.contains(&format!(".TH {tool} ")), "{tool}: {page}");
        for flag in flags {
            // roff escapes every hyphen
            assert!(
                page.contains(&flag.replace('-', "\\-")),
                "{tool} man page lacks {flag}"
            );
        }
        let bad = run(&["--completions", "tcsh"]);
        assert_eq!(bad.status.code(), Some(2), "{tool}");
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("unknown shell"),
            "{tool}"
        );
    }
}
