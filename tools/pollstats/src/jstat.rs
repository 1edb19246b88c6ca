//! The views of `jstat -gc` and `jstat -gcutil` over HotSpot JVMs' performance data files:
//! the same columns, computed from the same counters with the formulas of the JDK's
//! `jstat_options` (capacities and use in KB, times in seconds, use as a percentage of
//! capacity), formatted as jstat formats them.
//!
//! Like jstat, a column whose counter the JVM lacks (`CGC` under the serial or parallel
//! collector) prints `-`, except `GCT`, which adds the times there are; a percentage of an
//! empty space (capacity 0) prints 0.00, as jstat does.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use anyhow::Context;
use mmstats_reader::unix_seconds;
use mmstats_reader::{FormatVersion, Scanner, Snapshot, Value};

use crate::cli::Cli;
use crate::poll::Schedule;

/// Which of jstat's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `jstat -gc`: capacities and use of each space, collections and their times.
    Gc,
    /// `jstat -gcutil`: use of each space as a percentage, collections and their times.
    GcUtil,
}

/// One column: its header, width and decimals as jstat prints them, and its value.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header, as jstat prints it.
    pub name: &'static str,
    /// Characters, as in `jstat_options`.
    pub width: usize,
    /// Digits after the point.
    pub decimals: usize,
    value: Formula,
}

#[derive(Debug, Clone, Copy)]
enum Formula {
    /// A counter of bytes, in KB.
    Kb(&'static str),
    /// A counter as it is (a count, or seconds for ticks).
    Plain(&'static str),
    /// Use as a percentage of capacity: `(1 - (capacity - used) / capacity) * 100`.
    Percent(&'static str),
    /// The three collectors' times added, a missing one counting 0 (jstat's "required").
    TotalTime,
}

const G0S0: &str = "sun.gc.generation.0.space.0";
const G0S1: &str = "sun.gc.generation.0.space.1";
const G0S2: &str = "sun.gc.generation.0.space.2";
const G1S0: &str = "sun.gc.generation.1.space.0";
const META: &str = "sun.gc.metaspace";
const CCS: &str = "sun.gc.compressedclassspace";

const fn col(name: &'static str, width: usize, decimals: usize, value: Formula) -> Column {
    Column {
        name,
        width,
        decimals,
        value,
    }
}

const COLLECTIONS: [Column; 7] = [
    col(
        "YGC",
        6,
        0,
        Formula::Plain("sun.gc.collector.0.invocations"),
    ),
    col("YGCT", 9, 3, Formula::Plain("sun.gc.collector.0.time")),
    col(
        "FGC",
        5,
        0,
        Formula::Plain("sun.gc.collector.1.invocations"),
    ),
    col("FGCT", 9, 3, Formula::Plain("sun.gc.collector.1.time")),
    col(
        "CGC",
        5,
        0,
        Formula::Plain("sun.gc.collector.2.invocations"),
    ),
    col("CGCT", 9, 3, Formula::Plain("sun.gc.collector.2.time")),
    col("GCT", 9, 3, Formula::TotalTime),
];

/// The columns of `jstat -gc` before the collections.
const GC: [Column; 12] = [
    col(
        "S0C",
        11,
        1,
        Formula::Kb("sun.gc.generation.0.space.1.capacity"),
    ),
    col(
        "S1C",
        11,
        1,
        Formula::Kb("sun.gc.generation.0.space.2.capacity"),
    ),
    col(
        "S0U",
        11,
        1,
        Formula::Kb("sun.gc.generation.0.space.1.used"),
    ),
    col(
        "S1U",
        11,
        1,
        Formula::Kb("sun.gc.generation.0.space.2.used"),
    ),
    col(
        "EC",
        12,
        1,
        Formula::Kb("sun.gc.generation.0.space.0.capacity"),
    ),
    col("EU", 12, 1, Formula::Kb("sun.gc.generation.0.space.0.used")),
    col(
        "OC",
        12,
        1,
        Formula::Kb("sun.gc.generation.1.space.0.capacity"),
    ),
    col("OU", 12, 1, Formula::Kb("sun.gc.generation.1.space.0.used")),
    col("MC", 10, 1, Formula::Kb("sun.gc.metaspace.capacity")),
    col("MU", 10, 1, Formula::Kb("sun.gc.metaspace.used")),
    col(
        "CCSC",
        9,
        1,
        Formula::Kb("sun.gc.compressedclassspace.capacity"),
    ),
    col(
        "CCSU",
        9,
        1,
        Formula::Kb("sun.gc.compressedclassspace.used"),
    ),
];

/// The columns of `jstat -gcutil` before the collections.
const GCUTIL: [Column; 6] = [
    col("S0", 6, 2, Formula::Percent(G0S1)),
    col("S1", 6, 2, Formula::Percent(G0S2)),
    col("E", 6, 2, Formula::Percent(G0S0)),
    col("O", 6, 2, Formula::Percent(G1S0)),
    col("M", 6, 2, Formula::Percent(META)),
    col("CCS", 6, 2, Formula::Percent(CCS)),
];

impl View {
    /// The view the command line asks for, if any.
    pub fn of(cli: &Cli) -> Option<View> {
        if cli.gc {
            Some(View::Gc)
        } else if cli.gcutil {
            Some(View::GcUtil)
        } else {
            None
        }
    }

    /// Its columns, in jstat's order.
    pub fn columns(self) -> Vec<Column> {
        let head: &[Column] = match self {
            View::Gc => &GC,
            View::GcUtil => &GCUTIL,
        };
        head.iter().chain(COLLECTIONS.iter()).copied().collect()
    }
}

/// A counter of a snapshot as a number (seconds for ticks, as the reader gives them).
fn number(snap: &Snapshot, label: &str) -> Option<f64> {
    match &snap.field(label)?.value {
        Ok(Value::Number(n)) => Some(n.as_f64()),
        _ => None,
    }
}

impl Column {
    /// The column's value for one JVM, or `None` if the JVM lacks a counter it needs.
    pub fn value(&self, snap: &Snapshot) -> Option<f64> {
        match self.value {
            Formula::Kb(label) => number(snap, label).map(|b| b / 1024.0),
            Formula::Plain(label) => number(snap, label),
            Formula::Percent(space) => {
                let c = number(snap, &format!("{space}.capacity"))?;
                let u = number(snap, &format!("{space}.used"))?;
                Some(if c == 0.0 {
                    0.0
                } else {
                    (1.0 - ((c - u) / c)) * 100.0
                })
            }
            Formula::TotalTime => Some(
                (0..3)
                    .filter_map(|i| number(snap, &format!("sun.gc.collector.{i}.time")))
                    .sum(),
            ),
        }
    }

    /// The cell as jstat prints it: `decimals` digits after the point, `-` when missing.
    pub fn text(&self, value: Option<f64>) -> String {
        match value {
            Some(v) if v.is_finite() => format!("{v:.*}", self.decimals),
            _ => "-".into(),
        }
    }
}

/// The header line: each name centred in its width, columns one space apart; with `pid`, a
/// PID column first.
pub fn header(columns: &[Column], pid: bool) -> String {
    let mut cells = Vec::new();
    if pid {
        cells.push(format!("{:>8}", "PID"));
    }
    for c in columns {
        cells.push(format!("{:^w$}", c.name, w = c.width));
    }
    cells.join(" ")
}

/// One JVM's row, right-aligned like jstat's.
pub fn row(columns: &[Column], snap: &Snapshot, pid: bool) -> String {
    let mut cells = Vec::new();
    if pid {
        let p = snap.info.pid.map(|p| p.to_string()).unwrap_or_default();
        cells.push(format!("{p:>8}"));
    }
    for c in columns {
        cells.push(format!("{:>w$}", c.text(c.value(snap)), w = c.width));
    }
    cells.join(" ")
}

/// The same row as CSV (timestamp, pid, then the columns).
pub fn csv_row(columns: &[Column], snap: &Snapshot, t: f64) -> String {
    let mut cells = vec![
        format!("{t:.3}"),
        snap.info.pid.map(|p| p.to_string()).unwrap_or_default(),
    ];
    for c in columns {
        cells.push(match c.value(snap) {
            Some(v) if v.is_finite() => format!("{v:.*}", c.decimals),
            _ => String::new(),
        });
    }
    cells.join(",")
}

/// Runs `--gc` or `--gcutil`: one row per JVM every DELAY, the first at once (jstat's values
/// are levels and totals, not rates).
pub fn run(cli: &Cli, view: View) -> anyhow::Result<ExitCode> {
    let columns = view.columns();
    let mut scanner = Scanner::new(cli.patterns());
    let mut reported = std::collections::HashSet::new();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let start = Instant::now();
    let mut schedule = Schedule::new(start, cli.delay);
    let mut printed = 0u64;
    let mut rows_since_header = 0u64;
    let mut last_pids: Option<Vec<Option<u32>>> = None;
    loop {
        let scan = scanner.scan();
        for e in &scan.errors {
            let line = format!("pollstats: {e}");
            if reported.insert(line.clone()) {
                eprintln!("{line}");
            }
        }
        let jvms: Vec<&Snapshot> = scan
            .snapshots
            .iter()
            .filter(|s| s.info.version == FormatVersion::Hsperf)
            .collect();
        if printed == 0 && jvms.is_empty() {
            eprintln!(
                "pollstats: no JVM performance data file among {}",
                cli.patterns().join(" ")
            );
            return Ok(ExitCode::FAILURE);
        }
        let pids: Vec<Option<u32>> = jvms.iter().map(|s| s.info.pid).collect();
        let with_pid = jvms.len() > 1;
        let t = unix_seconds(SystemTime::now());
        let every = cli.header_every.unwrap_or(0);
        if cli.csv {
            if last_pids.is_none() {
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                writeln!(out, "timestamp,pid,{}", names.join(",")).context("writing output")?;
            }
        } else if last_pids.as_ref() != Some(&pids) || (every > 0 && rows_since_header >= every) {
            writeln!(out, "{}", header(&columns, with_pid)).context("writing output")?;
            rows_since_header = 0;
        }
        last_pids = Some(pids);
        for s in &jvms {
            let line = if cli.csv {
                csv_row(&columns, s, t)
            } else {
                row(&columns, s, with_pid)
            };
            writeln!(out, "{line}").context("writing output")?;
        }
        out.flush().context("writing output")?;
        printed += 1;
        rows_since_header += 1;
        if cli.count.is_some_and(|c| printed >= c) {
            return Ok(ExitCode::SUCCESS);
        }
        let due = schedule.next(Instant::now());
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_format::ByteOrder;
    use mmstats_format::hsperf::{Builder, Units, Variability};

    fn jvm(serial: bool) -> Snapshot {
        let dir = tempfile::tempdir().unwrap();
        let mut b = Builder::new(ByteOrder::Little);
        b.long(
            "sun.os.hrt.frequency",
            Units::Hertz,
            Variability::Constant,
            1_000_000_000,
        );
        let space = |b: &mut Builder, s: &str, c: i64, u: i64| {
            b.long(
                &format!("{s}.capacity"),
                Units::Bytes,
                Variability::Variable,
                c,
            )
            .long(&format!("{s}.used"), Units::Bytes, Variability::Variable, u);
        };
        space(&mut b, G0S0, 741_376 * 1024, 589_824 * 1024);
        space(&mut b, G0S1, 0, 0);
        space(&mut b, G0S2, 8192 * 1024, 6_494_720);
        space(&mut b, G1S0, 442_368 * 1024, 11_211_776);
        space(&mut b, META, 327_680, 75_674);
        space(&mut b, CCS, 131_072, 3_891);
        let n = if serial { 2 } else { 3 };
        for i in 0..n {
            b.long(
                &format!("sun.gc.collector.{i}.invocations"),
                Units::Events,
                Variability::Monotonic,
                5 * (i + 1),
            );
            b.long(
                &format!("sun.gc.collector.{i}.time"),
                Units::Ticks,
                Variability::Monotonic,
                45_715_777 * (i + 1),
            );
        }
        let path = dir.path().join("4242");
        std::fs::write(&path, b.finish(8192)).unwrap();
        mmstats_reader::StatsFile::open(&path)
            .unwrap()
            .snapshot()
            .unwrap()
    }

    #[test]
    fn gc_columns_as_jstat_prints_them() {
        let s = jvm(false);
        let cols = View::Gc.columns();
        let names: Vec<&str> = cols.iter().map(|c| c.name).collect();
        assert_eq!(
            names.join(" "),
            "S0C S1C S0U S1U EC EU OC OU MC MU CCSC CCSU YGC YGCT FGC FGCT CGC CGCT GCT"
        );
        let cells: Vec<String> = cols.iter().map(|c| c.text(c.value(&s))).collect();
        assert_eq!(
            cells.join(" "),
            "0.0 8192.0 0.0 6342.5 741376.0 589824.0 442368.0 10949.0 320.0 73.9 128.0 3.8 \
             5 0.046 10 0.091 15 0.137 0.274"
        );
        let line = row(&cols, &s, false);
        assert!(line.starts_with("        0.0      8192.0"), "{line:?}");
        assert!(header(&cols, false).starts_with("    S0C         S1C    "));
    }

    #[test]
    fn gcutil_percentages_and_missing_collectors() {
        let s = jvm(true);
        let cols = View::GcUtil.columns();
        let cells: Vec<String> = cols.iter().map(|c| c.text(c.value(&s))).collect();
        assert_eq!(
            cells.join(" "),
            "0.00 77.42 79.56 2.48 23.09 2.97 5 0.046 10 0.091 - - 0.137"
        );
    }
}
