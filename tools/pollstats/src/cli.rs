//! Command-line arguments.

use std::time::Duration;

use clap::Parser;

const AFTER_HELP: &str = "\
Every DELAY seconds pollstats prints one row: for each field, its value combined over all files
by the field's rule. Counters show their change per second (a counter that went down means its
writer restarted: it counts from the new value); gauges show their value; timers and histograms
the mean of the values recorded in the interval; name a derived value for more: latency.p99,
latency.p50, latency.max, latency.count (of the values recorded in the interval, over all
files), hits.rate (of a windowed field). Cells scale with k/M/G, bytes with KiB/MiB/GiB, and
durations read as 1.53ms.

Examples:
  pollstats web.requests,web.errors                      one row per second, all files
  pollstats -p web. -d 0.5 -c 20 requests,latency.p99     twenty rows, half a second apart
  pollstats -f role=frontend requests                    only files whose role is frontend
  pollstats requests /dev/shm/mmstats-1000/web-*.mmstats  only these files
  pollstats --per-file -t requests                       one column group per file
  pollstats --csv -d 10 requests,rss > log.csv            for a spreadsheet
  pollstats --tui                                        full-screen view of every field
  pollstats -p host. cpu.user,cpu.system,cpu.percent,mem.available,net.eth0.rx.bytes
                                                         the machine, from /proc
  pollstats proc.cpu.percent,proc.mem.rss,requests       processes with stats files
  pollstats --jvm -p sun.gc. collector.0.invocations,collector.0.time
                                                         GCs and GC seconds per second
  pollstats --jvm --gc                                   jstat -gc, for every JVM
  pollstats --gcutil -d 5 /tmp/hsperfdata_$USER/4242     jstat -gcutil 4242 5s, one JVM

Fields under host. and proc. come from /proc, not from stats files: host. the machine's CPU,
memory, swap, network, disks and filesystems, proc. each stats-file process's own resources
(format-spec/RESOURCES.md lists them). Their percent fields cover one DELAY. In --tui a panel
shows the host and each process's CPU, RSS and threads; the host entry lists every host field,
a process's entry its resources beside its stats.

HotSpot JVMs: --jvm adds every JVM's performance data file (/tmp/hsperfdata_<user>/<pid>, or
under $TMPDIR) to the files watched; such a file or directory can also be named as FILES.
Their labels keep the JVM's names (sun.gc.collector.0.invocations), monotonic counters show
rates, ticks are seconds. --gc and --gcutil print the columns of jstat -gc and jstat -gcutil
from the same counters with jstat's formulas (KB and seconds; percentages of capacity), the
first row at once; with several JVMs, one row each with a PID column first. With --gc or
--gcutil every argument is a file.

Keys in --tui: q quit, ? help, / filter, space pause, p or Tab next process, j/k or Up/Down
move, h/l or Left/Right pick the sort column, s reverses the order.

Exit status:
  0  done (COUNT rows printed, or q in --tui)
  1  no stats file had any of the FIELDS at the first sample
  2  bad usage or a fatal error
  128+N  --tui ended by signal N (SIGTERM, SIGHUP, SIGQUIT), the terminal restored";

/// Watch mmstats fields over time, one row per interval, or full-screen with --tui.
#[derive(Debug, Clone, Parser)]
#[command(version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Prepended to every field name.
    #[arg(short, long, default_value = "")]
    pub prefix: String,

    /// Seconds between rows (fractions allowed).
    #[arg(short, long, default_value = "1", value_parser = parse_delay)]
    pub delay: Duration,

    /// Stop after COUNT rows [default: never].
    #[arg(short, long)]
    pub count: Option<u64>,

    /// Repeat the header every N rows; 0 never [default: the terminal's height, or never when
    /// not a terminal].
    #[arg(short = 'n', long = "header-every", value_name = "N")]
    pub header_every: Option<u64>,

    /// Keep files having a field starting with KEY, or whose field KEY equals VALUE
    /// (repeatable; all must hold; KEY is a full label, without the prefix).
    #[arg(short, long = "filter", value_name = "KEY[=VALUE]")]
    pub filters: Vec<String>,

    /// Print a time column (UTC).
    #[arg(short = 't', long)]
    pub timestamp: bool,

    /// One column group per process instead of combining processes.
    #[arg(long, conflicts_with = "per_thread")]
    pub per_process: bool,

    /// One column group per file: each thread, and each process file (`pid N totals`, which
    /// shows what ended threads added).
    #[arg(long, visible_alias = "per-file")]
    pub per_thread: bool,

    /// CSV rows (with a Unix timestamp column) instead of aligned columns.
    #[arg(long, conflicts_with = "tui")]
    pub csv: bool,

    /// Never colour the output (it is coloured only on a terminal anyway).
    #[arg(long)]
    pub no_color: bool,

    /// Full-screen view of every field of the selected files.
    #[arg(long)]
    pub tui: bool,

    /// Also watch every HotSpot JVM's performance data file the user may read.
    #[arg(long)]
    pub jvm: bool,

    /// Print the columns of `jstat -gc` (KB, seconds) for each JVM instead of FIELDS.
    #[arg(long, conflicts_with_all = ["tui", "gcutil", "per_thread", "per_process"])]
    pub gc: bool,

    /// Print the columns of `jstat -gcutil` (percent of capacity, seconds) for each JVM.
    #[arg(long, conflicts_with_all = ["tui", "per_thread", "per_process"])]
    pub gcutil: bool,

    /// Comma-separated field names (with --tui, --gc or --gcutil there are none: every
    /// argument is a file). A name selects every series of its family; `name{key=value,...}`
    /// only the series whose labels match (a value ending in `xx` or `*` matches by prefix:
    /// `requests{code=5xx}`), summed or combined into one column.
    #[arg(value_name = "FIELDS", required_unless_present_any = ["tui", "gc", "gcutil"])]
    pub fields: Option<String>,

    /// Files or globs [default: the default glob].
    #[arg(value_name = "FILES")]
    pub files: Vec<String>,

    #[command(flatten)]
    /// Which stats directories to trust, as every reader tool reads them.
    pub dirs: mmstats_tool::DirTrust,
}

fn parse_delay(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds"))?;
    if !(0.01..=86_400.0).contains(&secs) {
        return Err("the delay must be between 0.01 and 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Cli {
    /// The full labels asked for: each comma-separated name with the prefix prepended.
    pub fn labels(&self) -> Vec<String> {
        // A comma inside braces or quotes (`requests{code="5xx",method=GET}`) is not a
        // separator.
        mmstats_reader::labels::split_list(self.fields.as_deref().unwrap_or(""))
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{}{s}", self.prefix))
            .collect()
    }

    /// The names as typed, for column headers.
    pub fn names(&self) -> Vec<String> {
        mmstats_reader::labels::split_list(self.fields.as_deref().unwrap_or(""))
            .into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// The files and globs to watch; with --tui a FIELDS argument is really a file.
    pub fn patterns(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.tui || self.gc || self.gcutil {
            p.extend(self.fields.clone());
        }
        p.extend(self.files.iter().cloned());
        if self.jvm {
            p = mmstats_reader::with_jvms(&p);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn original_options() {
        let c = Cli::parse_from([
            "pollstats",
            "-p",
            "web.",
            "-d",
            "0.5",
            "-c",
            "3",
            "-n",
            "10",
            "-f",
            "role=front",
            "-f",
            "db",
            "requests, latency.p99",
            "a.mmstats",
            "b*",
        ]);
        assert_eq!(c.delay, Duration::from_millis(500));
        assert_eq!((c.count, c.header_every), (Some(3), Some(10)));
        assert_eq!(c.filters, ["role=front", "db"]);
        assert_eq!(c.labels(), ["web.requests", "web.latency.p99"]);
        assert_eq!(c.names(), ["requests", "latency.p99"]);
        assert_eq!(c.patterns(), ["a.mmstats", "b*"]);
        Cli::command().debug_assert();
    }

    #[test]
    fn commas_inside_label_sets_do_not_separate_fields() {
        let c = Cli::parse_from([
            "pollstats",
            "-p",
            "http.",
            r#"requests{code="5,xx",method=GET},bytes"#,
        ]);
        assert_eq!(
            c.labels(),
            [r#"http.requests{code="5,xx",method=GET}"#, "http.bytes"]
        );
        assert_eq!(c.names(), [r#"requests{code="5,xx",method=GET}"#, "bytes"]);
    }

    #[test]
    fn bad_delays_and_missing_fields_are_usage_errors() {
        assert!(Cli::try_parse_from(["pollstats", "-d", "x", "a"]).is_err());
        assert!(Cli::try_parse_from(["pollstats", "-d", "0", "a"]).is_err());
        assert!(Cli::try_parse_from(["pollstats"]).is_err());
        let c = Cli::try_parse_from(["pollstats", "--tui", "x.mmstats"]).unwrap();
        assert_eq!(c.patterns(), ["x.mmstats"]);
    }

    #[test]
    fn jvm_gc_and_gcutil() {
        let c = Cli::try_parse_from(["pollstats", "--gc", "/tmp/hsperfdata_a/1"]).unwrap();
        assert!(c.gc);
        assert_eq!(c.patterns(), ["/tmp/hsperfdata_a/1"]);
        let c = Cli::try_parse_from(["pollstats", "--jvm", "--gcutil"]).unwrap();
        assert_eq!(
            c.patterns(),
            [mmstats_reader::default_glob(), mmstats_reader::jvm_glob()]
        );
        let c = Cli::try_parse_from(["pollstats", "--jvm", "a,b"]).unwrap();
        assert_eq!(c.labels(), ["a", "b"]);
        assert!(Cli::try_parse_from(["pollstats", "--gc", "--gcutil"]).is_err());
        assert!(Cli::try_parse_from(["pollstats", "--gc", "--tui"]).is_err());
    }
}
