//! The page's own routes, which answer with only what the page shows, however many files
//! there are:
//!
//! - `/api/dashboard/processes`: the processes of the latest sample, their threads and
//!   whether they are alive (from the sampler's state: no file is opened).
//! - `/api/dashboard/view?process=KEY|all|host&res=&since=&select=`: one process's series
//!   now (or all processes combined, or the host's resources) and the history of each of them
//!   at one resolution, as columns; `since` (Unix seconds) keeps only later points, so a live
//!   page pulls a few points a second; `select` keeps the labels a comma-separated list of
//!   prefixes selects.
//! - `/api/dashboard/compare?lines=LABEL@KEY,...&res=&since=`: chosen lines on one time
//!   axis, each a label of a process (`KEY`), of all processes combined (`all`), or of every
//!   process that has it (`*`, one line each, at most [`MAX_LINES`]).
//!
//! Process keys are [`process_key`]s; histories are [`crate::history`] (combined) and
//! [`crate::process_history`] (per process).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use mmstats_reader::resource::resource_kind_of;
use mmstats_reader::{Liveness, ProcessId, ProcessSample, Series};
use mmstats_render::text::label_matches;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::api::{series_out, unix};
use crate::history::{History, Res, series_points};
use crate::process_history::{LabelInfo, ProcessHistory, is_host, process_key};
use crate::response::{error, json_response};
use crate::state::State;

/// The most lines one compare chart has.
pub const MAX_LINES: usize = 24;

type Shared = Arc<State>;

/// The page's routes, to merge into the main router.
pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/dashboard/processes", get(processes))
        .route("/api/dashboard/view", get(view))
        .route("/api/dashboard/compare", get(compare))
}

#[derive(Debug, Deserialize, Default)]
struct Params {
    process: Option<String>,
    res: Option<String>,
    since: Option<u64>,
    select: Option<String>,
    lines: Option<String>,
}

impl Params {
    /// The resolution asked for (`second` when none); `None` for an unknown one.
    fn res(&self) -> Option<Res> {
        match self.res.as_deref() {
            None | Some("") => Some(Res::Second),
            Some(r) => Res::parse(r),
        }
    }
}

/// The buckets a response covers: periods `from..=to` of `width` seconds.
#[derive(Debug, Clone, Copy)]
struct Span {
    width: u64,
    from: u64,
    to: u64,
}

impl Span {
    fn new(res: Res, now: u64, since: Option<u64>) -> Span {
        let (width, n) = res.buckets();
        let to = now / width;
        let mut from = (to + 1).saturating_sub(n as u64);
        if let Some(s) = since {
            from = from.max(s / width + 1).min(to + 1);
        }
        Span { width, from, to }
    }

    fn len(self) -> usize {
        (self.to + 1).saturating_sub(self.from) as usize
    }

    fn head(self, res: Res, now: u64) -> Json {
        json!({
            "now": now,
            "res": res.name(),
            "step": self.width,
            "t0": self.from * self.width,
            "n": self.len(),
        })
    }

    /// The means of `label` from the combined history, over this span.
    fn combined(self, h: &History, label: &str, res: Res, now: u64) -> Vec<Option<f64>> {
        let Some(p) = h.points(label, res, now) else {
            return vec![None; self.len()];
        };
        let first = self.from * self.width;
        p.t.iter()
            .zip(&p.mean)
            .filter(|(t, _)| **t >= first)
            .map(|(_, v)| *v)
            .collect()
    }

    /// The means of `label` in process `key`, over this span.
    fn of_process(self, h: &ProcessHistory, key: &str, label: &str, res: Res) -> Vec<Option<f64>> {
        h.values(key, label, res, self.from, self.to)
            .unwrap_or_else(|| vec![None; self.len()])
    }
}

/// `values` without its leading `null`s, and how many there were (`at`: the index of the
/// first value sent), so a young or sparse history costs little to send. Each value is also
/// rounded to six significant digits (more than a chart shows; the JSON of `0.1f32` would
/// otherwise be `0.10000000149011612`).
fn trimmed(mut values: Vec<Option<f64>>) -> (usize, Vec<Option<f64>>) {
    let at = values
        .iter()
        .position(Option::is_some)
        .unwrap_or(values.len());
    values.drain(..at);
    for v in values.iter_mut().flatten() {
        *v = significant(*v);
    }
    (at, values)
}

/// `v` rounded to six significant digits.
fn significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    format!("{v:.5e}").parse().unwrap_or(v)
}

fn bad_res() -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "res must be second, minute or hour",
    )
}

fn now_secs() -> u64 {
    unix(std::time::SystemTime::now()) as u64
}

fn process_json(p: &ProcessSample) -> Json {
    let threads: Vec<Json> = p
        .files
        .iter()
        .map(|f| {
            json!({
                "tid": f.info.tid,
                "path": f.path,
                "totals": f.info.process_totals,
                "resources": resource_kind_of(&f.info).is_some(),
                "ended": f.info.closed || f.info.folded,
            })
        })
        .collect();
    json!({
        "key": process_key(&p.id),
        "pid": p.pid(),
        "start_time": match &p.id {
            ProcessId::Process { start_time, .. } => Some(*start_time),
            ProcessId::File(_) => None,
        },
        "cmd": p.cmd,
        "alive": p.liveness == Liveness::Alive,
        "why": match &p.liveness {
            Liveness::Dead(why) => Some(&**why),
            Liveness::Alive => None,
        },
        "threads": threads,
        "series": p.series.len(),
    })
}

/// `GET /api/dashboard/processes`.
async fn processes(AxState(state): AxState<Shared>) -> Response {
    let sample = state.current();
    let list: Vec<Json> = sample
        .intervals
        .processes
        .iter()
        .filter(|p| !is_host(p))
        .map(process_json)
        .collect();
    let host = sample.intervals.processes.iter().any(is_host);
    json_response(&json!({
        "processes": list,
        "host": host.then_some(&state.host),
        "errors": sample.errors,
    }))
}

/// One series now, for the page's table: [`series_out`] with its help text.
fn field_json(s: &Series) -> Json {
    let mut v = serde_json::to_value(series_out(s)).unwrap_or_default();
    if let Json::Object(o) = &mut v
        && !s.meta.help.is_empty()
    {
        o.insert("help".into(), json!(s.meta.help));
    }
    v
}

/// `GET /api/dashboard/view`.
async fn view(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let Some(res) = p.res() else {
        return bad_res();
    };
    let select = crate::api::label_selection(p.select.as_deref());
    let which = p.process.as_deref().unwrap_or("all");
    let sample = state.current();
    let procs = &sample.intervals.processes;
    let (process, series): (Option<&ProcessSample>, Vec<Series>) = match which {
        "all" => (
            None,
            sample
                .intervals
                .combined_over(|p| !is_host(p))
                .into_iter()
                .filter(|s| !s.meta.label.starts_with("host."))
                .collect(),
        ),
        "host" => (
            None,
            procs
                .iter()
                .find(|p| is_host(p))
                .map(|p| p.series.to_vec())
                .unwrap_or_default(),
        ),
        key => match procs.iter().find(|p| process_key(&p.id) == key) {
            Some(p) => (Some(p), p.series.to_vec()),
            None => return error(StatusCode::NOT_FOUND, "no such process"),
        },
    };
    let series: Vec<Series> = series
        .into_iter()
        .filter(|s| label_matches(&s.meta.label, &select))
        .collect();
    let now = now_secs();
    let span = Span::new(res, now, p.since);
    let mut charts = Vec::new();
    {
        let combined = state.history.lock().unwrap_or_else(|e| e.into_inner());
        let per = state
            .process_history
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for s in &series {
            let Some((unit, points)) = series_points(s) else {
                continue;
            };
            let lines: Vec<Json> = points
                .iter()
                .map(|(label, _)| {
                    let values = match process {
                        None => span.combined(&combined, label, res, now),
                        Some(p) => span.of_process(&per, &process_key(&p.id), label, res),
                    };
                    let name = label.strip_prefix(&s.meta.label).unwrap_or("");
                    let (at, values) = trimmed(values);
                    json!({"name": name.trim_start_matches('.'), "at": at, "values": values})
                })
                .collect();
            charts.push(json!({
                "label": s.meta.label,
                "kind": s.meta.kind.as_str(),
                "unit": unit,
                "rate": s.is_rate(),
                "lines": lines,
            }));
        }
    }
    let mut out = span.head(res, now);
    out["process"] = process.map(process_json).unwrap_or(Json::Null);
    out["fields"] = series.iter().map(field_json).collect();
    out["charts"] = Json::Array(charts);
    json_response(&out)
}

/// `GET /api/dashboard/compare`.
async fn compare(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let Some(res) = p.res() else {
        return bad_res();
    };
    let asked: Vec<(&str, &str)> = p
        .lines
        .as_deref()
        .map(mmstats_reader::labels::split_list)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.rsplit_once('@').unwrap_or((s, "all")))
        .collect();
    if asked.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "lines=LABEL@PROCESS,... is missing",
        );
    }
    let sample = state.current();
    let procs: Vec<&ProcessSample> = sample
        .intervals
        .processes
        .iter()
        .filter(|p| !is_host(p))
        .collect();
    let now = now_secs();
    let span = Span::new(res, now, p.since);
    let combined = state.history.lock().unwrap_or_else(|e| e.into_inner());
    let per = state
        .process_history
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let mut lines = Vec::new();
    let mut truncated = false;
    for (label, which) in asked {
        let info = per.label(label).cloned().or_else(|| {
            combined.points(label, res, now).map(|p| LabelInfo {
                kind: p.kind,
                unit: p.unit,
                rate: p.rate,
            })
        });
        let mut push = |p: Option<&ProcessSample>, values: Vec<Option<f64>>| {
            if lines.len() >= MAX_LINES {
                truncated = true;
                return;
            }
            let (at, values) = trimmed(values);
            lines.push(json!({
                "label": label,
                "process": p.map_or("all".to_string(), |p| process_key(&p.id)),
                "pid": p.and_then(|p| p.pid()),
                "cmd": p.map(|p| &*p.cmd),
                "alive": p.is_none_or(|p| p.liveness == Liveness::Alive),
                "kind": info.as_ref().map(|i| i.kind),
                "unit": info.as_ref().map(|i| i.unit.as_str()),
                "rate": info.as_ref().map(|i| i.rate),
                "at": at,
                "values": values,
            }));
        };
        match which {
            "all" => push(None, span.combined(&combined, label, res, now)),
            "*" => {
                for p in &procs {
                    let key = process_key(&p.id);
                    // a process without a point in the span (one that exited long ago) is
                    // left out rather than drawn as an empty line
                    if let Some(v) = per.values(&key, label, res, span.from, span.to)
                        && v.iter().any(Option::is_some)
                    {
                        push(Some(p), v);
                    }
                }
            }
            key => {
                let p = procs.iter().find(|p| process_key(&p.id) == key).copied();
                let values = span.of_process(&per, key, label, res);
                push(p, values);
            }
        }
    }
    let mut out = span.head(res, now);
    out["lines"] = Json::Array(lines);
    out["truncated"] = json!(truncated);
    json_response(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_sent_from_the_first_value_with_six_digits() {
        let (at, v) = trimmed(vec![
            None,
            None,
            Some(f64::from(0.1f32)),
            None,
            Some(123_456_789.0),
        ]);
        assert_eq!(at, 2);
        assert_eq!(v, vec![Some(0.1), None, Some(123_457_000.0)]);
        assert_eq!(trimmed(vec![None, None]), (2, vec![]));
        assert_eq!(significant(-0.000_012_345_67), -0.000_012_345_7);
        assert_eq!(significant(0.0), 0.0);
    }

    #[test]
    fn a_span_covers_the_ring_or_the_points_since() {
        let s = Span::new(Res::Second, 10_000, None);
        assert_eq!((s.from, s.to, s.len()), (9_401, 10_000, 600));
        let s = Span::new(Res::Second, 10_000, Some(9_997));
        assert_eq!((s.from, s.len()), (9_998, 3));
        let s = Span::new(Res::Second, 10_000, Some(20_000));
        assert_eq!(s.len(), 0);
        let s = Span::new(Res::Minute, 7_200, None);
        assert_eq!((s.width, s.len(), s.to), (60, 60, 120));
    }
}
