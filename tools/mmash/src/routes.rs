//! HTTP routes and middleware (auth, timeout, size limit, request log).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use mmstats_reader::render::prometheus::{self, PromOptions};
use mmstats_reader::{Snapshot, StatsFile};
use serde::Deserialize;
use serde_json::json;

use crate::api::{self, Aggr, unix};
use crate::assets::ASSETS;
use crate::history::Res;
use crate::paths::PathError;
use crate::server::{Sample, State};

/// Longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest response body; larger answers are refused with 413 (narrow them with `?glob=`).
pub const MAX_BODY: usize = 64 << 20;

type Shared = Arc<State>;

/// The router over `state`.
pub fn router(state: Shared) -> Router {
    let mut r = Router::new();
    for a in ASSETS {
        r = r.route(
            a.path,
            get(move || async move {
                let mut h = HeaderMap::new();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                );
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                (h, a.body)
            }),
        );
    }
    r.route("/healthz", get(|| async { "ok\n" }))
        .route("/login", get(login_page).post(login))
        .route("/stats", get(stats_labels))
        .route("/stats/", get(stats_labels))
        .route("/stats/{*name}", get(stats_name))
        .route("/files", get(files_all))
        .route("/files/", get(files_all))
        .route("/files/{*glob}", get(files_glob))
        .route("/api/files", get(api_files))
        .route("/api/stats", get(api_stats))
        .route("/api/history/{*label}", get(history))
        .route("/api/host", get(crate::perf::host))
        .route("/api/hosts", get(crate::perf::hosts))
        .route("/api/perf/{host}/{*label}", get(crate::perf::perf))
        .route("/metrics", get(metrics))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Auth, timeout and logging around every request.
async fn guard(AxState(state): AxState<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let open = path == "/healthz" || path == "/login";
    let resp = if let Some(token) = state.token.as_deref().filter(|_| !open) {
        let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        if crate::auth::bearer_ok(h(header::AUTHORIZATION), token)
            || crate::auth::cookie_ok(h(header::COOKIE), token)
        {
            None
        } else if path == "/" {
            // a browser without a session: to the login form
            Some(see_other("/login"))
        } else {
            let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            Some(r)
        }
    } else {
        None
    };
    let resp = match resp {
        Some(r) => r,
        None => match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
            Ok(r) => r,
            Err(_) => error(StatusCode::SERVICE_UNAVAILABLE, "request timed out"),
        },
    };
    if state.log {
        eprintln!(
            "mmash: {method} {path} {} {:.1}ms",
            resp.status().as_u16(),
            start.elapsed().as_secs_f64() * 1e3
        );
    }
    resp
}

pub(crate) fn error(status: StatusCode, msg: &str) -> Response {
    (status, axum::Json(json!({ "error": msg }))).into_response()
}

pub(crate) fn json_response(v: &serde_json::Value) -> Response {
    body_response(serde_json::to_vec(v))
}

fn body_response(body: serde_json::Result<Vec<u8>>) -> Response {
    match body {
        Ok(body) if body.len() <= MAX_BODY => {
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(_) => error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "response too large; narrow it with ?glob=",
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Debug, Deserialize, Default)]
struct Params {
    glob: Option<String>,
    exact: Option<String>,
    aggr: Option<String>,
    res: Option<String>,
}

/// The latest sample and which of its snapshots a request selected.
struct Selection {
    sample: Arc<Sample>,
    /// Indexes into the sample's snapshots; `None`: all.
    only: Option<Vec<usize>>,
}

impl Selection {
    fn snaps(&self) -> Vec<&Snapshot> {
        match &self.only {
            None => self.sample.snapshots.iter().collect(),
            Some(i) => i.iter().map(|i| &self.sample.snapshots[*i]).collect(),
        }
    }
}

/// The current snapshots, limited to `glob` when given (400 if it leaves the directories).
fn selected(state: &State, glob: Option<&str>) -> Result<Selection, PathError> {
    let sample = state.current();
    let only = match glob {
        None | Some("") => None,
        Some(g) => {
            let set = state.roots.resolve(g)?;
            Some(
                sample
                    .snapshots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| set.contains(&s.path))
                    .map(|(i, _)| i)
                    .collect(),
            )
        }
    };
    Ok(Selection { sample, only })
}

async fn stats_labels(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    match selected(&state, p.glob.as_deref()) {
        Ok(sel) => json_response(&json!({ "stats": api::labels(&sel.snaps()) })),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.0),
    }
}

async fn stats_name(
    AxState(state): AxState<Shared>,
    Path(name): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let aggr = match p.aggr.as_deref() {
        None | Some("") => None,
        Some(a) => match Aggr::parse(a) {
            Some(a) => Some(a),
            None => return error(StatusCode::BAD_REQUEST, "unknown aggr"),
        },
    };
    let exact = matches!(p.exact.as_deref(), Some("1" | "true" | "yes"));
    match selected(&state, p.glob.as_deref()) {
        Ok(sel) => json_response(&api::stats(&sel.snaps(), &name, exact, aggr)),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.0),
    }
}

fn file_list(state: &State, glob: &str) -> Response {
    match state.roots.resolve(glob) {
        Ok(set) => {
            let mut files: Vec<String> = set
                .into_iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            files.sort();
            json_response(&json!({ "files": files }))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &e.0),
    }
}

async fn files_all(AxState(state): AxState<Shared>) -> Response {
    let glob = state.roots.glob().to_string();
    file_list(&state, &glob)
}

async fn files_glob(AxState(state): AxState<Shared>, Path(glob): Path<String>) -> Response {
    file_list(&state, &glob)
}

async fn api_files(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let sel = match selected(&state, p.glob.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.0),
    };
    let errors = sel.sample.errors.clone();
    let files = tokio::task::spawn_blocking(move || {
        sel.snaps()
            .into_iter()
            .filter(|s| mmstats_reader::resource::resource_kind(s).is_none())
            .map(|s| {
                let live = match StatsFile::open(&s.path) {
                    Ok(f) => match mmstats_reader::liveness(&f) {
                        mmstats_reader::Liveness::Alive => json!({"alive": true}),
                        mmstats_reader::Liveness::Dead(why) => {
                            json!({"alive": false, "why": why})
                        }
                    },
                    Err(e) => json!({"alive": false, "why": e.kind.to_string()}),
                };
                let i = &s.info;
                json!({
                    "path": s.path,
                    "cmd": prometheus::command_name(s),
                    "pid": i.pid,
                    "tid": i.tid,
                    "uid": i.uid,
                    "start_time": i.start_time,
                    "created": i.created.map(unix),
                    "version": i.version,
                    "writer": i.writer,
                    "closed": i.closed,
                    "process_totals": i.process_totals,
                    "fields": s.fields.len(),
                    "liveness": live,
                })
            })
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    json_response(&json!({ "files": files, "errors": errors }))
}

async fn api_stats(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let sel = match selected(&state, p.glob.as_deref()) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.0),
    };
    // CPU-bound: off the async workers, so the request timeout and other requests still run
    tokio::task::spawn_blocking(move || {
        body_response(serde_json::to_vec(&api::api_stats(
            &sel.snaps(),
            &sel.sample.intervals,
        )))
    })
    .await
    .unwrap_or_else(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

async fn history(
    AxState(state): AxState<Shared>,
    Path(label): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let res = match p.res.as_deref() {
        None | Some("") => Res::Second,
        Some(r) => match Res::parse(r) {
            Some(r) => r,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "res must be second, minute or hour",
                );
            }
        },
    };
    let now = unix(std::time::SystemTime::now()) as u64;
    let points = state
        .history
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .points(&label, res, now);
    match points {
        Some(p) => json_response(&serde_json::to_value(p).unwrap_or_default()),
        None => error(StatusCode::NOT_FOUND, "no history for this label"),
    }
}

async fn metrics(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    let om = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prometheus::wants_openmetrics);
    let sample = state.current();
    let opts = PromOptions {
        openmetrics: om,
        aggregate: state.aggregate,
        per_thread: state.per_thread,
        prefix: String::new(),
    };
    let rendered = tokio::task::spawn_blocking(move || {
        let mut out = String::new();
        prometheus::render_sample(&sample.intervals, &opts, &mut out);
        out
    })
    .await;
    let out = match rendered {
        Ok(out) => out,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if out.len() > MAX_BODY {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "metrics too large");
    }
    let ct = if om {
        prometheus::CONTENT_TYPE_OPENMETRICS
    } else {
        prometheus::CONTENT_TYPE_TEXT
    };
    ([(header::CONTENT_TYPE, ct)], out).into_response()
}

/// A `303 See Other` to `to`.
fn see_other(to: &'static str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r
}

/// The login form's page: no stats, only a field for the token.
fn login_html(message: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mmash: log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;
color:#1f2328}}form{{display:grid;gap:.6rem;min-width:18rem}}input,button{{font:inherit;
padding:.45rem .6rem}}p{{color:#b42318;margin:0}}</style></head>
<body><form method="post" action="/login"><h1>mmash</h1>{message}
<label>Token <input type="password" name="token" autofocus required></label>
<button type="submit">Log in</button></form></body></html>
"#
    ))
}

/// `GET /login`: the form.
async fn login_page() -> Html<String> {
    login_html("")
}

/// What the login form sends.
#[derive(Debug, serde::Deserialize)]
struct LoginForm {
    token: String,
}

/// `POST /login`: with the right token, a session cookie and the page; else the form again.
async fn login(AxState(state): AxState<Shared>, Form(form): Form<LoginForm>) -> Response {
    let Some(token) = state.token.as_deref() else {
        return see_other("/");
    };
    if !crate::auth::form_ok(&form.token, token) {
        let page = login_html("<p>Wrong token.</p>");
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&crate::auth::session_cookie(token)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_larger_than_the_bound_are_refused() {
        assert_eq!(body_response(Ok(b"{}".to_vec())).status(), StatusCode::OK);
        assert_eq!(
            body_response(Ok(vec![b' '; MAX_BODY])).status(),
            StatusCode::OK
        );
        assert_eq!(
            body_response(Ok(vec![b' '; MAX_BODY + 1])).status(),
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }
}
