//! `samples.db`: the samples of a run in SQLite, written in WAL mode and committed every few
//! seconds, so that a full disk or a killed runstats leaves a valid database holding the run
//! so far.
//!
//! # Schema
//!
//! ```sql
//! CREATE TABLE run    (id TEXT PRIMARY KEY, command TEXT NOT NULL, description TEXT NOT NULL,
//!                      started_ms INTEGER NOT NULL);
//! CREATE TABLE series (id INTEGER PRIMARY KEY, source TEXT NOT NULL, process TEXT NOT NULL,
//!                      label TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL,
//!                      UNIQUE (source, process, label));
//! CREATE TABLE points (series INTEGER NOT NULL REFERENCES series(id),
//!                      time_ms INTEGER NOT NULL, value REAL NOT NULL);
//! -- one row per sample per series
//! CREATE VIEW samples AS
//!   SELECT run.id AS run, p.time_ms, s.source, s.process, s.label, s.kind, s.unit, p.value
//!   FROM points p JOIN series s ON s.id = p.series, run;
//! ```
//!
//! `time_ms` is Unix milliseconds. `kind` is the field's kind (`counter`, `gauge`, ...),
//! `rate` for a change per second, `interval` for a statistic of one interval (a histogram's
//! percentiles, a ratio of perf counters), `windowed` for a window's rate or mean. For example:
//!
//! ```sh
//! sqlite3 run/samples.db "SELECT time_ms, value FROM samples WHERE label = 'web.requests.rate'"
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rusqlite::{Connection, OpenFlags, params};

use crate::source::Sample;

/// How often samples are committed at most.
pub const COMMIT_EVERY: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS run (id TEXT PRIMARY KEY, command TEXT NOT NULL,
    description TEXT NOT NULL, started_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, source TEXT NOT NULL,
    process TEXT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, unit TEXT NOT NULL,
    UNIQUE (source, process, label));
CREATE TABLE IF NOT EXISTS points (series INTEGER NOT NULL REFERENCES series(id),
    time_ms INTEGER NOT NULL, value REAL NOT NULL);
CREATE VIEW IF NOT EXISTS samples AS
  SELECT run.id AS run, p.time_ms, s.source, s.process, s.label, s.kind, s.unit, p.value
  FROM points p JOIN series s ON s.id = p.series, run;
";

/// The ids of the stored series: source → process → label → id (looked up by borrowed
/// names, so that a tick's samples cost no key of their own).
type SeriesIds = HashMap<&'static str, HashMap<String, HashMap<String, i64>>>;

/// Writes samples into a run's database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    series: SeriesIds,
    /// Series added since the last commit: forgotten if their transaction fails.
    uncommitted: Vec<(&'static str, String, String)>,
    in_tx: bool,
    last_commit: Instant,
    /// The points of a tick (series id, value), kept for the next.
    points: Vec<(i64, f64)>,
    /// The statement inserting [`ROWS`] points, written once.
    insert_rows: String,
    /// The previous tick's samples' series, in its order: the sources hand their samples over
    /// in the same order at every tick, so that a sample's series is most often found here,
    /// at its own position, by comparing its names.
    last: Vec<Known>,
}

/// A stored series, by its names.
#[derive(Debug)]
struct Known {
    source: &'static str,
    process: Arc<str>,
    label: Arc<str>,
    id: i64,
}

impl Known {
    /// True if `s` is of this series.
    fn is(&self, s: &Sample) -> bool {
        let same = |a: &Arc<str>, b: &Arc<str>| Arc::ptr_eq(a, b) || a == b;
        same(&self.label, &s.label) && same(&self.process, &s.process) && self.source == s.source
    }
}

/// Points inserted by one statement: many rows to a statement cost SQLite much less than one
/// statement a row, but past about a hundred, preparing the statement (once a tick) costs more
/// than the rows save.
const ROWS: usize = 100;

impl Store {
    /// Creates `samples.db` at `path` for the run `id`.
    pub fn create(
        path: &Path,
        id: &str,
        command: &str,
        description: &str,
        started_ms: i64,
    ) -> Result<Store> {
        let conn =
            Connection::open(path).with_context(|| format!("creating {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
            .and_then(|()| conn.execute_batch(SCHEMA))
            .and_then(|()| {
                conn.execute(
                    "INSERT INTO run (id, command, description, started_ms) VALUES (?1, ?2, ?3, ?4)",
                    params![id, command, description, started_ms],
                )
            })
            .with_context(|| format!("setting up {}", path.display()))?;
        Ok(Store {
            conn,
            series: HashMap::new(),
            uncommitted: Vec::new(),
            in_tx: false,
            last_commit: Instant::now(),
            points: Vec::new(),
            insert_rows: insert_points(ROWS),
            last: Vec::new(),
        })
    }

    /// Adds the samples of one tick at `time_ms`; commits when the last commit is
    /// [`COMMIT_EVERY`] old.
    ///
    /// On an error (a full disk) the samples since the last commit are dropped, and the next
    /// call starts afresh: what was committed stays in the database.
    pub fn insert(&mut self, time_ms: i64, samples: &[Sample]) -> Result<()> {
        let result = self.try_insert(time_ms, samples);
        if result.is_err() {
            self.abort();
        }
        result
    }

    /// Rolls back the open transaction and forgets the series it added.
    fn abort(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
        self.in_tx = false;
        self.last.clear();
        for (source, process, label) in self.uncommitted.drain(..) {
            if let Some(labels) = self
                .series
                .get_mut(source)
                .and_then(|p| p.get_mut(&process))
            {
                labels.remove(&label);
            }
        }
        self.last_commit = Instant::now();
    }

    fn try_insert(&mut self, time_ms: i64, samples: &[Sample]) -> Result<()> {
        if !self.in_tx {
            self.conn.execute_batch("BEGIN")?;
            self.in_tx = true;
        }
        // The statements are prepared once a tick and used for all its rows, in one
        // transaction until the next commit; points go in [`ROWS`] to a statement.
        let mut points = std::mem::take(&mut self.points);
        points.clear();
        {
            let mut add_series = self.conn.prepare(
                "INSERT INTO series (source, process, label, kind, unit) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (i, s) in samples.iter().enumerate() {
                if let Some(k) = self.last.get(i)
                    && k.is(s)
                {
                    points.push((k.id, s.value));
                    continue;
                }
                let known = self
                    .series
                    .get(s.source)
                    .and_then(|p| p.get(&*s.process))
                    .and_then(|l| l.get(&*s.label));
                let id = match known {
                    Some(id) => *id,
                    None => {
                        add_series.execute(params![
                            s.source,
                            &*s.process,
                            &*s.label,
                            s.kind,
                            &*s.unit
                        ])?;
                        let id = self.conn.last_insert_rowid();
                        self.uncommitted.push((
                            s.source,
                            s.process.to_string(),
                            s.label.to_string(),
                        ));
                        self.series
                            .entry(s.source)
                            .or_default()
                            .entry(s.process.to_string())
                            .or_default()
                            .insert(s.label.to_string(), id);
                        id
                    }
                };
                let k = Known {
                    source: s.source,
                    process: Arc::clone(&s.process),
                    label: Arc::clone(&s.label),
                    id,
                };
                match self.last.get_mut(i) {
                    Some(slot) => *slot = k,
                    None => self.last.push(k),
                }
                points.push((id, s.value));
            }
            self.last.truncate(samples.len());
        }
        let result = self.add_points(time_ms, &points);
        self.points = points;
        result?;
        if self.last_commit.elapsed() >= COMMIT_EVERY {
            self.try_commit()?;
        }
        Ok(())
    }

    /// Inserts the points of one tick at `time_ms`: [`ROWS`] to a statement, and the rest in
    /// one more.
    fn add_points(&self, time_ms: i64, points: &[(i64, f64)]) -> rusqlite::Result<()> {
        let chunks = points.chunks_exact(ROWS);
        let rest = chunks.remainder();
        if points.len() >= ROWS {
            let mut many = self.conn.prepare(&self.insert_rows)?;
            for chunk in chunks {
                bind_points(&mut many, time_ms, chunk)?;
                many.raw_execute()?;
            }
        }
        if !rest.is_empty() {
            let mut last = self.conn.prepare(&insert_points(rest.len()))?;
            bind_points(&mut last, time_ms, rest)?;
            last.raw_execute()?;
        }
        Ok(())
    }

    /// Commits what was inserted (on an error, drops it, as [`Store::insert`] does).
    pub fn commit(&mut self) -> Result<()> {
        let result = self.try_commit();
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn try_commit(&mut self) -> Result<()> {
        if self.in_tx {
            self.conn.execute_batch("COMMIT")?;
            self.in_tx = false;
            self.uncommitted.clear();
        }
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Commits and checkpoints the write-ahead log into the database file.
    pub fn close(mut self) -> Result<()> {
        self.commit()?;
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .context("checkpointing samples.db")?;
        Ok(())
    }
}

/// The statement inserting `rows` points.
fn insert_points(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO points (series, time_ms, value) VALUES ");
    sql.push_str(&vec!["(?, ?, ?)"; rows].join(", "));
    sql
}

/// Binds `points` at `time_ms` to a statement of [`insert_points`].
fn bind_points(
    stmt: &mut rusqlite::Statement<'_>,
    time_ms: i64,
    points: &[(i64, f64)],
) -> rusqlite::Result<()> {
    for (i, (id, value)) in points.iter().enumerate() {
        stmt.raw_bind_parameter(3 * i + 1, id)?;
        stmt.raw_bind_parameter(3 * i + 2, time_ms)?;
        stmt.raw_bind_parameter(3 * i + 3, value)?;
    }
    Ok(())
}

/// One stored series with its points, as export and report read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The source.
    pub source: String,
    /// The process (`comm:pid`, or `tree`).
    pub process: String,
    /// The label.
    pub label: String,
    /// The kind (see the schema).
    pub kind: String,
    /// The unit.
    pub unit: String,
    /// (Unix milliseconds, value), in time order.
    pub points: Vec<(i64, f64)>,
}

impl Series {
    /// A name unique within a run: `source/process/label`.
    pub fn key(&self) -> String {
        format!("{}/{}/{}", self.source, self.process, self.label)
    }
}

/// Reads every series of a run's database (read-only: a database left by a killed runstats
/// is read as it was last committed).
pub fn load(path: &Path) -> Result<Vec<Series>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let read = || -> rusqlite::Result<Vec<Series>> {
        let mut out: Vec<Series> = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT id, source, process, label, kind, unit FROM series ORDER BY source, process, label",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Series {
                    source: r.get(1)?,
                    process: r.get(2)?,
                    label: r.get(3)?,
                    kind: r.get(4)?,
                    unit: r.get(5)?,
                    points: Vec::new(),
                },
            ))
        })?;
        for row in rows {
            let (id, s) = row?;
            index.insert(id, out.len());
            out.push(s);
        }
        let mut stmt =
            conn.prepare("SELECT series, time_ms, value FROM points ORDER BY time_ms")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
            ))
        })?;
        for row in rows {
            let (id, t, v) = row?;
            if let Some(&i) = index.get(&id) {
                out[i].points.push((t, v));
            }
        }
        Ok(out)
    };
    read().with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(label: &str, v: f64) -> Sample {
        Sample {
            source: "mmstats",
            process: "w:1".into(),
            label: label.into(),
            kind: "counter",
            unit: "requests".into(),
            value: v,
        }
    }

    #[test]
    fn samples_round_trip_and_the_view_has_one_row_per_sample() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.db");
        let mut s = Store::create(&path, "r1", "x", "d", 0).unwrap();
        s.insert(1000, &[sample("a", 1.0), sample("b", 2.0)])
            .unwrap();
        s.insert(2000, &[sample("a", 3.0)]).unwrap();
        s.close().unwrap();
        let series = load(&path).unwrap();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].label, "a");
        assert_eq!(series[0].points, [(1000, 1.0), (2000, 3.0)]);
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM samples WHERE run = 'r1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn a_tick_of_many_samples_is_stored_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.db");
        let mut s = Store::create(&path, "r1", "x", "", 0).unwrap();
        // two statements of ROWS points and a rest of 7, twice
        let tick: Vec<Sample> = (0..2 * ROWS + 7)
            .map(|i| sample(&format!("s{i:03}"), i as f64))
            .collect();
        s.insert(1000, &tick).unwrap();
        s.insert(2000, &tick).unwrap();
        s.close().unwrap();
        let series = load(&path).unwrap();
        assert_eq!(series.len(), tick.len());
        for (i, one) in series.iter().enumerate() {
            assert_eq!(one.label, format!("s{i:03}"));
            assert_eq!(one.points, [(1000, i as f64), (2000, i as f64)]);
        }
    }

    #[test]
    fn uncommitted_samples_are_not_seen_but_committed_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("samples.db");
        let mut s = Store::create(&path, "r1", "x", "", 0).unwrap();
        s.insert(1000, &[sample("a", 1.0)]).unwrap();
        s.commit().unwrap();
        s.insert(2000, &[sample("a", 2.0)]).unwrap();
        // as if runstats were killed now: the database holds what was committed
        let series = load(&path).unwrap();
        assert_eq!(series[0].points, [(1000, 1.0)]);
        drop(s);
    }
}
