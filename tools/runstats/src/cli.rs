//! The command line: record a command or a process, export a run, report runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

const AFTER_HELP: &str = "\
Examples:
  runstats --description \"baseline\" -- ./stress --threads 8   record a command, then report it
  runstats --pid 4242 --duration 60s                         follow a running process for a minute
  runstats --wait-for 127.0.0.1:8080 -- wrk -d 30s http://127.0.0.1:8080/
  runstats report before/ after/                             two runs side by side, with ratios
  runstats export runstats-20260101-120000 --csv > samples.csv
  sqlite3 runstats-20260101-120000/samples.db \"SELECT time_ms, value FROM samples WHERE label = 'web.requests.rate'\"

A run is a directory (runstats-YYYYMMDD-HHMMSS unless --output says otherwise): run.json (the
command, times, exit status, host, sources and what was unavailable), samples.db (SQLite,
committed every 2 s) and report.html with one PNG per chart.

Exit status: the recorded command's (128 + N if signal N ended it; 0 for --pid); 2 for bad
usage or a fatal error.";

/// Run a workload and record everything it publishes until it exits: the mmstats files of
/// every process in its tree, the perf counters of the tree, the host's resources and those
/// of each process of the tree, into a run directory (`run.json`, `samples.db`), then write a
/// report with charts.
#[derive(Debug, Parser)]
#[command(
    name = "runstats",
    version,
    args_conflicts_with_subcommands = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    /// Export or report recorded runs (without one: record).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// What and how to record.
    #[command(flatten)]
    pub record: RecordArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a run's samples as CSV (one row per instant, one column per series), NDJSON (one
    /// object per sample) or an Elasticsearch bulk body, on standard output.
    Export(ExportArgs),
    /// Write `report.html` and one PNG per chart for one run, or several side by side.
    ///
    /// Several runs recorded at the same time (one per node of a cluster test) are charted on
    /// one clock from the earliest start; runs recorded one after another (before and after a
    /// change) each from its own start. The report says which.
    Report(ReportArgs),
    /// Internal: stop, then execute the command once runstats has attached to it.
    #[command(name = "__exec", hide = true)]
    Exec {
        /// The command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        argv: Vec<String>,
    },
}

/// Options of a recording.
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Record this existing process and its children (until it exits or `--duration`).
    #[arg(long, value_name = "PID", conflicts_with = "argv")]
    pub pid: Option<u32>,
    /// Stop recording after this long (e.g. `30s`, `5m`; the command is then interrupted).
    #[arg(long, value_parser = parse_duration, value_name = "TIME")]
    pub duration: Option<Duration>,
    /// Before starting, wait until this is up: `HOST:PORT` (accepts a connection), a path
    /// (exists) or a pid (a running process).
    #[arg(long, value_name = "HOST:PORT|PATH|PID")]
    pub wait_for: Option<String>,
    /// How long `--wait-for` waits before giving up.
    #[arg(long, value_parser = parse_duration, default_value = "30s", value_name = "TIME")]
    pub wait_timeout: Duration,
    /// Time between samples (at least 100ms).
    #[arg(short, long, value_parser = parse_interval, default_value = "1s", value_name = "TIME")]
    pub interval: Duration,
    /// A description kept with the run (what was tested, on which build, ...).
    #[arg(short, long, value_name = "TEXT")]
    pub description: Option<String>,
    /// The run directory (default: `runstats-YYYYMMDD-HHMMSS` in the current directory).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Stats files to consider (paths or globs; default: the default mmstats glob). Only files
    /// of processes in the recorded tree are recorded.
    #[arg(long = "stats", value_name = "GLOB")]
    pub stats: Vec<String>,
    /// Do not record mmstats files.
    #[arg(long)]
    pub no_mmstats: bool,
    /// Do not record the performance data files (hsperfdata) of the tree's JVMs.
    #[arg(long)]
    pub no_jvm: bool,
    /// Do not record perf counters.
    #[arg(long)]
    pub no_perf: bool,
    /// Do not record the host's resources (CPU, memory, swap, disks, network, filesystems).
    #[arg(long)]
    pub no_host: bool,
    /// Do not record the resources of the tree's processes (CPU, RSS, threads, ...).
    #[arg(long)]
    pub no_process: bool,
    /// Do not write the report at the end.
    #[arg(long)]
    pub no_report: bool,
    /// Also chart this series in the report (a label, e.g. `web.requests.rate`); repeatable.
    #[arg(long = "chart", value_name = "LABEL")]
    pub charts: Vec<String>,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// The command to run and record, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    pub argv: Vec<String>,
}

/// Options of `runstats export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run directory.
    pub dir: PathBuf,
    /// A wide CSV: a `time` column (Unix milliseconds), then one column per series.
    #[arg(long, group = "format")]
    pub csv: bool,
    /// One JSON object per sample and line, with an epoch-millisecond `@timestamp`.
    #[arg(long, group = "format")]
    pub ndjson: bool,
    /// An Elasticsearch `_bulk` body: an `index` action line before each sample.
    #[arg(long, group = "format")]
    pub es_bulk: bool,
    /// The index named in `--es-bulk` action lines.
    #[arg(long, default_value = "runstats")]
    pub index: String,
}

/// Options of `runstats report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run directories: one, or several side by side (the first is the baseline).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Also chart this series (a label); repeatable.
    #[arg(long = "chart", value_name = "LABEL")]
    pub charts: Vec<String>,
    /// Where to write `report.html` and the PNGs (default: the only run's directory, or
    /// `runstats-report` for several).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

/// Parses `100ms`, `1.5s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    let x: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (e.g. 500ms, 2s, 5m)"))?;
    if !x.is_finite() || x < 0.0 || x * scale > 1e9 {
        return Err(format!("{s:?} is not a duration (e.g. 500ms, 2s, 5m)"));
    }
    Ok(Duration::from_secs_f64(x * scale))
}

/// The shortest interval between samples.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "{s:?} is shorter than the shortest interval, 100ms"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_interval("50ms").is_err());
    }

    #[test]
    fn command_after_double_dash_and_subcommands() {
        let cli = Cli::parse_from(["runstats", "-i", "200ms", "--", "sleep", "-x", "1"]);
        assert!(cli.command.is_none());
        assert_eq!(cli.record.argv, ["sleep", "-x", "1"]);
        assert_eq!(cli.record.interval, Duration::from_millis(200));
        let cli = Cli::parse_from(["runstats", "export", "d", "--csv"]);
        assert!(matches!(
            cli.command,
            Some(Command::Export(ExportArgs { csv: true, .. }))
        ));
        let cli = Cli::parse_from(["runstats", "report", "a", "b"]);
        assert!(matches!(cli.command, Some(Command::Report(r)) if r.dirs.len() == 2));
        assert!(Cli::try_parse_from(["runstats", "--pid", "1", "--", "x"]).is_err());
    }
}
