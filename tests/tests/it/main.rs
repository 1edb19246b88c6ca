//! Cross-process scenarios: a writer in a child process; the reader library and the tools in
//! the test.

mod example;
mod intervals;
mod jvm;
mod killed_writer;
mod label_hostility;
mod live_writer;
mod metrics_bridge;
mod resources;
mod shrinking;
mod tools;
mod tui;
