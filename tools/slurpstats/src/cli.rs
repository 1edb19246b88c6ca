//! Command-line arguments.

use clap::{ArgGroup, Parser};

const AFTER_HELP: &str = "\
Examples:
  slurpstats                               every file in the stats directory
  slurpstats /dev/shm/mmstats-1000/web-*.mmstats
  slurpstats --filter web.stats.status. --filter web.latency.p99
  slurpstats --json | jq '.files[].pid'
  slurpstats --ndjson --filter latency >> samples.ndjson
  slurpstats --csv > stats.csv
  slurpstats --prometheus > /var/lib/node_exporter/textfile/app.prom
  slurpstats --host --proc --filter host.mem. --filter proc.cpu.
  slurpstats --jvm --filter sun.gc.            the counters of every JVM as well
  slurpstats /tmp/hsperfdata_$USER/4242         one JVM (its hsperfdata file)

Files are found in $MMSTATS_PATH, else $XDG_RUNTIME_DIR/mmstats, else /dev/shm/mmstats-<uid>;
$MMSTATS_GLOB overrides the default glob. Names starting with '.' are ignored.
HotSpot JVMs' performance data files (/tmp/hsperfdata_<user>/<pid>, the counters jstat reads)
are read too when named or with --jvm; their labels keep the JVM's names, clock ticks read
as seconds.

Counters, gauges, constants and texts print one line each; averages, histograms, timers and
windowed fields print their derived values (latency.count, latency.mean, latency.p99, ...).
Durations are shown humanised (1.53ms); JSON and CSV keep exact numbers in the field's unit.

Exit status:
  0  every file was read
  1  some file could not be read (each reported on stderr as 'slurpstats: <path>: <reason>')
  2  bad usage or a fatal error";

/// Print every field of mmstats files.
#[derive(Debug, Clone, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("format").args(["json", "ndjson", "csv", "prometheus", "openmetrics"])))]
pub struct Cli {
    /// Files or globs to read [default: the default glob].
    #[arg(value_name = "PATH|GLOB")]
    pub paths: Vec<String>,

    /// One JSON document holding every file and every error, written file by file (compact;
    /// --pretty indents it).
    #[arg(long)]
    pub json: bool,

    /// With --json: the document indented for people (compact by default).
    #[arg(long, requires = "json")]
    pub pretty: bool,

    /// One JSON object per file per line: timestamp, path, pid, tid, format version, fields.
    #[arg(long)]
    pub ndjson: bool,

    /// CSV rows: path,label,kind,unit,value.
    #[arg(long)]
    pub csv: bool,

    /// Prometheus text format 0.0.4, one sample per file (labels pid, tid, cmd).
    #[arg(long)]
    pub prometheus: bool,

    /// OpenMetrics 1.0 text, one sample per file.
    #[arg(long)]
    pub openmetrics: bool,

    /// Also the machine's resources from /proc (labels host.*: CPU, memory, swap, network,
    /// disks, filesystems, load).
    #[arg(long)]
    pub host: bool,

    /// Also the resources of each process that has stats files, from /proc (labels proc.*:
    /// RSS, CPU seconds, threads, context switches, ...).
    #[arg(long = "proc")]
    pub procs: bool,

    /// Also the resources of process PID (repeatable), whether or not it has stats files.
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,

    /// Also read every HotSpot JVM's performance data file the user may read
    /// ($TMPDIR or /tmp, hsperfdata_*/PID).
    #[arg(long)]
    pub jvm: bool,

    /// Only labels starting with PREFIX (repeatable; a derived label such as latency.p99 counts).
    #[arg(short, long, value_name = "PREFIX")]
    pub filter: Vec<String>,

    #[command(flatten)]
    /// Which stats directories to trust, as every reader tool reads them.
    pub dirs: mmstats_tool::DirTrust,
}

impl Cli {
    /// The paths and globs to read: the given ones (the default glob when none), and with
    /// `--jvm` every JVM's file.
    pub fn patterns(&self) -> Vec<String> {
        if self.jvm {
            mmstats_reader::with_jvms(&self.paths)
        } else {
            self.paths.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn parses_paths_filters_and_one_format() {
        let c = Cli::parse_from([
            "slurpstats",
            "a.mmstats",
            "-f",
            "x",
            "--filter",
            "y",
            "--csv",
        ]);
        assert_eq!(c.paths, ["a.mmstats"]);
        assert_eq!(c.filter, ["x", "y"]);
        assert!(c.csv && !c.json && !c.ndjson);
        assert!(Cli::try_parse_from(["slurpstats", "--json", "--csv"]).is_err());
        Cli::command().debug_assert();
    }

    #[test]
    fn jvm_adds_the_jvm_glob() {
        let c = Cli::parse_from(["slurpstats", "--jvm", "a.mmstats"]);
        assert_eq!(
            c.patterns(),
            ["a.mmstats".to_string(), mmstats_reader::jvm_glob()]
        );
        let c = Cli::parse_from(["slurpstats", "a.mmstats"]);
        assert_eq!(c.patterns(), ["a.mmstats"]);
    }
}
