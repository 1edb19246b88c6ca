//! Helpers shared by the integration tests: the fields of their stats files (written with the
//! kit's file builder), running mmash, and a small HTTP/1.1 client for 127.0.0.1.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mmstats_format::{FieldMeta, Kind, Num, ValueType, text_words};
pub use mmstats_testkit::file::{FileBuilder, WrittenFile, meta};
use mmstats_testkit::mix;

/// A field to put in a test file, with its initial value words (after the sequence word for
/// multi-word kinds; the whole word for single-word kinds).
pub struct Spec {
    pub meta: FieldMeta,
    pub words: Vec<u64>,
}

pub fn counter(label: &str, v: u64) -> Spec {
    Spec {
        meta: meta(
            label,
            Kind::Counter,
            ValueType::U64,
            "requests",
            "requests served",
        ),
        words: vec![v],
    }
}

pub fn gauge_f64(label: &str, unit: &str, v: f64) -> Spec {
    Spec {
        meta: meta(label, Kind::Gauge, ValueType::F64, unit, "a level"),
        words: vec![Num::F(v).to_word(ValueType::F64)],
    }
}

pub fn text(label: &str, kind: Kind, s: &str) -> Spec {
    let (w, _) = text_words(s, 64);
    Spec {
        meta: meta(label, kind, ValueType::Text, "", "some text"),
        words: w,
    }
}

pub fn histogram(label: &str, kind: Kind, unit: &str, values: &[u64]) -> Spec {
    Spec {
        meta: meta(label, kind, ValueType::U64, unit, "a distribution"),
        words: histogram_words(kind, values),
    }
}

/// The value words (after the sequence word) of a histogram or timer that recorded `values`.
pub fn histogram_words(kind: Kind, values: &[u64]) -> Vec<u64> {
    let m = meta("", kind, ValueType::U64, "", "");
    mmstats_testkit::file::histogram_words(&m, values)[1..].to_vec()
}

/// One of every kind.
pub fn every_kind() -> Vec<Spec> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    vec![
        counter("web.requests", 42),
        gauge_f64("web.temperature", "celsius", 21.5),
        Spec {
            meta: meta("web.up", Kind::Gauge, ValueType::Bool, "", "serving"),
            words: vec![1],
        },
        Spec {
            meta: meta(
                "web.workers",
                Kind::Constant,
                ValueType::U32,
                "",
                "worker threads",
            ),
            words: vec![8],
        },
        text("web.state", Kind::Text, "serving \"all\"\nok"),
        text("web.version", Kind::Constant, "1.2.3"),
        Spec {
            meta: meta(
                "web.started",
                Kind::Timestamp,
                ValueType::U64,
                "seconds",
                "start time",
            ),
            words: vec![now],
        },
        Spec {
            meta: meta(
                "web.body",
                Kind::Average,
                ValueType::U64,
                "bytes",
                "body size",
            ),
            words: vec![4, 4096],
        },
        Spec {
            meta: meta(
                "web.queue",
                Kind::MovingAverage,
                ValueType::F64,
                "",
                "queue length",
            ),
            words: vec![
                20,
                10,
                Num::F(35.0).to_word(ValueType::F64),
                Num::F(3.0).to_word(ValueType::F64),
            ],
        },
        histogram(
            "web.response_size",
            Kind::Histogram,
            "bytes",
            &[10, 200, 3000, 40_000],
        ),
        histogram(
            "web.latency",
            Kind::Timer,
            "nanoseconds",
            &[50_000, 1_200_000, 30_000_000],
        ),
        Spec {
            meta: meta("web.events", Kind::Windowed, ValueType::U64, "", "events"),
            words: {
                let mut w = vec![7, 70];
                for j in 0..4u64 {
                    let p = now - 3 + j;
                    w.extend([p, 1, 10]);
                }
                w
            },
        },
    ]
}

/// Writes `specs` as `dir/name` at once (a temporary name, then a rename), for writer `pid`,
/// thread `tid`, created now.
pub fn write_file(dir: &Path, name: &str, pid: u32, tid: u32, specs: &[Spec]) -> WrittenFile {
    specs
        .iter()
        .fold(
            FileBuilder::with_identity(mix::identity(pid, tid)),
            |b, s| {
                // multi-word kinds and text constants start with their sequence word (FORMAT.md §5.2)
                let first = usize::from(
                    s.meta.kind.is_multi_word() || s.meta.value_type == ValueType::Text,
                );
                let words = std::iter::repeat_n(0, first).chain(s.words.iter().copied());
                b.field(s.meta.clone(), words.collect())
            },
        )
        .publish(dir, name)
}

/// A running mmash, killed on drop.
pub struct Mmash {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Mmash {
    pub fn start(args: &[&str]) -> Mmash {
        Self::start_env(args, &[])
    }

    pub fn start_env(args: &[&str], env: &[(&str, &str)]) -> Mmash {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmash"));
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_remove("MMASH_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start mmash");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let first = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|l| l.contains("listening on"))
            .expect("mmash exited before listening");
        let addr = first
            .rsplit("http://")
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("unexpected first line: {first}"));
        // keep draining stderr so mmash never blocks on it; echo it for failing tests
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                eprintln!("[mmash] {l}");
            }
        });
        Mmash { child, addr }
    }

    pub fn get(&self, path: &str) -> Response {
        http(self.addr, "GET", path, &[], None)
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        http(self.addr, "GET", path, headers, None)
    }

    /// GETs `path` until `ok` accepts the response, or panics after `timeout`.
    pub fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        ok: impl Fn(&Response) -> bool,
    ) -> Response {
        let end = Instant::now() + timeout;
        loop {
            let r = self.get(path);
            if ok(&r) {
                return r;
            }
            assert!(
                Instant::now() < end,
                "timed out waiting on {path}: last {} {}",
                r.status,
                r.body
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Mmash {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// Not every test binary that includes this module uses both.
#[allow(unused_imports)]
pub use mmstats_testkit::{
    http::{Response, free_port, http, try_http},
    program::{require, workspace_bin},
};

/// What `promtool check metrics` says of `text`: its exit status and its output.
pub fn promtool(text: &str) -> (Option<i32>, String) {
    mmstats_testkit::program::promtool(&[], text)
}

/// A child process that stays alive (so the files written in its name have a live writer) and
/// is killed on drop.
pub struct Sleeper(Child);

impl Sleeper {
    pub fn start() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("600")
                .stdin(Stdio::null())
                .spawn()
                .expect("start sleep"),
        )
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `<repo root>/artifacts`, created.
pub fn artifacts_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = root.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
