//! The state of the full-screen view and how keys and samples change it.

use std::collections::{HashMap, VecDeque};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mmstats_reader::{FileSample, Intervals, Kind, Liveness, ProcessId, Scan, Series};
use mmstats_render::text::{unix_seconds, utc_time};
use mmstats_render::units::{derived_unit, field_unit, never_scaled, number, seconds_per};

use mmstats_reader::resource::{is_host, resource_kind, resource_kind_of, stats_only};

use super::resources::ResourceView;
use crate::rate::cell;

/// Points of history kept per field for its sparkline.
pub const HISTORY: usize = 120;

/// A column the table can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The label.
    Label,
    /// The kind.
    Kind,
    /// The value.
    Value,
    /// The rate per second.
    Rate,
}

impl SortKey {
    /// Every column, left to right.
    pub const ALL: [SortKey; 4] = [SortKey::Label, SortKey::Kind, SortKey::Value, SortKey::Rate];

    fn index(self) -> usize {
        SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// One line of the table: a field combined over the selected files.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The label.
    pub label: String,
    /// The kind's name.
    pub kind: &'static str,
    /// The unit of `value`.
    pub unit: String,
    /// The current value (counters: their total), if it is a number.
    pub value: Option<f64>,
    /// The text, for text fields.
    pub text: Option<String>,
    /// Change per second, for counters and windowed fields.
    pub rate: Option<f64>,
    /// Recent points (rates for counters, values otherwise), oldest first.
    pub history: Vec<f64>,
}

/// What can be selected: one process (every file of its threads, and its process file), or one
/// file of a process (a thread, shown when the process list is expanded).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProcKey {
    /// Every file of this process.
    Process(ProcessId),
    /// This file alone.
    File(std::path::PathBuf),
}

/// A process (or one of its files) that can be selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcEntry {
    /// What it selects.
    pub key: ProcKey,
    /// Short title: `pid 42 web`, with the number of files when there are several
    /// (`pid 42 web ×3`) and `†` when its writer is gone; a file's: `└ 43` or `└ totals`.
    pub title: String,
    /// Its files.
    pub files: usize,
}
/// Everything the view shows and remembers.
#[derive(Debug)]
pub struct App {
    /// Processes of the last sample.
    pub procs: Vec<ProcEntry>,
    /// Files of the last sample.
    pub files: usize,
    /// The selected process; `None` means all files combined.
    pub selected: Option<ProcKey>,
    /// Rows of the last sample, unsorted and unfiltered.
    pub rows: Vec<Row>,
    /// The sort column.
    pub sort: SortKey,
    /// Largest first.
    pub descending: bool,
    /// Only labels containing this.
    pub filter: String,
    /// The filter box has the keyboard.
    pub editing: bool,
    /// Samples are not applied.
    pub paused: bool,
    /// The help box is shown.
    pub help: bool,
    /// Index of the highlighted visible row.
    pub cursor: usize,
    /// Errors of the last sample.
    pub errors: Vec<String>,
    /// The user asked to quit.
    pub quit: bool,
    /// Samples applied so far.
    pub samples: u64,
    /// The host panel and the processes' CPU and RSS.
    pub resources: ResourceView,
    /// Threads are listed under their processes.
    pub expanded: bool,
    /// Processes of the last sample (the host's resources are none).
    pub processes: usize,
    /// Live processes of the last sample.
    pub live: usize,
    /// One row per family (series of one name, their label sets combined, FORMAT.md §3.5)
    /// instead of one per series.
    pub families: bool,
    engine: Intervals,
    history: HashMap<String, VecDeque<f64>>,
}

impl Default for App {
    fn default() -> Self {
        App::new()
    }
}

/// The series of each family (FORMAT.md §3.5) combined into one named by the family, in order
/// of first appearance; series without a label set as they are.
fn families(series: &[Series]) -> Vec<Series> {
    let mut order: Vec<&str> = Vec::new();
    let mut members: HashMap<&str, Vec<&Series>> = HashMap::new();
    for s in series {
        let name = s.meta.name();
        let list = members.entry(name).or_default();
        if list.is_empty() {
            order.push(name);
        }
        list.push(s);
    }
    order
        .into_iter()
        .filter_map(|name| {
            let list = &members[name];
            if list.len() == 1 && list[0].meta.labels.is_empty() {
                return Some(list[0].clone());
            }
            let mut family = Series::combined_of(list.iter().copied())?;
            let mut meta = (*family.meta).clone();
            meta.label = name.to_string();
            meta.labels.clear();
            family.meta = std::sync::Arc::new(meta);
            Some(family)
        })
        .collect()
}

/// A time in twelve columns: `HH:MM:SS.mmm` on the same UTC day as `now`, else the date.
pub fn short_time(t: f64, now: f64) -> String {
    let full = utc_time(t);
    let same_day = (t / 86_400.0).floor() == (now / 86_400.0).floor();
    let part = if same_day {
        full.get(11..23)
    } else {
        full.get(..10)
    };
    part.map_or(full.clone(), str::to_string)
}

impl App {
    /// A view with nothing sampled yet.
    pub fn new() -> App {
        App::with_engine(Intervals::new())
    }

    /// A view whose numbers come from this interval engine.
    pub fn with_engine(engine: Intervals) -> App {
        App {
            procs: Vec::new(),
            files: 0,
            selected: None,
            rows: Vec::new(),
            sort: SortKey::Label,
            descending: false,
            filter: String::new(),
            editing: false,
            paused: false,
            help: false,
            cursor: 0,
            errors: Vec::new(),
            quit: false,
            samples: 0,
            resources: ResourceView::default(),
            expanded: false,
            processes: 0,
            live: 0,
            families: false,
            engine,
            history: HashMap::new(),
        }
    }

    /// Applies a sample (unless paused).
    pub fn on_sample(&mut self, scan: &Scan) {
        if self.paused {
            return;
        }
        self.samples += 1;
        self.errors = scan.errors.iter().map(|e| e.to_string()).collect();
        self.files = scan
            .snapshots
            .iter()
            .filter(|s| resource_kind(s).is_none())
            .count();
        let sample = self.engine.update(&scan.snapshots);
        let processes = sample.processes.iter().filter(|p| !is_host(p));
        self.processes = processes.clone().count();
        self.live = processes.filter(|p| p.liveness == Liveness::Alive).count();
        self.resources.update(&sample);
        let mut procs: Vec<ProcEntry> = Vec::new();
        for p in &sample.processes {
            // a process's resources are beside its stats files, not one of them
            let files: Vec<&FileSample> = p
                .files
                .iter()
                .filter(|f| resource_kind_of(&f.info).is_none())
                .collect();
            let mut title = match p.pid() {
                _ if is_host(p) => "host".to_string(),
                Some(pid) => format!("pid {pid} {}", p.cmd).trim().to_string(),
                None => p.cmd.to_string(),
            };
            if files.len() > 1 {
                title = format!("{title} ×{}", files.len());
            }
            if p.liveness != Liveness::Alive {
                title.push_str(" †");
            }
            procs.push(ProcEntry {
                key: ProcKey::Process(p.id.clone()),
                title,
                files: files.len().max(1),
            });
            if self.expanded {
                for f in files {
                    let t = if f.info.process_totals {
                        "totals".to_string()
                    } else {
                        f.info.tid.map(|t| t.to_string()).unwrap_or_default()
                    };
                    procs.push(ProcEntry {
                        key: ProcKey::File(f.path.clone()),
                        title: format!("└ {t}"),
                        files: 1,
                    });
                }
            }
        }
        self.procs = procs;
        if let Some(sel) = &self.selected
            && !self.procs.iter().any(|p| &p.key == sel)
        {
            self.select(None); // the selected process went away
        }
        let series: Vec<Series> = match &self.selected {
            // resources have their panel; a process's show with it, the host's as its own entry
            None => stats_only(&sample).combined(),
            Some(ProcKey::Process(id)) => sample
                .processes
                .iter()
                .find(|p| &p.id == id)
                .map(|p| p.series.to_vec())
                .unwrap_or_default(),
            Some(ProcKey::File(path)) => sample
                .processes
                .iter()
                .flat_map(|p| &p.files)
                .find(|f| &f.path == path)
                .map(|f| f.series.to_vec())
                .unwrap_or_default(),
        };
        let series = if self.families {
            families(&series)
        } else {
            series
        };
        self.rows = self.compute_rows(&series);
        self.clamp_cursor();
    }

    fn compute_rows(&mut self, series: &[Series]) -> Vec<Row> {
        let now = unix_seconds(std::time::SystemTime::now());
        let mut rows = Vec::with_capacity(series.len());
        for s in series {
            let meta = &s.meta;
            let label = meta.label.clone();
            let cell = cell(series, &label);
            let mut row = Row {
                label: label.clone(),
                kind: meta.kind.as_str(),
                unit: field_unit(meta).to_string(),
                value: None,
                text: None,
                rate: None,
                history: Vec::new(),
            };
            match meta.kind {
                Kind::Counter => {
                    row.rate = s.number(None);
                    row.value = s.number(Some("total"));
                }
                Kind::Windowed => {
                    row.rate = s.number(None);
                    row.value = s.number(Some("mean"));
                }
                Kind::Histogram | Kind::Timer | Kind::Average | Kind::MovingAverage => {
                    // the mean of what was recorded during the interval
                    row.value = s.number(None);
                    row.unit = derived_unit(meta, "mean").to_string();
                }
                _ => {
                    row.value = cell.value;
                    row.text = cell.text;
                    if meta.kind == Kind::Timestamp {
                        let per = seconds_per(&row.unit).unwrap_or(1.0);
                        row.text = row.value.map(|t| short_time(t * per, now));
                    } else if never_scaled(meta.kind) {
                        // identifiers and versions: exact, never scaled
                        row.text = row.text.take().or_else(|| row.value.map(number));
                    }
                }
            }
            let point = match meta.kind {
                Kind::Constant | Kind::Timestamp => None, // a flat line says nothing
                Kind::Counter | Kind::Windowed => row.rate,
                _ => row.value,
            };
            if let Some(point) = point {
                let h = self.history.entry(label.clone()).or_default();
                h.push_back(point);
                while h.len() > HISTORY {
                    h.pop_front();
                }
            }
            row.history = self
                .history
                .get(&label)
                .map(|h| h.iter().copied().collect())
                .unwrap_or_default();
            rows.push(row);
        }
        rows
    }

    /// Selects a process (or all, with `None`), starting its history afresh.
    pub fn select(&mut self, key: Option<ProcKey>) {
        if self.selected != key {
            self.selected = key;
            self.history.clear();
            self.cursor = 0;
        }
    }

    /// The rows shown: filtered and sorted.
    pub fn visible(&self) -> Vec<&Row> {
        let needle = self.filter.to_lowercase();
        let mut rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.label.to_lowercase().contains(&needle))
            .collect();
        let num = |x: Option<f64>| x.unwrap_or(f64::NEG_INFINITY);
        rows.sort_by(|a, b| {
            let o = match self.sort {
                SortKey::Label => a.label.cmp(&b.label),
                SortKey::Kind => a.kind.cmp(b.kind).then_with(|| a.label.cmp(&b.label)),
                SortKey::Value => num(a.value).total_cmp(&num(b.value)),
                SortKey::Rate => num(a.rate).total_cmp(&num(b.rate)),
            };
            if self.descending { o.reverse() } else { o }
        });
        rows
    }

    fn clamp_cursor(&mut self) {
        let n = self.visible().len();
        self.cursor = self.cursor.min(n.saturating_sub(1));
    }

    fn cycle_proc(&mut self, forward: bool) {
        let n = self.procs.len();
        // positions: 0 = all, 1..=n = processes
        let cur = match &self.selected {
            None => 0,
            Some(k) => self
                .procs
                .iter()
                .position(|p| &p.key == k)
                .map_or(0, |i| i + 1),
        };
        let next = if forward {
            (cur + 1) % (n + 1)
        } else {
            (cur + n) % (n + 1)
        };
        let key = (next > 0).then(|| self.procs[next - 1].key.clone());
        self.select(key);
    }

    /// Handles a key.
    pub fn on_key(&mut self, key: KeyEvent) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            self.quit = true;
            return;
        }
        if self.editing {
            match key.code {
                KeyCode::Enter => self.editing = false,
                KeyCode::Esc => {
                    self.editing = false;
                    self.filter.clear();
                }
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.clamp_cursor();
            return;
        }
        if self.help {
            // any key closes the help; q still quits
            self.help = false;
            if key.code != KeyCode::Char('q') {
                return;
            }
        }
        let last = self.visible().len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Esc if !self.filter.is_empty() => self.filter.clear(),
            KeyCode::Esc => self.quit = true,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Char('/') => self.editing = true,
            KeyCode::Char(' ') | KeyCode::Char('f') => self.paused = !self.paused,
            KeyCode::Down | KeyCode::Char('j') => self.cursor = (self.cursor + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::PageDown => self.cursor = (self.cursor + 10).min(last),
            KeyCode::PageUp => self.cursor = self.cursor.saturating_sub(10),
            KeyCode::Home | KeyCode::Char('g') => self.cursor = 0,
            KeyCode::End | KeyCode::Char('G') => self.cursor = last,
            KeyCode::Left | KeyCode::Char('h') => {
                let i = self.sort.index();
                self.sort = SortKey::ALL[(i + SortKey::ALL.len() - 1) % SortKey::ALL.len()];
            }
            KeyCode::Right | KeyCode::Char('l') => {
                self.sort = SortKey::ALL[(self.sort.index() + 1) % SortKey::ALL.len()];
            }
            KeyCode::Char('s') | KeyCode::Char('r') => self.descending = !self.descending,
            KeyCode::Tab | KeyCode::Char('p') => self.cycle_proc(true),
            KeyCode::Char('t') | KeyCode::Char('e') => self.expanded = !self.expanded,
            KeyCode::Char('L') => {
                self.families = !self.families;
                self.history.clear();
                self.cursor = 0;
            }
            KeyCode::BackTab | KeyCode::Char('P') => self.cycle_proc(false),
            _ => {}
        }
        self.clamp_cursor();
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::columns::tests::{m, snap};
    use mmstats_reader::{HistogramValue, Num, Value, ValueType};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn test_app() -> App {
        App::with_engine(Intervals::new().assume_alive())
    }

    fn pid_key(pid: u32) -> ProcKey {
        ProcKey::Process(ProcessId::Process {
            pid,
            start_time: 0,
            boot_id: [0; 16],
        })
    }

    /// Two files with a counter, a gauge, a text and a timer, at time `at`.
    pub(crate) fn scan(at: f64, requests: [u64; 2]) -> Scan {
        let file = |name: &str, req: u64, rss: f64| {
            let mut lat = m("web.latency", Kind::Timer, ValueType::U64);
            lat.unit = "nanoseconds".into();
            // One 1 ms and one 3 ms request per second so far: intervals have a 2 ms mean.
            let mut h = HistogramValue::empty(5, 1920);
            for _ in 0..at as u64 {
                h.record(1_000_000);
                h.record(3_000_000);
            }
            let mut rssm = m("mem.rss", Kind::Gauge, ValueType::F64);
            rssm.unit = "bytes".into();
            snap(
                name,
                at,
                vec![
                    (
                        m("web.requests", Kind::Counter, ValueType::U64),
                        Value::Number(Num::U(req)),
                    ),
                    (rssm, Value::Number(Num::F(rss))),
                    (
                        m("web.role", Kind::Text, ValueType::Text),
                        Value::Text(name.into()),
                    ),
                    (lat, Value::Histogram(h.into())),
                ],
            )
        };
        Scan {
            snapshots: vec![
                file("a", requests[0], 1024.0),
                file("bb", requests[1], 3072.0),
            ],
            errors: Vec::new(),
        }
    }

    #[test]
    fn rows_combine_files_with_counter_rates_and_history() {
        let mut app = test_app();
        app.on_sample(&scan(10.0, [100, 200]));
        app.on_sample(&scan(12.0, [120, 260]));
        let row = |l: &str| app.rows.iter().find(|r| r.label == l).unwrap().clone();
        let req = row("web.requests");
        assert_eq!(req.value, Some(380.0));
        assert_eq!(req.rate, Some(40.0));
        assert_eq!(req.history, [40.0]);
        assert_eq!(
            row("mem.rss").value,
            Some(4096.0),
            "a gauge's total over processes"
        );
        assert_eq!(
            row("web.latency").value,
            Some(2_000_000.0),
            "the mean of the interval's latencies"
        );
        assert_eq!(row("web.latency").unit, "nanoseconds");
        assert_eq!(
            row("web.role").text.as_deref(),
            Some("a,bb"),
            "texts of several processes are listed"
        );
        assert_eq!(app.files, 2);
        assert_eq!(app.procs.len(), 2);
    }

    #[test]
    fn rows_are_series_or_families_and_the_filter_selects_by_label() {
        let scan_at = |at: f64, get: u64, post: u64| {
            let c = |method: &str, n: u64| {
                (
                    m("http.requests", Kind::Counter, ValueType::U64)
                        .with_labels([("method", method)]),
                    Value::Number(Num::U(n)),
                )
            };
            Scan {
                snapshots: vec![snap("a", at, vec![c("GET", get), c("POST", post)])],
                errors: Vec::new(),
            }
        };
        let mut app = test_app();
        app.on_sample(&scan_at(1.0, 10, 1));
        app.on_sample(&scan_at(2.0, 14, 2));
        let get = app
            .rows
            .iter()
            .find(|r| r.label == r#"http.requests{method="GET"}"#)
            .unwrap();
        assert_eq!((get.value, get.rate), (Some(14.0), Some(4.0)));
        for c in "method=\"POST".chars() {
            app.filter.push(c);
        }
        assert_eq!(app.visible().len(), 1);
        app.filter.clear();
        app.on_key(key(KeyCode::Char('L')));
        app.on_sample(&scan_at(3.0, 20, 3));
        app.on_sample(&scan_at(4.0, 30, 5));
        assert_eq!(app.rows.len(), 1, "{:?}", app.rows);
        let family = &app.rows[0];
        assert_eq!(family.label, "http.requests");
        assert_eq!((family.value, family.rate), (Some(35.0), Some(12.0)));
    }

    #[test]
    fn timestamps_read_as_times_and_constants_exactly() {
        let mut ts = m("sys.created", Kind::Timestamp, ValueType::F64);
        ts.unit = "seconds".into();
        let s = snap(
            "a",
            1.0,
            vec![
                (ts, Value::Number(Num::F(1_795_000_000.25))),
                (
                    m("sys.pid", Kind::Constant, ValueType::U32),
                    Value::Number(Num::U(30_385)),
                ),
            ],
        );
        let mut app = test_app();
        app.on_sample(&Scan {
            snapshots: vec![s],
            errors: Vec::new(),
        });
        let text = |l: &str| app.rows.iter().find(|r| r.label == l).unwrap().text.clone();
        assert_eq!(text("sys.created").as_deref(), Some("2026-11-18"));
        assert_eq!(
            short_time(1_795_000_000.25, 1_795_000_100.0),
            "11:06:40.250"
        );
        assert!(
            app.rows.iter().all(|r| r.history.is_empty()),
            "no sparkline for constants"
        );
        assert_eq!(text("sys.pid").as_deref(), Some("30385"));
    }

    #[test]
    fn keys_filter_sort_select_pause_and_quit() {
        let mut app = test_app();
        app.on_sample(&scan(10.0, [100, 200]));
        app.on_sample(&scan(11.0, [110, 200]));
        let labels = |app: &App| {
            app.visible()
                .iter()
                .map(|r| r.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            labels(&app),
            ["mem.rss", "web.latency", "web.requests", "web.role"]
        );

        for c in ['/', 'w', 'e', 'b', '.', 'r'] {
            app.on_key(key(KeyCode::Char(c)));
        }
        app.on_key(key(KeyCode::Enter));
        assert_eq!(labels(&app), ["web.requests", "web.role"]);
        app.on_key(key(KeyCode::Esc));
        assert_eq!(labels(&app).len(), 4, "Esc clears the filter");

        app.on_key(key(KeyCode::Char('l'))); // sort by kind
        app.on_key(key(KeyCode::Char('l'))); // sort by value
        assert_eq!(app.sort, SortKey::Value);
        app.on_key(key(KeyCode::Char('s')));
        assert_eq!(labels(&app)[0], "web.latency", "largest value first");

        app.on_key(key(KeyCode::Char('j')));
        app.on_key(key(KeyCode::Char('j')));
        assert_eq!(app.cursor, 2);
        app.on_key(key(KeyCode::Char('G')));
        assert_eq!(app.cursor, 3);
        app.on_key(key(KeyCode::Down));
        assert_eq!(app.cursor, 3, "the cursor stays on the table");

        app.on_key(key(KeyCode::Char('p')));
        assert_eq!(app.selected, Some(pid_key(100)));
        app.on_sample(&scan(12.0, [130, 200]));
        assert_eq!(
            app.rows
                .iter()
                .find(|r| r.label == "web.requests")
                .unwrap()
                .value,
            Some(130.0)
        );
        app.on_key(key(KeyCode::Tab));
        app.on_key(key(KeyCode::Tab));
        assert_eq!(app.selected, None, "after the last file comes all");

        app.on_key(key(KeyCode::Char(' ')));
        assert!(app.paused);
        let before = app.samples;
        app.on_sample(&scan(13.0, [140, 200]));
        assert_eq!(app.samples, before, "paused: samples are not applied");
        app.on_key(key(KeyCode::Char('?')));
        assert!(app.help);
        app.on_key(key(KeyCode::Char('x')));
        assert!(!app.help && !app.quit);
        app.on_key(key(KeyCode::Char('q')));
        assert!(app.quit);
        let mut app = test_app();
        app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert!(app.quit);
    }

    #[test]
    fn a_process_groups_its_thread_files() {
        let mut s = scan(10.0, [5, 7]);
        let mut info = (*s.snapshots[1].info).clone();
        info.pid = Some(100); // a second thread of process 100
        s.snapshots[1].info = std::sync::Arc::new(info);
        let mut app = test_app();
        app.on_sample(&s);
        assert_eq!(app.procs.len(), 1);
        let title = &app.procs[0].title;
        assert!(
            title.starts_with("pid 100") && title.ends_with("×2"),
            "{title}"
        );
        app.on_key(key(KeyCode::Char('p')));
        assert_eq!(app.selected, Some(pid_key(100)));
        app.on_sample(&s);
        let req = app.rows.iter().find(|r| r.label == "web.requests").unwrap();
        assert_eq!(req.value, Some(12.0), "both threads' files are combined");
    }

    #[test]
    fn a_vanished_selected_file_falls_back_to_all() {
        let mut app = test_app();
        app.on_sample(&scan(10.0, [1, 2]));
        app.on_key(key(KeyCode::Char('P'))); // previous from all: the last file
        assert_eq!(app.selected, Some(pid_key(200)));
        let mut s = scan(11.0, [1, 2]);
        s.snapshots.pop();
        app.on_sample(&s);
        assert_eq!(app.selected, None);
        assert_eq!(
            app.rows
                .iter()
                .find(|r| r.label == "web.requests")
                .unwrap()
                .value,
            Some(1.0)
        );
    }
}
