//! `pollstats --tui` end to end in a real terminal (tmux): it shows a live writer's fields,
//! filters with `/`, and restores the terminal when `q` quits.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use mmstats_tests::{StatsDir, WriterChild, workspace_bin};

const CHILD: &str = env!("CARGO_BIN_EXE_writer-child");

struct Tmux {
    session: String,
}

impl Tmux {
    /// Runs tmux on a server of this session's own (`-L`), so that tests starting sessions at
    /// once do not race for one default server.
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.session, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test installs it)")
    }

    fn screen(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.session.as_str()];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Waits until the screen satisfies `pred`, returning it; panics with the screen after 15 s.
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Tmux {
    /// Starts `pollstats --tui` over `dir` in a detached tmux session of `width` x `height`
    /// named after `name` and this process; when it exits the pane prints `EXITED <status>`
    /// and stays open for the test to read.
    fn pollstats_tui(name: &str, dir: &Path, width: u16, height: u16) -> Tmux {
        let command = format!(
            "MMSTATS_PATH='{}' TERM=xterm-256color '{}' --tui; echo \"EXITED $?\"; sleep 30",
            dir.display(),
            workspace_bin("pollstats").display()
        );
        Tmux::start(name, &command, width, height)
    }

    /// Runs the shell `command` in a detached tmux session of `width` x `height` named after
    /// `name` and this process.
    fn start(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            session: format!("{name}-{}", std::process::id()),
        };
        let (w, h) = (width.to_string(), height.to_string());
        let started = tmux.tmux(&[
            "new-session",
            "-d",
            "-s",
            &tmux.session,
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        tmux
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-session", "-t", &self.session]);
    }
}

#[test]
fn full_screen_mode_shows_filters_and_quits_cleanly() {
    let dir = StatsDir::new();
    let _child = WriterChild::start(CHILD, dir.path(), 50);
    let tmux = Tmux::pollstats_tui("mmstats-tui", dir.path(), 120, 35);

    let screen = tmux.wait_for("the fields to show", |s| {
        s.contains("ticks") && s.contains("status")
    });
    assert!(screen.contains("level"), "{screen}");

    tmux.keys(&["/"]);
    tmux.keys(&["-l", "tick"]);
    tmux.keys(&["Enter"]);
    let filtered = tmux.wait_for("the filter to apply", |s| {
        s.contains("ticks") && !s.contains("level")
    });
    assert!(!filtered.contains("sys.pid"), "{filtered}");

    tmux.keys(&["q"]);
    let after = tmux.wait_for("pollstats to exit", |s| s.contains("EXITED"));
    assert!(
        after.contains("EXITED 0"),
        "exit status 0 after q:\n{after}"
    );
    assert!(
        !after.contains("ticks"),
        "the alternate screen is gone after exit:\n{after}"
    );
}

/// The pid of the process the pane's shell is running (pollstats).
fn child_of(shell: u32) -> u32 {
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
        .expect("children of the pane's shell");
    children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("the pane's shell has no child: {children:?}"))
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = StatsDir::new();
    let _child = WriterChild::start(CHILD, dir.path(), 50);
    let tmux = Tmux::pollstats_tui("mmstats-tui-term", dir.path(), 100, 30);
    tmux.wait_for("the fields to show", |s| s.contains("ticks"));

    let out = tmux.tmux(&["display-message", "-p", "-t", &tmux.session, "#{pane_pid}"]);
    let shell: u32 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("pane pid");
    let pollstats = child_of(shell);
    let killed = Command::new("kill")
        .args(["-TERM", &pollstats.to_string()])
        .status();
    assert!(killed.expect("kill").success());

    let after = tmux.wait_for("pollstats to exit", |s| s.contains("EXITED"));
    assert!(
        after.contains("EXITED 143"),
        "exit status 128 + SIGTERM:\n{after}"
    );
    assert!(
        !after.contains("ticks"),
        "the alternate screen is gone:\n{after}"
    );
    // Raw mode is off again: what the shell prints starts at the left margin.
    let line = after
        .lines()
        .find(|l| l.contains("EXITED"))
        .unwrap_or_default();
    assert!(line.starts_with("EXITED"), "{line:?}");
}

#[test]
fn line_mode_reprints_its_header_when_the_terminal_resizes() {
    let dir = StatsDir::new();
    let _child = WriterChild::start(CHILD, dir.path(), 50);
    let command = format!(
        "MMSTATS_PATH='{}' TERM=xterm-256color '{}' -d 0.2 ticks,level; sleep 30",
        dir.path().display(),
        workspace_bin("pollstats").display()
    );
    let tmux = Tmux::start("mmstats-resize", &command, 100, 40);
    let headers = |s: &str| {
        s.lines()
            .filter(|l| l.contains("ticks") && l.contains("level"))
            .count()
    };
    // Rows come and the header is printed once: 40 rows fit before it is due again.
    tmux.wait_for("a few rows under one header", |s| {
        headers(s) == 1 && s.lines().filter(|l| !l.trim().is_empty()).count() >= 5
    });
    let resized = tmux.tmux(&["resize-window", "-t", &tmux.session, "-x", "80", "-y", "30"]);
    assert!(
        resized.status.success(),
        "{}",
        String::from_utf8_lossy(&resized.stderr)
    );
    tmux.wait_for("the header again after the resize", |s| headers(s) == 2);
}

#[test]
fn full_screen_mode_shows_a_jvms_counters_with_jvm() {
    use mmstats_format::ByteOrder;
    use mmstats_format::hsperf::{Builder, Units, Variability};
    let dir = StatsDir::new();
    let jvms = dir.path().join("hsperfdata_someone");
    std::fs::create_dir(&jvms).unwrap();
    let mut b = Builder::new(ByteOrder::NATIVE);
    b.long(
        "sun.os.hrt.frequency",
        Units::Hertz,
        Variability::Constant,
        1000,
    )
    .long(
        "sun.gc.collector.0.invocations",
        Units::Events,
        Variability::Monotonic,
        41,
    )
    .long(
        "sun.gc.collector.0.time",
        Units::Ticks,
        Variability::Monotonic,
        1500,
    )
    .string(
        "sun.rt.javaCommand",
        Variability::Constant,
        "org.example.Main",
        32,
    );
    std::fs::write(jvms.join(std::process::id().to_string()), b.finish(4096)).unwrap();
    let command = format!(
        "MMSTATS_PATH='{d}' TMPDIR='{d}' TERM=xterm-256color '{}' --tui --jvm; echo \"EXITED $?\"; sleep 30",
        workspace_bin("pollstats").display(),
        d = dir.path().display(),
    );
    let tmux = Tmux::start("mmstats-tui-jvm", &command, 120, 30);
    let screen = tmux.wait_for("the JVM's counters", |s| {
        s.contains("sun.gc.collector.0.invocations") && s.contains("sun.rt.javaCommand")
    });
    let row = |label: &str| {
        screen
            .lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no {label} row:\n{screen}"))
            .to_string()
    };
    assert!(
        row("sun.gc.collector.0.invocations ").contains("41"),
        "{screen}"
    );
    assert!(row("sun.gc.collector.0.time").contains("1.50s"), "{screen}");
    assert!(
        row("sun.rt.javaCommand").contains("org.example"),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_for("pollstats to exit", |s| s.contains("EXITED 0"));
}
