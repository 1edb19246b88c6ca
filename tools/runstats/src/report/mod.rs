//! Reports: `report.html` (self-contained: charts inlined as PNG data URIs, no request leaves
//! the file) and one PNG per chart, for one run or several side by side.
//!
//! A report shows each run's summary, charts of the most telling series of each source
//! ([`pick`]), charts of any label asked for, a table per source of every series with its
//! statistics ([`summary`]), and for several runs the same series overlaid and a table of the
//! changes against the first run with their ratio.
//!
//! Several runs share the charts' x axis as [`Alignment`] decides, and the page says which:
//! runs recorded at the same time (one per node of a cluster test) on one clock, from the
//! earliest start, so that a moment lines up across machines (as far as their clocks agree);
//! runs recorded one after another (before and after a change) each from its own start.

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

    /// The run's start (Unix milliseconds): its recorded start, else its first sample.
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

    /// The run's end (Unix milliseconds): its recorded end, else its last sample.
    fn end_ms(&self) -> i64 {
        self.info.ended_ms.unwrap_or_else(|| {
            self.series
                .iter()
                .filter_map(|s| s.points.last().map(|p| p.0))
                .max()
                .unwrap_or_else(|| self.origin_ms())
        })
    }
}

/// How the runs of a report share the x axis of its charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alignment {
    /// Each run from its own start: runs recorded one after the other (before and after a
    /// change), compared by their course.
    Starts,
    /// One clock from the earliest start: runs recorded at the same time (the nodes of one
    /// cluster test), so that what happened at one moment lines up across machines.
    Together(i64),
}

impl Alignment {
    /// The alignment of `runs`: [`Alignment::Together`] when every run was recording at one
    /// common moment, else [`Alignment::Starts`].
    pub fn of(runs: &[Loaded]) -> Alignment {
        let latest_start = runs.iter().map(Loaded::origin_ms).max();
        let earliest_end = runs.iter().map(Loaded::end_ms).min();
        match (latest_start, earliest_end) {
            (Some(start), Some(end)) if runs.len() > 1 && start <= end => {
                Alignment::Together(runs.iter().map(Loaded::origin_ms).min().unwrap_or(start))
            }
            _ => Alignment::Starts,
        }
    }

    /// Where `run`'s x axis starts (Unix milliseconds).
    fn origin_ms(self, run: &Loaded) -> i64 {
        match self {
            Alignment::Starts => run.origin_ms(),
            Alignment::Together(t) => t,
        }
    }

    /// The x axis' description.
    pub fn axis(self) -> &'static str {
        match self {
            Alignment::Starts => "seconds since the run's start",
            Alignment::Together(_) => "seconds since the earliest run's start",
        }
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
    let align = Alignment::of(&runs);
    let mut charts = Vec::new();
    for (i, p) in picks.iter().enumerate() {
        let chart = lines(&runs, p, align);
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
    let html = html::page(&runs, &charts, &missing, align);
    // Through a temporary file, so that a failed write (a full disk) leaves no half page.
    let path = out.join(REPORT_HTML);
    let tmp = out.join(".report.html.tmp");
    if let Err(e) = std::fs::write(&tmp, html).and_then(|()| std::fs::rename(&tmp, &path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(path)
}

/// The lines of a picked chart: each member series of each run, over seconds since the
/// origin `align` gives it, named by label (and run, when there are several). A member has
/// one colour in every run (a chart by process: the run's n-th process line the n-th colour),
/// and each run its stroke.
fn lines(runs: &[Loaded], p: &Pick, align: Alignment) -> Chart {
    let mut lines = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        let origin = align.origin_ms(run);
        // the run's lines so far: a chart by process colours its lines in this order
        let mut drawn = 0;
        for (m, c) in p.members.iter().enumerate() {
            // A chart by process has a line for each process of the program (`sh:12`,
            // `sh:13`); any other, the program's one series.
            let series: Vec<&Series> = if p.by_process {
                run.series.iter().filter(|s| Class::of(s) == *c).collect()
            } else {
                run.find(c).into_iter().collect()
            };
            for s in series {
                let mut name = c.label.clone();
                if p.by_process {
                    name = format!("{} {name}", s.process);
                }
                if runs.len() > 1 {
                    name = format!("{}: {name}", run.info.id);
                }
                let series = if p.by_process { drawn } else { m };
                drawn += 1;
                lines.push(Line {
                    name,
                    series,
                    run: r,
                    points: s
                        .points
                        .iter()
                        .map(|(t, v)| ((t - origin) as f64 / 1000.0, *v))
                        .collect(),
                });
            }
        }
    }
    Chart {
        title: p.title.clone(),
        unit: p.unit.clone(),
        x_desc: align.axis().to_string(),
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
    use crate::run::RunInfo;

    fn run(start: i64, end: i64) -> Loaded {
        Loaded {
            dir: ".".into(),
            info: RunInfo {
                started_ms: start,
                ended_ms: Some(end),
                ..RunInfo::default()
            },
            note: None,
            series: Vec::new(),
        }
    }

    #[test]
    fn runs_that_overlap_share_a_clock_and_others_align_by_their_starts() {
        // the nodes of one test, started a little apart
        let together = [run(1000, 9000), run(1500, 9500), run(800, 8000)];
        assert_eq!(Alignment::of(&together), Alignment::Together(800));
        assert_eq!(Alignment::of(&together).origin_ms(&together[1]), 800);
        // before and after a change
        let apart = [run(1000, 2000), run(5000, 6000)];
        assert_eq!(Alignment::of(&apart), Alignment::Starts);
        assert_eq!(Alignment::of(&apart).origin_ms(&apart[1]), 5000);
        // one run: its own start
        assert_eq!(Alignment::of(&together[..1]), Alignment::Starts);
    }

    #[test]
    fn a_series_keeps_its_colour_in_every_run_and_each_run_has_its_stroke() {
        let series = |label: &str| Series {
            source: "mmstats".into(),
            process: "web:1".into(),
            label: label.into(),
            kind: "rate".into(),
            unit: "1/s".into(),
            points: vec![(1000, 1.0), (2000, 2.0)],
        };
        let mut a = run(1000, 3000);
        a.info.id = "a".into();
        a.series = vec![series("web.ok.rate"), series("web.err.rate")];
        // the second run lacks the first member
        let mut b = run(5000, 7000);
        b.info.id = "b".into();
        b.series = vec![series("web.err.rate")];
        let runs = [a, b];
        let p = Pick {
            source: "mmstats".into(),
            title: "web: rates".into(),
            unit: "1/s".into(),
            members: vec![
                Class::of(&series("web.ok.rate")),
                Class::of(&series("web.err.rate")),
            ],
            by_process: false,
        };
        let chart = lines(&runs, &p, Alignment::of(&runs));
        let drawn: Vec<(&str, usize, usize)> = chart
            .lines
            .iter()
            .map(|l| (l.name.as_str(), l.series, l.run))
            .collect();
        assert_eq!(
            drawn,
            [
                ("a: web.ok.rate", 0, 0),
                ("a: web.err.rate", 1, 0),
                ("b: web.err.rate", 1, 1)
            ]
        );
    }

    #[test]
    fn slugs_are_safe_file_names() {
        assert_eq!(slug("webserver: latency (ns)"), "webserver-latency-ns");
        assert_eq!(slug("--"), "");
    }
}
