//! Hardware and software performance counters of the tree through `perf_event_open`, with
//! inheritance: counters opened on the root (or on every thread of an existing tree) count
//! every thread and process forked from it afterwards, and reading one gives the total of the
//! live and the exited ones.
//!
//! An event the kernel, the CPU or the permissions do not offer (hardware counters in most
//! virtual machines) is recorded as unavailable with the reason, never as zeros.

use std::io;
use std::sync::Arc;

use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter, ReadFormat};

use crate::derive::rate_label;
use crate::source::{Sample, Source, Unavailable};
use crate::tree::Tree;

/// One event of the ones runstats records.
#[derive(Debug, Clone, Copy)]
enum Event {
    Hw(Hardware),
    Sw(Software),
}

/// The events: label, event, unit.
const EVENTS: [(&str, Event, &str); 10] = [
    ("perf.cycles", Event::Hw(Hardware::CPU_CYCLES), "cycles"),
    (
        "perf.instructions",
        Event::Hw(Hardware::INSTRUCTIONS),
        "instructions",
    ),
    (
        "perf.cache_references",
        Event::Hw(Hardware::CACHE_REFERENCES),
        "references",
    ),
    (
        "perf.cache_misses",
        Event::Hw(Hardware::CACHE_MISSES),
        "misses",
    ),
    (
        "perf.branches",
        Event::Hw(Hardware::BRANCH_INSTRUCTIONS),
        "branches",
    ),
    (
        "perf.branch_misses",
        Event::Hw(Hardware::BRANCH_MISSES),
        "misses",
    ),
    (
        "perf.task_clock",
        Event::Sw(Software::TASK_CLOCK),
        "nanoseconds",
    ),
    (
        "perf.context_switches",
        Event::Sw(Software::CONTEXT_SWITCHES),
        "switches",
    ),
    (
        "perf.cpu_migrations",
        Event::Sw(Software::CPU_MIGRATIONS),
        "migrations",
    ),
    (
        "perf.page_faults",
        Event::Sw(Software::PAGE_FAULTS),
        "faults",
    ),
];

/// Ratios derived per interval when both events are available: label, numerator, denominator.
const RATIOS: [(&str, &str, &str); 3] = [
    ("perf.ipc", "perf.instructions", "perf.cycles"),
    (
        "perf.cache_miss_ratio",
        "perf.cache_misses",
        "perf.cache_references",
    ),
    (
        "perf.branch_miss_ratio",
        "perf.branch_misses",
        "perf.branches",
    ),
];

/// The events read together, each group as one read a thread: the software events, then the
/// hardware events in pairs (a ratio's two events count over the same time, and two hardware
/// counters fit any PMU, where six in one group might never be scheduled).
const GROUPS: [&[usize]; 4] = [&[6, 7, 8, 9], &[0, 1], &[2, 3], &[4, 5]];

/// One group of events opened on one thread: its leader (the first event, read with
/// `PERF_FORMAT_GROUP`) and its members, each with the index of its event in [`EVENTS`].
#[derive(Debug)]
struct Opened {
    leader: (usize, Counter),
    members: Vec<(usize, Counter)>,
}

/// Records perf counters of the tree, summed over everything the counters inherited.
///
/// The events of a group are read with one `read` a thread (`PERF_FORMAT_GROUP`), not one
/// each: four reads a thread for the ten events (one where the hardware offers none).
#[derive(Debug)]
pub struct PerfSource {
    /// Every open group, of every thread.
    opened: Vec<Opened>,
    /// Which of [`EVENTS`] are counted.
    counted: [bool; EVENTS.len()],
    unavailable: Vec<Unavailable>,
    /// Each event's total and when it was read, at the previous tick.
    prev: [Option<(f64, i64)>; EVENTS.len()],
    /// Each event's label and unit, and its rate's, shared by the samples.
    names: Vec<(Named, Named)>,
    /// Each of [`RATIOS`]: its label, and the places in [`EVENTS`] of its two events.
    ratios: Vec<(Arc<str>, usize, usize)>,
    /// `tree`, the process of every sample.
    tree: Arc<str>,
    no_unit: Arc<str>,
    problems: Vec<String>,
}

/// A label and its unit, shared by the samples.
type Named = (Arc<str>, Arc<str>);

/// The place in [`EVENTS`] of the event labelled `label`.
fn event_index(label: &str) -> Option<usize> {
    EVENTS.iter().position(|(l, ..)| *l == label)
}

/// A builder of `event` on `pid`, inherited, started at once or on exec.
fn builder(event: Event, pid: i32, on_exec: bool) -> Builder<'static> {
    let mut b = match event {
        Event::Hw(h) => Builder::new(h),
        Event::Sw(s) => Builder::new(s),
    };
    b.observe_pid(pid).any_cpu().inherit(true);
    if on_exec {
        b.enable_on_exec(true);
    } else {
        b.enabled(true);
    }
    b
}

/// Builds `b` (into the group of `leader`, if any). Software events such as context
/// switches happen in the kernel: they count there where permitted, as `perf stat` does.
fn build(
    b: &mut Builder<'static>,
    event: Event,
    leader: Option<&mut Counter>,
) -> io::Result<Counter> {
    let mut leader = leader;
    let mut once = |b: &mut Builder<'static>| match leader.as_deref_mut() {
        Some(l) => b.build_with_group(l),
        None => b.build(),
    };
    match event {
        Event::Sw(_) => once(b.exclude_kernel(false)).or_else(|_| once(b.exclude_kernel(true))),
        Event::Hw(_) => once(b),
    }
}

/// Opens the events `events` (indexes into [`EVENTS`]) as one group on `pid`: `Ok(None)` if
/// the thread ended meanwhile, `Err((event, error))` for an event that cannot be opened.
fn open_group(
    events: &[usize],
    pid: i32,
    on_exec: bool,
) -> Result<Option<Opened>, (usize, io::Error)> {
    let gone = |e: &io::Error| e.raw_os_error() == Some(libc_esrch());
    let (&first, rest) = events.split_first().expect("a group has events");
    let mut b = builder(EVENTS[first].1, pid, on_exec);
    b.read_format(
        ReadFormat::GROUP
            | ReadFormat::TOTAL_TIME_ENABLED
            | ReadFormat::TOTAL_TIME_RUNNING
            | ReadFormat::ID,
    );
    let mut leader = match build(&mut b, EVENTS[first].1, None) {
        Ok(c) => c,
        Err(e) if gone(&e) => return Ok(None),
        Err(e) => return Err((first, e)),
    };
    let mut members = Vec::with_capacity(rest.len());
    for &i in rest {
        let mut b = builder(EVENTS[i].1, pid, on_exec);
        match build(&mut b, EVENTS[i].1, Some(&mut leader)) {
            Ok(c) => members.push((i, c)),
            Err(e) if gone(&e) => return Ok(None),
            Err(e) => return Err((i, e)),
        }
    }
    Ok(Some(Opened {
        leader: (first, leader),
        members,
    }))
}

impl PerfSource {
    /// Opens every event on each of `tids` (threads of the tree), inherited by what they fork
    /// from now on. With `on_exec`, counting starts when the (stopped) thread executes its
    /// program; otherwise at once.
    pub fn attach(tids: &[u32], on_exec: bool) -> PerfSource {
        let mut opened = Vec::new();
        let mut counted = [false; EVENTS.len()];
        let mut unavailable = Vec::new();
        let pids: Vec<i32> = tids.iter().filter_map(|t| i32::try_from(*t).ok()).collect();
        for group in GROUPS {
            // An event that cannot be opened leaves its group, which is opened again without
            // it on every thread.
            let mut events: Vec<usize> = group.to_vec();
            let groups = 'retry: loop {
                let mut groups = Vec::new();
                if events.is_empty() {
                    break groups;
                }
                for &pid in &pids {
                    match open_group(&events, pid, on_exec) {
                        Ok(Some(g)) => groups.push(g),
                        // A thread that ended meanwhile is no reason to give up the event.
                        Ok(None) => {}
                        Err((event, e)) => {
                            unavailable.push(Unavailable {
                                source: "perf".into(),
                                what: EVENTS[event].0.into(),
                                reason: reason(&e),
                            });
                            events.retain(|i| *i != event);
                            continue 'retry;
                        }
                    }
                }
                break groups;
            };
            if groups.is_empty() {
                for &i in &events {
                    unavailable.push(Unavailable {
                        source: "perf".into(),
                        what: EVENTS[i].0.into(),
                        reason: "no thread of the tree to attach to".into(),
                    });
                }
                continue;
            }
            for &i in &events {
                counted[i] = true;
            }
            opened.extend(groups);
        }
        // In the order of EVENTS, as the report lists them.
        unavailable.sort_by_key(|u: &Unavailable| event_index(&u.what));
        let have = |l: &str| event_index(l).is_some_and(|i| counted[i]);
        for (label, num, den) in RATIOS {
            if !(have(num) && have(den)) {
                unavailable.push(Unavailable {
                    source: "perf".into(),
                    what: label.into(),
                    reason: format!("needs {num} and {den}"),
                });
            }
        }
        let names = EVENTS
            .iter()
            .map(|&(label, _, unit)| {
                let rate_unit = if label == "perf.task_clock" {
                    "cores".to_string()
                } else {
                    format!("{unit}/s")
                };
                (
                    (Arc::from(label), Arc::from(unit)),
                    (Arc::from(rate_label(label)), Arc::from(rate_unit)),
                )
            })
            .collect();
        PerfSource {
            opened,
            counted,
            unavailable,
            prev: [None; EVENTS.len()],
            names,
            ratios: RATIOS
                .iter()
                .filter_map(|(label, num, den)| {
                    Some((Arc::from(*label), event_index(num)?, event_index(den)?))
                })
                .collect(),
            tree: Arc::from("tree"),
            no_unit: Arc::from(""),
            problems: Vec::new(),
        }
    }

    /// The labels of the events being counted.
    pub fn counted(&self) -> Vec<&'static str> {
        EVENTS
            .iter()
            .zip(self.counted)
            .filter(|(_, c)| *c)
            .map(|((label, ..), _)| *label)
            .collect()
    }
}

const fn libc_esrch() -> i32 {
    nix::errno::Errno::ESRCH as i32
}

/// Why an event could not be opened, in words a user can act on.
fn reason(e: &io::Error) -> String {
    use nix::errno::Errno;
    let errno = e.raw_os_error().map(Errno::from_raw);
    match errno {
        Some(Errno::ENOENT | Errno::EOPNOTSUPP | Errno::ENODEV) => format!(
            "not offered by this machine's CPU or kernel (virtual machines rarely pass hardware \
             counters through): {e}"
        ),
        Some(Errno::EACCES | Errno::EPERM) => {
            let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into());
            format!(
                "not permitted (kernel.perf_event_paranoid is {paranoid}; run as root or lower \
                 it): {e}"
            )
        }
        Some(Errno::ENOSYS) => format!("this kernel has no perf events: {e}"),
        _ => e.to_string(),
    }
}

impl Source for PerfSource {
    fn name(&self) -> &'static str {
        "perf"
    }

    fn sample(&mut self, _tree: &Tree, now_ms: i64, out: &mut Vec<Sample>) {
        let mut totals = [0.0f64; EVENTS.len()];
        let mut read = [false; EVENTS.len()];
        for g in &mut self.opened {
            let data = match g.leader.1.read_group() {
                Ok(d) => d,
                Err(e) => {
                    let label = EVENTS[g.leader.0].0;
                    self.problems.push(format!("{label} and its group: {e}"));
                    continue;
                }
            };
            // Scale a multiplexed group to the whole time it was enabled.
            let scale = match (data.time_enabled(), data.time_running()) {
                (Some(en), Some(run)) if !run.is_zero() && run < en => {
                    en.as_secs_f64() / run.as_secs_f64()
                }
                _ => 1.0,
            };
            for (event, counter) in std::iter::once(&g.leader).chain(&g.members) {
                if let Some(entry) = data.get(counter) {
                    totals[*event] += entry.value() as f64 * scale;
                    read[*event] = true;
                }
            }
        }
        let mut deltas = [None; EVENTS.len()];
        for (i, names) in self.names.iter().enumerate() {
            if !read[i] {
                continue;
            }
            let total = totals[i];
            let label = EVENTS[i].0;
            let push =
                |out: &mut Vec<Sample>, (label, unit): &(Arc<str>, Arc<str>), kind, value| {
                    out.push(Sample {
                        source: "perf",
                        process: Arc::clone(&self.tree),
                        label: Arc::clone(label),
                        kind,
                        unit: Arc::clone(unit),
                        value,
                    })
                };
            push(out, &names.0, "counter", total);
            if let Some((before, t0)) = self.prev[i].replace((total, now_ms))
                && now_ms > t0
            {
                let delta = (total - before).max(0.0);
                deltas[i] = Some(delta);
                let secs = (now_ms - t0) as f64 / 1000.0;
                // The task clock's rate is nanoseconds of CPU per second: how many cores the
                // tree kept busy.
                let rate = if label == "perf.task_clock" {
                    delta / 1e9 / secs
                } else {
                    delta / secs
                };
                push(out, &names.1, "rate", rate);
            }
        }
        for (ratio, num, den) in &self.ratios {
            if let (Some(n), Some(d)) = (deltas[*num], deltas[*den])
                && d > 0.0
            {
                out.push(Sample {
                    source: "perf",
                    process: Arc::clone(&self.tree),
                    label: Arc::clone(ratio),
                    kind: "interval",
                    unit: Arc::clone(&self.no_unit),
                    value: n / d,
                });
            }
        }
        self.problems.dedup();
    }

    fn unavailable(&self) -> Vec<Unavailable> {
        self.unavailable.clone()
    }

    fn problems(&mut self) -> Vec<String> {
        std::mem::take(&mut self.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_is_in_one_group_of_its_own_kind() {
        let mut seen = [0; EVENTS.len()];
        for group in GROUPS {
            let software = matches!(EVENTS[group[0]].1, Event::Sw(_));
            for &i in group {
                seen[i] += 1;
                assert_eq!(
                    matches!(EVENTS[i].1, Event::Sw(_)),
                    software,
                    "{}",
                    EVENTS[i].0
                );
            }
        }
        assert_eq!(seen, [1; EVENTS.len()]);
        // a ratio's two events are read together
        for (label, num, den) in RATIOS {
            let at = |l: &str| event_index(l).unwrap();
            assert!(
                GROUPS
                    .iter()
                    .any(|g| g.contains(&at(num)) && g.contains(&at(den))),
                "{label}"
            );
        }
    }

    #[test]
    fn software_events_count_our_own_work() {
        let me = std::process::id();
        let mut src = PerfSource::attach(&crate::tree::threads(me), false);
        assert!(
            src.counted().contains(&"perf.task_clock"),
            "{:?}",
            src.unavailable
        );
        let tree = Tree::default();
        let mut out = Vec::new();
        src.sample(&tree, 0, &mut out);
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        out.clear();
        src.sample(&tree, 1000, &mut out);
        let cores = out
            .iter()
            .find(|s| &*s.label == "perf.task_clock.rate")
            .expect("a task clock rate");
        assert!(cores.value > 0.0, "{cores:?}");
        // one read a group of events a thread, not one an event
        let threads = crate::tree::threads(me).len();
        assert!(
            src.opened.len() <= GROUPS.len() * threads,
            "{}",
            src.opened.len()
        );
        // the members of a group are read with it: the software events' group led by the
        // task clock gives the context switches too
        if src.counted().contains(&"perf.context_switches") {
            let n = out.iter().find(|s| &*s.label == "perf.context_switches");
            assert!(n.is_some_and(|n| n.value >= 0.0), "{out:?}");
            assert!(
                out.iter()
                    .any(|s| &*s.label == "perf.context_switches.rate")
            );
        }
        // every event is either counted or said to be unavailable, never both
        for (label, ..) in EVENTS {
            let counted = src.counted().contains(&label);
            let missing = src.unavailable().iter().any(|u| u.what == label);
            assert!(counted != missing, "{label}");
        }
    }
}
