//! The bodies of the fuzz targets in `fuzz/` (a workspace of its own, built with cargo-fuzz),
//! kept here so that the normal test run replays the fuzz corpus and every crash the campaign
//! found through exactly the same code (`tests/replay.rs`). Each function takes arbitrary bytes,
//! must return without panicking, and panics itself when an invariant fails: what a reader
//! decodes, allocates and prints stays in proportion to the input.
//!
//! ```
//! mmstats_fuzzing::decode_v2(b"\x02MMSTATS not really");
//! mmstats_fuzzing::decode_v1(b"\x01\x03\x00abc");
//! mmstats_fuzzing::render_all(&[]);
//! mmstats_fuzzing::mmash_request(b"*.mmstats\nlocalhost:5002");
//! mmstats_fuzzing::decode_hsperf(b"\xca\xfe\xc0\xc0\x00");
//! mmstats_fuzzing::labels(b"http.requests{code=\"200\"}");
//! ```

use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use mmstats_format::{ByteOrder, Value, slot_words};
use mmstats_reader::{Snapshot, StatsFile};
use mmstats_render::{csv, json, prometheus, text};

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The fuzz targets, by the name of their directory under `fuzz/corpus/`.
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_v2", decode_v2),
    ("decode_v1", decode_v1),
    ("render", render_all),
    ("mmash_request", mmash_request),
    ("decode_hsperf", decode_hsperf),
    ("labels", labels),
];

/// Most bytes any renderer may print per byte of input, plus [`OUTPUT_SLACK`]: the budget of
/// FORMAT.md §2.4 seen from the outside.
pub const OUTPUT_PER_BYTE: usize = 64;
/// Output any file may give regardless of its size (headers, one line per reserved field).
pub const OUTPUT_SLACK: usize = 1 << 20;

/// Label sets (FORMAT.md §3.5) from arbitrary bytes: decoded as a record's encoded set, and as
/// text a series key or a selector list; whatever decodes must pass the rules, encode back to
/// the same bytes and render to a key that parses back to the same set.
pub fn labels(data: &[u8]) {
    use mmstats_format::labels;
    if let Ok(pairs) = labels::decode(data) {
        assert!(
            labels::check(&pairs).is_ok(),
            "a decoded set breaks the rules"
        );
        assert_eq!(labels::encode(&pairs), data, "decode and encode disagree");
        let key = labels::series_key("x", &pairs);
        let (name, back) = labels::parse_series(&key).expect("a rendered key parses");
        assert_eq!((name, &back), ("x", &pairs), "{key}");
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for part in labels::split_list(text) {
        if let Some(sel) = labels::parse_series(part) {
            let _ = labels::selects(&sel, sel.0, &sel.1);
            assert!(labels::render_pairs(&sel.1).len() <= 8 * part.len() + 8);
        }
    }
}

/// Decodes bytes as a HotSpot perfdata file with the pure decoder (format-spec/HSPERFDATA.md),
/// then every entry's value, metadata and the JVM's command: what is decoded never exceeds the
/// input (text can grow 3× as U+FFFD).
pub fn decode_hsperf(data: &[u8]) {
    let Ok(perf) = mmstats_format::hsperf::decode(data, data.len() as u64) else {
        return;
    };
    let frequency = perf.frequency(data);
    let mut decoded = perf.command(data).map_or(0, |c| c.len());
    for e in &perf.entries {
        let meta = e.meta(frequency);
        decoded +=
            meta.label.len() + meta.unit.len() + value_size(&e.value(data, perf.order, frequency));
    }
    assert!(
        decoded <= 3 * data.len() + 64 * perf.entries.len(),
        "decoded {decoded} bytes from {} bytes",
        data.len()
    );
}

/// Decodes bytes as a version-2 file with the pure decoders (FORMAT.md §2.4, §3.4), then every
/// field's value from its slot words.
pub fn decode_v2(data: &[u8]) {
    let Ok((header, fields)) = mmstats_format::decode_file(data) else {
        return;
    };
    let order: ByteOrder = header.byte_order;
    let mut decoded = 0usize;
    for f in &fields {
        let start = f.value_offset as usize;
        let words: Vec<u64> = (0..slot_words(f.value_length))
            .map(|i| start + 8 * i)
            .filter_map(|at| data.get(at..at + 8))
            .map(|b| order.word(u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))))
            .collect();
        if let Ok(v) = Value::decode(&f.meta, &words, order) {
            decoded += value_size(&v);
        }
        decoded += f.meta.label.len() + f.meta.help.len() + f.meta.unit.len();
    }
    assert!(
        decoded <= data.len(),
        "decoded {decoded} bytes from a {} byte file",
        data.len()
    );
}

/// Decodes bytes as a version-1 file (FORMAT.md §11).
pub fn decode_v1(data: &[u8]) {
    if let Ok(fields) = mmstats_format::v1::decode(data) {
        let decoded: usize = fields
            .iter()
            .map(|f| f.meta.label.len() + value_size(&f.value))
            .sum();
        // Text that is not UTF-8 is shown with U+FFFD for each bad byte (as the original's
        // tools do): three bytes for one, the most a version-1 file can grow when decoded.
        assert!(decoded <= data.len() * 3, "{decoded} from {}", data.len());
    }
}

/// Bytes a decoded value holds.
fn value_size(v: &Value) -> usize {
    match v {
        Value::Text(t) => t.len(),
        Value::Histogram(h) => 8 * h.bucket_end(),
        Value::Windowed(w) => 24 * w.slots.len(),
        _ => 8,
    }
}

/// A private file for one input of the render target, removed when dropped (a directory kept
/// in a static would never be removed: statics are not dropped).
fn scratch() -> Option<tempfile::NamedTempFile> {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("mmstats-fuzz-")
        .suffix(".mmstats")
        .tempfile_in(dir)
        .ok()
}

/// Reads bytes as a stats file through the real reader (mapping, sequence counters,
/// validation), then renders the snapshot with every renderer: text, JSON, CSV, Prometheus and
/// OpenMetrics, and mmash's JSON views. Checks that the output stays within the budget and that
/// the text output has no control characters but newlines.
pub fn render_all(data: &[u8]) {
    let Some(file) = scratch() else { return };
    let path = file.path();
    if std::fs::write(path, data).is_err() {
        return;
    }
    let snap = match StatsFile::open(path).and_then(|mut f| f.snapshot()) {
        Ok(s) => s,
        Err(e) => {
            // Errors render too (slurpstats prints them).
            let _ = json::error(&e).to_string();
            let _ = text::escape(&e.to_string());
            return;
        }
    };
    render_snapshot(&snap, data.len());
}

/// Renders one snapshot every way; panics if the output is out of proportion to `input_len`.
pub fn render_snapshot(snap: &Snapshot, input_len: usize) {
    let budget = input_len * OUTPUT_PER_BYTE + OUTPUT_SLACK;
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let mut out = Vec::new();
    text::render(&mut out, snap, now, &[]).expect("text to memory");
    let shown = String::from_utf8_lossy(&out);
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached the terminal output"
    );
    let mut total = out.len();
    out.clear();
    csv::render(&mut out, snap, now, &[]).expect("csv to memory");
    total += out.len();
    let mut doc = json::document(std::slice::from_ref(snap), &[], now).to_string();
    total += doc.len();
    doc.clear();
    for openmetrics in [false, true] {
        for aggregate in [false, true] {
            let opts = prometheus::PromOptions {
                openmetrics,
                aggregate,
                per_thread: false,
                prefix: String::new(),
            };
            let mut s = String::new();
            prometheus::render(std::slice::from_ref(snap), &opts, &mut s);
            total += s.len();
        }
    }
    // The interval engine over the same file twice, and what mmash serves from it.
    let mut engine = mmstats_reader::Intervals::new().assume_alive();
    engine.update([snap]);
    let sample = engine.update([snap]);
    for per_thread in [false, true] {
        let opts = prometheus::PromOptions {
            per_thread,
            ..prometheus::PromOptions::default()
        };
        let mut s = String::new();
        prometheus::render_sample(&sample, &opts, &mut s);
        total += s.len();
    }
    let snaps = [snap];
    let stats = serde_json::to_vec(&mmash::api::api_stats(&snaps, &sample)).unwrap_or_default();
    total += stats.len();
    total += mmash::api::labels(&snaps)
        .iter()
        .map(String::len)
        .sum::<usize>();
    let mut sink = std::io::sink();
    let _ = sink.write_all(&stats);
    assert!(
        total <= 8 * budget,
        "{total} bytes of output from a {input_len} byte file"
    );
}

/// Feeds bytes to mmash's parsing of request input: glob and name checks, the `Host` check,
/// the session cookie, the bearer header and `?aggr=`. Each line of the input is
/// one value.
pub fn mmash_request(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    // a directory that does not exist, inside one that is ours
    let Ok(ours) = tempfile::tempdir() else {
        return;
    };
    let roots = mmash::paths::Roots::new_lenient(vec![ours.path().join("none")], "*.mmstats")
        .expect("a fixed glob");
    for line in s.lines().take(64) {
        if mmash::paths::check_relative(line).is_ok() {
            // Resolving a checked pattern must never leave the directories.
            let found = roots.resolve(line).unwrap_or_default();
            assert!(found.is_empty(), "{line:?} matched in an empty directory");
        }
        let _ = mmash::routes::host_allowed(Some(line), &["stats.example".to_string()]);
        let _ = mmash::auth::session_id(Some(line));
        let _ = mmash::auth::bearer_ok(Some(line), "s3cret");
        let _ = mmash::api::Aggr::parse(line);
    }
}
