//! The recorder: what `metrics` calls to register and describe metrics.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use mmstats::{Options, Reserve};

use crate::files::{Files, lock};
use crate::series::{CounterSeries, GaugeSeries, HistogramSeries};
use crate::spec::{Spec, field_name, label_key};
use crate::unit::{self, Target};

/// The label that marks a family's overflow series.
const OVERFLOW: (&str, &str) = ("mmstats_overflow", "true");

/// Builds a [`MmstatsRecorder`] with options: `Builder::new().name("web").install()`.
#[derive(Debug, Clone)]
pub struct Builder {
    name: String,
    dir: Option<PathBuf>,
    template: Option<String>,
    reserve: Reserve,
    label_sets: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// Defaults: name `metrics`, the directory and file name template of the environment
    /// (`$MMSTATS_PATH`, `$MMSTATS_FILES`, as for any mmstats file), room for 1,024 series of
    /// which 100 histograms per thread, 1,000 label sets per family.
    pub fn new() -> Builder {
        Builder {
            name: "metrics".into(),
            dir: None,
            template: None,
            reserve: Reserve {
                fields: 1024,
                strings: 128 * 1024,
                values: 1024 * 1024,
            },
            label_sets: mmstats::DEFAULT_LABEL_SETS,
        }
    }
    /// The name for `{NAME}` in file names and of the process totals.
    pub fn name(mut self, name: &str) -> Builder {
        self.name = name.into();
        self
    }
    /// The directory of the files (instead of `$MMSTATS_PATH` or the default).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.dir = Some(dir.into());
        self
    }
    /// The file name template (`{CMD}`, `{PID}`, `{TID}`, `{NAME}`), instead of
    /// `$MMSTATS_FILES` or `{CMD}-{PID}-{TID}.mmstats`.
    pub fn file_template(mut self, template: &str) -> Builder {
        self.template = Some(template.into());
        self
    }
    /// Room in each thread's file for the series it uses (FORMAT.md §7). A histogram takes
    /// 9.3 KiB of values, any other series 8 bytes.
    pub fn reserve(mut self, reserve: Reserve) -> Builder {
        self.reserve = reserve;
        self
    }
    /// The most label sets one family takes (default [`mmstats::DEFAULT_LABEL_SETS`]); the
    /// series past it share one overflow series labelled `mmstats_overflow="true"`.
    pub fn label_sets(mut self, cap: usize) -> Builder {
        self.label_sets = cap.max(1);
        self
    }
    /// The recorder.
    pub fn build(self) -> MmstatsRecorder {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let files = Files::new(NEXT.fetch_add(1, Ordering::Relaxed), self.thread_options());
        MmstatsRecorder {
            inner: Arc::new(Inner {
                files: Arc::new(files),
                label_sets: self.label_sets,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// Options of a thread's file.
    fn thread_options(&self) -> Options {
        let mut o = Options::new()
            .name(&self.name)
            .fold_totals(true)
            .reserve(self.reserve)
            .label_sets(self.label_sets.saturating_add(1));
        if let Some(d) = &self.dir {
            o = o.dir(d);
        }
        if let Some(t) = &self.template {
            o = o.file_template(t);
        }
        o
    }
    /// Builds the recorder and installs it as the global `metrics` recorder; fails if one is
    /// installed already.
    pub fn install(self) -> Result<(), metrics::SetRecorderError<MmstatsRecorder>> {
        metrics::set_global_recorder(self.build())
    }
}

/// Installs a recorder with the default options as the global `metrics` recorder; fails if
/// one is installed already.
pub fn install() -> Result<(), metrics::SetRecorderError<MmstatsRecorder>> {
    Builder::new().install()
}

/// A `metrics` recorder that publishes into mmstats files (see the crate docs).
#[derive(Debug, Clone)]
pub struct MmstatsRecorder {
    inner: Arc<Inner>,
}

/// A recorder: its files, which its series share, and the series registered.
#[derive(Debug)]
struct Inner {
    files: Arc<Files>,
    /// The most label sets of one family ([`Builder::label_sets`]).
    label_sets: usize,
    state: Mutex<State>,
}

/// Registered series and descriptions.
#[derive(Debug, Default)]
struct State {
    counters: HashMap<Key, Arc<CounterSeries>>,
    gauges: HashMap<Key, Arc<GaugeSeries>>,
    histograms: HashMap<Key, Arc<HistogramSeries>>,
    /// Unit and scale by name, fixed at the name's first registration.
    units: HashMap<String, unit::Mapped>,
    /// Label sets registered per family name.
    families: HashMap<String, HashSet<Vec<(String, String)>>>,
    /// Numbers of the next counter and histogram series (indexes in each thread's table).
    next_counter: usize,
    next_histogram: usize,
}

impl Inner {
    /// The spec of `key` as a `target`: its name, sorted label set (or the family's overflow
    /// series past the cap), unit and scale.
    fn spec(&self, state: &mut State, key: &Key, target: Target) -> Spec {
        let name = field_name(key.name());
        let mut labels: Vec<(String, String)> = Vec::new();
        for l in key.labels() {
            let k = label_key(l.key());
            if !labels.iter().any(|(x, _)| *x == k) {
                labels.push((k, l.value().replace('\0', "")));
            }
        }
        mmstats_format::labels::sort(&mut labels);
        if !labels.is_empty() {
            let sets = state.families.entry(name.clone()).or_default();
            if !sets.contains(&labels) {
                if sets.len() >= self.label_sets {
                    labels = vec![(OVERFLOW.0.into(), OVERFLOW.1.into())];
                } else {
                    sets.insert(labels.clone());
                }
            }
        }
        let described = self.files.described_unit(&name);
        let mapped = state
            .units
            .entry(name.clone())
            .or_insert_with(|| unit::map(described, &name, target))
            .clone();
        Spec {
            name,
            labels,
            unit: mapped.unit,
            scale: mapped.scale,
        }
    }
}

impl metrics::Recorder for MmstatsRecorder {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.describe(key, unit, description);
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let inner = &self.inner;
        let mut state = lock(&inner.state);
        if let Some(s) = state.counters.get(key) {
            return Counter::from_arc(Arc::clone(s));
        }
        let spec = inner.spec(&mut state, key, Target::Counter);
        // Keys that come out as one series (the overflow, cleaned label keys) share it.
        let canon = spec.key();
        if let Some(s) = state.counters.get(&canon).cloned() {
            state.counters.insert(key.clone(), Arc::clone(&s));
            return Counter::from_arc(s);
        }
        let id = state.next_counter;
        state.next_counter += 1;
        let series = Arc::new(CounterSeries::new(
            Arc::downgrade(&inner.files),
            inner.files.id,
            id,
            spec,
        ));
        state.counters.insert(key.clone(), Arc::clone(&series));
        state.counters.insert(canon, Arc::clone(&series));
        Counter::from_arc(series)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let inner = &self.inner;
        let mut state = lock(&inner.state);
        if let Some(s) = state.gauges.get(key) {
            return Gauge::from_arc(Arc::clone(s));
        }
        let spec = inner.spec(&mut state, key, Target::Gauge);
        let canon = spec.key();
        if let Some(s) = state.gauges.get(&canon).cloned() {
            state.gauges.insert(key.clone(), Arc::clone(&s));
            return Gauge::from_arc(s);
        }
        let series = Arc::new(GaugeSeries::new(Arc::downgrade(&inner.files), spec));
        state.gauges.insert(key.clone(), Arc::clone(&series));
        state.gauges.insert(canon, Arc::clone(&series));
        Gauge::from_arc(series)
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let inner = &self.inner;
        let mut state = lock(&inner.state);
        if let Some(s) = state.histograms.get(key) {
            return Histogram::from_arc(Arc::clone(s));
        }
        let spec = inner.spec(&mut state, key, Target::Histogram);
        let canon = spec.key();
        if let Some(s) = state.histograms.get(&canon).cloned() {
            state.histograms.insert(key.clone(), Arc::clone(&s));
            return Histogram::from_arc(s);
        }
        let id = state.next_histogram;
        state.next_histogram += 1;
        let series = Arc::new(HistogramSeries::new(
            Arc::downgrade(&inner.files),
            inner.files.id,
            id,
            spec,
        ));
        state.histograms.insert(key.clone(), Arc::clone(&series));
        state.histograms.insert(canon, Arc::clone(&series));
        Histogram::from_arc(series)
    }
}

impl MmstatsRecorder {
    /// Records a description; publishes it for the series of that name already in use.
    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let name = field_name(key.as_str());
        self.inner
            .files
            .describe(&name, unit, description.to_string());
        let (counters, gauges, histograms) = {
            let state = lock(&self.inner.state);
            let mut counters: Vec<Arc<CounterSeries>> = state
                .counters
                .values()
                .filter(|s| s.spec.name == name && s.used())
                .cloned()
                .collect();
            counters.sort_by_key(|s| Arc::as_ptr(s) as usize);
            counters.dedup_by_key(|s| Arc::as_ptr(s) as usize);
            let mut histograms: Vec<Arc<HistogramSeries>> = state
                .histograms
                .values()
                .filter(|s| s.spec.name == name && s.used())
                .cloned()
                .collect();
            histograms.sort_by_key(|s| Arc::as_ptr(s) as usize);
            histograms.dedup_by_key(|s| Arc::as_ptr(s) as usize);
            let mut gauges: Vec<Arc<GaugeSeries>> = state
                .gauges
                .values()
                .filter(|s| s.spec.name == name)
                .cloned()
                .collect();
            gauges.sort_by_key(|s| Arc::as_ptr(s) as usize);
            gauges.dedup_by_key(|s| Arc::as_ptr(s) as usize);
            (counters, gauges, histograms)
        };
        // Outside the lock: registration takes the shared file's lock.
        for c in counters {
            c.publish_description();
        }
        for g in gauges {
            g.publish_description();
        }
        for h in histograms {
            h.publish_description();
        }
    }
}
