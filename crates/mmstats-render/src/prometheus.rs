//! Prometheus text exposition format 0.0.4 and OpenMetrics 1.0.
//!
//! Every label becomes one metric family:
//!
//! - **Names.** The label with every character outside `[a-zA-Z0-9_:]` turned into `_` (and a
//!   `_` before a leading digit), after an optional prefix. A unit that has a base unit adds it
//!   as a suffix (`_seconds`, `_bytes`, `_ratio`, ...) and the values are converted: timers'
//!   nanoseconds, milliseconds and microseconds become seconds, bits become bytes, percent
//!   becomes a ratio. Other units (`requests`) are counts and add nothing.
//! - **Kinds.** counter → `counter` (`_total`); gauge, numeric constant, timestamp and moving
//!   average → `gauge`; text and text constant → `info` (`_info{value="..."} 1`; a `gauge` in
//!   0.0.4); average and windowed → `summary` (`_count`, `_sum`); histogram and timer →
//!   `histogram`.
//! - **Histogram buckets.** The `le` bounds are a fixed 1-2-5 series, the same for every file
//!   and every scrape so that `rate()` and `histogram_quantile()` work across time and
//!   processes: from 1 µs to 100 s for values in seconds, and from 1 to 5·10⁹ otherwise. The
//!   count for a bound cumulates the file's log-linear buckets (FORMAT.md §5.6) that lie wholly
//!   at or below it, so it is exact where the bound falls on a bucket edge (every integer
//!   bound below `2^(k+1)` raw units) and otherwise low by at most the one bucket straddling the
//!   bound, whose width is at most `2^-k` of its value (3% for k = 5).
//! - **Families.** Fields of one name and different label sets (FORMAT.md §3.5) are one
//!   family; each sample carries its field's pairs as Prometheus labels, escaped, after the
//!   file's own; a pair whose key this renderer uses itself (`pid`, `tid`, `cmd`, `file`, `le`,
//!   `value`) is renamed `exported_<key>`. The family's help is the first non-empty one.
//! - **Labels.** Each sample carries `pid`, `tid` and `cmd` (the program name from the file
//!   name's `{CMD}` part, else `/proc/<pid>/comm`); a file whose three collide with an earlier
//!   file's also gets `file`. [`render_sample`] serves processes instead (labels `pid` and
//!   `cmd`, continuous totals). With [`PromOptions::aggregate`] every process is summed per
//!   label (FORMAT.md §12) and samples carry no labels.
//! - Values that could not be read are left out; a label whose name collides with an earlier
//!   family's names is left out.
//!
//! ```
//! use mmstats_render::prometheus::{PromOptions, render};
//!
//! let mut out = String::new();
//! render(&[], &PromOptions { openmetrics: true, ..PromOptions::default() }, &mut out);
//! assert_eq!(out, "# EOF\n");
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use mmstats_format::bucket_bounds;
use mmstats_reader::{FieldMeta, HistogramValue, Kind, Num, Series, Snapshot, Value, command_name};

/// Content type of the text exposition format 0.0.4.
pub const CONTENT_TYPE_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Content type of OpenMetrics 1.0.
pub const CONTENT_TYPE_OPENMETRICS: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct PromOptions {
    /// OpenMetrics 1.0 (`# UNIT`, `info`, `# EOF`) instead of text format 0.0.4.
    pub openmetrics: bool,
    /// Combine each label over every process instead of one series per process (or file).
    pub aggregate: bool,
    /// With [`render_sample`]: one series per file (with a `tid` label) instead of one per
    /// process.
    pub per_thread: bool,
    /// Prepended to every metric name (e.g. `mmstats_`); sanitised like labels.
    pub prefix: String,
}

/// True if an HTTP `Accept` header asks for OpenMetrics.
pub fn wants_openmetrics(accept: &str) -> bool {
    accept.contains("application/openmetrics-text")
}

/// Renders snapshots in the Prometheus text format (or OpenMetrics) into `out`: one series per
/// file, labelled `pid`, `tid` and `cmd` (what a one-shot dump shows). With
/// [`PromOptions::aggregate`], each label is summed over the files' processes as
/// [`render_sample`] does.
///
/// Host and process resources ([`mmstats_reader::resource`]) are written after the stats files' families,
/// under node_exporter's and the process collectors' names (see [`super::node`]).
pub fn render(snapshots: &[Snapshot], opts: &PromOptions, out: &mut String) {
    if opts.aggregate {
        let sample = mmstats_reader::Intervals::new().update(snapshots);
        render_sample(&sample, opts, out);
        return;
    }
    let (resources, files): (Vec<&Snapshot>, Vec<&Snapshot>) = snapshots
        .iter()
        .partition(|s| mmstats_reader::resource::resource_kind(s).is_some());
    let labelsets = labelsets(&files);
    let groups = files.iter().zip(&labelsets).map(|(snap, labels)| {
        let values = snap
            .fields
            .iter()
            .filter_map(|f| Some((&*f.meta, f.value.as_ref().ok()?)))
            .collect();
        (labels.as_str(), values)
    });
    let mut used = HashSet::new();
    render_groups(groups, opts, &Selection::default(), &mut used, out);
    super::node::render(&resources, &files, opts, &mut used, out);
    end(opts, out);
}

/// Renders one sample of the interval engine (FORMAT.md §12): one series per process,
/// labelled `pid` and `cmd`, whose counters and histograms are the process's continuous totals
/// (they never go down when its threads end); with [`PromOptions::per_thread`] one series per
/// file, labelled `pid`, `tid` and `cmd`; with [`PromOptions::aggregate`] one unlabelled
/// series per label, summed over every process, the exited ones included, so that it never
/// goes down when a process exits.
///
/// Host and process resources ([`mmstats_reader::resource`]) in the sample are left out of those
/// series and written after them under node_exporter's and the process collectors' names
/// ([`super::node::render_sample`]).
///
/// The whole text at once: [`SampleExposition`] writes the same text piece by piece.
pub fn render_sample(sample: &mmstats_reader::Sample, opts: &PromOptions, out: &mut String) {
    let mut exposition = SampleExposition::new(sample, opts, &Selection::default());
    while !exposition.is_done() {
        exposition.write(sample, out, usize::MAX);
    }
}

/// What a scrape asks for of a sample; the default is everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Indexes of the sample's processes to write (the others are left out, their resources
    /// too); `None`: every process.
    pub processes: Option<Vec<usize>>,
    /// Metric names whose families to write, as Prometheus' `match[]` names them; empty: every
    /// family. A family is written whole when one of them is its name or one of its series'
    /// names (a counter's `_total`, a histogram's `_bucket`, `_sum`, `_count`, ...).
    pub names: Vec<String>,
}

impl Selection {
    /// True if a family whose series use `names` is selected.
    fn wants<S: AsRef<str>>(&self, names: &[S]) -> bool {
        wanted(&self.names, names)
    }
}

/// True if `selected` (`match[]` names; empty: every one) keeps a family whose series use
/// `names`.
pub(super) fn wanted<S: AsRef<str>>(selected: &[String], names: &[S]) -> bool {
    selected.is_empty()
        || names
            .iter()
            .any(|n| selected.iter().any(|w| w == n.as_ref()))
}

/// One part of a sample whose series become samples: a process, or with
/// [`PromOptions::per_thread`] one of its files.
#[derive(Debug)]
struct Part {
    /// Where its labels (`pid="…",cmd="…"` and so on, escaped) are in the plan's text.
    labels: (u32, u32),
    process: u32,
    /// The file within the process, with `per_thread`.
    file: Option<u32>,
}

/// A sample of a family: its part and the index of its series there.
type SeriesAt = (u32, u32);

/// A sample of a family as planned: where its series is, the type it is exposed as, and a
/// number or bool without labels of its own (most samples) copied, so that a family is
/// written from the plan alone, in order, without visiting every process's series again.
#[derive(Debug, Clone, Copy)]
struct Planned {
    at: SeriesAt,
    ty: Type,
    value: Quick,
}

/// A planned sample's value.
#[derive(Debug, Clone, Copy)]
enum Quick {
    Number(Num),
    Bool(bool),
    /// Anything else: read from the series.
    Series,
}

/// One family of a sample: where its first series and its help are, and every sample.
#[derive(Debug)]
struct FamilyPlan {
    first: SeriesAt,
    help: Option<SeriesAt>,
    samples: Vec<Planned>,
}

/// The family being written: its exposition and the next of its samples.
#[derive(Debug)]
struct Writing {
    exposition: Exposition,
    next: usize,
}

/// Where an exposition is.
#[derive(Debug)]
enum Stage {
    /// Writing the stats files' families; the index of the next.
    Families(usize),
    /// The resources' families and the end are next.
    Tail,
    Done,
}

/// The exposition of one sample of the interval engine, the same text as [`render_sample`],
/// written piece by piece so that a scrape of any size can be streamed in bounded chunks.
/// It keeps only an index of the sample (where each family's series are), not a copy: every
/// call of [`write`](Self::write) takes the same sample again.
///
/// ```
/// use mmstats_render::prometheus::{PromOptions, SampleExposition, Selection};
///
/// let sample = mmstats_reader::Sample::default();
/// let opts = PromOptions { openmetrics: true, ..PromOptions::default() };
/// let mut exposition = SampleExposition::new(&sample, &opts, &Selection::default());
/// let mut chunks = Vec::new();
/// while !exposition.is_done() {
///     let mut chunk = String::new();
///     exposition.write(&sample, &mut chunk, 64 << 10);
///     chunks.push(chunk);
/// }
/// assert_eq!(chunks.concat(), "# EOF\n");
/// ```
#[derive(Debug)]
pub struct SampleExposition {
    opts: PromOptions,
    selection: Selection,
    parts: Vec<Part>,
    /// Every part's labels, one after the other.
    part_labels: String,
    families: Vec<FamilyPlan>,
    /// Names taken by the families written so far.
    used: HashSet<String>,
    stage: Stage,
    writing: Option<Writing>,
    /// Text written ahead (with `aggregate`, all of it: one series a label).
    ahead: String,
    /// A sample's labels with its field's own pairs.
    labels: String,
}

impl SampleExposition {
    /// Plans the exposition of `sample` (what `selection` keeps of it) with `opts`.
    pub fn new(
        sample: &mmstats_reader::Sample,
        opts: &PromOptions,
        selection: &Selection,
    ) -> SampleExposition {
        let mut e = SampleExposition {
            opts: opts.clone(),
            selection: selection.clone(),
            parts: Vec::new(),
            part_labels: String::new(),
            families: Vec::new(),
            used: HashSet::new(),
            stage: Stage::Families(0),
            writing: None,
            ahead: String::new(),
            labels: String::new(),
        };
        let kept = selection.processes.as_ref().map(|keep| {
            let mut kept = vec![false; sample.processes.len()];
            for i in keep {
                if let Some(k) = kept.get_mut(*i) {
                    *k = true;
                }
            }
            kept
        });
        if opts.aggregate {
            // One series a label: small, written at once.
            let chosen;
            let sample = match &kept {
                None => sample,
                Some(kept) => {
                    chosen = mmstats_reader::Sample {
                        processes: sample
                            .processes
                            .iter()
                            .zip(kept)
                            .filter(|(_, k)| **k)
                            .map(|(p, _)| p.clone())
                            .collect(),
                        exited: sample.exited.clone(),
                    };
                    &chosen
                }
            };
            let stats = mmstats_reader::resource::stats_only(sample);
            let totals = stats.totals_with_exited();
            let values = totals
                .iter()
                .filter_map(|s| Some((&*s.meta, s.value.as_ref()?)))
                .collect();
            let mut out = String::new();
            render_groups(
                std::iter::once(("", values)),
                opts,
                &e.selection,
                &mut e.used,
                &mut out,
            );
            super::node::render_sample(sample, opts, &e.selection.names, &mut e.used, &mut out);
            end(opts, &mut out);
            e.ahead = out;
            e.stage = Stage::Done;
            return e;
        }
        e.plan(sample, kept.as_deref());
        e
    }

    /// Indexes the parts of `sample` and its families.
    fn plan<'s>(&mut self, sample: &'s mmstats_reader::Sample, kept: Option<&[bool]>) {
        let opts = &self.opts;
        let mut seen = HashSet::new();
        let mut index = FamilyIndex::default();
        for (pi, p) in sample.processes.iter().enumerate() {
            if kept.is_some_and(|k| !k[pi]) {
                continue;
            }
            let Some(stats) = mmstats_reader::resource::stats_series(p) else {
                continue;
            };
            let pid = p.pid().map(|p| p.to_string()).unwrap_or_default();
            let part_labels = &mut self.part_labels;
            let mut add = |labels: String, file: Option<u32>, series: &'s [Series], keep: bool| {
                let start = part_labels.len() as u32;
                part_labels.push_str(&labels);
                let part = Part {
                    labels: (start, part_labels.len() as u32),
                    process: pi as u32,
                    file,
                };
                add_part(
                    &mut self.parts,
                    &mut self.families,
                    &mut index,
                    part,
                    series,
                    |s| !keep || stats.keeps(s),
                );
            };
            if opts.per_thread {
                for (fi, f) in p.files.iter().enumerate() {
                    if mmstats_reader::resource::resource_kind_of(&f.info).is_some() {
                        continue;
                    }
                    let tid = f.info.tid.map(|t| t.to_string()).unwrap_or_default();
                    let mut l = format!("pid=\"{pid}\",tid=\"{tid}\",cmd=\"");
                    escape_label_value(&p.cmd, &mut l);
                    l.push('"');
                    if !seen.insert(l.clone()) {
                        l.push_str(",file=\"");
                        let name = f.path.file_name().unwrap_or_default().to_string_lossy();
                        escape_label_value(&name, &mut l);
                        l.push('"');
                    }
                    add(l, Some(fi as u32), &f.series, false);
                }
            } else {
                let mut l = format!("pid=\"{pid}\",cmd=\"");
                escape_label_value(&p.cmd, &mut l);
                l.push('"');
                if !seen.insert(l.clone()) {
                    // the same pid in another boot or start: tell them apart
                    if let mmstats_reader::ProcessId::Process { start_time, .. } = &p.id {
                        let _ = write!(l, ",start=\"{start_time}\"");
                    }
                }
                add(l, None, &p.series, true);
            }
        }
    }

    /// True once everything has been written.
    pub fn is_done(&self) -> bool {
        matches!(self.stage, Stage::Done) && self.ahead.is_empty()
    }

    /// Appends the next part of the exposition of `sample` (the sample it was planned on) to
    /// `out`, until `out` holds at least `size` bytes or everything is written. A chunk ends
    /// at the end of a line; one sample's lines (a histogram's buckets) are not split, and the
    /// resources' families are written in one piece.
    pub fn write(&mut self, sample: &mmstats_reader::Sample, out: &mut String, size: usize) {
        if !self.ahead.is_empty() {
            out.push_str(&std::mem::take(&mut self.ahead));
        }
        while out.len() < size {
            match self.stage {
                Stage::Families(i) if i >= self.families.len() => self.stage = Stage::Tail,
                Stage::Families(i) => {
                    if self.writing.is_none() {
                        self.writing = self.start_family(sample, i, out);
                        if self.writing.is_none() {
                            self.stage = Stage::Families(i + 1);
                            continue;
                        }
                    }
                    let Some(w) = self.writing.as_mut() else {
                        continue;
                    };
                    let samples = &self.families[i].samples;
                    while w.next < samples.len() && out.len() < size {
                        let planned = samples[w.next];
                        w.next += 1;
                        if planned.ty != w.exposition.ty {
                            continue;
                        }
                        let (part, si) = planned.at;
                        let part = &self.parts[part as usize];
                        let (start, end) = part.labels;
                        let labels = &self.part_labels[start as usize..end as usize];
                        match planned.value {
                            Quick::Number(n) => w.exposition.number(out, labels, n),
                            Quick::Bool(b) => w.exposition.bool(out, labels, b),
                            Quick::Series => {
                                let s = &series_of(sample, part)[si as usize];
                                let Some(value) = &s.value else { continue };
                                let labels = if s.meta.labels.is_empty() {
                                    labels
                                } else {
                                    self.labels.clear();
                                    push_sample_labels(labels, &s.meta.labels, &mut self.labels);
                                    self.labels.as_str()
                                };
                                w.exposition.write(out, labels, value);
                            }
                        }
                    }
                    if w.next >= samples.len() {
                        self.writing = None;
                        self.stage = Stage::Families(i + 1);
                    }
                }
                Stage::Tail => {
                    let kept: Vec<&mmstats_reader::ProcessSample> = match &self.selection.processes
                    {
                        None => sample.processes.iter().collect(),
                        Some(keep) => keep
                            .iter()
                            .filter_map(|i| sample.processes.get(*i))
                            .collect(),
                    };
                    super::node::render_processes(
                        kept.into_iter(),
                        &self.opts,
                        &self.selection.names,
                        &mut self.used,
                        out,
                    );
                    end(&self.opts, out);
                    self.stage = Stage::Done;
                }
                Stage::Done => return,
            }
        }
    }

    /// Writes the head of family `i` and returns how to write its samples; `None` if it is
    /// left out (a name taken, or not selected).
    fn start_family(
        &mut self,
        sample: &mmstats_reader::Sample,
        i: usize,
        out: &mut String,
    ) -> Option<Writing> {
        let plan = &self.families[i];
        let at = |(part, si): SeriesAt| &series_of(sample, &self.parts[part as usize])[si as usize];
        let first = at(plan.first);
        let help = plan.help.map_or("", |h| at(h).meta.help.as_str());
        let exposition = Exposition::start(
            &first.meta,
            first.value.as_ref()?,
            &self.opts,
            &mut self.used,
        )?;
        if !exposition.selected(&self.selection) {
            return None;
        }
        exposition.head(out, help, &self.opts);
        Some(Writing {
            exposition,
            next: 0,
        })
    }
}

/// The families of a plan by name. Parts mostly have the same series in the same order, so
/// the family of the previous part's series at the same position is tried first, before the
/// name is hashed.
#[derive(Default)]
struct FamilyIndex<'s> {
    by_name: HashMap<&'s str, usize>,
    names: Vec<&'s str>,
    /// The family of the series at each position of the previous part.
    hints: Vec<usize>,
}

impl<'s> FamilyIndex<'s> {
    /// The family named `name`, tried first as that of the previous part's series `si`.
    fn find(&self, si: usize, name: &str) -> Option<usize> {
        match self.hints.get(si) {
            Some(&f) if self.names.get(f).is_some_and(|n| *n == name) => Some(f),
            _ => self.by_name.get(name).copied(),
        }
    }

    /// Adds the family named `name`; its index.
    fn add(&mut self, name: &'s str) -> usize {
        let i = self.names.len();
        self.names.push(name);
        self.by_name.insert(name, i);
        i
    }

    /// Remembers that the series at `si` was of family `f`.
    fn hint(&mut self, si: usize, f: usize) {
        if si >= self.hints.len() {
            self.hints.resize(si + 1, usize::MAX);
        }
        self.hints[si] = f;
    }
}

/// Adds `part` and its series that `keep` keeps (and that have a value) to their families.
fn add_part<'s>(
    parts: &mut Vec<Part>,
    families: &mut Vec<FamilyPlan>,
    index: &mut FamilyIndex<'s>,
    part: Part,
    series: &'s [Series],
    keep: impl Fn(&Series) -> bool,
) {
    let at_part = parts.len() as u32;
    for (si, s) in series.iter().enumerate() {
        let Some(value) = &s.value else { continue };
        if !keep(s) {
            continue;
        }
        let at = (at_part, si as u32);
        let quick = match value {
            _ if !s.meta.labels.is_empty() => Quick::Series,
            Value::Number(n) => Quick::Number(*n),
            Value::Bool(b) => Quick::Bool(*b),
            _ => Quick::Series,
        };
        let planned = Planned {
            at,
            ty: Type::of(s.meta.kind, value),
            value: quick,
        };
        let name = s.meta.name();
        let i = index.find(si, name).unwrap_or_else(|| {
            families.push(FamilyPlan {
                first: at,
                help: None,
                samples: Vec::new(),
            });
            index.add(name)
        });
        index.hint(si, i);
        let family = &mut families[i];
        if family.help.is_none() && !s.meta.help.is_empty() {
            family.help = Some(at);
        }
        family.samples.push(planned);
    }
    parts.push(part);
}

/// The series of one part of `sample`.
fn series_of<'s>(sample: &'s mmstats_reader::Sample, part: &Part) -> &'s [Series] {
    let p = &sample.processes[part.process as usize];
    match part.file {
        Some(f) => &p.files[f as usize].series,
        None => &p.series,
    }
}

/// OpenMetrics' last line.
fn end(opts: &PromOptions, out: &mut String) {
    if opts.openmetrics {
        out.push_str("# EOF\n");
    }
}

/// Groups every (labels, values) part's values into families by name (FORMAT.md §3.5), in
/// order of first appearance, each sample's labels the part's followed by its field's own,
/// and writes those `selection` names; names in `used` are taken, and those written are
/// added.
fn render_groups<'a>(
    groups: impl Iterator<Item = (&'a str, Vec<(&'a FieldMeta, &'a Value)>)>,
    opts: &PromOptions,
    selection: &Selection,
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let mut families = Families::default();
    for (labels, values) in groups {
        for (meta, value) in values {
            families.add(meta, sample_labels(labels, &meta.labels), value);
        }
    }
    for (meta, help, samples) in &families.list {
        family(meta, help, samples, opts, selection, used, out);
    }
}

/// Fields grouped into metric families by name (FORMAT.md §3.5), in order of first appearance:
/// the first field's metadata, the first non-empty help text, and every sample.
#[derive(Default)]
struct Families<'a> {
    index: HashMap<&'a str, usize>,
    list: Vec<(&'a FieldMeta, &'a str, Vec<FamilySample<'a>>)>,
}

/// One sample of a family: its label text and value.
type FamilySample<'a> = (String, &'a Value);

impl<'a> Families<'a> {
    fn add(&mut self, meta: &'a FieldMeta, labels: String, value: &'a Value) {
        let list = &mut self.list;
        let i = *self.index.entry(meta.name()).or_insert_with(|| {
            list.push((meta, "", Vec::new()));
            list.len() - 1
        });
        let (_, help, samples) = &mut self.list[i];
        if help.is_empty() {
            *help = &meta.help;
        }
        samples.push((labels, value));
    }
}

/// Label keys this renderer writes itself; a field's label with one of these keys is exposed
/// as `exported_<key>`, as Prometheus does for a target's labels that clash with its own.
const OWN_LABELS: [&str; 6] = ["pid", "tid", "cmd", "file", "le", "value"];

/// A sample's labels: the file's (`pid`, `tid`, `cmd`) then the field's own pairs, escaped.
fn sample_labels(file: &str, pairs: &[(String, String)]) -> String {
    let mut l = String::with_capacity(file.len() + 16 * pairs.len());
    push_sample_labels(file, pairs, &mut l);
    l
}

/// Appends [`sample_labels`] to `l`.
fn push_sample_labels(file: &str, pairs: &[(String, String)], l: &mut String) {
    l.push_str(file);
    for (k, v) in pairs {
        if !l.is_empty() {
            l.push(',');
        }
        if OWN_LABELS.contains(&k.as_str()) {
            l.push_str("exported_");
        }
        l.push_str(k);
        l.push_str("=\"");
        escape_label_value(v, l);
        l.push('"');
    }
}

/// The `pid`, `tid` and `cmd` labels of each snapshot, with `file` added where they collide.
fn labelsets(snapshots: &[&Snapshot]) -> Vec<String> {
    let mut seen = HashSet::new();
    snapshots
        .iter()
        .map(|s| {
            let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
            let mut l = format!(
                "pid=\"{}\",tid=\"{}\",cmd=\"",
                opt(s.info.pid),
                opt(s.info.tid)
            );
            escape_label_value(&command_name(s), &mut l);
            l.push('"');
            if !seen.insert(l.clone()) {
                l.push_str(",file=\"");
                let name = s.path.file_name().unwrap_or_default().to_string_lossy();
                escape_label_value(&name, &mut l);
                l.push('"');
            }
            l
        })
        .collect()
}

/// The metric name a label gets: sanitised, with the prefix.
pub fn metric_name(prefix: &str, label: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + label.len() + 1);
    for c in prefix.chars().chain(label.chars()) {
        if s.is_empty() && c.is_ascii_digit() {
            s.push('_');
        }
        s.push(if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            c
        } else {
            '_'
        });
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// The base unit a unit converts to, and the factor to multiply values by.
pub fn base_unit(meta: &FieldMeta) -> Option<(&'static str, f64)> {
    Some(match crate::units::field_unit(meta) {
        "seconds" => ("seconds", 1.0),
        "milliseconds" => ("seconds", 1e-3),
        "microseconds" => ("seconds", 1e-6),
        "nanoseconds" => ("seconds", 1e-9),
        "bytes" => ("bytes", 1.0),
        "bits" => ("bytes", 0.125),
        "ratio" => ("ratio", 1.0),
        "percent" => ("ratio", 0.01),
        "celsius" => ("celsius", 1.0),
        "volts" => ("volts", 1.0),
        "amperes" => ("amperes", 1.0),
        "joules" => ("joules", 1.0),
        "grams" => ("grams", 1.0),
        "meters" => ("meters", 1.0),
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Type {
    Counter,
    Gauge,
    Info,
    Summary,
    Histogram,
}

impl Type {
    /// The family type a field's value is exposed as.
    fn of(kind: Kind, value: &Value) -> Type {
        match (kind, value) {
            (_, Value::Text(_)) => Type::Info,
            (Kind::Counter, _) => Type::Counter,
            (_, Value::Average { .. } | Value::Windowed(_)) => Type::Summary,
            (_, Value::Histogram(_)) => Type::Histogram,
            _ => Type::Gauge,
        }
    }

    /// The type's name in a `# TYPE` line (the text format has no `info`: it is a gauge).
    fn name(self, openmetrics: bool) -> &'static str {
        match (self, openmetrics) {
            (Type::Counter, _) => "counter",
            (Type::Gauge, _) | (Type::Info, false) => "gauge",
            (Type::Info, true) => "info",
            (Type::Summary, _) => "summary",
            (Type::Histogram, _) => "histogram",
        }
    }

    /// The suffix a family name of this type carries in both formats, which a field's own name
    /// must not repeat.
    fn own_suffix(self) -> &'static str {
        match self {
            Type::Counter => "_total",
            Type::Info => "_info",
            _ => "",
        }
    }
}

/// The names of one family.
#[derive(Debug)]
struct Naming {
    /// The metric name samples are built on: sanitised, prefixed, with its base unit.
    base: String,
    /// The name `# TYPE`, `# UNIT` and `# HELP` refer to.
    head: String,
    /// Every name the family's samples use, to keep two families from sharing one.
    names: Vec<String>,
}

impl Naming {
    fn new(meta: &FieldMeta, ty: Type, unit: Option<&str>, opts: &PromOptions) -> Naming {
        let mut base = metric_name(&opts.prefix, meta.name());
        let strip = ty.own_suffix();
        if !strip.is_empty() && base.len() > strip.len() && base.ends_with(strip) {
            base.truncate(base.len() - strip.len());
        }
        if let Some(u) = unit
            && !base.ends_with(&format!("_{u}"))
        {
            base.push('_');
            base.push_str(u);
        }
        let names = match ty {
            Type::Counter => vec![base.clone(), format!("{base}_total")],
            Type::Gauge => vec![base.clone()],
            Type::Info => vec![base.clone(), format!("{base}_info")],
            Type::Summary => vec![base.clone(), format!("{base}_count"), format!("{base}_sum")],
            Type::Histogram => vec![
                base.clone(),
                format!("{base}_bucket"),
                format!("{base}_count"),
                format!("{base}_sum"),
            ],
        };
        let head = match (ty, opts.openmetrics) {
            (Type::Counter, false) => format!("{base}_total"),
            (Type::Info, false) => format!("{base}_info"),
            _ => base.clone(),
        };
        Naming { base, head, names }
    }
}

/// The base unit a family of this type is exposed in and the factor to scale values by;
/// texts (info families) have none.
fn family_unit(meta: &FieldMeta, ty: Type) -> Option<(&'static str, f64)> {
    if ty == Type::Info {
        None
    } else {
        base_unit(meta)
    }
}

/// Writes a family's `# TYPE`, `# UNIT` (OpenMetrics) and `# HELP` lines.
fn metadata(
    out: &mut String,
    head: &str,
    ty: Type,
    unit: Option<&str>,
    help: &str,
    opts: &PromOptions,
) {
    let _ = writeln!(out, "# TYPE {head} {}", ty.name(opts.openmetrics));
    if opts.openmetrics
        && let Some(u) = unit
    {
        let _ = writeln!(out, "# UNIT {head} {u}");
    }
    if !help.is_empty() {
        let _ = write!(out, "# HELP {head} ");
        escape_help(help, opts.openmetrics, out);
        out.push('\n');
    }
}

/// How one family writes its samples.
#[derive(Debug)]
struct Exposition {
    ty: Type,
    naming: Naming,
    unit: Option<&'static str>,
    scale: f64,
    bounds: Option<Bounds>,
    openmetrics: bool,
}

impl Exposition {
    /// A family whose first field is `meta` with `first`: its type follows its first sample,
    /// its names its field's name, type and base unit. `None` if any of its names is in
    /// `used`; else they are added.
    fn start(
        meta: &FieldMeta,
        first: &Value,
        opts: &PromOptions,
        used: &mut HashSet<String>,
    ) -> Option<Exposition> {
        let ty = Type::of(meta.kind, first);
        let unit = family_unit(meta, ty);
        let naming = Naming::new(meta, ty, unit.map(|u| u.0), opts);
        if naming.names.iter().any(|n| used.contains(n)) {
            return None;
        }
        used.extend(naming.names.iter().cloned());
        let scale = unit.map_or(1.0, |u| u.1);
        Some(Exposition {
            ty,
            naming,
            unit: unit.map(|u| u.0),
            scale,
            bounds: (ty == Type::Histogram).then(|| Bounds::new(unit.map(|u| u.0), scale)),
            openmetrics: opts.openmetrics,
        })
    }

    /// Writes the family's `# TYPE`, `# UNIT` and `# HELP` lines.
    fn head(&self, out: &mut String, help: &str, opts: &PromOptions) {
        metadata(out, &self.naming.head, self.ty, self.unit, help, opts);
    }

    /// True if `selection` keeps this family.
    fn selected(&self, selection: &Selection) -> bool {
        selection.wants(&self.naming.names) || selection.wants(&[&self.naming.head])
    }

    /// Writes a number's sample line.
    fn number(&self, out: &mut String, labels: &str, n: Num) {
        let (ty, base, head) = (self.ty, &self.naming.base, &self.naming.head);
        if ty == Type::Counter && self.openmetrics {
            sample(out, base, "_total", labels, "");
        } else {
            let name = if ty == Type::Counter { head } else { base };
            sample(out, name, "", labels, "");
        }
        num(out, n, self.scale);
    }

    /// Writes a bool's sample line.
    fn bool(&self, out: &mut String, labels: &str, b: bool) {
        let suffix = if self.ty == Type::Counter {
            "_total"
        } else {
            ""
        };
        sample(out, &self.naming.base, suffix, labels, "");
        out.push_str(if b { "1\n" } else { "0\n" });
    }

    /// Writes one sample's lines (several for summaries and histograms).
    fn write(&self, out: &mut String, labels: &str, value: &Value) {
        let (base, scale) = (&self.naming.base, self.scale);
        match value {
            Value::Number(n) => self.number(out, labels, *n),
            Value::Bool(b) => self.bool(out, labels, *b),
            Value::Text(t) => {
                let mut l = String::from("value=\"");
                escape_label_value(clip(t), &mut l);
                l.push('"');
                sample(out, base, "_info", labels, &l);
                out.push_str("1\n");
            }
            Value::Average { count, sum } => {
                summary(out, base, labels, *count, scaled(sum.as_f64(), scale));
            }
            Value::Windowed(w) => {
                summary(out, base, labels, w.count, scaled(w.sum.as_f64(), scale));
            }
            Value::MovingAverage { .. } => {
                sample(out, base, "", labels, "");
                float(out, value.primary().map_or(f64::NAN, |v| scaled(v, scale)));
                out.push('\n');
            }
            Value::Histogram(h) => {
                if let Some(b) = &self.bounds {
                    histogram(out, base, labels, h, b, scale);
                }
            }
        }
    }
}

/// Writes one family, if `selection` keeps it: skipped if any of its names is taken, and
/// samples of another type (the same name with another kind in another file) are left out.
fn family(
    meta: &FieldMeta,
    help: &str,
    samples: &[(String, &Value)],
    opts: &PromOptions,
    selection: &Selection,
    used: &mut HashSet<String>,
    out: &mut String,
) {
    let Some((_, first)) = samples.first() else {
        return;
    };
    let Some(exposition) = Exposition::start(meta, first, opts, used) else {
        return;
    };
    if !exposition.selected(selection) {
        return;
    }
    exposition.head(out, help, opts);
    for (labels, value) in samples {
        if Type::of(meta.kind, value) == exposition.ty {
            exposition.write(out, labels, value);
        }
    }
}

/// Longest text exposed as a label value, in bytes.
const TEXT_MAX: usize = 1024;

fn clip(t: &str) -> &str {
    mmstats_format::truncate_utf8(t, TEXT_MAX)
}

fn sample(out: &mut String, name: &str, suffix: &str, labels: &str, extra: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() || !extra.is_empty() {
        out.push('{');
        out.push_str(labels);
        if !labels.is_empty() && !extra.is_empty() {
            out.push(',');
        }
        out.push_str(extra);
        out.push('}');
    }
    out.push(' ');
}

fn summary(out: &mut String, base: &str, labels: &str, count: u64, sum: f64) {
    sample(out, base, "_count", labels, "");
    int_line(out, count);
    sample(out, base, "_sum", labels, "");
    float(out, sum);
    out.push('\n');
}

/// The fixed `le` bounds of one family, in the exposed unit and in raw units.
#[derive(Debug)]
struct Bounds {
    /// (`le="..."` label text, largest raw value counted)
    bounds: Vec<(String, u64)>,
}

impl Bounds {
    fn new(unit: Option<&str>, scale: f64) -> Bounds {
        let exps = if unit == Some("seconds") {
            -6..=1
        } else {
            0..=9
        };
        let mut texts: Vec<String> = Vec::new();
        for e in exps.clone() {
            for m in [1, 2, 5] {
                texts.push(format!("{m}e{e}"));
            }
        }
        if unit == Some("seconds") {
            texts.push("1e2".into());
        }
        let bounds = texts
            .iter()
            .map(|t| {
                let v: f64 = t.parse().unwrap_or(0.0);
                let raw = (v / scale * (1.0 + 1e-9)).floor();
                let raw = if raw >= u64::MAX as f64 {
                    u64::MAX
                } else {
                    raw as u64
                };
                (format!("le=\"{}\"", format_float(v)), raw)
            })
            .collect();
        Bounds { bounds }
    }
}

fn histogram(
    out: &mut String,
    base: &str,
    labels: &str,
    h: &HistogramValue,
    b: &Bounds,
    scale: f64,
) {
    let mut buckets = h
        .buckets()
        .map(|(i, n)| {
            let (low, width) = bucket_bounds(i, h.k);
            (low.saturating_add(width - 1), n)
        })
        .peekable();
    let mut acc = 0u64;
    for (le, raw) in &b.bounds {
        while let Some((high, n)) = buckets.next_if(|(high, _)| *high <= *raw) {
            let _ = high;
            acc = acc.saturating_add(n);
        }
        sample(out, base, "_bucket", labels, le);
        int_line(out, acc);
    }
    let total = h.bucket_total();
    sample(out, base, "_bucket", labels, "le=\"+Inf\"");
    int_line(out, total);
    sample(out, base, "_count", labels, "");
    int_line(out, total);
    sample(out, base, "_sum", labels, "");
    float(out, scaled(h.sum as f64, scale));
    out.push('\n');
}

fn num(out: &mut String, n: Num, scale: f64) {
    match n {
        Num::U(v) if scale == 1.0 => push_u64(out, v),
        Num::I(v) if scale == 1.0 => {
            let _ = write!(out, "{v}");
        }
        _ => float(out, scaled(n.as_f64(), scale)),
    }
    out.push('\n');
}

/// `v` in the base unit; divides by the inverse of small factors so that, e.g., 1500 ns
/// becomes exactly `0.0000015`.
fn scaled(v: f64, scale: f64) -> f64 {
    if scale < 1.0 {
        v / (1.0 / scale).round()
    } else {
        v * scale
    }
}

pub(super) fn float(out: &mut String, v: f64) {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        // a whole number: as `format_float` writes it (`-3.0`), without formatting machinery
        if v.is_sign_negative() {
            out.push('-');
        }
        push_u64(out, v.abs() as u64);
        out.push_str(".0");
    } else if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        out.push_str(&format_float(v));
    }
}

/// Writes `v` in decimal (faster than `write!` for the many bucket counts of a scrape).
fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

fn int_line(out: &mut String, v: u64) {
    push_u64(out, v);
    out.push('\n');
}

fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

pub(super) fn escape_help(s: &str, openmetrics: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if openmetrics => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

pub(super) fn escape_label_value(s: &str, out: &mut String) {
    mmstats_format::labels::escape_value(s, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_format::{ValueType, bucket_index, full_bucket_count};
    use mmstats_reader::{FieldValue, FileInfo, FormatVersion};
    use mmstats_testkit::snapshot::{SnapshotBuilder, field_value};
    use std::sync::Arc;
    use std::time::SystemTime;

    fn info(pid: u32, tid: u32) -> Arc<FileInfo> {
        Arc::new(FileInfo {
            pid: Some(pid),
            tid: Some(tid),
            uid: Some(0),
            gid: Some(0),
            writer: "test".into(),
            ..FileInfo::new(FormatVersion::V2, (0, 0))
        })
    }

    fn field(
        label: &str,
        kind: Kind,
        vt: ValueType,
        unit: &str,
        help: &str,
        v: Value,
    ) -> FieldValue {
        let mut meta = FieldMeta::new(label, kind, vt);
        meta.unit = unit.into();
        meta.help = help.into();
        field_value(meta, Ok(v))
    }

    fn snap(path: &str, pid: u32, fields: Vec<FieldValue>) -> Snapshot {
        SnapshotBuilder::new(path)
            .info(info(pid, pid + 1))
            .taken(SystemTime::now())
            .field_values(fields)
            .build()
    }

    fn hist(values: &[u64]) -> HistogramValue {
        let mut h = HistogramValue::empty(5, full_bucket_count(5) as usize);
        for v in values {
            h.record(*v);
        }
        h
    }

    fn render_str(snaps: &[Snapshot], om: bool) -> String {
        let mut out = String::new();
        render(
            snaps,
            &PromOptions {
                openmetrics: om,
                ..PromOptions::default()
            },
            &mut out,
        );
        out
    }

    fn labelled(field: FieldValue, pairs: &[(&str, &str)]) -> FieldValue {
        let meta = (*field.meta).clone().with_labels(pairs.iter().copied());
        FieldValue {
            meta: Arc::new(meta),
            value: field.value,
        }
    }

    #[test]
    fn labelled_fields_are_one_family_with_real_labels() {
        let counter = |help: &str, n: u64| {
            field(
                "http.requests",
                Kind::Counter,
                ValueType::U64,
                "",
                help,
                Value::Number(Num::U(n)),
            )
        };
        let a = snap(
            "/d/web-7-8.mmstats",
            7,
            vec![
                labelled(counter("", 3), &[("method", "GET")]),
                labelled(counter("", 1), &[("method", "PO\"ST\n"), ("pid", "x")]),
            ],
        );
        let b = snap(
            "/d/web-8-9.mmstats",
            8,
            vec![labelled(
                counter("requests served", 4),
                &[("method", "GET")],
            )],
        );
        let text = render_str(&[a.clone(), b.clone()], false);
        assert_eq!(
            text,
            "# TYPE http_requests_total counter\n\
             # HELP http_requests_total requests served\n\
             http_requests_total{pid=\"7\",tid=\"8\",cmd=\"web\",method=\"GET\"} 3\n\
             http_requests_total{pid=\"7\",tid=\"8\",cmd=\"web\",method=\"PO\\\"ST\\n\",exported_pid=\"x\"} 1\n\
             http_requests_total{pid=\"8\",tid=\"9\",cmd=\"web\",method=\"GET\"} 4\n"
        );
        let mut agg = String::new();
        render(
            &[a, b],
            &PromOptions {
                aggregate: true,
                ..PromOptions::default()
            },
            &mut agg,
        );
        assert!(
            agg.contains("http_requests_total{method=\"GET\"} 7\n"),
            "{agg}"
        );
        assert_eq!(agg.matches("# TYPE").count(), 1, "{agg}");
    }

    /// Three processes (pids 7, 8, 9) with counters, a labelled family, a text and a timer.
    fn three_processes() -> mmstats_reader::Sample {
        let snaps: Vec<Snapshot> = (7..10)
            .map(|pid| {
                let counter = |n: u64| {
                    field(
                        "http.requests",
                        Kind::Counter,
                        ValueType::U64,
                        "",
                        "requests served",
                        Value::Number(Num::U(n)),
                    )
                };
                snap(
                    &format!("/d/web-{pid}-{}.mmstats", pid + 1),
                    pid,
                    vec![
                        labelled(counter(u64::from(pid)), &[("method", "GET")]),
                        labelled(counter(1), &[("method", "PUT")]),
                        field(
                            "queue.depth",
                            Kind::Gauge,
                            ValueType::U64,
                            "",
                            "",
                            Value::Number(Num::U(3)),
                        ),
                        field(
                            "build",
                            Kind::Constant,
                            ValueType::Text,
                            "",
                            "",
                            Value::Text("v1".into()),
                        ),
                        field(
                            "db.query",
                            Kind::Timer,
                            ValueType::U64,
                            "nanoseconds",
                            "",
                            Value::Histogram(hist(&[500, 3_000_000]).into()),
                        ),
                    ],
                )
            })
            .collect();
        mmstats_reader::Intervals::new().update(&snaps)
    }

    /// Every chunk `SampleExposition` writes of `sample` at `size`.
    fn chunks(
        sample: &mmstats_reader::Sample,
        opts: &PromOptions,
        selection: &Selection,
        size: usize,
    ) -> Vec<String> {
        let mut e = SampleExposition::new(sample, opts, selection);
        let mut chunks = Vec::new();
        while !e.is_done() {
            let mut chunk = String::new();
            e.write(sample, &mut chunk, size);
            assert!(
                !chunk.is_empty() || e.is_done(),
                "a call that is not done writes something"
            );
            chunks.push(chunk);
        }
        chunks
    }

    #[test]
    fn chunks_make_the_whole_text_and_stay_small() {
        let sample = three_processes();
        for om in [false, true] {
            for per_thread in [false, true] {
                let opts = PromOptions {
                    openmetrics: om,
                    per_thread,
                    ..PromOptions::default()
                };
                let mut whole = String::new();
                render_sample(&sample, &opts, &mut whole);
                assert_eq!(whole.matches("db_query_seconds_count{").count(), 3);
                for size in [1, 100, 1000, usize::MAX] {
                    let parts = chunks(&sample, &opts, &Selection::default(), size);
                    assert_eq!(parts.concat(), whole, "chunks of {size}");
                    for c in &parts {
                        assert!(c.is_empty() || c.ends_with('\n'), "{c:?}");
                    }
                    if size == 1 {
                        // one sample (a timer's 29 lines) at most, or one family's head
                        // four heads and 15 samples (and the end)
                        assert!(parts.len() >= 19, "{}", parts.len());
                        let largest = parts.iter().map(String::len).max().unwrap();
                        assert!(largest < 3000, "{largest}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_selection_keeps_named_families_of_chosen_processes() {
        let sample = three_processes();
        let opts = PromOptions::default();
        let only = |processes: Option<Vec<usize>>, names: &[&str]| {
            let selection = Selection {
                processes,
                names: names.iter().map(|n| n.to_string()).collect(),
            };
            chunks(&sample, &opts, &selection, 64).concat()
        };
        let text = only(None, &["http_requests_total"]);
        assert_eq!(text.matches("# TYPE").count(), 1, "{text}");
        assert_eq!(text.matches("http_requests_total{").count(), 6, "{text}");
        // a histogram by one of its series' names, whole
        let text = only(None, &["db_query_seconds_count", "no_such_metric"]);
        assert!(
            text.starts_with("# TYPE db_query_seconds histogram\n"),
            "{text}"
        );
        assert_eq!(text.matches("db_query_seconds_bucket{").count(), 3 * 26);
        assert!(!text.contains("http_requests"), "{text}");
        let text = only(Some(vec![1]), &[]);
        assert!(text.contains("pid=\"8\""), "{text}");
        assert!(
            !text.contains("pid=\"7\"") && !text.contains("pid=\"9\""),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE").count(), 4, "{text}");
        assert_eq!(only(Some(vec![]), &[]), "");
        assert_eq!(only(None, &["nothing"]), "");
        // combined: one series a label, over the chosen processes
        let selection = Selection {
            processes: Some(vec![0, 2]),
            names: vec!["http_requests_total".into()],
        };
        let opts = PromOptions {
            aggregate: true,
            ..PromOptions::default()
        };
        let text = chunks(&sample, &opts, &selection, 1).concat();
        assert_eq!(
            text,
            "# TYPE http_requests_total counter\n\
             # HELP http_requests_total requests served\n\
             http_requests_total{method=\"GET\"} 16\n\
             http_requests_total{method=\"PUT\"} 2\n"
        );
    }

    #[test]
    fn integers_are_written_in_decimal() {
        let mut s = String::new();
        for v in [0, 7, 10, 1234567890, u64::MAX] {
            push_u64(&mut s, v);
            s.push(' ');
        }
        assert_eq!(s, format!("0 7 10 1234567890 {} ", u64::MAX));
        for v in [
            0.0,
            -0.0,
            3.0,
            -3.0,
            999_999_999_999_999.0,
            1e15,
            0.5,
            -2.25,
            f64::NAN,
        ] {
            let mut s = String::new();
            float(&mut s, v);
            let want = if v.is_finite() && v.fract() != 0.0 {
                format!("{v}")
            } else {
                format_float(v)
            };
            assert_eq!(s, want, "{v}");
        }
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(
            metric_name("", "web.stats.status.2XX"),
            "web_stats_status_2XX"
        );
        assert_eq!(metric_name("", "2fast"), "_2fast");
        assert_eq!(metric_name("mm_", "a-b c"), "mm_a_b_c");
        assert_eq!(metric_name("", "é"), "_");
    }

    #[test]
    fn counter_with_unit_and_help_in_both_formats() {
        let s = snap(
            "/d/web-7-8.mmstats",
            7,
            vec![field(
                "busy.time",
                Kind::Counter,
                ValueType::U64,
                "milliseconds",
                "time \"busy\"\\ms\nsecond line",
                Value::Number(Num::U(1500)),
            )],
        );
        let text = render_str(std::slice::from_ref(&s), false);
        assert_eq!(
            text,
            "# TYPE busy_time_seconds_total counter\n\
             # HELP busy_time_seconds_total time \"busy\"\\\\ms\\nsecond line\n\
             busy_time_seconds_total{pid=\"7\",tid=\"8\",cmd=\"web\"} 1.5\n"
        );
        let om = render_str(&[s], true);
        assert_eq!(
            om,
            "# TYPE busy_time_seconds counter\n\
             # UNIT busy_time_seconds seconds\n\
             # HELP busy_time_seconds time \\\"busy\\\"\\\\ms\\nsecond line\n\
             busy_time_seconds_total{pid=\"7\",tid=\"8\",cmd=\"web\"} 1.5\n\
             # EOF\n"
        );
    }

    #[test]
    fn samples_of_one_label_are_grouped_and_duplicates_get_a_file_label() {
        let c = |v| {
            vec![field(
                "requests",
                Kind::Counter,
                ValueType::U64,
                "requests",
                "",
                Value::Number(Num::U(v)),
            )]
        };
        let out = render_str(
            &[
                snap("/d/a-1-2.mmstats", 1, c(5)),
                snap("/d/b-3-4.mmstats", 3, c(6)),
                snap("/e/b-3-4.mmstats", 3, c(7)),
            ],
            false,
        );
        assert_eq!(
            out,
            "# TYPE requests_total counter\n\
             requests_total{pid=\"1\",tid=\"2\",cmd=\"a\"} 5\n\
             requests_total{pid=\"3\",tid=\"4\",cmd=\"b\"} 6\n\
             requests_total{pid=\"3\",tid=\"4\",cmd=\"b\",file=\"b-3-4.mmstats\"} 7\n"
        );
    }

    #[test]
    fn timer_buckets_are_stable_cumulative_and_in_seconds() {
        // 500 ns, 1 µs, 3 ms, 7 s
        let h = hist(&[500, 1000, 3_000_000, 7_000_000_000]);
        let s = snap(
            "/d/t-1-2.mmstats",
            1,
            vec![field(
                "db.query",
                Kind::Timer,
                ValueType::U64,
                "nanoseconds",
                "",
                Value::Histogram(h.into()),
            )],
        );
        let out = render_str(&[s], false);
        let line = |le: &str| {
            let key =
                format!("db_query_seconds_bucket{{pid=\"1\",tid=\"2\",cmd=\"t\",le=\"{le}\"}} ");
            out.lines()
                .find_map(|l| l.strip_prefix(key.as_str()))
                .unwrap_or_else(|| panic!("no bucket {le} in {out}"))
                .to_string()
        };
        assert!(out.starts_with("# TYPE db_query_seconds histogram\n"));
        // 1000 ns lies in the bucket [992, 1008), which straddles 1 µs: not counted yet
        assert_eq!(line("0.000001"), "1");
        assert_eq!(line("0.000002"), "2");
        assert_eq!(line("0.002"), "2");
        assert_eq!(line("0.005"), "3");
        assert_eq!(line("5.0"), "3");
        assert_eq!(line("10.0"), "4");
        assert_eq!(line("+Inf"), "4");
        assert!(out.contains("db_query_seconds_count{pid=\"1\",tid=\"2\",cmd=\"t\"} 4\n"));
        assert!(out.contains("db_query_seconds_sum{pid=\"1\",tid=\"2\",cmd=\"t\"} 7.0030015\n"));
        // 25 bounds plus +Inf
        assert_eq!(out.matches("_bucket{").count(), 26);
    }

    #[test]
    fn bucket_counts_never_exceed_the_true_cumulative_count() {
        let values: Vec<u64> = (0..2000).map(|i| i * i * 37 + i).collect();
        let h = hist(&values);
        let b = Bounds::new(None, 1.0);
        let mut out = String::new();
        histogram(&mut out, "x", "", &h, &b, 1.0);
        for ((_, raw), line) in b.bounds.iter().zip(out.lines()) {
            let got: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
            let exact = values.iter().filter(|v| **v <= *raw).count() as u64;
            assert!(got <= exact, "{line}: {got} > {exact}");
            // low by at most the straddling bucket
            let straddle = h.bucket(bucket_index(*raw, 5).min(h.capacity() - 1));
            assert!(exact - got <= straddle, "{line}");
        }
    }

    #[test]
    fn text_gauge_average_windowed_and_moving_average() {
        let s = snap(
            "/d/w-1-2.mmstats",
            1,
            vec![
                field(
                    "sys.version",
                    Kind::Constant,
                    ValueType::Text,
                    "",
                    "",
                    Value::Text("lib \"1\"\n".into()),
                ),
                field(
                    "temp",
                    Kind::Gauge,
                    ValueType::F64,
                    "celsius",
                    "",
                    Value::Number(Num::F(21.5)),
                ),
                field(
                    "load",
                    Kind::Gauge,
                    ValueType::U8,
                    "percent",
                    "",
                    Value::Number(Num::U(50)),
                ),
                field(
                    "up",
                    Kind::Gauge,
                    ValueType::Bool,
                    "",
                    "",
                    Value::Bool(true),
                ),
                field(
                    "size",
                    Kind::Average,
                    ValueType::U64,
                    "bytes",
                    "",
                    Value::Average {
                        count: 4,
                        sum: Num::U(400),
                    },
                ),
                field(
                    "lag",
                    Kind::MovingAverage,
                    ValueType::F64,
                    "",
                    "",
                    Value::MovingAverage(Box::new(mmstats_format::MovingAverageValue {
                        count: 9,
                        window_count: 2,
                        window_sum: Num::F(3.0),
                        last: Num::F(1.0),
                    })),
                ),
            ],
        );
        let out = render_str(std::slice::from_ref(&s), false);
        let l = "{pid=\"1\",tid=\"2\",cmd=\"w\"}";
        for want in [
            "# TYPE sys_version_info gauge\n".to_string(),
            "sys_version_info{pid=\"1\",tid=\"2\",cmd=\"w\",value=\"lib \\\"1\\\"\\n\"} 1\n"
                .to_string(),
            format!("temp_celsius{l} 21.5\n"),
            format!("load_ratio{l} 0.5\n"),
            format!("up{l} 1\n"),
            "# TYPE size_bytes summary\n".to_string(),
            format!("size_bytes_count{l} 4\nsize_bytes_sum{l} 400.0\n"),
            format!("lag{l} 1.5\n"),
        ] {
            assert!(out.contains(&want), "missing {want:?} in\n{out}");
        }
        let om = render_str(&[s], true);
        assert!(om.contains("# TYPE sys_version info\n"));
        assert!(om.contains("# UNIT temp_celsius celsius\n"));
        assert!(om.ends_with("# EOF\n"));
    }

    #[test]
    fn colliding_names_and_unreadable_values_are_left_out() {
        let mut bad = field(
            "gone",
            Kind::Gauge,
            ValueType::U64,
            "",
            "",
            Value::Number(Num::U(1)),
        );
        bad.value = Err(mmstats_reader::ValueError::BeingWritten);
        let s = snap(
            "/d/c-1-2.mmstats",
            1,
            vec![
                field(
                    "a.b",
                    Kind::Gauge,
                    ValueType::U64,
                    "",
                    "",
                    Value::Number(Num::U(1)),
                ),
                field(
                    "a_b",
                    Kind::Gauge,
                    ValueType::U64,
                    "",
                    "",
                    Value::Number(Num::U(2)),
                ),
                bad,
            ],
        );
        let out = render_str(&[s], false);
        assert_eq!(
            out,
            "# TYPE a_b gauge\na_b{pid=\"1\",tid=\"2\",cmd=\"c\"} 1\n"
        );
    }
}
