//! HTTP routes and middleware (auth, timeout, size limit, request log).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, RawQuery, Request, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use mmstats_reader::{Snapshot, StatsFile};
use mmstats_render::prometheus::{self, PromOptions};
use serde::Deserialize;
use serde_json::json;

use crate::api::{self, Aggr, unix};
use crate::assets::ASSETS;
use crate::history::Res;
use crate::jobs::blocking;
use crate::paths::PathError;
use crate::response::{error, json_response};
use crate::state::{Sample, State};
use crate::stream::{ScrapeChunks, StatsChunks};

/// Longest a request may take to its answer's head (with a streamed answer's first chunk).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `/metrics` and `/api/stats` wait for the sampler's first sample, before their
/// [`REQUEST_TIMEOUT`] starts.
pub const FIRST_SCAN_TIMEOUT: Duration = Duration::from_secs(60);
pub use crate::response::MAX_BODY;

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
        .route("/logout", get(logout).post(logout))
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
        .merge(crate::dashboard::router())
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Whether a request's `Host` may be answered: absent, an IP address, `localhost`, or one of
/// the names allowed with `--allow-host` (each with or without a port). Any other name could
/// be an attacker's domain rebound to our address (DNS rebinding).
pub fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return true;
    };
    let name = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        match rest.split_once(']') {
            Some((ip, _)) => return ip.parse::<std::net::Ipv6Addr>().is_ok(),
            None => return false,
        }
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    let name = name.trim_end_matches('.');
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || allowed.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// Waits for the sampler's first sample (the first scan of many files takes a while: a scrape
/// answers with it, not with nothing), at most [`FIRST_SCAN_TIMEOUT`]; false if it is still
/// not there. Waiting costs the server nothing, so it is not part of the request's timeout.
async fn first_scan(state: &State) -> bool {
    let start = Instant::now();
    while state.current().taken.is_none() {
        if start.elapsed() > FIRST_SCAN_TIMEOUT {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// Host check, auth, the wait for the first scan, timeout and logging around every request.
async fn guard(AxState(state): AxState<Shared>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let open = path == "/healthz" || path == "/login" || path == "/logout";
    let (host_ok, authorized) = {
        let header_of = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        (
            host_allowed(header_of(header::HOST), &state.hosts),
            state.token.as_deref().is_none_or(|token| {
                crate::auth::bearer_ok(header_of(header::AUTHORIZATION), token)
                    || state.sessions.valid(header_of(header::COOKIE))
            }),
        )
    };
    let resp = if !host_ok {
        Some(error(
            StatusCode::MISDIRECTED_REQUEST,
            "unknown Host; start mmash with --allow-host NAME to serve this name",
        ))
    } else if !open {
        if authorized {
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
        None if (path == "/metrics" || path == "/api/stats") && !first_scan(&state).await => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the first scan of the files is still running",
        ),
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

#[derive(Debug, Deserialize, Default)]
struct Params {
    glob: Option<String>,
    exact: Option<String>,
    aggr: Option<String>,
    res: Option<String>,
    /// `/api/stats`: comma-separated label prefixes or series with label sets.
    select: Option<String>,
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

/// [`selected`] off the async workers when it has a glob to expand.
async fn select(state: &Shared, glob: Option<String>) -> Result<Selection, Response> {
    let bad = |e: PathError| error(StatusCode::BAD_REQUEST, &e.0);
    match glob.filter(|g| !g.is_empty()) {
        None => selected(state, None).map_err(bad),
        Some(g) => {
            let st = Arc::clone(state);
            blocking(state, move |_| selected(&st, Some(&g)))
                .await?
                .map_err(bad)
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
    match select(&state, p.glob).await {
        Ok(sel) => json_response(&json!({ "stats": api::labels(&sel.snaps()) })),
        Err(r) => r,
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
    match select(&state, p.glob).await {
        Ok(sel) => json_response(&api::stats(&sel.snaps(), &name, exact, aggr)),
        Err(r) => r,
    }
}

async fn file_list(state: &Shared, glob: String) -> Response {
    let st = Arc::clone(state);
    let resolved = match blocking(state, move |_| st.roots.resolve(&glob)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    match resolved {
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
    file_list(&state, glob).await
}

async fn files_glob(AxState(state): AxState<Shared>, Path(glob): Path<String>) -> Response {
    file_list(&state, glob).await
}

async fn api_files(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let sel = match select(&state, p.glob).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let errors = sel.sample.errors.clone();
    let files = blocking(&state, move |abandoned| {
        sel.snaps()
            .into_iter()
            .filter(|s| mmstats_reader::resource::resource_kind(s).is_none())
            // Opening every file again is the slow part: stop once nobody waits for it.
            .take_while(|_| !abandoned.load(Ordering::Relaxed))
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
                    "cmd": mmstats_reader::command_name(s),
                    "pid": i.pid,
                    "tid": i.tid,
                    "uid": i.uid,
                    "start_time": i.start_time,
                    "created": i.created.map(unix),
                    "format_version": mmstats_render::json::format_version(i.version),
                    "writer": i.writer,
                    "closed": i.closed,
                    "process_totals": i.process_totals,
                    "fields": s.fields.len(),
                    "liveness": live,
                })
            })
            .collect::<Vec<_>>()
    })
    .await;
    match files {
        Ok(files) => json_response(&json!({ "files": files, "errors": errors })),
        Err(r) => r,
    }
}

async fn api_stats(AxState(state): AxState<Shared>, Query(p): Query<Params>) -> Response {
    let sel = match select(&state, p.glob).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let select = crate::api::label_selection(p.select.as_deref());
    // streamed, each chunk written off the async workers
    crate::stream::streamed(&state, "application/json", move || {
        StatsChunks::new(sel.sample, sel.only, select)
    })
    .await
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

/// `/metrics`: every series of the latest sample, in Prometheus text 0.0.4 or (asked for by
/// `Accept`) OpenMetrics. `?glob=` keeps the processes with a file the glob names; each
/// `match[]=NAME` (repeatable) keeps the metric families of that name, whole (a histogram's
/// `_bucket`, `_sum` and `_count` with it, a counter's `_total`; naming one of those keeps the
/// family too). A scrape that arrives before the first scan has finished waits for it. No
/// size limit applies: a scrape is as large as what is watched, streamed chunk by chunk
/// ([`crate::stream`]).
async fn metrics(
    AxState(state): AxState<Shared>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let om = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(prometheus::wants_openmetrics);
    let mut glob = None;
    let mut names: Vec<String> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match &*k {
            "glob" => glob = Some(v.into_owned()),
            "match[]" => names.push(v.into_owned()),
            _ => {}
        }
    }
    let sel = match select(&state, glob).await {
        Ok(sel) => sel,
        Err(r) => return r,
    };
    let opts = PromOptions {
        openmetrics: om,
        aggregate: state.aggregate,
        per_thread: state.per_thread,
        prefix: String::new(),
    };
    let ct = if om {
        prometheus::CONTENT_TYPE_OPENMETRICS
    } else {
        prometheus::CONTENT_TYPE_TEXT
    };
    crate::stream::streamed(&state, ct, move || {
        let processes = sel.only.as_ref().map(|_| {
            let paths: std::collections::HashSet<&std::path::Path> =
                sel.snaps().into_iter().map(|s| s.path.as_path()).collect();
            sel.sample
                .intervals
                .processes
                .iter()
                .enumerate()
                .filter(|(_, p)| p.files.iter().any(|f| paths.contains(f.path.as_path())))
                .map(|(i, _)| i)
                .collect()
        });
        let selection = prometheus::Selection { processes, names };
        ScrapeChunks::new(sel.sample, &opts, &selection)
    })
    .await
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

/// `POST /login`: with the right token, a new session's cookie and the page; else the form
/// again. Too many failures in a short time are refused unchecked (429).
async fn login(AxState(state): AxState<Shared>, Form(form): Form<LoginForm>) -> Response {
    let Some(token) = state.token.as_deref() else {
        return see_other("/");
    };
    if state.sessions.login_throttled() {
        let page = login_html("<p>Too many failed attempts; wait a few seconds.</p>");
        let mut r = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        return r;
    }
    if !crate::auth::form_ok(&form.token, token) {
        state.sessions.login_failed();
        let page = login_html("<p>Wrong token.</p>");
        return (StatusCode::UNAUTHORIZED, page).into_response();
    }
    let Some(id) = state.sessions.start() else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no random bytes for a session",
        );
    };
    let mut r = see_other("/");
    if let Ok(v) = HeaderValue::from_str(&crate::auth::session_cookie(&id)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `/logout`: ends the session and makes the browser forget its cookie.
async fn logout(AxState(state): AxState<Shared>, headers: HeaderMap) -> Response {
    state
        .sessions
        .end(headers.get(header::COOKIE).and_then(|v| v.to_str().ok()));
    let mut r = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&crate::auth::expired_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_checked() {
        let allowed = vec!["stats.example".to_string()];
        for ok in [
            None,
            Some("127.0.0.1:5002"),
            Some("localhost"),
            Some("LOCALHOST:1"),
            Some("[::1]:5002"),
            Some("10.0.0.7"),
            Some("stats.example:80"),
            Some("localhost."),
        ] {
            assert!(host_allowed(ok, &allowed), "{ok:?}");
        }
        for bad in [
            Some("evil.example"),
            Some("localhost.evil.example:5002"),
            Some("[zz]:1"),
            Some("127.0.0.1.nip.io"),
        ] {
            assert!(!host_allowed(bad, &allowed), "{bad:?}");
        }
    }
}
