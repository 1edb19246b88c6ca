//! `runstats export`: a run's samples as a wide CSV (one row per instant, one column per
//! series, as dstat and jstat users expect), NDJSON (one object per sample) or an
//! Elasticsearch bulk body.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;

use anyhow::{Result, bail};
use mmstats_render::csv::escape;
use serde_json::json;

use crate::cli::ExportArgs;
use crate::run::{RunInfo, SAMPLES_DB};
use crate::store::{Series, load};

/// Writes the export `args` asks for on standard output.
pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let series = load(&args.dir.join(SAMPLES_DB))?;
    let run_id = RunInfo::load(&args.dir).map_or_else(|_| args.dir.display().to_string(), |r| r.id);
    let mut out = BufWriter::new(io::stdout().lock());
    if args.csv {
        csv(&series, &mut out)?;
    } else if args.ndjson {
        ndjson(&series, &run_id, None, &mut out)?;
    } else if args.es_bulk {
        ndjson(&series, &run_id, Some(&args.index), &mut out)?;
    } else {
        bail!("choose a format: --csv, --ndjson or --es-bulk");
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The wide CSV: a header `time_ms,<source/process/label>...`, then one row per instant at
/// which any series has a sample; a series without a sample at that instant has an empty cell.
pub fn csv(series: &[Series], out: &mut dyn Write) -> io::Result<()> {
    let times: BTreeSet<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(t, _)| *t))
        .collect();
    let columns: Vec<BTreeMap<i64, f64>> = series
        .iter()
        .map(|s| s.points.iter().copied().collect())
        .collect();
    write!(out, "time_ms")?;
    for s in series {
        write!(out, ",{}", escape(&s.key()))?;
    }
    writeln!(out)?;
    for t in times {
        write!(out, "{t}")?;
        for c in &columns {
            match c.get(&t) {
                Some(v) => write!(out, ",{v}")?,
                None => write!(out, ",")?,
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

/// One JSON object per sample and line: `@timestamp` (Unix milliseconds), run, source,
/// process, label, kind, unit, value. With `index`, each is preceded by an Elasticsearch bulk
/// `index` action line, making the whole a `_bulk` request body.
pub fn ndjson(
    series: &[Series],
    run: &str,
    index: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let action = index.map(|i| json!({"index": {"_index": i}}).to_string());
    for s in series {
        for (t, v) in &s.points {
            if let Some(a) = &action {
                writeln!(out, "{a}")?;
            }
            let doc = json!({
                "@timestamp": t,
                "run": run,
                "source": s.source,
                "process": s.process,
                "label": s.label,
                "kind": s.kind,
                "unit": s.unit,
                "value": v,
            });
            writeln!(out, "{doc}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, points: &[(i64, f64)]) -> Series {
        Series {
            source: "mmstats".into(),
            process: "a,b:1".into(),
            label: label.into(),
            kind: "counter".into(),
            unit: String::new(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn csv_has_a_row_per_instant_and_a_column_per_series() {
        let mut out = Vec::new();
        csv(
            &[series("x", &[(1, 1.5), (2, 2.0)]), series("y", &[(2, 7.0)])],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "time_ms,\"mmstats/a,b:1/x\",\"mmstats/a,b:1/y\"\n1,1.5,\n2,2,7\n"
        );
    }

    #[test]
    fn bulk_bodies_alternate_actions_and_documents() {
        let mut out = Vec::new();
        ndjson(&[series("x", &[(5, 1.0)])], "r", Some("idx"), &mut out).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["index"]["_index"], "idx");
        assert_eq!(lines[1]["@timestamp"], 5);
        assert_eq!(lines[1]["label"], "x");
    }
}
