//! Reports: `report.html` (self-contained: charts inlined as PNG data URIs, no request leaves
//! the file) and one PNG per chart, for one run or several side by side.
//!
//! A report shows each run's summary, charts of the most telling series of each source
//! ([`pick`]), charts of any label asked for, a table per source of every series with its
//! statistics ([`summary`]), and for several runs the same series overlaid and a table of the
//! changes against the first run with their ratio.

pub mod chart;
mod html;
pub mod pick;
pub mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::run::{RunInfo, SAMPLES_DB};
use crate::store::{self, Series};
use chart::{Chart, Line};
use pick::{Class, Pick};

/// The name of the report's HTML file in its directory.
pub const REPORT_HTML: &str = "report.html";

/// One run as a report reads it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its directory.
    pub dir: PathBuf,
    /// Its description (a default one, with a note, when `run.json` is missing or broken).
    pub info: RunInfo,
    /// A note about its description, if it could not be read.
    pub note: Option<String>,
    /// Its series.
    pub series: Vec<Series>,
}

impl Loaded {
    /// Reads the run in `dir`.
    pub fn read(dir: &Path) -> Result<Loaded> {
        let db = dir.join(SAMPLES_DB);
        if !db.exists() {
            bail!("{}: no {SAMPLES_DB}: not a run directory", dir.display());
        }
        let series = store::load(&db)?;
        let (info, note) = match RunInfo::load(dir) {
            Ok(i) => (i, None),
            Err(e) => {
                let started_ms = series
                    .iter()
                    .filter_map(|s| s.points.first().map(|p| p.0))
                    .min()
                    .unwrap_or(0);
                let id = dir
                    .file_name()
                    .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into());
                (
                    RunInfo {
                        id,
                        started_ms,
                        ..RunInfo::default()
                    },
                    Some(format!("{e:#}")),
                )
            }
        };
        Ok(Loaded {
            dir: dir.to_path_buf(),
            info,
            note,
            series,
        })
    }

    /// The series of class `c`, if the run has one.
    pub fn find(&self, c: &Class) -> Option<&Series> {
        self.series.iter().find(|s| Class::of(s) == *c)
    }

    /// Milliseconds since the start of the run of the first sample, for the x axis.
    fn origin_ms(&self) -> i64 {
        if self.info.started_ms > 0 {
            return self.info.started_ms;
        }
        self.series
            .iter()
            .filter_map(|s| s.points.first().map(|p| p.0))
            .min()
            .unwrap_or(0)
    }
}

/// Writes the report of the runs in `dirs` (the first is the baseline of a comparison), with
/// extra charts of `labels`, into `out`; returns the path of `report.html`.
pub fn write(dirs: &[PathBuf], labels: &[String], out: &Path) -> Result<PathBuf> {
    let runs: Vec<Loaded> = dirs
        .iter()
        .map(|d| Loaded::read(d))
        .collect::<Result<_>>()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    // Charts of an earlier report in the same directory are replaced.
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("chart-") && name.ends_with(".png") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    let mut picks = pick::pick(&runs);
    let mut missing = Vec::new();
    for label in labels {
        match pick::label(&runs, label) {
            Some(p) => picks.push(p),
            None => missing.push(label.clone()),
        }
    }
    let mut charts = Vec::new();
    for (i, p) in picks.iter().enumerate() {
        let chart = lines(&runs, p);
        if chart.lines.iter().all(|l| l.points.is_empty()) {
            continue;
        }
        let file = format!("chart-{:02}-{}.png", i + 1, slug(&p.title));
        let path = out.join(&file);
        chart::draw(&chart, &path)?;
        let png = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        charts.push(html::Figure {
            source: p.source.clone(),
            title: p.title.clone(),
            file,
            png,
        });
    }
    let html = html::page(&runs, &charts, &missing);
    // Through a temporary file, so that a failed write (a full disk) leaves no half page.
    let path = out.join(REPORT_HTML);
    let tmp = out.join(".report.html.tmp");
    if let Err(e) = std::fs::write(&tmp, html).and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

/// The lines of a picked chart: each member series of each run, over seconds since that
/// run's start, named by label (and run, when there are several).
fn lines(runs: &[Loaded], p: &Pick) -> Chart {
    let mut lines = Vec::new();
    for run in runs {
        let origin = run.origin_ms();
        for c in &p.members {
            let Some(s) = run.find(c) else { continue };
            let mut name = c.label.clone();
            if p.by_process {
                name = format!("{} {name}", s.process);
            }
            if runs.len() > 1 {
                name = format!("{}: {name}", run.info.id);
            }
            lines.push(Line {
                name,
                points: s
                    .points
                    .iter()
                    .map(|(t, v)| ((t - origin) as f64 / 1000.0, *v))
                    .collect(),
            });
        }
    }
    Chart {
        title: p.title.clone(),
        unit: p.unit.clone(),
        lines,
    }
}

/// A file-name-safe version of a title.
fn slug(title: &str) -> String {
    let s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for part in s.split('-').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    out.chars().take(48).collect()
}

/// The series of every run grouped by source, in source order, for the tables.
fn by_source(run: &Loaded) -> BTreeMap<&str, Vec<&Series>> {
    let mut m: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    for s in &run.series {
        m.entry(s.source.as_str()).or_default().push(s);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("webserver: latency (ns)"), "webserver-latency-ns");
        assert_eq!(slug("--"), "");
    }
}
