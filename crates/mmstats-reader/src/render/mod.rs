//! Renderers shared by every tool: plain text, JSON, CSV and the Prometheus formats. No tool
//! formats stats output itself.

pub mod csv;
pub mod json;
pub mod prometheus;
pub mod text;
