//! The report page: self-contained HTML (charts as PNG data URIs, inline style, a content
//! security policy that forbids every request), so it opens anywhere without a network.

use std::fmt::Write;

use base64::Engine;
use mmstats_render::units::{compact, duration};

use super::pick::Class;
use super::summary::Summary;
use super::{Alignment, Loaded, by_source};
use crate::source::Unavailable;
use crate::store::Series;

/// A drawn chart.
#[derive(Debug)]
pub(super) struct Figure {
    pub(super) source: String,
    pub(super) title: String,
    pub(super) file: String,
    pub(super) png: Vec<u8>,
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 1.6em; } h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure img { display: block; border: 1px solid #ddd; max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
.unavailable { color: #8a4b00; }
";

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(v: f64, unit: &str) -> String {
    esc(&compact(v, unit))
}

/// The whole page.
pub(super) fn page(
    runs: &[Loaded],
    charts: &[Figure],
    missing: &[String],
    align: Alignment,
) -> String {
    let mut h = String::new();
    let title = match runs {
        [one] => format!("runstats: {}", one.info.id),
        _ => format!(
            "runstats: {}",
            runs.iter()
                .map(|r| r.info.id.as_str())
                .collect::<Vec<_>>()
                .join(" vs ")
        ),
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    summary(&mut h, runs);
    if runs.len() > 1 {
        alignment(&mut h, runs, align);
    }
    for m in missing {
        let _ = writeln!(
            h,
            "<p class=\"unavailable\">No run has a series labelled <code>{}</code>.</p>",
            esc(m)
        );
    }
    // Charts, by source.
    let mut sources: Vec<&str> = charts.iter().map(|c| c.source.as_str()).collect();
    sources.dedup();
    let mut seen = Vec::new();
    for src in sources {
        if seen.contains(&src) {
            continue;
        }
        seen.push(src);
        let _ = writeln!(h, "<h2>Charts: {}</h2>", esc(src));
        for c in charts.iter().filter(|c| c.source == src) {
            let data = base64::engine::general_purpose::STANDARD.encode(&c.png);
            let _ = writeln!(
                h,
                "<figure><img class=\"chart\" alt=\"{t}\" src=\"data:image/png;base64,{data}\" \
                 width=\"{w}\" height=\"{hh}\"><figcaption>{t} ({f})</figcaption></figure>",
                t = esc(&c.title),
                f = esc(&c.file),
                w = super::chart::WIDTH,
                hh = super::chart::HEIGHT,
            );
        }
    }
    if runs.len() > 1 {
        changes(&mut h, runs);
    }
    for run in runs {
        tables(&mut h, run, runs.len() > 1);
    }
    h.push_str("</body></html>\n");
    h
}

fn summary(h: &mut String, runs: &[Loaded]) {
    h.push_str("<h2>Runs</h2>\n<table class=\"runs\"><tr><th></th>");
    for r in runs {
        let _ = write!(h, "<th>{}</th>", esc(&r.info.id));
    }
    h.push_str("</tr>\n");
    let row = |h: &mut String, name: &str, f: &dyn Fn(&Loaded) -> String| {
        let _ = write!(h, "<tr><th>{}</th>", esc(name));
        for r in runs {
            let _ = write!(h, "<td>{}</td>", esc(&f(r)));
        }
        h.push_str("</tr>\n");
    };
    row(h, "command", &|r| r.info.command_line());
    row(h, "description", &|r| r.info.description.clone());
    row(h, "directory", &|r| r.dir.display().to_string());
    row(h, "started", &|r| r.info.started.clone());
    row(h, "duration", &|r| match r.info.ended_ms {
        Some(end) => duration((end - r.info.started_ms) as f64 / 1000.0),
        None => "unknown: recording did not end cleanly (runstats was killed?)".into(),
    });
    row(h, "exit", &|r| match &r.info.exit {
        Some(e) => match (&e.code, &e.signal) {
            (_, Some(sig)) => format!("killed by {sig} (status {})", e.status),
            (Some(c), None) => format!("exit status {c}"),
            (None, None) => format!("status {}", e.status),
        },
        None => "unknown".into(),
    });
    row(h, "stopped by", &|r| {
        r.info
            .stopped_by
            .clone()
            .unwrap_or_else(|| "the command's exit".into())
    });
    row(h, "host", &|r| {
        format!(
            "{} ({}, {} CPUs: {})",
            r.info.host.name, r.info.host.kernel, r.info.host.cpus, r.info.host.cpu_model
        )
    });
    row(h, "interval", &|r| format!("{} ms", r.info.interval_ms));
    row(h, "sources", &|r| r.info.sources.join(", "));
    row(h, "series", &|r| r.series.len().to_string());
    row(h, "problems", &|r| {
        let mut p = r.info.problems.join("; ");
        if let Some(n) = &r.note {
            p = format!("{n}; {p}");
        }
        p
    });
    h.push_str("</table>\n");
    unavailable(h, runs);
}

/// What each run could not record: one list for the runs that lack the same (`Not recorded
/// in any run` when they all do), one line per reason.
fn unavailable(h: &mut String, runs: &[Loaded]) {
    let mut groups: Vec<(&[Unavailable], Vec<&str>)> = Vec::new();
    for r in runs.iter().filter(|r| !r.info.unavailable.is_empty()) {
        let list = r.info.unavailable.as_slice();
        match groups.iter_mut().find(|(l, _)| *l == list) {
            Some((_, ids)) => ids.push(&r.info.id),
            None => groups.push((list, vec![&r.info.id])),
        }
    }
    for (list, ids) in groups {
        let whose = if runs.len() > 1 && ids.len() == runs.len() {
            "any run".to_string()
        } else {
            ids.iter().map(|id| esc(id)).collect::<Vec<_>>().join(", ")
        };
        let _ = writeln!(
            h,
            "<h3 class=\"unavailable\">Not recorded in {whose} (unavailable, not zero)</h3><ul class=\"unavailable\">"
        );
        // One line per reason, naming everything it kept out.
        for (why, whats) in Unavailable::by_reason(list) {
            let names: Vec<String> = whats
                .iter()
                .map(|w| format!("<code>{}</code>", esc(w)))
                .collect();
            let _ = writeln!(h, "<li>{}: {}</li>", names.join(", "), esc(why));
        }
        h.push_str("</ul>\n");
    }
}

/// Says how the runs share the charts' time axis.
fn alignment(h: &mut String, runs: &[Loaded], align: Alignment) {
    let hosts: std::collections::BTreeSet<&str> =
        runs.iter().map(|r| r.info.host.name.as_str()).collect();
    let text = match align {
        Alignment::Together(_) => format!(
            "These runs were recording at the same time{}: the charts put them on one clock, \
             in seconds since the earliest run's start, so that what happened at one moment \
             lines up across them (runs of different machines line up as closely as the \
             machines' clocks agree).",
            if hosts.len() > 1 {
                format!(" on {} machines", hosts.len())
            } else {
                String::new()
            }
        ),
        Alignment::Starts => "These runs were recorded one after another: the charts align \
             them by their starts, each in seconds since its own start, so that their courses \
             can be compared; the same second of two runs is not the same moment."
            .to_string(),
    };
    let _ = writeln!(h, "<p class=\"alignment\">{}</p>", esc(&text));
}

fn tables(h: &mut String, run: &Loaded, name_run: bool) {
    for (source, series) in by_source(run) {
        if name_run {
            let _ = writeln!(
                h,
                "<h2>Series: {} in {}</h2>",
                esc(source),
                esc(&run.info.id)
            );
        } else {
            let _ = writeln!(h, "<h2>Series: {}</h2>", esc(source));
        }
        h.push_str(
            "<table class=\"series\"><tr><th>series</th><th>process</th><th>kind</th>\
             <th>unit</th><th>samples</th><th>min</th><th>mean</th><th>p50</th><th>p95</th>\
             <th>max</th><th>rate</th></tr>\n",
        );
        for s in series {
            let Some(sum) = Summary::of(s) else { continue };
            let u = s.unit.as_str();
            let rate = sum
                .rate
                .map_or_else(String::new, |r| format!("{}/s", num(r, u)));
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{rate}</td></tr>",
                esc(&s.label),
                esc(&s.process),
                esc(&s.kind),
                esc(u),
                sum.samples,
                num(sum.min, u),
                num(sum.mean, u),
                num(sum.p50, u),
                num(sum.p95, u),
                num(sum.max, u),
            );
        }
        h.push_str("</table>\n");
    }
}

/// The order of the sources in the table of changes: the program's own series first.
fn source_rank(source: &str) -> usize {
    ["mmstats", "perf", "process", "host"]
        .iter()
        .position(|s| *s == source)
        .unwrap_or(4)
}

/// The series the table of changes compares: all but counters' running totals, whose medians
/// say nothing of a run (their rates, series of their own, say how fast they went), the
/// program's own first, then perf's, the processes' and the host's.
fn compared(series: &[Series]) -> Vec<&Series> {
    let mut v: Vec<&Series> = series.iter().filter(|s| s.kind != "counter").collect();
    v.sort_by_key(|s| source_rank(&s.source));
    v
}

/// The table comparing each later run with the first: medians, which the partial intervals at
/// a run's start and end do not move, and their ratio.
fn changes(h: &mut String, runs: &[Loaded]) {
    let base = &runs[0];
    let _ = write!(
        h,
        "<h2>Changes against {}</h2>\n<table class=\"changes\"><tr><th>series</th>\
         <th>program</th><th>unit</th><th>{} median</th>",
        esc(&base.info.id),
        esc(&base.info.id)
    );
    for r in &runs[1..] {
        let _ = write!(h, "<th>{} median</th><th>ratio</th>", esc(&r.info.id));
    }
    h.push_str("</tr>\n");
    for s in compared(&base.series) {
        let c = Class::of(s);
        let Some(a) = Summary::of(s) else { continue };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>",
            esc(&c.label),
            esc(&c.program),
            esc(&s.unit),
            num(a.p50, &s.unit)
        );
        for r in &runs[1..] {
            match r.find(&c).and_then(Summary::of) {
                Some(b) => {
                    let ratio = if a.p50 != 0.0 {
                        format!("{:.2}x", b.p50 / a.p50)
                    } else {
                        String::new()
                    };
                    let _ = write!(
                        h,
                        "<td class=\"n\">{}</td><td class=\"n\">{ratio}</td>",
                        num(b.p50, &s.unit)
                    );
                }
                None => h.push_str("<td>absent</td><td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_that_lack_the_same_share_one_list() {
        use crate::run::RunInfo;
        let lack = |what: &str| Unavailable {
            source: "perf".into(),
            what: what.into(),
            reason: "not offered".into(),
        };
        let run = |id: &str, unavailable: Vec<Unavailable>| Loaded {
            dir: ".".into(),
            info: RunInfo {
                id: id.into(),
                unavailable,
                ..RunInfo::default()
            },
            note: None,
            series: Vec::new(),
        };
        let page = |runs: &[Loaded]| {
            let mut h = String::new();
            unavailable(&mut h, runs);
            h
        };
        let both = page(&[
            run("a", vec![lack("perf.cycles")]),
            run("b", vec![lack("perf.cycles")]),
        ]);
        assert_eq!(both.matches("<h3").count(), 1, "{both}");
        assert!(both.contains("Not recorded in any run"), "{both}");
        assert!(
            both.contains("<li><code>perf.cycles</code>: not offered</li>"),
            "{both}"
        );
        let apart = page(&[
            run("a", vec![lack("perf.cycles")]),
            run("b", vec![lack("perf.cycles"), lack("perf.instructions")]),
            run("c", vec![lack("perf.cycles")]),
            run("d", Vec::new()),
        ]);
        assert_eq!(apart.matches("<h3").count(), 2, "{apart}");
        assert!(
            apart.contains("Not recorded in a, c (unavailable"),
            "{apart}"
        );
        assert!(apart.contains("Not recorded in b (unavailable"), "{apart}");
        let one = page(&[run("a", vec![lack("perf.cycles")])]);
        assert!(one.contains("Not recorded in a (unavailable"), "{one}");
    }

    #[test]
    fn changes_leave_out_running_totals_and_put_the_programs_series_first() {
        let series = |source: &str, label: &str, kind: &str| Series {
            source: source.into(),
            process: "web:1".into(),
            label: label.into(),
            kind: kind.into(),
            unit: String::new(),
            points: vec![(0, 1.0)],
        };
        let all = [
            series("host", "host.cpu.user", "counter"),
            series("host", "host.cpu.user.rate", "rate"),
            series("mmstats", "web.requests", "counter"),
            series("mmstats", "web.requests.rate", "rate"),
            series("process", "proc.mem.rss", "gauge"),
            series("perf", "perf.task_clock.rate", "rate"),
            series("mmstats", "web.latency.p99", "histogram"),
        ];
        let labels: Vec<&str> = compared(&all).iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "web.requests.rate",
                "web.latency.p99",
                "perf.task_clock.rate",
                "proc.mem.rss",
                "host.cpu.user.rate"
            ]
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
