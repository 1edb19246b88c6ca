//! `runstats export`: a run's samples as a wide CSV, NDJSON or an Elasticsearch bulk body.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ExportArgs;

/// Writes the export `args` asks for on standard output.
pub fn run(_args: &ExportArgs) -> Result<ExitCode> {
    anyhow::bail!("not yet")
}
