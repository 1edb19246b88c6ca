//! Adding one decoded value into another: the `sum` rule of FORMAT.md §3.2 and §5.5, which
//! readers use across threads and processes, and the process-totals fold of §6.4, which
//! writers use when a thread's file ends. Both work on decoded values ([`Value::decode`],
//! [`Value::encode`]), so no crate adds slot words of its own.

use crate::codes::Kind;
use crate::num::Num;
use crate::value::Value;

/// Adds `v` into `acc` as the `sum` rule does: numbers and counts added, histograms merged
/// bucket by bucket, windows slot by slot, averages by count and sum; `false` (and `acc`
/// unchanged) if their shapes differ.
pub fn merge(acc: &mut Value, v: &Value) -> bool {
    match (acc, v) {
        (Value::Number(a), Value::Number(b)) => match add_num(*a, *b) {
            Some(n) => {
                *a = n;
                true
            }
            None => false,
        },
        (Value::Bool(a), Value::Bool(b)) => {
            *a = *a || *b;
            true
        }
        (Value::Average { count, sum }, Value::Average { count: c, sum: s }) => {
            match add_num(*sum, *s) {
                Some(n) => {
                    *sum = n;
                    *count = count.wrapping_add(*c);
                    true
                }
                None => false,
            }
        }
        (Value::MovingAverage(a), Value::MovingAverage(b)) => {
            match add_num(a.window_sum, b.window_sum) {
                Some(n) => {
                    a.window_sum = n;
                    a.count = a.count.wrapping_add(b.count);
                    a.window_count = a.window_count.wrapping_add(b.window_count);
                    a.last = b.last;
                    true
                }
                None => false,
            }
        }
        (Value::Histogram(a), Value::Histogram(b)) => std::sync::Arc::make_mut(a).merge(b),
        (Value::Windowed(a), Value::Windowed(b)) => {
            if a.width != b.width || a.slots.len() != b.slots.len() {
                return false;
            }
            let Some(sum) = add_num(a.sum, b.sum) else {
                return false;
            };
            // Slot j of both holds periods p with p mod S = j, so at most the newer of two
            // different periods can still be inside the window: keep it.
            for (x, y) in a.slots.iter_mut().zip(&b.slots) {
                if x.period == y.period {
                    if let Some(s) = add_num(x.sum, y.sum) {
                        x.sum = s;
                        x.count = x.count.wrapping_add(y.count);
                    }
                } else if y.period > x.period {
                    *x = *y;
                }
            }
            a.sum = sum;
            a.count = a.count.wrapping_add(b.count);
            true
        }
        _ => false,
    }
}

/// Adds two numbers of the same kind (integers wrap).
fn add_num(a: Num, b: Num) -> Option<Num> {
    Some(match (a, b) {
        (Num::U(x), Num::U(y)) => Num::U(x.wrapping_add(y)),
        (Num::I(x), Num::I(y)) => Num::I(x.wrapping_add(y)),
        (Num::F(x), Num::F(y)) => Num::F(x + y),
        _ => return None,
    })
}

/// Whether fields of `kind` are folded into a process's totals file when a thread's file ends
/// (FORMAT.md §6.4): counters, averages, histograms, timers and windowed fields. Gauges, texts,
/// constants, timestamps and moving averages describe the thread that ended.
pub fn folds(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Counter | Kind::Average | Kind::Histogram | Kind::Timer | Kind::Windowed
    )
}

/// Folds a thread's final value into its process's totals (FORMAT.md §6.4): [`merge`], except
/// that a histogram that recorded nothing leaves the totals as they are, a timer's moving
/// window describes the thread and is not carried over, and `last` becomes the thread's.
/// `false` (and `total` unchanged) if their shapes differ.
pub fn fold(total: &mut Value, thread: &Value) -> bool {
    match (total, thread) {
        (Value::Histogram(t), Value::Histogram(h)) => {
            if t.k != h.k {
                return false;
            }
            if h.count == 0 {
                return true;
            }
            let t = std::sync::Arc::make_mut(t);
            let window = (t.window_count, t.window_sum);
            let merged = t.merge(h);
            (t.window_count, t.window_sum) = window;
            t.last = h.last;
            merged
        }
        (total, thread) => merge(total, thread),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ValueType;
    use crate::field::FieldMeta;
    use crate::histogram::HistogramValue;

    /// Folds `b` into `a`, both decoded from the words of a field of `meta`, and encodes the
    /// result: what a writer's totals do.
    fn fold_words(meta: &FieldMeta, a: u64, b: u64) -> u64 {
        let decode = |w: u64| Value::decode(meta, &[w], crate::ByteOrder::NATIVE).unwrap();
        let mut total = decode(a);
        assert!(fold(&mut total, &decode(b)));
        total.encode(meta).unwrap()[0]
    }

    #[test]
    fn counters_add_in_their_type() {
        let c = |vt| FieldMeta::new("c", Kind::Counter, vt);
        assert_eq!(fold_words(&c(ValueType::U64), u64::MAX, 2), 1);
        assert_eq!(
            f64::from_bits(fold_words(
                &c(ValueType::F64),
                1.5f64.to_bits(),
                2f64.to_bits()
            )),
            3.5
        );
        let f = fold_words(
            &c(ValueType::F32),
            u64::from(1.5f32.to_bits()),
            u64::from(0.25f32.to_bits()),
        );
        assert_eq!(f >> 32, 0);
        assert_eq!(f32::from_bits(f as u32), 1.75);
    }

    #[test]
    fn average_sums_add_as_wide_numbers() {
        let mut a = Value::Average {
            count: 1,
            sum: Num::F(1.0),
        };
        assert!(fold(
            &mut a,
            &Value::Average {
                count: 2,
                sum: Num::F(2.0)
            }
        ));
        assert_eq!(
            a,
            Value::Average {
                count: 3,
                sum: Num::F(3.0)
            }
        );
        let mut a = Value::Average {
            count: 1,
            sum: Num::I(-3),
        };
        assert!(fold(
            &mut a,
            &Value::Average {
                count: 1,
                sum: Num::I(1)
            }
        ));
        assert_eq!(
            a,
            Value::Average {
                count: 2,
                sum: Num::I(-2)
            }
        );
    }

    #[test]
    fn a_fold_keeps_the_totals_window_and_takes_the_threads_last() {
        let mut total = HistogramValue::empty(5, 64);
        total.record(100);
        total.window_count = 1;
        total.window_sum = 100;
        let mut thread = HistogramValue::empty(5, 64);
        thread.record(1);
        thread.window_count = 1;
        thread.window_sum = 1;
        let mut t = Value::Histogram(total.clone().into());
        assert!(fold(&mut t, &Value::Histogram(thread.clone().into())));
        let Value::Histogram(t) = t else {
            unreachable!()
        };
        assert_eq!((t.count, t.sum, t.min, t.max, t.last), (2, 101, 1, 100, 1));
        assert_eq!((t.window_count, t.window_sum), (1, 100));
        // merge, the reader's rule, adds windows and keeps the first last
        let mut m = Value::Histogram(total.clone().into());
        assert!(merge(&mut m, &Value::Histogram(thread.into())));
        let Value::Histogram(m) = m else {
            unreachable!()
        };
        assert_eq!((m.last, m.window_count, m.window_sum), (100, 2, 101));
        // an empty thread histogram changes nothing
        let mut t = Value::Histogram(total.clone().into());
        assert!(fold(
            &mut t,
            &Value::Histogram(HistogramValue::empty(5, 64).into())
        ));
        assert_eq!(t, Value::Histogram(total.into()));
    }

    #[test]
    fn folds_names_the_kinds_of_the_spec() {
        let folded: Vec<Kind> = Kind::ALL.iter().copied().filter(|k| folds(*k)).collect();
        assert_eq!(
            folded,
            [
                Kind::Counter,
                Kind::Average,
                Kind::Histogram,
                Kind::Timer,
                Kind::Windowed
            ]
        );
    }
}
