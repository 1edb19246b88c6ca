//! Host and process resources agree with psutil (Debian `python3-psutil`), and the tools show
//! a busy process's CPU.

use std::process::Command;
use std::time::Duration;

use mmstats_reader::resource::{HostSource, ProcessSource};
use mmstats_reader::{Snapshot, Value};
use mmstats_tests::{StatsDir, WriterChild, workspace_bin};

const BUSY: &str = env!("CARGO_BIN_EXE_busy-child");

/// A Python 3 that has psutil: Debian's (`/usr/bin/python3`) first, else the one on PATH.
fn python() -> &'static str {
    for py in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(py)
            .args(["-c", "import psutil"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return py;
        }
    }
    panic!("no python3 with psutil: install the Debian package python3-psutil");
}

/// Runs a psutil script and parses the JSON it prints.
fn psutil(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "psutil script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("psutil JSON")
}

fn num(s: &Snapshot, label: &str) -> f64 {
    match &s.field(label).unwrap_or_else(|| panic!("no {label}")).value {
        Ok(Value::Number(n)) => n.as_f64(),
        other => panic!("{label}: {other:?}"),
    }
}

fn opt(s: &Snapshot, label: &str) -> Option<f64> {
    match &s.field(label)?.value {
        Ok(Value::Number(n)) => Some(n.as_f64()),
        _ => None,
    }
}

/// `p` lies between `a` and `b` (read before and after it), give or take `tol`.
fn between(what: &str, a: f64, p: f64, b: f64, tol: f64) {
    let (lo, hi) = (a.min(b), a.max(b));
    assert!(
        lo - tol <= p && p <= hi + tol,
        "{what}: psutil says {p}, we read {a} before and {b} after"
    );
}

const HOST_SCRIPT: &str = r#"
import json, psutil
vm = psutil.virtual_memory()
sw = psutil.swap_memory()
disk = psutil.disk_io_counters(perdisk=True) or {}
print(json.dumps({
    "mem_total": vm.total, "mem_available": vm.available,
    "swap_total": sw.total, "sin": sw.sin, "sout": sw.sout,
    "boot_time": psutil.boot_time(),
    "cpu": psutil.cpu_times()._asdict(),
    "percpu": [c._asdict() for c in psutil.cpu_times(percpu=True)],
    "net": {k: v._asdict() for k, v in psutil.net_io_counters(pernic=True).items()},
    "disk": {k: v._asdict() for k, v in disk.items()},
}))
"#;

#[test]
fn host_values_agree_with_psutil() {
    let mut src = HostSource::new();
    let a = src.sample();
    let p = psutil(HOST_SCRIPT, &[]);
    let b = src.sample();
    let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("psutil {k}: {p}"));

    // exactly
    assert_eq!(num(&a, "host.mem.total"), f("mem_total"));
    assert_eq!(num(&a, "host.swap.total"), f("swap_total"));
    assert_eq!(num(&a, "host.boot_time"), f("boot_time"));
    // a level that moves: within 5% of the total
    let total = f("mem_total");
    assert!((num(&a, "host.mem.available") - f("mem_available")).abs() < total * 0.05);

    // counters: within the movement between our two reads (ticks are 10 ms)
    let tol = 0.011;
    for (state, v) in p["cpu"].as_object().unwrap() {
        let l = format!("host.cpu.{state}");
        between(&l, num(&a, &l), v.as_f64().unwrap(), num(&b, &l), tol);
    }
    for (i, cpu) in p["percpu"].as_array().unwrap().iter().enumerate() {
        for (state, v) in cpu.as_object().unwrap() {
            let l = format!("host.cpu.{i}.{state}");
            between(&l, num(&a, &l), v.as_f64().unwrap(), num(&b, &l), tol);
        }
    }
    between(
        "host.swap.in",
        num(&a, "host.swap.in"),
        f("sin"),
        num(&b, "host.swap.in"),
        0.0,
    );
    between(
        "host.swap.out",
        num(&a, "host.swap.out"),
        f("sout"),
        num(&b, "host.swap.out"),
        0.0,
    );

    let nets = p["net"].as_object().unwrap();
    assert!(nets.contains_key("lo"), "{p}");
    for (dev, c) in nets {
        for (ours, theirs) in [
            ("rx.bytes", "bytes_recv"),
            ("tx.bytes", "bytes_sent"),
            ("rx.packets", "packets_recv"),
            ("tx.packets", "packets_sent"),
            ("rx.errors", "errin"),
            ("tx.errors", "errout"),
            ("rx.drops", "dropin"),
            ("tx.drops", "dropout"),
        ] {
            let l = format!("host.net.{dev}.{ours}");
            between(
                &l,
                num(&a, &l),
                c[theirs].as_f64().unwrap(),
                num(&b, &l),
                0.0,
            );
        }
    }

    let mut disks = 0;
    for (dev, c) in p["disk"].as_object().unwrap() {
        // devices never used are left out on our side
        if opt(&a, &format!("host.disk.{dev}.reads")).is_none() {
            continue;
        }
        disks += 1;
        for (ours, theirs, scale) in [
            ("reads", "read_count", 1.0),
            ("writes", "write_count", 1.0),
            ("read.bytes", "read_bytes", 1.0),
            ("write.bytes", "write_bytes", 1.0),
            ("read.time", "read_time", 1e-3),
            ("write.time", "write_time", 1e-3),
            ("io.time", "busy_time", 1e-3),
        ] {
            let l = format!("host.disk.{dev}.{ours}");
            let theirs = c[theirs].as_f64().unwrap() * scale;
            between(&l, num(&a, &l), theirs, num(&b, &l), 1e-9);
        }
    }
    assert!(
        disks > 0 || p["disk"].as_object().unwrap().is_empty(),
        "{p}"
    );
}

#[test]
fn slurpstats_host_json_has_psutils_totals() {
    let out = Command::new(workspace_bin("slurpstats"))
        .args([
            "--host",
            "--json",
            "--filter",
            "host.mem.",
            "--filter",
            "host.boot_time",
        ])
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = psutil(HOST_SCRIPT, &[]);
    let host = &doc["files"][0];
    assert_eq!(host["path"], "/proc");
    let field = |l: &str| {
        host["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == l)
            .unwrap_or_else(|| panic!("no {l} in {doc}"))["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(field("host.mem.total"), p["mem_total"].as_f64().unwrap());
    assert_eq!(field("host.boot_time"), p["boot_time"].as_f64().unwrap());
}

const PROC_SCRIPT: &str = r#"
import json, sys, psutil
p = psutil.Process(int(sys.argv[1]))
with p.oneshot():
    mi = p.memory_info(); ct = p.cpu_times(); cs = p.num_ctx_switches()
    out = {"rss": mi.rss, "vms": mi.vms, "user": ct.user, "system": ct.system,
           "threads": p.num_threads(), "voluntary": cs.voluntary,
           "involuntary": cs.involuntary, "nice": p.nice(), "create_time": p.create_time(),
           "fds": p.num_fds()}
print(json.dumps(out))
"#;

fn start_busy(dir: &StatsDir) -> WriterChild {
    let d = dir.path().as_os_str();
    WriterChild::start_args(BUSY, &[d, "4".as_ref(), "64".as_ref()])
}

#[test]
fn a_busy_process_agrees_with_psutil() {
    let dir = StatsDir::new();
    let child = start_busy(&dir);
    let pid = child.pid();
    std::thread::sleep(Duration::from_millis(1500));
    let mut src = ProcessSource::new();
    let a = src.sample(pid).unwrap();
    let pid_s = pid.to_string();
    let p = psutil(PROC_SCRIPT, &[&pid_s]);
    let b = src.sample(pid).unwrap();
    let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("psutil {k}: {p}"));

    assert_eq!(a.info.pid, Some(pid));
    // the child touched 64 MiB
    assert!(num(&a, "proc.mem.rss") > 64.0 * 1024.0 * 1024.0);
    for l in ["proc.mem.rss", "proc.mem.vms"] {
        let theirs = f(&l["proc.mem.".len()..]);
        let (x, y) = (num(&a, l), num(&b, l));
        let close = (x - theirs).abs() <= 0.05 * theirs;
        let moved = x.min(y) <= theirs && theirs <= x.max(y);
        assert!(close || moved, "{l}: psutil {theirs}, we {x} and {y}");
    }
    assert_eq!(num(&a, "proc.threads"), f("threads"));
    assert_eq!(f("threads"), 4.0, "the child runs 4 threads");
    let tol = 0.011;
    for (l, k) in [("proc.cpu.user", "user"), ("proc.cpu.system", "system")] {
        between(l, num(&a, l), f(k), num(&b, l), tol);
    }
    assert!(num(&a, "proc.cpu.user") > 0.5, "it has been spinning");
    for (l, k) in [
        ("proc.ctxt.voluntary", "voluntary"),
        ("proc.ctxt.involuntary", "involuntary"),
    ] {
        between(l, num(&a, l), f(k), num(&b, l), 0.0);
    }
    assert_eq!(num(&a, "proc.nice"), f("nice"));
    assert!((num(&a, "proc.start_time") - f("create_time")).abs() < 0.02);
    // the python process itself is no part of the child's fds: equal while nothing opens any
    between(
        "proc.fds",
        num(&a, "proc.fds"),
        f("fds"),
        num(&b, "proc.fds"),
        0.0,
    );
    child.stop();
}

/// The values of the last row of `pollstats --csv` for `fields`.
fn pollstats_last_row(dir: &StatsDir, fields: &str) -> Vec<f64> {
    let out = Command::new(workspace_bin("pollstats"))
        .args(["--csv", "-d", "1", "-c", "3", fields])
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = text.lines().last().unwrap_or_default();
    let cells: Vec<f64> = last
        .split(',')
        .skip(1)
        .map(|c| c.parse().unwrap_or(f64::NAN))
        .collect();
    assert_eq!(cells.len(), fields.split(',').count(), "{text}");
    cells
}

#[test]
fn a_process_burning_one_core_shows_in_pollstats() {
    let cores = std::thread::available_parallelism().unwrap().get() as f64;
    let dir = StatsDir::new();
    // before: the host alone (a stats file of an idle writer keeps pollstats going)
    let idle = WriterChild::start(env!("CARGO_BIN_EXE_writer-child"), dir.path(), 1);
    let before = pollstats_last_row(&dir, "host.cpu.percent")[0];
    idle.stop();

    let busy = start_busy(&dir);
    // Its spinning thread (and its session's scheduling group) get the top priority, so that
    // it has a whole core even while other tests and builds keep this small machine busy
    // (tests run as root, as CI does).
    let renice = Command::new("renice")
        .args(["-n", "-20", "-p", &busy.pid().to_string()])
        .output()
        .expect("run renice (util-linux)");
    assert!(
        renice.status.success(),
        "renice -20 needs root: {}",
        String::from_utf8_lossy(&renice.stderr)
    );
    let autogroup = format!("/proc/{}/autogroup", busy.pid());
    if std::path::Path::new(&autogroup).exists() {
        std::fs::write(&autogroup, "-20").expect("raise the child's autogroup (needs root)");
    }
    std::thread::sleep(Duration::from_millis(500));
    let row = pollstats_last_row(&dir, "proc.cpu.percent,host.cpu.percent,proc.threads");
    let (proc, host) = (row[0], row[1]);
    // one core's worth
    assert!((60.0..=110.0).contains(&proc), "proc.cpu.percent {proc}");
    assert_eq!(row[2], 4.0);
    // the host is at least as busy as the one process in it, and busier than before unless
    // it was nearly saturated already
    assert!(host >= proc - 15.0, "host {host} < process {proc}");
    assert!(
        host >= before + 40.0 || host >= 100.0 * cores - 30.0,
        "host CPU {before}% before, {host}% with a core spinning"
    );
    busy.stop();
}

#[test]
fn slurpstats_proc_describes_the_stats_files_processes() {
    let dir = StatsDir::new();
    let busy = start_busy(&dir);
    let out = Command::new(workspace_bin("slurpstats"))
        .args(["--proc", "--json", "--filter", "proc."])
        .env("MMSTATS_PATH", dir.path())
        .env_remove("MMSTATS_GLOB")
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let procs: Vec<&serde_json::Value> = doc["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == format!("/proc/{}", busy.pid()))
        .collect();
    assert_eq!(procs.len(), 1, "{doc}");
    assert_eq!(procs[0]["pid"], busy.pid());
    let threads = procs[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "proc.threads")
        .unwrap();
    assert_eq!(threads["value"], 4);
    busy.stop();
}
