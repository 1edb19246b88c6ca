//! Answers streamed in bounded chunks: a scrape or a `/api/stats` document as large as what
//! is watched, never built whole in memory and never refused for its size.
//!
//! Each chunk is written off the async workers as one job (`jobs::blocking`), from a
//! snapshot of the sample (an `Arc`: the sampler never waits for a reader), and sent before the
//! next is written, so a body holds one chunk at a time. Against clients that read slowly or
//! not at all:
//!
//! - the first chunk is written before the answer's head, within the request timeout;
//! - a write to a client that takes nothing for [`crate::server::SEND_TIMEOUT`] closes the
//!   connection (and drops the body with its snapshot);
//! - a body still unfinished after [`STREAM_TIMEOUT`] is cut off (the client sees a truncated
//!   chunked body, not a complete one);
//! - at most [`MAX_STREAMS`] bodies are under way at once (each keeps its snapshot alive); more
//!   wait for one to end, within the request timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mmstats_render::prometheus::{PromOptions, SampleExposition, Selection};
use tokio::sync::Semaphore;

use crate::jobs::blocking;
use crate::response::error;
use crate::state::{Sample, State};

/// Size a chunk reaches before it is sent (one sample's lines, such as a histogram's buckets,
/// are never split, so a chunk can pass it by that much).
pub const CHUNK: usize = 256 << 10;
/// Most streamed bodies under way at once.
pub const MAX_STREAMS: usize = 8;
/// Longest a streamed body may take from its first chunk to its last.
pub const STREAM_TIMEOUT: Duration = Duration::from_secs(120);

/// Permits for streamed bodies.
static STREAMS: Semaphore = Semaphore::const_new(MAX_STREAMS);

/// The chunks of a scrape: the Prometheus (or OpenMetrics) exposition of a sample, as
/// [`SampleExposition`] writes it, about [`CHUNK`] bytes each.
#[derive(Debug)]
pub struct ScrapeChunks {
    sample: Arc<Sample>,
    exposition: SampleExposition,
}

impl ScrapeChunks {
    /// The scrape of `sample`'s interval values (what `selection` keeps of them) with `opts`.
    pub fn new(sample: Arc<Sample>, opts: &PromOptions, selection: &Selection) -> ScrapeChunks {
        let exposition = SampleExposition::new(&sample.intervals, opts, selection);
        ScrapeChunks { sample, exposition }
    }
}

impl Iterator for ScrapeChunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        while !self.exposition.is_done() {
            let mut out = String::with_capacity(CHUNK + (CHUNK >> 3));
            self.exposition
                .write(&self.sample.intervals, &mut out, CHUNK);
            if !out.is_empty() {
                return Some(out.into_bytes());
            }
        }
        None
    }
}

/// An answer of `content_type` whose body is every chunk `make`'s iterator yields, streamed
/// as the module describes. `make` and each chunk run as blocking jobs; the first chunk is
/// written before this returns. 503 if no stream permit or job came free in time (the
/// request's timeout ends the wait).
pub(crate) async fn streamed<I>(
    state: &Arc<State>,
    content_type: &'static str,
    make: impl FnOnce() -> I + Send + 'static,
) -> Response
where
    I: Iterator<Item = Vec<u8>> + Send + 'static,
{
    let Ok(permit) = STREAMS.acquire().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let first = blocking(state, move |_| {
        let mut chunks = make();
        let first = chunks.next();
        (chunks, first)
    })
    .await;
    let (chunks, first) = match first {
        Ok(v) => v,
        Err(r) => return r,
    };
    let started = Instant::now();
    /// What the body keeps between chunks.
    struct Going<I> {
        chunks: I,
        first: Option<Vec<u8>>,
        state: Arc<State>,
        _permit: tokio::sync::SemaphorePermit<'static>,
    }
    let going = first.map(|first| Going {
        chunks,
        first: Some(first),
        state: Arc::clone(state),
        _permit: permit,
    });
    let body = futures_util::stream::unfold(going, move |going| async move {
        let mut going = going?;
        if let Some(first) = going.first.take() {
            return Some((Ok(Bytes::from(first)), Some(going)));
        }
        if started.elapsed() > STREAM_TIMEOUT {
            let cut = std::io::Error::new(std::io::ErrorKind::TimedOut, "stream took too long");
            return Some((Err(cut), None));
        }
        let Going {
            chunks,
            state,
            _permit,
            ..
        } = going;
        let next = blocking(&state, move |_| {
            let mut chunks = chunks;
            let next = chunks.next();
            (chunks, next)
        })
        .await;
        match next {
            Ok((chunks, Some(chunk))) => Some((
                Ok(Bytes::from(chunk)),
                Some(Going {
                    chunks,
                    first: None,
                    state,
                    _permit,
                }),
            )),
            Ok((_, None)) => None,
            Err(_) => Some((
                Err(std::io::Error::other("no job for the next chunk")),
                None,
            )),
        }
    });
    (
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response()
}

/// The chunks of `/api/stats`: the document [`crate::api::api_stats_apart`] describes, byte
/// for byte as serde_json writes it, process by process and file by file, about [`CHUNK`]
/// bytes each.
#[derive(Debug)]
pub struct StatsChunks {
    sample: Arc<Sample>,
    /// Indexes of the stats files' snapshots listed.
    files: Vec<usize>,
    /// Each listed file's part in the interval engine's sample (process, file).
    shares: Vec<Option<(usize, usize)>>,
    /// Indexes of the processes listed.
    processes: Vec<usize>,
    /// The host's process, if its resources are listed.
    host: Option<usize>,
    select: Vec<String>,
    at: StatsAt,
}

/// Where a [`StatsChunks`] is.
#[derive(Debug, Clone, Copy)]
enum StatsAt {
    Start,
    Process(usize),
    File(usize),
    End,
    Done,
}

impl StatsChunks {
    /// `/api/stats` of `sample`'s snapshots (those of `only` when given, indexes into them),
    /// with the series and fields `select` chooses (empty: every one).
    pub fn new(sample: Arc<Sample>, only: Option<Vec<usize>>, select: Vec<String>) -> StatsChunks {
        use mmstats_reader::resource::{ResourceKind, is_host, resource_kind};
        let chosen: Vec<usize> = only.unwrap_or_else(|| (0..sample.snapshots.len()).collect());
        let files: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|i| resource_kind(&sample.snapshots[*i]).is_none())
            .collect();
        let has_host = chosen
            .iter()
            .any(|i| resource_kind(&sample.snapshots[*i]) == Some(ResourceKind::Host));
        let processes = &sample.intervals.processes;
        let (shares, listed) = {
            let wanted: std::collections::HashSet<&std::path::Path> = files
                .iter()
                .map(|i| sample.snapshots[*i].path.as_path())
                .collect();
            let at: std::collections::HashMap<&std::path::Path, (usize, usize)> = processes
                .iter()
                .enumerate()
                .flat_map(|(pi, p)| {
                    p.files
                        .iter()
                        .enumerate()
                        .map(move |(fi, f)| (f.path.as_path(), (pi, fi)))
                })
                .collect();
            let shares = files
                .iter()
                .map(|i| at.get(sample.snapshots[*i].path.as_path()).copied())
                .collect();
            let listed = processes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.files.iter().any(|f| wanted.contains(f.path.as_path())))
                .map(|(i, _)| i)
                .collect();
            (shares, listed)
        };
        let host = processes.iter().position(is_host).filter(|_| has_host);
        StatsChunks {
            files,
            shares,
            processes: listed,
            host,
            select,
            at: StatsAt::Start,
            sample,
        }
    }

    /// Appends the next piece (a process, a file, or the document's frame) to `out`.
    fn step(&mut self, out: &mut Vec<u8>) {
        let intervals = &self.sample.intervals;
        self.at = match self.at {
            StatsAt::Start => {
                out.extend_from_slice(b"{\"processes\":[");
                StatsAt::Process(0)
            }
            StatsAt::Process(i) if i < self.processes.len() => {
                if i > 0 {
                    out.push(b',');
                }
                let p = &intervals.processes[self.processes[i]];
                push_json(out, &crate::api::process_out(p, &self.select));
                StatsAt::Process(i + 1)
            }
            StatsAt::Process(_) => {
                out.extend_from_slice(b"],\"files\":[");
                StatsAt::File(0)
            }
            StatsAt::File(i) if i < self.files.len() => {
                if i > 0 {
                    out.push(b',');
                }
                let snap = &self.sample.snapshots[self.files[i]];
                let share = self.shares[i].map(|(p, f)| &intervals.processes[p].files[f]);
                push_json(out, &crate::api::file_out(snap, share, &self.select));
                StatsAt::File(i + 1)
            }
            StatsAt::File(_) => {
                out.push(b']');
                if let Some(h) = self.host {
                    out.extend_from_slice(b",\"host\":");
                    push_json(
                        out,
                        &crate::api::host_out(&intervals.processes[h], &self.select),
                    );
                }
                StatsAt::End
            }
            StatsAt::End => {
                out.extend_from_slice(b",\"errors\":");
                push_json(out, &self.sample.errors);
                out.push(b'}');
                StatsAt::Done
            }
            StatsAt::Done => StatsAt::Done,
        };
    }
}

impl Iterator for StatsChunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if matches!(self.at, StatsAt::Done) {
            return None;
        }
        let mut out = Vec::with_capacity(CHUNK + (CHUNK >> 3));
        while out.len() < CHUNK && !matches!(self.at, StatsAt::Done) {
            self.step(&mut out);
        }
        Some(out)
    }
}

/// Appends `v` as compact JSON to `out`.
fn push_json(out: &mut Vec<u8>, v: &impl serde::Serialize) {
    // Writing to a Vec fails only on a map key that is not a string, which these documents
    // do not have.
    let _ = serde_json::to_writer(out, v);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::{
        FieldMeta, FieldValue, FileInfo, FormatVersion, Kind, Num, Snapshot, Value, ValueType,
    };
    use std::path::PathBuf;
    use std::time::SystemTime;

    /// `n` one-file processes, each with a counter and a gauge.
    fn sample(n: u32) -> Arc<Sample> {
        let snapshots: Vec<Snapshot> = (0..n)
            .map(|i| Snapshot {
                fold_seq: None,
                settled: true,
                liveness: None,
                path: PathBuf::from(format!("/d/app-{}-{i}.mmstats", 1000 + i)),
                info: Arc::new(FileInfo {
                    pid: Some(1000 + i),
                    tid: Some(i),
                    ..FileInfo::new(FormatVersion::V2, (0, 0))
                }),
                taken: SystemTime::now(),
                listed: None,
                appeared: None,
                fields: [("app.requests", Kind::Counter), ("app.depth", Kind::Gauge)]
                    .into_iter()
                    .map(|(label, kind)| FieldValue {
                        meta: Arc::new(FieldMeta::new(label, kind, ValueType::U64)),
                        value: Ok(Value::Number(Num::U(u64::from(i)))),
                    })
                    .collect(),
            })
            .collect();
        let intervals = mmstats_reader::Intervals::new().update(&snapshots);
        Arc::new(Sample {
            snapshots,
            intervals,
            errors: Vec::new(),
            taken: Some(SystemTime::now()),
        })
    }

    #[test]
    fn stats_chunks_are_the_whole_document() {
        let sample = sample(1500);
        for (only, select) in [
            (None, vec![]),
            (Some(vec![0, 7, 1499]), vec![]),
            (None, vec!["app.depth".to_string()]),
        ] {
            let snaps: Vec<&Snapshot> = match &only {
                None => sample.snapshots.iter().collect(),
                Some(i) => i.iter().map(|i| &sample.snapshots[*i]).collect(),
            };
            let whole = serde_json::to_vec(&crate::api::api_stats_apart(
                &snaps,
                &sample.intervals,
                &sample.errors,
                &select,
            ))
            .unwrap();
            let chunks: Vec<Vec<u8>> =
                StatsChunks::new(Arc::clone(&sample), only.clone(), select).collect();
            assert_eq!(chunks.concat(), whole, "{only:?}");
            if only.is_none() {
                assert!(chunks.len() >= 2, "{} chunks", chunks.len());
                for c in &chunks {
                    assert!(c.len() < CHUNK + 4096, "{}", c.len());
                }
            }
        }
    }

    #[test]
    fn stats_chunks_end_with_the_files_that_could_not_be_read() {
        let mut sample = Arc::into_inner(sample(3)).expect("the only reference");
        sample.errors = vec!["/d/bad.mmstats: empty file".into()];
        let doc: Vec<u8> = StatsChunks::new(Arc::new(sample), None, Vec::new())
            .flatten()
            .collect();
        let doc: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(
            doc["errors"],
            serde_json::json!(["/d/bad.mmstats: empty file"])
        );
        assert_eq!(doc["files"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn scrape_chunks_are_the_whole_text() {
        let sample = sample(5000);
        let opts = PromOptions::default();
        let mut whole = String::new();
        mmstats_render::prometheus::render_sample(&sample.intervals, &opts, &mut whole);
        let chunks: Vec<Vec<u8>> =
            ScrapeChunks::new(Arc::clone(&sample), &opts, &Selection::default()).collect();
        assert!(chunks.len() > 1, "{} chunks", chunks.len());
        assert!(
            chunks
                .iter()
                .all(|c| !c.is_empty() && c.len() < CHUNK + 4096)
        );
        assert_eq!(String::from_utf8(chunks.concat()).unwrap(), whole);
    }
}
