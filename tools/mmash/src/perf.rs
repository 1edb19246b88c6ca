//! The routes of the machine's resources and the rollup: `/api/host` (the host's snapshot with
//! rates, shaped like one file of `/api/stats`), `/api/hosts` (`{"hosts": [name]}`) and
//! `/api/perf/<host>/<label-substring>` ([`crate::rollup`]; 404 for another host).

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use mmstats_reader::Snapshot;
use mmstats_reader::resource::{ResourceKind, resource_kind};
use serde_json::json;

use crate::api::{self, unix};
use crate::response::{error, json_response};
use crate::state::State;

fn is_host(s: &Snapshot) -> bool {
    resource_kind(s) == Some(ResourceKind::Host)
}

/// `GET /api/host`.
pub async fn host(AxState(state): AxState<Arc<State>>) -> Response {
    let sample = state.current();
    let Some(h) = sample.snapshots.iter().find(|s| is_host(s)) else {
        return error(
            StatusCode::NOT_FOUND,
            "no host resources (mmash --no-resources)",
        );
    };
    let out = api::api_stats(&[h], &sample.intervals);
    json_response(&json!({"host": state.host, "stats": out}))
}

/// `GET /api/hosts`.
pub async fn hosts(AxState(state): AxState<Arc<State>>) -> Response {
    json_response(&json!({ "hosts": [state.host] }))
}

/// `GET /api/perf/<host>/<label-substring>`.
pub async fn perf(
    AxState(state): AxState<Arc<State>>,
    Path((host, label)): Path<(String, String)>,
) -> Response {
    if host != state.host {
        return error(
            StatusCode::NOT_FOUND,
            "unknown host; /api/hosts lists this one",
        );
    }
    let now = unix(std::time::SystemTime::now());
    let out = state
        .rollup
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .perf(&label, now);
    json_response(&out)
}
