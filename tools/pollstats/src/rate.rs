//! One cell's value: a label (or one of its derived values, `latency.p99`) of a series from
//! the reader's interval engine ([`mmstats_reader::Intervals`]), which owns every rule for
//! rates, interval means and percentiles, thread exits, process restarts and wraps.

use std::borrow::Cow;

use mmstats_reader::labels::{parse_series, selects};
use mmstats_reader::{Kind, Series, Value};
use mmstats_render::units::{derived_unit, field_unit, never_scaled};

/// One cell: a number in a unit, or a text, or nothing yet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    /// The number, if there is one.
    pub value: Option<f64>,
    /// The text, for text fields (and constants that differ between processes).
    pub text: Option<String>,
    /// The unit of `value`.
    pub unit: String,
    /// The value is a rate per second.
    pub per_second: bool,
    /// The value is a point in time (Unix seconds × the unit's seconds).
    pub time: bool,
    /// The value is an identifier or version: shown whole, never scaled.
    pub exact: bool,
}

/// Finds `label` among series: the series whose series key is exactly `label`; else the
/// series of the family `label` names, or of `name{key=value,...}` those whose labels match
/// ([`mmstats_reader::labels::selects`], FORMAT.md §3.5), combined into one; else the series
/// named by all but the last dotted part (with the same optional label set) with that part as
/// a derived value (`latency.p99` is the `p99` of `latency`, `requests.total` a counter's
/// continuous total).
pub fn find<'a, 'l>(
    series: &'a [Series],
    label: &'l str,
) -> Option<(Cow<'a, Series>, Option<&'l str>)> {
    if let Some(s) = exact_or_selected(series, label) {
        return Some((s, None));
    }
    let (name, set) = label.find('{').map_or((label, ""), |i| label.split_at(i));
    let (base, suffix) = name.rsplit_once('.')?;
    let s = exact_or_selected(series, &format!("{base}{set}"))?;
    let compound = matches!(
        s.meta.kind,
        Kind::Average | Kind::MovingAverage | Kind::Histogram | Kind::Timer | Kind::Windowed
    ) || (s.meta.kind == Kind::Counter
        && matches!(suffix, "total" | "rate" | "delta"));
    compound.then_some((s, Some(suffix)))
}

/// The series whose key is `column`, else the labelled series of the family it names whose
/// labels its label set selects, combined into one.
fn exact_or_selected<'a>(series: &'a [Series], column: &str) -> Option<Cow<'a, Series>> {
    if let Some(s) = series.iter().find(|s| s.meta.series_key() == column) {
        return Some(Cow::Borrowed(s));
    }
    let selector = parse_series(column)?;
    let chosen: Vec<&Series> = series
        .iter()
        .filter(|s| {
            !s.meta.labels.is_empty()
                && s.meta.name() == selector.0
                && selects(&selector, s.meta.name(), &s.meta.labels)
        })
        .collect();
    match chosen.as_slice() {
        [] => None,
        [one] => Some(Cow::Borrowed(*one)),
        _ => Series::combined_of(chosen).map(Cow::Owned),
    }
}

/// The cell for `label` among `series` (one process's, one file's, or several combined).
pub fn cell(series: &[Series], label: &str) -> Cell {
    let Some((s, suffix)) = find(series, label) else {
        return Cell::default();
    };
    let meta = &*s.meta;
    let mut cell = Cell {
        unit: match suffix {
            Some("total" | "delta") => field_unit(meta).to_string(),
            Some(sfx) => derived_unit(meta, sfx).to_string(),
            None => field_unit(meta).to_string(),
        },
        per_second: match suffix {
            None => s.is_rate(),
            Some(sfx) => sfx == "rate",
        },
        time: suffix.is_none() && meta.kind == Kind::Timestamp,
        exact: suffix.is_none() && never_scaled(meta.kind),
        ..Cell::default()
    };
    if suffix.is_none() {
        if let Some(Value::Text(t)) = &s.value {
            cell.text = Some(t.to_string());
            return cell;
        }
        if !s.distinct.is_empty() {
            let parts: Vec<String> = s.distinct.iter().map(short_value).collect();
            cell.text = Some(parts.join(","));
            return cell;
        }
    }
    cell.value = s.number(suffix);
    cell
}

fn short_value(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Text(t) => t.to_string(),
        other => other.primary().map(|x| x.to_string()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::tests::{m, snap};
    use mmstats_reader::{HistogramValue, Intervals, Num, Snapshot, ValueType};

    fn counter(name: &str, at: f64, v: u64) -> Snapshot {
        snap(
            name,
            at,
            vec![(
                m("req", Kind::Counter, ValueType::U64),
                Value::Number(Num::U(v)),
            )],
        )
    }

    fn sample(e: &mut Intervals, label: &str, snaps: &[Snapshot]) -> Cell {
        cell(&e.update(snaps).combined(), label)
    }

    #[test]
    fn counters_are_summed_rates_over_processes() {
        let mut e = Intervals::new().assume_alive();
        let first = sample(
            &mut e,
            "req",
            &[counter("a", 10.0, 100), counter("bb", 10.0, 1000)],
        );
        assert_eq!(first.value, None, "no rate before a second sample");
        let c = sample(
            &mut e,
            "req",
            &[counter("a", 12.0, 120), counter("bb", 12.0, 1100)],
        );
        assert_eq!(c.value, Some(10.0 + 50.0));
        assert!(c.per_second);
        let total = sample(
            &mut e,
            "req.total",
            &[counter("a", 13.0, 120), counter("bb", 13.0, 1100)],
        );
        assert_eq!(total.value, Some(1220.0));
        assert!(!total.per_second);
        assert_eq!(
            sample(&mut e, "missing", &[counter("a", 14.0, 1)]),
            Cell::default()
        );
    }

    #[test]
    fn label_selectors_combine_the_series_they_match_in_every_process() {
        let file = |name: &str, at: f64, get: u64, err: u64| {
            let c = |code: &str, n: u64| {
                (
                    m("http.requests", Kind::Counter, ValueType::U64)
                        .with_labels([("code", code), ("method", "GET")]),
                    Value::Number(Num::U(n)),
                )
            };
            snap(name, at, vec![c("200", get), c("503", err)])
        };
        let columns = [
            "http.requests",
            "http.requests{code=5xx}",
            "http.requests{code=\"200\",method=GET}",
        ];
        let mut e = Intervals::new().assume_alive();
        let first = e
            .update(&[file("a", 1.0, 10, 1), file("bb", 1.0, 20, 2)])
            .combined();
        assert_eq!(cell(&first, columns[0]).value, None, "no rate yet");
        let series = e
            .update(&[file("a", 3.0, 30, 5), file("bb", 3.0, 40, 4)])
            .combined();
        let cells: Vec<Option<f64>> = columns.iter().map(|c| cell(&series, c).value).collect();
        // (20 + 4 + 20 + 2) / 2 s; (4 + 2) / 2 s; (20 + 20) / 2 s
        assert_eq!(cells, [Some(23.0), Some(3.0), Some(20.0)]);
        assert!(cell(&series, columns[1]).per_second);
        assert_eq!(
            cell(&series, "http.requests.total{code=5xx}").value,
            Some(9.0)
        );
        assert_eq!(cell(&series, "http.requests{code=4xx}").value, None);
    }

    #[test]
    fn named_timer_values_describe_the_interval() {
        let t = |name: &str, at: f64, vals: &[u64]| {
            let mut meta = m("lat", Kind::Timer, ValueType::U64);
            meta.param = 5;
            meta.capacity = 1920;
            let mut h = HistogramValue::empty(5, 1920);
            for v in vals {
                h.record(*v);
            }
            snap(name, at, vec![(meta, Value::Histogram(h.into()))])
        };
        let old: Vec<u64> = vec![100; 100_000];
        let mut slow = old.clone();
        slow.extend([300, 5000]);
        for (label, want) in [
            ("lat.count", 3.0),
            ("lat.max", 5000.0),
            ("lat.min", 300.0),
            ("lat.p50", 5000.0),
            ("lat.p99", 5000.0),
        ] {
            let mut e = Intervals::new().assume_alive();
            sample(&mut e, label, &[t("a", 1.0, &old), t("bb", 1.0, &[])]);
            // The interval saw 300 and 5000 in a, 5000 in bb.
            let c = sample(&mut e, label, &[t("a", 2.0, &slow), t("bb", 2.0, &[5000])]);
            let got = c.value.unwrap();
            assert!(
                (got - want).abs() <= want * 0.016,
                "{label}: {got} vs {want}"
            );
            let idle = sample(&mut e, label, &[t("a", 3.0, &slow), t("bb", 3.0, &[5000])]);
            if label == "lat.count" {
                assert_eq!(idle.value, Some(0.0));
            } else {
                assert_eq!(idle.value, None, "{label} of an idle interval");
            }
        }
    }

    #[test]
    fn timestamps_are_times_and_constants_exact() {
        let mut ts = m("started", Kind::Timestamp, ValueType::F64);
        ts.unit = "seconds".into();
        let s = snap(
            "a",
            1.0,
            vec![
                (ts, Value::Number(Num::F(1.7e9))),
                (
                    m("sys.pid", Kind::Constant, ValueType::U32),
                    Value::Number(Num::U(13_900)),
                ),
            ],
        );
        let mut e = Intervals::new().assume_alive();
        let series = e.update([&s]).combined();
        let t = cell(&series, "started");
        assert!(t.time && t.value == Some(1.7e9));
        let p = cell(&series, "sys.pid");
        assert!(p.exact && p.value == Some(13_900.0));
    }
}
