//! Per-second slots for rates and means over a time window (FORMAT.md §5.7).

use serde::{Deserialize, Serialize};

use crate::num::Num;

/// One period slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// `floor(unix time / width)` of the period this slot holds; 0 if unused.
    pub period: u64,
    /// Values recorded in it.
    pub count: u64,
    /// Their sum.
    pub sum: Num,
}

/// A windowed field's value as decoded from a file (FORMAT.md §5.7): what readers summarise
/// and render. The writer's handle that records into such a field is `mmstats::Windowed<T>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowedValue {
    /// Slot width in seconds.
    pub width: u64,
    /// Values recorded since creation.
    pub count: u64,
    /// Their sum.
    pub sum: Num,
    /// The slots.
    pub slots: Vec<Period>,
}

/// What a window says at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSummary {
    /// Values recorded in the window.
    pub count: u64,
    /// Values per second over the window.
    pub rate: f64,
    /// Mean of the values in the window.
    pub mean: Option<f64>,
    /// Seconds the window covers.
    pub seconds: f64,
}

impl WindowedValue {
    /// Summarises the window at Unix time `now` (seconds) for a writer created at `created`
    /// (seconds), so that a young writer's rate is not diluted by time before it existed.
    pub fn summary(&self, now: f64, created: f64) -> WindowSummary {
        let width = self.width.max(1) as f64;
        let slots = self.slots.len() as u64;
        let p_now = (now / width).floor().max(0.0) as u64;
        let oldest = p_now.saturating_sub(slots.saturating_sub(1));
        let (mut count, mut sum) = (0u64, 0f64);
        for s in &self.slots {
            if s.period != 0 && s.period >= oldest && s.period <= p_now {
                count = count.saturating_add(s.count);
                sum += s.sum.as_f64();
            }
        }
        let full = (slots.saturating_sub(1)) as f64 * width + (now - p_now as f64 * width);
        let seconds = full.min((now - created).max(0.0)).max(f64::MIN_POSITIVE);
        WindowSummary {
            count,
            rate: count as f64 / seconds,
            mean: (count > 0).then(|| sum / count as f64),
            seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(slots: Vec<(u64, u64)>) -> WindowedValue {
        WindowedValue {
            width: 1,
            count: 0,
            sum: Num::U(0),
            slots: slots
                .into_iter()
                .map(|(p, c)| Period {
                    period: p,
                    count: c,
                    sum: Num::U(c * 10),
                })
                .collect(),
        }
    }

    #[test]
    fn old_slots_are_excluded_so_idle_writers_decay() {
        // 4 slots; periods 100..=103 each with 5 events
        let win = w(vec![(100, 5), (101, 5), (102, 5), (103, 5)]);
        let now = 103.5;
        let s = win.summary(now, 0.0);
        assert_eq!(s.count, 20);
        assert!((s.rate - 20.0 / 3.5).abs() < 1e-9);
        assert_eq!(s.mean, Some(10.0));
        // writer idle for a long time: nothing in the window
        let s = win.summary(200.0, 0.0);
        assert_eq!(s.count, 0);
        assert_eq!(s.rate, 0.0);
        assert_eq!(s.mean, None);
    }

    #[test]
    fn young_writer_rate_uses_its_age() {
        let win = w(vec![(0, 0), (0, 0), (0, 0), (1000, 10)]);
        let s = win.summary(1000.5, 999.5);
        assert!((s.rate - 10.0).abs() < 1e-9);
    }
}
