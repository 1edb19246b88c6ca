//! Adding one value into another as the `sum` rule does: the one merge of decoded values
//! that the interval engine and the tools build on.

use mmstats_format::{Num, Value};

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
        (
            Value::MovingAverage {
                count,
                window_count,
                window_sum,
                last,
            },
            Value::MovingAverage {
                count: c,
                window_count: wc,
                window_sum: ws,
                last: l,
            },
        ) => match add_num(*window_sum, *ws) {
            Some(n) => {
                *window_sum = n;
                *count = count.wrapping_add(*c);
                *window_count = window_count.wrapping_add(*wc);
                *last = *l;
                true
            }
            None => false,
        },
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
