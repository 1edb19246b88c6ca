//! mmash: the web view of mmstats files.
//!
//! A sampler thread reads every file once a second (through
//! [`mmstats_reader::Scanner`], which re-parses metadata only when it changes) and keeps the
//! latest sample and an in-memory [`history`]. HTTP handlers only read that state, so a
//! request never touches the files (but `/api/files`, which checks each writer's liveness).
//!
//! Routes: `/` (the page), `/healthz`, `/stats/`, `/stats/<name>`, `/files/<glob>` (the
//! original mmash's JSON API), `/api/files`, `/api/stats`, `/api/history/<label>`,
//! `/metrics` (Prometheus text 0.0.4, or OpenMetrics 1.0 when asked for), `/api/host` (the
//! machine's resources), `/api/hosts` and `/api/perf/<host>/<label>` (the [`rollup`]), and
//! the page's own `/api/dashboard/...` ([`dashboard`], over [`process_history`]).
//!
//! Beside the files, each sample reads the host's resources and those of every process with
//! stats files from `/proc` ([`mmstats_reader::resource`]; off with `--no-resources`), so
//! they have a history, a rollup and `/metrics` series like any label.

pub mod api;
pub mod assets;
pub mod auth;
pub mod cli;
pub mod dashboard;
pub mod history;
mod jobs;
pub mod paths;
pub mod perf;
pub mod process_history;
mod response;
pub mod rollup;
pub mod routes;
pub mod server;
pub mod state;
pub mod stream;
