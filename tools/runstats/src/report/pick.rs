//! Which series to chart: the most telling ones of each source, and any label asked for.
//!
//! - mmstats files: per program, its rates (requests, bytes, ... per second; one chart per
//!   unit, the largest first) and the interval percentiles of its timers and histograms; a
//!   JVM's heap used by space, time in GC and collections;
//! - perf counters: the cores the tree kept busy, events per second, IPC and miss ratios;
//! - the host: CPU (busy percent, and cores busy by state), memory, disk and network bytes
//!   per second (the busiest devices);
//! - processes: CPU percent and RSS, one line per process of the tree, and their threads;
//! - any other source (JVMs): per process, its rates and gauges, one chart per unit.
//!
//! Series are matched across runs by [`Class`]: source, program name (the process without
//! its pid, which differs from run to run) and label.

use std::collections::BTreeMap;

use super::Loaded;
use crate::store::Series;

/// Charts per source and process at most, for sources without rules of their own.
const GENERIC_CHARTS: usize = 4;
/// Lines per chart at most.
const LINES: usize = 5;

/// What identifies a series across runs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Class {
    /// The source.
    pub source: String,
    /// The program: the process without `:pid`.
    pub program: String,
    /// The label.
    pub label: String,
}

impl Class {
    /// The class of a series.
    pub fn of(s: &Series) -> Class {
        let program = match s.process.rsplit_once(':') {
            Some((name, pid)) if pid.chars().all(|c| c.is_ascii_digit()) => name,
            _ => s.process.as_str(),
        };
        Class {
            source: s.source.clone(),
            program: program.to_string(),
            label: s.label.clone(),
        }
    }
}

/// One chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// The source it belongs to (for grouping in the page).
    pub source: String,
    /// Its title.
    pub title: String,
    /// The unit of its values.
    pub unit: String,
    /// The series on it.
    pub members: Vec<Class>,
    /// Lines are named with their process too (a label asked for, over every process).
    pub by_process: bool,
}

fn mean(s: &Series) -> f64 {
    if s.points.is_empty() {
        return 0.0;
    }
    s.points.iter().map(|(_, v)| v.abs()).sum::<f64>() / s.points.len() as f64
}

/// The charts of the most telling series of each source of the runs (the first run's series,
/// then those only later runs have).
pub fn pick(runs: &[Loaded]) -> Vec<Pick> {
    // Every class once, with the series that best represents it (for units and means).
    let mut classes: BTreeMap<Class, &Series> = BTreeMap::new();
    for run in runs {
        for s in &run.series {
            classes.entry(Class::of(s)).or_insert(s);
        }
    }
    let mut out = Vec::new();
    // by (source, program)
    let mut groups: BTreeMap<(String, String), Vec<(&Class, &Series)>> = BTreeMap::new();
    for (c, s) in &classes {
        groups
            .entry((c.source.clone(), c.program.clone()))
            .or_default()
            .push((c, s));
    }
    for ((source, program), members) in &groups {
        match source.as_str() {
            "mmstats" => mmstats(source, program, members, &mut out),
            "perf" => perf(source, members, &mut out),
            // one chart per resource over every process, below
            "process" => {}
            "host" => host(source, members, &mut out),
            _ => generic(source, program, members, &mut out),
        }
    }
    processes(&classes, &mut out);
    out
}

/// The classes of the series of `members` labelled `labels`, in that order (a label no series
/// has is left out).
fn named<L: AsRef<str>>(members: &[(&Class, &Series)], labels: &[L]) -> Vec<Class> {
    labels
        .iter()
        .filter_map(|l| members.iter().find(|(c, _)| c.label == l.as_ref()))
        .map(|(c, _)| (*c).clone())
        .collect()
}

/// Adds a chart of `members`, series of one source with one line each, unless it has none.
fn chart(out: &mut Vec<Pick>, source: &str, title: String, unit: &str, members: Vec<Class>) {
    if !members.is_empty() {
        out.push(Pick {
            source: source.to_string(),
            title,
            unit: unit.to_string(),
            members,
            by_process: false,
        });
    }
}

/// Charts of rates and gauges by unit, the largest series first.
fn by_unit(
    source: &str,
    program: &str,
    members: &[(&Class, &Series)],
    kinds: &[&str],
    what: &str,
    max_charts: usize,
    out: &mut Vec<Pick>,
) {
    let mut units: BTreeMap<&str, Vec<(&Class, &Series)>> = BTreeMap::new();
    for (c, s) in members {
        if kinds.contains(&s.kind.as_str()) {
            units.entry(s.unit.as_str()).or_default().push((c, s));
        }
    }
    let mut charts: Vec<(f64, Pick)> = units
        .into_iter()
        .map(|(unit, mut ms)| {
            ms.sort_by(|a, b| mean(b.1).total_cmp(&mean(a.1)));
            let top = mean(ms[0].1);
            let title = if unit.is_empty() {
                format!("{program}: {what}")
            } else {
                format!("{program}: {what} ({unit})")
            };
            (
                top,
                Pick {
                    source: source.to_string(),
                    title,
                    unit: unit.to_string(),
                    members: ms.iter().take(LINES).map(|(c, _)| (*c).clone()).collect(),
                    by_process: false,
                },
            )
        })
        .collect();
    // Units with moving series first: the ones that say something.
    charts.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.extend(charts.into_iter().take(max_charts).map(|(_, p)| p));
}

fn mmstats(source: &str, program: &str, members: &[(&Class, &Series)], out: &mut Vec<Pick>) {
    jvm(source, program, members, out);
    // Counter rates (not a histogram's count per second, shown with its percentiles).
    let hist_bases: Vec<&str> = members
        .iter()
        .filter_map(|(c, _)| c.label.strip_suffix(".p50"))
        .collect();
    let rates: Vec<(&Class, &Series)> = members
        .iter()
        .filter(|(c, s)| {
            s.kind == "rate"
                && !hist_bases
                    .iter()
                    .any(|b| c.label.strip_suffix(".rate") == Some(*b))
        })
        .copied()
        .collect();
    by_unit(source, program, &rates, &["rate"], "rates", 3, out);
    // Interval percentiles of timers first, then of other histograms.
    let mut hists: Vec<(&str, &Series)> = hist_bases
        .iter()
        .filter_map(|b| {
            let p50 = members
                .iter()
                .find(|(c, _)| c.label == format!("{b}.p50"))?;
            Some((*b, p50.1))
        })
        .collect();
    hists.sort_by_key(|(_, s)| s.unit != "nanoseconds");
    for (base, s) in hists.into_iter().take(3) {
        let labels = ["p50", "p90", "p99"].map(|q| format!("{base}.{q}"));
        chart(
            out,
            source,
            format!("{program}: {base} per interval ({})", s.unit),
            &s.unit,
            named(members, &labels),
        );
    }
    by_unit(source, program, members, &["gauge"], "gauges", 1, out);
}

fn perf(source: &str, members: &[(&Class, &Series)], out: &mut Vec<Pick>) {
    let mut chart = |title: &str, unit: &str, labels: &[&str]| {
        chart(out, source, title.to_string(), unit, named(members, labels));
    };
    chart(
        "perf: CPU used by the tree (cores)",
        "cores",
        &["perf.task_clock.rate"],
    );
    chart(
        "perf: events per second",
        "1/s",
        &[
            "perf.context_switches.rate",
            "perf.cpu_migrations.rate",
            "perf.page_faults.rate",
        ],
    );
    chart("perf: instructions per cycle", "", &["perf.ipc"]);
    chart(
        "perf: miss ratios",
        "",
        &["perf.cache_miss_ratio", "perf.branch_miss_ratio"],
    );
}

/// A JVM's charts, from its performance data (`sun.gc.*`): heap used by space (eden,
/// survivors, old: the `U` columns of `jstat -gc`), time in GC per second of each collector,
/// and each collector's count of collections.
fn jvm(source: &str, program: &str, members: &[(&Class, &Series)], out: &mut Vec<Pick>) {
    let matching = |f: &dyn Fn(&str) -> bool| -> Vec<Class> {
        let mut ms: Vec<(&Class, &Series)> = members
            .iter()
            .filter(|(c, _)| f(&c.label))
            .copied()
            .collect();
        ms.sort_by(|a, b| mean(b.1).total_cmp(&mean(a.1)));
        ms.iter().take(LINES).map(|(c, _)| (*c).clone()).collect()
    };
    let collector = |l: &str, sfx: &str| {
        l.strip_prefix("sun.gc.collector.")
            .and_then(|r| r.strip_suffix(sfx))
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
    };
    let charts = [
        (
            "heap used by space (bytes)",
            "bytes",
            matching(&|l| {
                l.starts_with("sun.gc.generation.") && l.contains(".space.") && l.ends_with(".used")
            }),
        ),
        (
            "GC time (seconds per second)",
            "seconds/s",
            matching(&|l| collector(l, ".time.rate")),
        ),
        ("GC count", "", matching(&|l| collector(l, ".invocations"))),
    ];
    for (what, unit, ms) in charts {
        chart(out, source, format!("{program}: {what}"), unit, ms);
    }
}

fn host(source: &str, members: &[(&Class, &Series)], out: &mut Vec<Pick>) {
    let mut chart = |title: &str, unit: &str, ms: Vec<Class>| {
        chart(out, source, title.to_string(), unit, ms);
    };
    // The busiest devices of the series `host.<family>.<dev>.<suffix>`, with every suffix of
    // one device charted together.
    let busiest = |family: &str, suffixes: &[&str]| -> Vec<Class> {
        let mut devs: BTreeMap<&str, f64> = BTreeMap::new();
        for (c, s) in members {
            let Some(rest) = c.label.strip_prefix(family) else {
                continue;
            };
            for sfx in suffixes {
                if let Some(dev) = rest.strip_suffix(sfx) {
                    *devs.entry(dev).or_default() += mean(s);
                }
            }
        }
        let mut devs: Vec<(&str, f64)> = devs.into_iter().collect();
        devs.sort_by(|a, b| b.1.total_cmp(&a.1));
        // Devices that moved; the busiest one alone when none did (a flat line says so).
        let moved = devs.iter().filter(|d| d.1 > 0.0).count().max(1);
        devs.truncate(moved);
        let labels: Vec<String> = devs
            .iter()
            .take(LINES.div_ceil(suffixes.len()))
            .flat_map(|(dev, _)| {
                suffixes
                    .iter()
                    .map(move |sfx| format!("{family}{dev}{sfx}"))
            })
            .collect();
        named(members, &labels)
    };
    chart(
        "host: CPU busy (percent, 100 per core)",
        "percent",
        named(members, &["host.cpu.percent"]),
    );
    chart(
        "host: CPU by state (cores)",
        "cores",
        named(
            members,
            &[
                "host.cpu.user.rate",
                "host.cpu.system.rate",
                "host.cpu.iowait.rate",
                "host.cpu.steal.rate",
                "host.cpu.softirq.rate",
            ],
        ),
    );
    chart(
        "host: memory (bytes)",
        "bytes",
        named(
            members,
            &[
                "host.mem.used",
                "host.mem.available",
                "host.mem.cached",
                "host.mem.dirty",
                "host.swap.used",
            ],
        ),
    );
    chart(
        "host: disk (bytes/s)",
        "bytes/s",
        busiest("host.disk.", &[".read.bytes.rate", ".write.bytes.rate"]),
    );
    chart(
        "host: network (bytes/s)",
        "bytes/s",
        busiest("host.net.", &[".rx.bytes.rate", ".tx.bytes.rate"]),
    );
}

/// Charts of one resource per process, over every process of the runs (the busiest first).
fn processes(classes: &BTreeMap<Class, &Series>, out: &mut Vec<Pick>) {
    for (label, title, unit) in [
        (
            "proc.cpu.percent",
            "processes: CPU (percent, 100 per core)",
            "percent",
        ),
        (
            "proc.mem.rss",
            "processes: resident memory (bytes)",
            "bytes",
        ),
        ("proc.threads", "processes: threads", ""),
    ] {
        let mut ms: Vec<(&Class, &Series)> = classes
            .iter()
            .filter(|(c, _)| c.source == "process" && c.label == label)
            .map(|(c, s)| (c, *s))
            .collect();
        if ms.is_empty() {
            continue;
        }
        ms.sort_by(|a, b| mean(b.1).total_cmp(&mean(a.1)));
        out.push(Pick {
            source: "process".to_string(),
            title: title.to_string(),
            unit: unit.to_string(),
            members: ms.iter().take(LINES).map(|(c, _)| (*c).clone()).collect(),
            by_process: true,
        });
    }
}

fn generic(source: &str, program: &str, members: &[(&Class, &Series)], out: &mut Vec<Pick>) {
    let title = format!("{source} {program}");
    by_unit(
        source,
        &title,
        members,
        &["rate", "gauge", "interval"],
        "values",
        GENERIC_CHARTS,
        out,
    );
}

/// A chart of every series labelled `label`, over every source and process; `None` if no run
/// has one.
pub fn label(runs: &[Loaded], label: &str) -> Option<Pick> {
    let mut members: Vec<Class> = Vec::new();
    let mut unit = String::new();
    let mut source = String::new();
    for run in runs {
        for s in run.series.iter().filter(|s| s.label == label) {
            let c = Class::of(s);
            if !members.contains(&c) {
                unit.clone_from(&s.unit);
                source.clone_from(&s.source);
                members.push(c);
            }
        }
    }
    if members.is_empty() {
        return None;
    }
    Some(Pick {
        source,
        title: if unit.is_empty() {
            label.to_string()
        } else {
            format!("{label} ({unit})")
        },
        unit,
        members,
        by_process: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::RunInfo;

    fn s(source: &str, process: &str, label: &str, kind: &str, unit: &str, v: f64) -> Series {
        Series {
            source: source.into(),
            process: process.into(),
            label: label.into(),
            kind: kind.into(),
            unit: unit.into(),
            points: vec![(0, v), (1000, v)],
        }
    }

    #[test]
    fn the_telling_series_are_picked() {
        let run = Loaded {
            dir: ".".into(),
            info: RunInfo::default(),
            note: None,
            series: vec![
                s(
                    "mmstats",
                    "web:1",
                    "web.requests.rate",
                    "rate",
                    "requests/s",
                    1000.0,
                ),
                s(
                    "mmstats",
                    "web:1",
                    "web.errors.rate",
                    "rate",
                    "requests/s",
                    10.0,
                ),
                s(
                    "mmstats",
                    "web:1",
                    "web.latency.rate",
                    "rate",
                    "1/s",
                    1000.0,
                ),
                s(
                    "mmstats",
                    "web:1",
                    "web.latency.p50",
                    "interval",
                    "nanoseconds",
                    5.0,
                ),
                s(
                    "mmstats",
                    "web:1",
                    "web.latency.p99",
                    "interval",
                    "nanoseconds",
                    9.0,
                ),
                s(
                    "mmstats",
                    "web:1",
                    "web.requests",
                    "counter",
                    "requests",
                    9.0,
                ),
                s("perf", "tree", "perf.task_clock.rate", "rate", "cores", 0.5),
            ],
        };
        let picks = pick(std::slice::from_ref(&run));
        let titles: Vec<&str> = picks.iter().map(|p| p.title.as_str()).collect();
        assert!(titles.contains(&"web: rates (requests/s)"), "{titles:?}");
        assert!(
            titles.contains(&"web: web.latency per interval (nanoseconds)"),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"perf: CPU used by the tree (cores)"),
            "{titles:?}"
        );
        // a histogram's count per second is shown with it, not as a counter's rate
        assert!(!titles.iter().any(|t| t.contains("(1/s)")), "{titles:?}");
        let rates = picks.iter().find(|p| p.title.contains("rates")).unwrap();
        assert_eq!(rates.members[0].label, "web.requests.rate");
        assert_eq!(rates.members[0].program, "web");
        assert!(label(std::slice::from_ref(&run), "web.requests").is_some());
        assert!(label(std::slice::from_ref(&run), "nothing").is_none());
    }
}
