//! The line mode: sample every DELAY on a monotonic schedule and print one row per sample.

use std::collections::HashSet;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use mmstats_reader::unix_seconds;
use mmstats_reader::{FileInfo, Intervals, Liveness, ProcessId, Scan, Scanner, Snapshot};

use crate::cli::Cli;
use crate::columns::{FileFilter, keep};
use crate::rate::{Cell, cell};
use crate::table::{self, Group, Layout};
use mmstats_reader::resource::{ResourceKind, Resources, is_host, resource_kind_of};

/// Sample times `start + k × delay`, so rows never drift; after a stall, missed ticks are
/// skipped rather than bunched.
#[derive(Debug, Clone)]
pub struct Schedule {
    start: Instant,
    delay: Duration,
    k: u32,
}

impl Schedule {
    /// A schedule whose tick 0 is `start`.
    pub fn new(start: Instant, delay: Duration) -> Schedule {
        Schedule { start, delay, k: 0 }
    }

    /// The next tick after the previous one, given the time `now`.
    pub fn next(&mut self, now: Instant) -> Instant {
        self.k += 1;
        let due = self.start + self.delay * self.k;
        if now > due + self.delay {
            // a whole tick was missed: skip to the next one still ahead
            let behind = now.duration_since(self.start).as_secs_f64() / self.delay.as_secs_f64();
            self.k = behind.ceil() as u32;
            return self.start + self.delay * self.k;
        }
        due
    }
}

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// One group: every selected process combined.
    All,
    /// One group per process.
    Process,
    /// One group per file (thread, or process file).
    Thread,
}

/// Turns scans into rows: selects processes, feeds the interval engine, lays out the columns.
#[derive(Debug)]
pub struct Poller {
    labels: Vec<String>,
    names: Vec<String>,
    filters: Vec<FileFilter>,
    grouping: Grouping,
    time: bool,
    engine: Intervals,
}

/// A group title for one file: `pid 42/43` for a thread, `pid 42 totals` for a process file,
/// `host` for the host's resources.
pub fn file_title(info: &FileInfo, path: &std::path::Path) -> String {
    if resource_kind_of(info) == Some(ResourceKind::Host) {
        return "host".into();
    }
    match (info.pid, info.tid) {
        (Some(p), _) if info.process_totals => format!("pid {p} totals"),
        (Some(p), Some(t)) if t != 0 && t != p => format!("pid {p}/{t}"),
        (Some(p), _) => format!("pid {p}"),
        _ => path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The title of one process's group: `pid 42 web`, `host` for the host's resources, with
/// ` (dead)` once it exited.
fn process_title(p: &mmstats_reader::ProcessSample) -> String {
    let mut title = match p.pid() {
        _ if is_host(p) => "host".to_string(),
        Some(pid) => format!("pid {pid} {}", p.cmd),
        None => p.cmd.to_string(),
    };
    if p.liveness != Liveness::Alive {
        title.push_str(" (dead)");
    }
    title.trim().to_string()
}

/// The title of a group of processes: how many (`4 procs`), and how many of them are live
/// when some are not (`3/4 live`). Short, as it heads columns as narrow as one name.
fn processes_title(total: usize, live: usize) -> String {
    if live == total {
        format!("{total} proc{}", if total == 1 { "" } else { "s" })
    } else {
        format!("{live}/{total} live")
    }
}

impl Poller {
    /// A poller for the CLI's fields and filters.
    pub fn new(cli: &Cli) -> Poller {
        Poller {
            labels: cli.labels(),
            names: cli.names(),
            filters: cli
                .filters
                .iter()
                .map(|f| FileFilter::parse(f, ""))
                .collect(),
            grouping: if cli.per_thread {
                Grouping::Thread
            } else if cli.per_process {
                Grouping::Process
            } else {
                Grouping::All
            },
            time: cli.timestamp,
            engine: Intervals::new(),
        }
    }

    /// The files of the processes that pass the filters and have at least one of the fields
    /// in some file: a process is selected whole, so that its totals stay continuous.
    pub fn select<'a>(&self, snaps: &'a [Snapshot]) -> Vec<&'a Snapshot> {
        let chosen: HashSet<ProcessId> = snaps
            .iter()
            .filter(|s| keep(s, &self.filters, &self.labels))
            .map(|s| ProcessId::of(&s.info, &s.path))
            .collect();
        snaps
            .iter()
            .filter(|s| chosen.contains(&ProcessId::of(&s.info, &s.path)))
            .collect()
    }

    /// One sample: the layout and a row of cells per group.
    pub fn sample(&mut self, snaps: &[&Snapshot]) -> (Layout, Vec<Vec<Cell>>) {
        let sample = self.engine.update(snaps.iter().copied());
        let mut groups = Vec::new();
        let mut cells = Vec::new();
        let mut push = |title: String, series: &[mmstats_reader::Series]| {
            groups.push(Group {
                title,
                names: self.names.clone(),
            });
            cells.push(self.labels.iter().map(|l| cell(series, l)).collect());
        };
        match self.grouping {
            Grouping::All => {
                // the host's resources are no process of their own
                let procs = sample.processes.iter().filter(|p| !is_host(p));
                let total = procs.clone().count();
                let live = procs.filter(|p| p.liveness == Liveness::Alive).count();
                push(processes_title(total, live), &sample.combined());
            }
            Grouping::Process => {
                for p in &sample.processes {
                    push(process_title(p), &p.series);
                }
            }
            Grouping::Thread => {
                for p in &sample.processes {
                    for f in &p.files {
                        // A process's resources describe the process, not one of its files:
                        // titled as the process is (`pid 42 web`), the host as `host`.
                        let title = match resource_kind_of(&f.info) {
                            Some(ResourceKind::Process) => process_title(p),
                            _ => file_title(&f.info, &f.path),
                        };
                        push(title, &f.series);
                    }
                }
            }
        }
        (
            Layout {
                time: self.time,
                groups,
            },
            cells,
        )
    }
}

/// Writes rows and reprints the header when due: every N rows, when the layout changes, and
/// when the terminal is resized.
#[derive(Debug)]
pub struct Printer {
    /// Header every N rows; 0 never repeats it.
    pub header_every: u64,
    /// ANSI colours.
    pub color: bool,
    /// CSV instead of columns.
    pub csv: bool,
    /// Check the terminal size before each row.
    pub tty: bool,
    rows: u64,
    layout: Option<Layout>,
    size: Option<(u16, u16)>,
}

impl Printer {
    /// A printer.
    pub fn new(header_every: u64, color: bool, csv: bool, tty: bool) -> Printer {
        let size = if tty {
            crossterm::terminal::size().ok()
        } else {
            None
        };
        Printer {
            header_every,
            color,
            csv,
            tty,
            rows: 0,
            layout: None,
            size,
        }
    }

    /// Writes one row, after a header if one is due.
    pub fn print(
        &mut self,
        out: &mut dyn Write,
        layout: &Layout,
        now: SystemTime,
        cells: &[Vec<Cell>],
    ) -> io::Result<()> {
        let t = unix_seconds(now);
        if self.csv {
            // A CSV header names the columns only: a changed group title (a process came or
            // went) does not repeat it.
            let head = table::csv_header(layout);
            if self
                .layout
                .as_ref()
                .is_none_or(|l| table::csv_header(l) != head)
            {
                out.write_all(head.as_bytes())?;
                self.layout = Some(layout.clone());
            }
            out.write_all(table::csv_row(t, cells).as_bytes())?;
            return out.flush();
        }
        let resized = self.tty && {
            let size = crossterm::terminal::size().ok();
            std::mem::replace(&mut self.size, size) != size
        };
        let due = self.header_every > 0 && self.rows >= self.header_every;
        if self.layout.as_ref() != Some(layout) || due || resized {
            out.write_all(table::header(layout, self.color).as_bytes())?;
            self.layout = Some(layout.clone());
            self.rows = 0;
        }
        out.write_all(table::row(layout, Some(t), cells, self.color).as_bytes())?;
        self.rows += 1;
        out.flush()
    }
}

/// Prints each file error once (until its message changes).
#[derive(Debug, Default)]
struct ErrorLog(HashSet<String>);

impl ErrorLog {
    fn report(&mut self, scan: &Scan) {
        for e in &scan.errors {
            let line = format!(
                "pollstats: {}",
                mmstats_render::text::escape(&e.to_string())
            );
            if self.0.insert(line.clone()) {
                eprintln!("{line}");
            }
        }
    }
}

/// Runs the line mode.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let tty = stdout.is_terminal();
    let color = tty && !cli.no_color && std::env::var_os("NO_COLOR").is_none();
    let header_every = cli.header_every.unwrap_or_else(|| {
        if tty {
            crossterm::terminal::size()
                .map(|(_, h)| u64::from(h.saturating_sub(3)).max(5))
                .unwrap_or(20)
        } else {
            0
        }
    });
    let mut printer = Printer::new(header_every, color, cli.csv, tty);
    let mut poller = Poller::new(cli);
    let mut scanner = Scanner::new(cli.patterns());
    let mut errors = ErrorLog::default();
    let mut resources = Resources::for_labels(&cli.labels());

    let start = Instant::now();
    let mut first = scanner.scan();
    resources.add_to(&mut first);
    errors.report(&first);
    let selected = poller.select(&first.snapshots);
    if selected.is_empty() && first.snapshots.is_empty() && first.errors.is_empty() {
        // Say why there is no file at all: an empty directory, or a glob matching nothing.
        for e in mmstats_reader::discover(&cli.patterns()).1 {
            eprintln!(
                "pollstats: {}",
                mmstats_render::text::escape(&e.to_string())
            );
        }
        return Ok(ExitCode::FAILURE);
    }
    if selected.is_empty() {
        eprintln!(
            "pollstats: no stats file has any of the fields {}",
            cli.labels().join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
    let missing = crate::columns::missing(&selected, &poller.labels);
    if !missing.is_empty() {
        eprintln!(
            "pollstats: no stats file has {} yet: shown as - until one does",
            mmstats_render::text::escape(&missing.join(", "))
        );
    }
    poller.sample(&selected); // the baseline for rates

    let mut out = stdout.lock();
    let mut schedule = Schedule::new(start, cli.delay);
    let mut printed = 0u64;
    while cli.count.is_none_or(|c| printed < c) {
        let due = schedule.next(Instant::now());
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        let mut scan = scanner.scan();
        resources.add_to(&mut scan);
        errors.report(&scan);
        let selected = poller.select(&scan.snapshots);
        let (layout, cells) = poller.sample(&selected);
        printer
            .print(&mut out, &layout, SystemTime::now(), &cells)
            .context("writing output")?;
        printed += 1;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_does_not_drift_and_skips_missed_ticks() {
        let t0 = Instant::now();
        let d = Duration::from_millis(500);
        let mut s = Schedule::new(t0, d);
        // late by 100 ms: the next tick is still exactly t0 + 500 ms, then t0 + 1000 ms
        assert_eq!(s.next(t0 + Duration::from_millis(100)), t0 + d);
        assert_eq!(s.next(t0 + Duration::from_millis(620)), t0 + 2 * d);
        // a stall of several seconds: skip to the first tick ahead
        assert_eq!(s.next(t0 + Duration::from_millis(3_200)), t0 + 7 * d);
        assert_eq!(s.next(t0 + Duration::from_millis(3_500)), t0 + 8 * d);
    }

    #[test]
    fn printer_repeats_headers_and_csv_has_one() {
        let l = Layout {
            time: false,
            groups: vec![Group {
                title: "1 file".into(),
                names: vec!["x".into()],
            }],
        };
        let cells = vec![vec![Cell {
            value: Some(1.0),
            ..Cell::default()
        }]];
        let mut p = Printer::new(2, false, false, false);
        let mut out = Vec::new();
        for _ in 0..5 {
            p.print(&mut out, &l, SystemTime::UNIX_EPOCH, &cells)
                .unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("1 file-").count(), 3, "{text}");
        assert_eq!(text.lines().count(), 5 + 3 * 2);

        let mut p = Printer::new(2, false, true, false);
        let mut out = Vec::new();
        for _ in 0..5 {
            p.print(&mut out, &l, SystemTime::UNIX_EPOCH, &cells)
                .unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("timestamp,x\n{}", "0.000,1\n".repeat(5))
        );
    }

    #[test]
    fn per_file_groups_change_the_layout() {
        use crate::columns::tests::{m, snap};
        use clap::Parser;
        use mmstats_reader::{Kind, Num, Value, ValueType};
        let cli = Cli::parse_from(["pollstats", "--per-thread", "req"]);
        let mut p = Poller::new(&cli);
        let s = |n: &str, v: u64| {
            snap(
                n,
                1.0,
                vec![(
                    m("req", Kind::Gauge, ValueType::U64),
                    Value::Number(Num::U(v)),
                )],
            )
        };
        let (a, b) = (s("a", 1), s("bb", 2));
        let (l1, c1) = p.sample(&[&a, &b]);
        assert_eq!(
            l1.groups
                .iter()
                .map(|g| g.title.as_str())
                .collect::<Vec<_>>(),
            ["pid 100/1", "pid 200/1"]
        );
        assert_eq!(c1[1][0].value, Some(2.0));
        let (l2, _) = p.sample(&[&a]);
        assert_ne!(l1, l2);
    }

    #[test]
    fn per_thread_resources_are_titled_as_their_process() {
        use clap::Parser;
        use std::sync::Arc;
        let me = std::process::id();
        let res = mmstats_reader::resource::ProcessSource::new()
            .sample(me)
            .unwrap();
        // a thread file of this process (its identity is the process's)
        let mut info = (*res.info).clone();
        info.writer = "mmstats".into();
        info.dev_ino = (5, 6);
        info.tid = Some(me + 1);
        let file = Snapshot {
            path: format!("/s/web-{me}-{}.mmstats", me + 1).into(),
            info: Arc::new(info),
            ..res.clone()
        };
        let host = mmstats_reader::resource::HostSource::new().sample();
        let cli = Cli::parse_from(["pollstats", "--per-thread", "proc.threads"]);
        let mut p = Poller::new(&cli);
        let (layout, cells) = p.sample(&[&file, &res, &host]);
        let titles: Vec<&str> = layout.groups.iter().map(|g| g.title.as_str()).collect();
        let cmd = mmstats_reader::command_name(&file);
        let process = format!("pid {me} {cmd}");
        assert!(titles.contains(&process.as_str()), "{titles:?}");
        assert!(titles.contains(&"host"), "{titles:?}");
        assert!(
            !titles.contains(&format!("pid {me}").as_str()),
            "{titles:?}"
        );
        // the process's own threads, in its resources' group
        let i = titles.iter().position(|t| *t == process).unwrap();
        assert!(
            cells[i][0].value.is_some_and(|n| n >= 1.0),
            "{:?}",
            cells[i]
        );
    }
}
