//! Command-line options.

use std::net::SocketAddr;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Routes (tools/mmash/README.md describes each):
  /                       the live page: every process, its series and their history
  /api/stats              every process's series (value, rate, interval percentiles) and every
                          file's fields; ?glob=, ?select=
  /api/files              each file with its writer and whether it is alive
  /api/history/LABEL      a label's history (?res=second|minute|hour)
  /metrics                Prometheus text (OpenMetrics if asked); ?glob=, ?match[]=NAME
  /healthz                ok

Examples:
  mmash                                            the default stats directory, on 127.0.0.1:5002
  mmash --path /dev/shm/mmstats-1000 --glob 'web-*.mmstats'
  MMASH_TOKEN=s3cret mmash --listen 0.0.0.0:5002   remote access with a token
  mmash --aggregate --jvm                          /metrics summed over processes, JVMs too
  curl -s '127.0.0.1:5002/metrics?match[]=web_requests'

It stops cleanly on SIGINT or SIGTERM. Exit status: 0 after a clean stop; 2 for bad usage or
a fatal error (the address in use, a --path directory that does not exist).";

/// Serve mmstats files, read-only: a live web page, a JSON API and Prometheus metrics.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "mmash", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Address to listen on: IP:PORT or HOST:PORT (`localhost:5002`).
    #[arg(long, default_value = "127.0.0.1:5002", value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// A stats directory; repeat for several (default: the mmstats default directory).
    #[arg(long = "path", value_name = "DIR")]
    pub paths: Vec<PathBuf>,
    /// Also serve every HotSpot JVM's performance data file the user may read
    /// (`hsperfdata_<user>/<pid>` in $TMPDIR or /tmp): heap, GC, threads, classes, JIT.
    #[arg(long)]
    pub jvm: bool,
    /// Which files of each directory to read.
    #[arg(long, default_value = "*.mmstats")]
    pub glob: String,
    /// Require TOKEN on every route but /healthz and /login, as `Authorization: Bearer TOKEN`
    /// or as the session cookie a browser gets by typing it at /login (also `$MMASH_TOKEN`).
    #[arg(long)]
    pub token: Option<String>,
    /// Combine each label over every process on /metrics instead of one series per process
    /// (exited processes' final counters stay in the sums, so they never go down).
    #[arg(long, conflicts_with = "per_thread")]
    pub aggregate: bool,
    /// One /metrics series per thread file (with a `tid` label) instead of one per process.
    #[arg(long)]
    pub per_thread: bool,
    /// Do not read the host's and the processes' resources from /proc.
    #[arg(long)]
    pub no_resources: bool,
    /// Seconds in a "minute" of the /api/perf rollup (an hour is 60 of them); for tests.
    #[arg(long, default_value = "60", value_name = "SECS", hide = true)]
    pub rollup_slice: u64,
    /// Log one line per request to stderr (also `MMASH_LOG=debug` or `RUST_LOG=debug`).
    #[arg(short, long)]
    pub verbose: bool,
    /// Also answer requests for this host name (repeatable). Requests naming an IP address or
    /// `localhost` are always answered; any other `Host` is refused, so that a web page cannot
    /// reach mmash through a name it rebinds to 127.0.0.1 (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    #[command(flatten)]
    /// Which stats directories to trust, as every reader tool reads them.
    pub dirs: mmstats_tool::DirTrust,
}

/// An address to listen on: a socket address, or a host name and port resolved to its first
/// IPv4 address (else its first address), so that `localhost:5002` means 127.0.0.1.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| format!("{s:?} is not HOST:PORT or IP:PORT ({e})"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

impl Cli {
    /// The token from the option, else from `$MMASH_TOKEN`; an empty one is an error (it
    /// would silently leave every route open).
    pub fn token(&self) -> Result<Option<String>, String> {
        let token = self
            .token
            .clone()
            .or_else(|| std::env::var("MMASH_TOKEN").ok());
        match token {
            Some(t) if t.trim().is_empty() => Err(
                "the token is empty (--token or MMASH_TOKEN); give a secret, or neither to serve without one"
                    .into(),
            ),
            t => Ok(t),
        }
    }

    /// Whether to log requests: `-v`, or `MMASH_LOG` / `RUST_LOG` asking for debug (`debug`,
    /// `trace`, or `mmash=debug`).
    pub fn log_requests(&self) -> bool {
        let debug = |v: String| {
            v.split(',').any(|d| {
                let level = d.strip_prefix("mmash=").unwrap_or(d);
                matches!(level.trim(), "debug" | "trace")
            })
        };
        self.verbose
            || std::env::var("MMASH_LOG").is_ok_and(debug)
            || std::env::var("RUST_LOG").is_ok_and(debug)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_host_names() {
        assert_eq!(
            parse_listen("localhost:5002").unwrap(),
            "127.0.0.1:5002".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen("[::1]:80").unwrap(),
            "[::1]:80".parse::<SocketAddr>().unwrap()
        );
        assert!(parse_listen("localhost").unwrap_err().contains("HOST:PORT"));
    }
}
