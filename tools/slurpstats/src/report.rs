//! Reading the files and writing them out in the chosen format.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use mmstats_reader::resource::{HostSource, ProcessSource, is_gone};
use mmstats_reader::{ErrorKind, ReadError, Snapshot, StatsFile, default_glob, discover};
use mmstats_render::{csv, json, prometheus, text};

use crate::cli::Cli;

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned `label value` blocks.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// CSV rows.
    Csv,
    /// Prometheus text format 0.0.4 (`false`) or OpenMetrics 1.0 (`true`).
    Prometheus(bool),
}

impl Format {
    /// The format the flags ask for.
    pub fn of(cli: &Cli) -> Format {
        if cli.json {
            Format::Json
        } else if cli.ndjson {
            Format::Ndjson
        } else if cli.csv {
            Format::Csv
        } else if cli.prometheus || cli.openmetrics {
            Format::Prometheus(cli.openmetrics)
        } else {
            Format::Text
        }
    }
}

/// Writes one snapshot in a streaming format; `first` says whether it is the first one written.
/// A `--json` document's files go to `doc`.
pub fn write_one(
    out: &mut dyn Write,
    format: Format,
    snap: &Snapshot,
    first: bool,
    filters: &[String],
    doc: Option<&mut json::Document>,
) -> io::Result<()> {
    if let Some(doc) = doc {
        return doc.file(out, snap, filters);
    }
    match format {
        Format::Text => {
            if !first {
                writeln!(out)?;
            }
            text::render(out, snap, snap.taken, filters)
        }
        Format::Ndjson => writeln!(out, "{}", json::snapshot(snap, filters)),
        Format::Csv => {
            if first {
                writeln!(out, "{}", csv::HEADER)?;
            }
            csv::render(out, snap, snap.taken, filters)
        }
        Format::Json | Format::Prometheus(_) => Ok(()),
    }
}

/// A snapshot with only the fields whose label, or one of whose derived labels, starts with
/// one of `filters` (all when empty).
pub fn only(snap: &Snapshot, filters: &[String]) -> Snapshot {
    let mut s = snap.clone();
    s.fields = snap
        .fields
        .iter()
        .filter(|f| {
            text::label_matches(&f.meta.label, filters)
                || filters
                    .iter()
                    .any(|p| p.starts_with(&format!("{}.", f.meta.label)))
        })
        .cloned()
        .collect();
    s
}

/// A snapshot of the file at `path`, with whether its writer is alive (FORMAT.md §6.3).
fn read(path: &std::path::Path) -> Result<Snapshot, ReadError> {
    let mut file = StatsFile::open(path)?;
    let mut snap = file.snapshot()?;
    snap.liveness = Some(mmstats_reader::liveness(&file));
    Ok(snap)
}

/// Runs slurpstats: 0 if every file was read, 1 if some could not be.
pub fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    cli.dirs.apply();
    let format = Format::of(cli);
    let patterns = cli.patterns();
    let (paths, mut errors) = discover(&patterns);
    // Only resources asked for (--host, --pid): an empty or missing default directory is no
    // failure, though an untrusted one still is.
    let resources_only = (cli.host || !cli.pid.is_empty()) && patterns.is_empty();
    if resources_only {
        errors.retain(|e| {
            !matches!(
                e.kind,
                ErrorKind::NoDir | ErrorKind::EmptyDir | ErrorKind::NoMatch
            )
        });
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let report = |out: &mut BufWriter<_>, e: &ReadError| -> io::Result<()> {
        out.flush()?;
        eprintln!("slurpstats: {}", text::escape(&e.to_string()));
        Ok(())
    };
    for e in &errors {
        report(&mut out, e).context("writing output")?;
    }
    if paths.is_empty() && errors.is_empty() && !resources_only {
        let looked = if patterns.is_empty() {
            default_glob()
        } else {
            patterns.join(" ")
        };
        eprintln!("slurpstats: no stats files match {looked}");
    }
    let mut failed = !errors.is_empty();
    let mut snaps = Vec::new();
    let mut first = true;
    // Every format but Prometheus (whose families span files) is written file by file.
    let collect = matches!(format, Format::Prometheus(_));
    let mut doc = match format {
        Format::Json => Some(
            json::Document::start(&mut out, SystemTime::now(), cli.pretty)
                .context("writing output")?,
        ),
        _ => None,
    };
    if cli.host {
        let snap = HostSource::new().sample();
        if collect {
            snaps.push(snap);
        } else {
            write_one(&mut out, format, &snap, first, &cli.filter, doc.as_mut())
                .context("writing output")?;
            first = false;
        }
    }
    let mut pids: Vec<u32> = cli.pid.clone();
    for path in &paths {
        match read(path) {
            Ok(snap) if collect => {
                pids.extend(snap.info.pid.filter(|_| cli.procs));
                snaps.push(snap)
            }
            Ok(snap) => {
                pids.extend(snap.info.pid.filter(|_| cli.procs));
                write_one(&mut out, format, &snap, first, &cli.filter, doc.as_mut())
                    .context("writing output")?;
                first = false;
            }
            Err(e) => {
                report(&mut out, &e).context("writing output")?;
                failed = true;
                errors.push(e);
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    let (procs, proc_errors) = ProcessSource::new().sample_many(&pids);
    for e in proc_errors {
        report(&mut out, &e).context("writing output")?;
        // a file's writer that has exited is no failure of --proc; a pid asked for is
        let asked = cli
            .pid
            .iter()
            .any(|p| e.path == Path::new(&format!("/proc/{p}")));
        if asked || !is_gone(&e) {
            failed = true;
        }
        errors.push(e);
    }
    for snap in procs {
        if collect {
            snaps.push(snap);
        } else {
            write_one(&mut out, format, &snap, first, &cli.filter, doc.as_mut())
                .context("writing output")?;
            first = false;
        }
    }
    if let Some(doc) = doc {
        doc.finish(&mut out, &errors).context("writing output")?;
    }
    if let Format::Prometheus(openmetrics) = format {
        let snaps: Vec<Snapshot> = snaps.iter().map(|s| only(s, &cli.filter)).collect();
        let opts = prometheus::PromOptions {
            openmetrics,
            ..Default::default()
        };
        let mut text = String::new();
        prometheus::render(&snaps, &opts, &mut text);
        out.write_all(text.as_bytes()).context("writing output")?;
    }
    out.flush().context("writing output")?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
