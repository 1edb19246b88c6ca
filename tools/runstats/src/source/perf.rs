//! Hardware and software performance counters of the tree through `perf_event_open`, with
//! inheritance: counters opened on the root (or on every thread of an existing tree) count
//! every thread and process forked from it afterwards, and reading one gives the total of the
//! live and the exited ones.
//!
//! An event the kernel, the CPU or the permissions do not offer (hardware counters in most
//! virtual machines) is recorded as unavailable with the reason, never as zeros.

use std::collections::HashMap;
use std::io;

use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter};

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

/// The open counters of one event (one per thread attached to).
#[derive(Debug)]
struct Opened {
    label: &'static str,
    unit: &'static str,
    counters: Vec<Counter>,
}

/// Records perf counters of the tree, summed over everything the counters inherited.
#[derive(Debug)]
pub struct PerfSource {
    opened: Vec<Opened>,
    unavailable: Vec<Unavailable>,
    prev: HashMap<&'static str, (f64, i64)>,
    problems: Vec<String>,
}

impl PerfSource {
    /// Opens every event on each of `tids` (threads of the tree), inherited by what they fork
    /// from now on. With `on_exec`, counting starts when the (stopped) thread executes its
    /// program; otherwise at once.
    pub fn attach(tids: &[u32], on_exec: bool) -> PerfSource {
        let mut opened = Vec::new();
        let mut unavailable = Vec::new();
        for (label, event, unit) in EVENTS {
            let mut counters = Vec::new();
            let mut failure = None;
            for &tid in tids {
                let Ok(pid) = i32::try_from(tid) else {
                    continue;
                };
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
                // Software events such as context switches happen in the kernel: count
                // them there where permitted, as `perf stat` does.
                let built = match event {
                    Event::Sw(_) => b
                        .exclude_kernel(false)
                        .build()
                        .or_else(|_| b.exclude_kernel(true).build()),
                    Event::Hw(_) => b.build(),
                };
                match built {
                    Ok(c) => counters.push(c),
                    // A thread that ended meanwhile is no reason to give up the event.
                    Err(e) if e.raw_os_error() == Some(libc_esrch()) => {}
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                Some(e) => unavailable.push(Unavailable {
                    source: "perf".into(),
                    what: label.into(),
                    reason: reason(&e),
                }),
                None if counters.is_empty() => unavailable.push(Unavailable {
                    source: "perf".into(),
                    what: label.into(),
                    reason: "no thread of the tree to attach to".into(),
                }),
                None => opened.push(Opened {
                    label,
                    unit,
                    counters,
                }),
            }
        }
        let have = |l: &str| opened.iter().any(|o| o.label == l);
        for (label, num, den) in RATIOS {
            if !(have(num) && have(den)) {
                unavailable.push(Unavailable {
                    source: "perf".into(),
                    what: label.into(),
                    reason: format!("needs {num} and {den}"),
                });
            }
        }
        PerfSource {
            opened,
            unavailable,
            prev: HashMap::new(),
            problems: Vec::new(),
        }
    }

    /// The labels of the events being counted.
    pub fn counted(&self) -> Vec<&'static str> {
        self.opened.iter().map(|o| o.label).collect()
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
        let mut deltas: HashMap<&'static str, f64> = HashMap::new();
        for o in &mut self.opened {
            let mut total = 0.0;
            let mut any = false;
            for c in &mut o.counters {
                match c.read_full() {
                    Ok(d) => {
                        any = true;
                        let count = d.count() as f64;
                        // Scale a multiplexed counter to the whole time it was enabled.
                        total += match (d.time_enabled(), d.time_running()) {
                            (Some(en), Some(run)) if !run.is_zero() && run < en => {
                                count * en.as_secs_f64() / run.as_secs_f64()
                            }
                            _ => count,
                        };
                    }
                    Err(e) => self.problems.push(format!("{}: {e}", o.label)),
                }
            }
            if !any {
                continue;
            }
            let push = |out: &mut Vec<Sample>, label: String, kind, unit: &str, value| {
                out.push(Sample {
                    source: "perf",
                    process: "tree".into(),
                    label: label.into(),
                    kind,
                    unit: unit.into(),
                    value,
                })
            };
            push(out, o.label.to_string(), "counter", o.unit, total);
            if let Some((before, t0)) = self.prev.insert(o.label, (total, now_ms))
                && now_ms > t0
            {
                let delta = (total - before).max(0.0);
                deltas.insert(o.label, delta);
                let secs = (now_ms - t0) as f64 / 1000.0;
                if o.label == "perf.task_clock" {
                    // nanoseconds of CPU per second: how many cores the tree kept busy
                    push(
                        out,
                        rate_label(o.label),
                        "rate",
                        "cores",
                        delta / 1e9 / secs,
                    );
                } else {
                    let unit = format!("{}/s", o.unit);
                    push(out, rate_label(o.label), "rate", &unit, delta / secs);
                }
            }
        }
        for (label, num, den) in RATIOS {
            if let (Some(n), Some(d)) = (deltas.get(num), deltas.get(den))
                && *d > 0.0
            {
                out.push(Sample {
                    source: "perf",
                    process: "tree".into(),
                    label: label.into(),
                    kind: "interval",
                    unit: "".into(),
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
        // every event is either counted or said to be unavailable, never both
        for (label, ..) in EVENTS {
            let counted = src.counted().contains(&label);
            let missing = src.unavailable().iter().any(|u| u.what == label);
            assert!(counted != missing, "{label}");
        }
    }
}
