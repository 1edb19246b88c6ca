//! Renderers shared by every tool: plain text, JSON, CSV and the Prometheus formats (with
//! [`node`] naming host and process resources). No tool
//! formats stats output itself.

pub mod csv;
pub mod json;
pub mod node;
pub mod prometheus;
pub mod text;
