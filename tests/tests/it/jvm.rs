//! A real JVM's performance data file read by the reader and the tools, checked against the
//! JDK's own readers (`jcmd PerfCounter.print`, `jstat`); and hostile hsperfdata files through
//! every tool. `scripts/test` installs the JDK.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmstats_format::ByteOrder;
use mmstats_format::hsperf::{Builder, Units, Variability, entry, prologue};
use mmstats_reader::{FormatVersion, Kind, Liveness, Num, StatsFile, Value, liveness};
use mmstats_tests::{StatsDir, http_get, workspace_bin};
use serde_json::Value as Json;

/// A program that allocates, then sleeps, printing `ready` in between.
const PROGRAM: &str = r#"
public class JvmLoad {
    public static void main(String[] args) throws Exception {
        java.util.List<byte[]> keep = new java.util.ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            keep.add(new byte[64 * 1024]);
            if (keep.size() > 200) keep.subList(0, 100).clear();
        }
        System.gc();
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(600_000);
    }
}
"#;

/// A running JVM; killed when dropped.
struct Jvm {
    child: Child,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Jvm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, the JVM could not remove its own file.
        let _ = std::fs::remove_file(&self.file);
    }
}

impl Jvm {
    fn start() -> Jvm {
        let dir = mmstats_testkit::jvm::compile("JvmLoad", PROGRAM);
        let mut child = Command::new(mmstats_testkit::jvm::java())
            .args(["-XX:+UsePerfData", "-Xmx256m", "-XX:+UseG1GC", "-cp", "."])
            .arg("JvmLoad")
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("java");
        let pid = child.id();
        // Its file appears at start-up; wait for it and for the program's "ready".
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        let deadline = Instant::now() + Duration::from_secs(30);
        let file = loop {
            let found = mmstats_testkit::jvm::hsperf_file(pid);
            if let Some(f) = found
                && StatsFile::open(&f).is_ok()
            {
                break f;
            }
            assert!(Instant::now() < deadline, "no hsperfdata file for {pid}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Jvm {
            child,
            file,
            _dir: dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// What `jcmd <pid> PerfCounter.print` prints: name → number or string.
#[derive(Debug, Clone, PartialEq)]
enum Printed {
    Long(i64),
    Text(String),
}

fn jcmd_counters(pid: u32) -> HashMap<String, Printed> {
    let out = Command::new("jcmd")
        .args([&pid.to_string(), "PerfCounter.print"])
        .output()
        .expect("jcmd");
    mmstats_tests::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut map = HashMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        let v = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(s) => Printed::Text(s.to_string()),
            None => Printed::Long(value.parse().unwrap_or_else(|_| panic!("{line}"))),
        };
        map.insert(name.to_string(), v);
    }
    assert!(map.len() > 100, "jcmd printed only {} counters", map.len());
    map
}

/// One reading: label → (kind, unit, value), from the reader or from slurpstats' JSON.
type Reading = HashMap<String, (Kind, String, Value)>;

fn read_with_reader(path: &Path) -> Reading {
    let snap = StatsFile::open(path).unwrap().snapshot().unwrap();
    snap.fields
        .iter()
        .map(|f| {
            let v = f
                .value
                .clone()
                .unwrap_or_else(|e| panic!("{}: {e}", f.meta.label));
            (f.meta.label.clone(), (f.meta.kind, f.meta.unit.clone(), v))
        })
        .collect()
}

fn read_with_slurpstats(path: &Path) -> Reading {
    let out = Command::new(workspace_bin("slurpstats"))
        .arg("--json")
        .arg(path)
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    let doc: Json = serde_json::from_slice(&out.stdout).unwrap();
    let file = &doc["files"][0];
    assert_eq!(file["format_version"], "hsperfdata");
    file["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let kind = Kind::from_name(f["kind"].as_str().unwrap()).unwrap();
            let v = match &f["value"] {
                Json::String(s) => Value::Text(s.as_str().into()),
                Json::Number(n) if n.is_i64() => Value::Number(Num::I(n.as_i64().unwrap())),
                Json::Number(n) => Value::Number(Num::F(n.as_f64().unwrap())),
                other => panic!("{other}"),
            };
            let unit = f["unit"].as_str().unwrap().to_string();
            (f["label"].as_str().unwrap().to_string(), (kind, unit, v))
        })
        .collect()
}

/// The number a reading shows for a counter jcmd printed as `raw` (ticks become seconds with
/// the same division).
fn expected(raw: i64, unit: &str, frequency: i64) -> f64 {
    if unit == "seconds" {
        raw as f64 / frequency as f64
    } else {
        raw as f64
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64(),
        other => panic!("not a number: {other:?}"),
    }
}

/// Checks every counter jcmd printed against two readings taken before and after it.
fn check_against_jcmd(jcmd: &HashMap<String, Printed>, before: &Reading, after: &Reading) {
    let frequency = match jcmd.get("sun.os.hrt.frequency") {
        Some(Printed::Long(f)) => *f,
        other => panic!("frequency {other:?}"),
    };
    for (name, printed) in jcmd {
        // Counters created by the attach itself exist only in the second reading.
        let (kind, unit, late) = after
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing from the reading"));
        let early = before.get(name).map(|(_, _, v)| v).unwrap_or(late);
        match printed {
            Printed::Text(t) => {
                let (a, b) = (Value::Text(t.as_str().into()), early);
                if *kind == Kind::Constant {
                    assert_eq!(late, &a, "{name}");
                    assert_eq!(b, &a, "{name}");
                } else {
                    assert!(
                        late == &a || b == &a,
                        "{name}: {t:?} is neither {b:?} nor {late:?}"
                    );
                }
            }
            Printed::Long(raw) => {
                let want = expected(*raw, unit, frequency);
                let (lo, hi) = (num(early), num(late));
                match kind {
                    Kind::Constant => {
                        assert_eq!(lo, want, "{name}");
                        assert_eq!(hi, want, "{name}");
                    }
                    Kind::Counter => assert!(
                        lo <= want && want <= hi,
                        "{name}: jcmd {want} is not between {lo} and {hi}"
                    ),
                    // A level may move either way between the reads, but a quiet JVM's levels
                    // are those of one of the two moments.
                    Kind::Gauge => assert!(
                        lo.min(hi) <= want && want <= lo.max(hi),
                        "{name}: jcmd {want} is not between {lo} and {hi}"
                    ),
                    other => panic!("{name}: unexpected kind {other}"),
                }
            }
        }
    }
}

#[test]
fn every_counter_jcmd_prints_reads_the_same_in_the_reader_and_slurpstats() {
    let mut jvm = Jvm::start();
    let path = &jvm.file.clone();

    let file = StatsFile::open(path).unwrap();
    let info = file.info();
    assert_eq!(info.version, FormatVersion::Hsperf);
    assert_eq!(info.pid, Some(jvm.pid()));
    assert_eq!(info.command.as_deref(), Some("JvmLoad"));
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", jvm.pid())).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 1..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(info.start_time, Some(start), "groups with its process");
    assert!(info.boot_id.is_some());
    assert_eq!(liveness(&file), Liveness::Alive);
    assert_eq!(
        mmstats_reader::command_name(&file_snapshot(path)),
        "JvmLoad"
    );

    let (r1, s1) = (read_with_reader(path), read_with_slurpstats(path));
    let jcmd = jcmd_counters(jvm.pid());
    let (r2, s2) = (read_with_reader(path), read_with_slurpstats(path));
    check_against_jcmd(&jcmd, &r1, &r2);
    check_against_jcmd(&jcmd, &s1, &s2);
    assert_eq!(r2["sun.gc.collector.0.time"].1, "seconds");
    assert_eq!(r2["sun.gc.collector.0.invocations"].0, Kind::Counter);
    assert_eq!(r2["sun.gc.generation.0.space.0.used"].1, "bytes");

    // Prometheus names with the unit and _total.
    let out = Command::new(workspace_bin("slurpstats"))
        .arg("--prometheus")
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("# TYPE sun_gc_collector_0_time_seconds_total counter\n"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "sun_gc_collector_0_invocations_total{{pid=\"{}\",tid=\"\",cmd=\"JvmLoad\"}}",
        jvm.pid()
    )));

    // pollstats shows monotonic counters as rates: the JVM's clock ticks (sampled every 50 ms,
    // -XX:PerfDataSamplingInterval) advance one second per second, within 0.05 s per row of
    // 1 s each side; a quiet JVM collects nothing.
    let out = Command::new(workspace_bin("pollstats"))
        .args(["--csv", "-c", "2", "-d", "1"])
        .arg("sun.os.hrt.ticks,sun.gc.collector.1.invocations")
        .arg(path)
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    let csv = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{csv}");
    for r in &rows {
        assert!((0.85..=1.15).contains(&r[1]), "ticks rate {}: {csv}", r[1]);
        assert_eq!(r[2], 0.0, "{csv}");
    }

    // A JVM killed without cleaning up leaves its file, whose writer is then dead.
    jvm.child.kill().unwrap();
    jvm.child.wait().unwrap();
    if path.exists() {
        let file = StatsFile::open(path).unwrap();
        assert!(matches!(liveness(&file), Liveness::Dead(_)));
        let _ = std::fs::remove_file(path);
    }
}

fn file_snapshot(path: &Path) -> mmstats_reader::Snapshot {
    StatsFile::open(path).unwrap().snapshot().unwrap()
}

/// `jstat`-style rows: header names → cells.
fn parse_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap_or_else(|| panic!("no header in {text:?}"))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split_whitespace().map(str::to_string))
                .collect()
        })
        .collect()
}

fn pollstats_row(view: &str, path: &Path) -> HashMap<String, String> {
    let out = Command::new(workspace_bin("pollstats"))
        .args([view, "-c", "1"])
        .arg(path)
        .output()
        .unwrap();
    mmstats_tests::assert_success(&out);
    parse_rows(&String::from_utf8(out.stdout).unwrap()).remove(0)
}

fn jstat_row(view: &str, pid: u32) -> HashMap<String, String> {
    let out = Command::new("jstat")
        .args([view, &pid.to_string()])
        .output()
        .expect("jstat");
    mmstats_tests::assert_success(&out);
    parse_rows(&String::from_utf8(out.stdout).unwrap()).remove(0)
}

#[test]
fn pollstats_gc_and_gcutil_agree_with_jstat() {
    let jvm = Jvm::start();
    for view in ["-gc", "-gcutil"] {
        let ours = format!("-{view}");
        let before = pollstats_row(&ours, &jvm.file);
        let theirs = jstat_row(view, jvm.pid());
        let after = pollstats_row(&ours, &jvm.file);
        let mut names: Vec<&String> = theirs.keys().collect();
        names.sort();
        let our_names: Vec<&String> = {
            let mut n: Vec<&String> = before.keys().collect();
            n.sort();
            n
        };
        assert_eq!(names, our_names, "{view}: columns");
        for name in names {
            let (b, j, a) = (&before[name], &theirs[name], &after[name]);
            if name == "EU" || name == "E" {
                // Eden use moves while the JVM runs (the attach listener jstat starts allocates,
                // and G1 counts eden in whole regions of 1 MiB for this heap), so it may differ
                // from both of our rows by up to one region: 1024 KB, or the share of eden one
                // region is for -gcutil's percentage.
                let f = |s: &str| s.parse::<f64>().unwrap();
                let (lo, hi) = (f(b).min(f(a)), f(b).max(f(a)));
                let slack = if name == "EU" {
                    1024.0
                } else {
                    let ec: f64 = pollstats_row("--gc", &jvm.file)["EC"].parse().unwrap();
                    100.0 * 1024.0 / ec.max(1024.0)
                };
                let v = f(j);
                assert!(
                    lo - slack <= v && v <= hi + slack,
                    "{view} {name}: jstat {v}, ours {b} and {a}"
                );
            } else {
                // Everything else is constant or changes only at a collection, and a quiet JVM
                // does not collect between the three reads: exactly as jstat prints it.
                assert!(
                    j == b || j == a,
                    "{view} {name}: jstat {j}, ours {b} and {a}"
                );
            }
        }
    }
}

/// A small valid JVM file and the offsets of its second (a long) and third (a string) entry.
fn jvm_image() -> (Vec<u8>, usize, usize) {
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
        3,
    )
    .string("sun.rt.javaCommand", Variability::Constant, "Main", 16);
    let (long, text) = (b.entry_offset(1).unwrap(), b.entry_offset(2).unwrap());
    (b.finish(4096), long, text)
}

fn put32(img: &mut [u8], off: usize, v: u32) {
    img[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

/// Hostile variants of a JVM file: (name, bytes).
fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let (img, e, t) = jvm_image();
    let used = u32::from_ne_bytes(img[8..12].try_into().unwrap()) as usize;
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = img.clone();
        f(&mut b);
        b
    };
    vec![
        ("empty", Vec::new()),
        ("truncated_prologue", img[..20].to_vec()),
        ("truncated_entries", img[..used - 8].to_vec()),
        ("flipped_magic", with(&|b| b[2] ^= 0xff)),
        ("flipped_byte_order", with(&|b| b[prologue::BYTE_ORDER] = 9)),
        ("flipped_version", with(&|b| b[prologue::MAJOR_VERSION] = 7)),
        ("not_accessible", with(&|b| b[prologue::ACCESSIBLE] = 0)),
        ("overflow", with(&|b| put32(b, prologue::OVERFLOW, 4096))),
        ("huge_used", with(&|b| put32(b, prologue::USED, u32::MAX))),
        (
            "huge_count",
            with(&|b| put32(b, prologue::NUM_ENTRIES, u32::MAX)),
        ),
        (
            "huge_entry_length",
            with(&|b| put32(b, e + entry::ENTRY_LENGTH, u32::MAX)),
        ),
        (
            "huge_name_offset",
            with(&|b| put32(b, e + entry::NAME_OFFSET, u32::MAX)),
        ),
        (
            "huge_data_offset",
            with(&|b| put32(b, e + entry::DATA_OFFSET, u32::MAX)),
        ),
        (
            "huge_vector",
            with(&|b| put32(b, t + entry::VECTOR_LENGTH, u32::MAX)),
        ),
        (
            "name_not_terminated",
            with(&|b| b[e + 20..e + 56].fill(b'x')),
        ),
        ("flipped_type", with(&|b| b[e + entry::DATA_TYPE] = b'?')),
    ]
}

#[test]
fn hostile_jvm_files_give_clear_errors_in_every_tool() {
    let dir = StatsDir::new();
    let jvms = dir.path().join("hsperfdata_hostile");
    std::fs::create_dir(&jvms).unwrap();
    let cases = hostile();
    let mut paths = Vec::new();
    for (i, (name, bytes)) in cases.iter().enumerate() {
        // JVM files are named by pid; the case name goes into a map for messages.
        let p = jvms.join(format!("{}", 900_000 + i));
        std::fs::write(&p, bytes).unwrap();
        paths.push((name, p));
    }
    // The reader: an error naming the file for each (a truncated table may still read).
    for (name, p) in &paths {
        match StatsFile::open(p).and_then(|mut f| f.snapshot()) {
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.starts_with(&p.display().to_string()), "{name}: {msg}");
            }
            Ok(_) => panic!("{name}: read as valid"),
        }
    }
    let run = |tool: &str, args: &[&str]| {
        let out = Command::new(workspace_bin(tool))
            .args(args)
            .env("MMSTATS_PATH", dir.path())
            .env("TMPDIR", dir.path())
            .env_remove("MMSTATS_GLOB")
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some(),
            "{tool} died by a signal: {out:?}"
        );
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let every_file_named = |tool: &str, err: &str| {
        for (name, p) in &paths {
            assert!(
                err.contains(&p.display().to_string()),
                "{tool}: {name} not reported:\n{err}"
            );
        }
    };
    let (code, _, err) = run("slurpstats", &["--jvm"]);
    assert_eq!(code, 1);
    every_file_named("slurpstats", &err);
    for format in ["--json", "--csv", "--prometheus", "--openmetrics"] {
        let (code, _, err) = run("slurpstats", &[format, jvms.to_str().unwrap()]);
        assert_eq!(code, 1, "{format}");
        every_file_named("slurpstats", &err);
    }
    let (code, _, err) = run("pollstats", &["--jvm", "-c", "1", "-d", "0.1", "x"]);
    assert_eq!(code, 1, "no file has the field");
    every_file_named("pollstats", &err);
    let (code, _, err) = run("pollstats", &["--jvm", "--gc", "-c", "1"]);
    assert_eq!(code, 1, "no JVM to show");
    every_file_named("pollstats --gc", &err);
    let (code, out, _) = run("cleanstats", &[jvms.join("*").to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    for (_, p) in &paths {
        assert!(p.exists(), "cleanstats removed {}", p.display());
    }
}

/// A GET of `path` from a server on 127.0.0.1:`port`; the whole response.
#[test]
fn mmash_serves_jvm_files_with_jvm() {
    let dir = StatsDir::new();
    let jvms = dir.path().join("hsperfdata_someone");
    std::fs::create_dir(&jvms).unwrap();
    let (img, _, _) = jvm_image();
    // Named after this test's own pid, so it counts as a live JVM's.
    let good = jvms.join(std::process::id().to_string());
    std::fs::write(&good, &img).unwrap();
    let mut broken = Vec::new();
    for (i, (_, bytes)) in hostile().into_iter().enumerate() {
        let p = jvms.join(format!("{}", 900_000 + i));
        std::fs::write(&p, bytes).unwrap();
        broken.push(p);
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut mmash = Command::new(workspace_bin("mmash"))
        .args(["--jvm", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--path")
        .arg(dir.path())
        .env("TMPDIR", dir.path())
        .env_remove("MMASH_TOKEN")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let metrics = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let m = http_get(port, "/metrics");
            if m.contains("sun_gc_collector_0_invocations_total") {
                break m;
            }
        }
        assert!(Instant::now() < deadline, "mmash served no JVM counters");
        std::thread::sleep(Duration::from_millis(200));
    };
    let files = http_get(port, "/files");
    let api = http_get(port, "/api/files");
    let history = http_get(port, "/api/history/sun.gc.collector.0.invocations");
    let page = http_get(port, "/");
    let healthy = http_get(port, "/healthz");
    let _ = mmash.kill();
    let _ = mmash.wait();
    assert!(
        metrics.contains(&format!(
            "sun_gc_collector_0_invocations_total{{pid=\"{}\",cmd=\"Main\"}} 3",
            std::process::id()
        )),
        "{metrics}"
    );
    assert!(files.contains(&good.display().to_string()), "{files}");
    // Each hostile file is one error naming it; the server keeps serving.
    for p in &broken {
        assert!(
            api.contains(&p.display().to_string()),
            "{} not reported:\n{api}",
            p.display()
        );
    }
    assert!(history.starts_with("HTTP/1.1 200"), "{history}");
    assert!(history.contains('3'), "{history}");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(healthy.ends_with("ok\n"), "{healthy}");
}
