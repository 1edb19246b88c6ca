//! Combining one label across many files (threads and processes) by its combine rule.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use mmstats_format::{Combine, FieldMeta, Num, Value};

use crate::snapshot::Snapshot;

/// One label combined over many files.
#[derive(Debug, Clone)]
pub struct Combined {
    /// Metadata of the first file that had the label.
    pub meta: Arc<FieldMeta>,
    /// The combined value (histograms merged, counters summed, ...).
    pub value: Value,
    /// How many files contributed.
    pub files: usize,
}

/// Combines every label across snapshots by each field's rule, or by `rule` when given.
///
/// Labels come out in the order they are first seen. Only values that could be read count.
/// A field whose kind or type differs from the first one seen with its label is skipped (as
/// are histograms with another sub-bucket exponent and windows of another shape). The rules:
///
/// - `sum`: numbers are added (integers wrapping at 64 bits); histograms are merged bucket by
///   bucket; averages and moving averages add their counts and sums; windows add the counts and
///   sums of matching periods. Booleans: true if any is.
/// - `max`, `min`: the value with the largest (smallest) number; for composite values, the
///   largest (smallest) mean (counts for windows). Booleans: any, all.
/// - `avg`: the arithmetic mean of the numbers; for composite values the pooled value, as for
///   `sum`, whose mean is the mean of every recorded value. Booleans: true if most are.
/// - `last`: the value of the most recently created file.
/// - `none`: the first file's value.
///
/// Text is combined by `last`, or taken from the first file under any other rule.
pub fn combine(snapshots: &[Snapshot], rule: Option<Combine>) -> Vec<Combined> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for snap in snapshots {
        let created = snap.info.created;
        for f in &snap.fields {
            let Ok(value) = &f.value else { continue };
            let label = f.meta.label.as_str();
            match index.get(label) {
                None => {
                    index.insert(label, groups.len());
                    groups.push(Group {
                        meta: Arc::clone(&f.meta),
                        rule: rule.unwrap_or(f.meta.combine),
                        acc: value.clone(),
                        created,
                        files: 1,
                        bools_true: usize::from(matches!(value, Value::Bool(true))),
                    });
                }
                Some(&i) => {
                    let g = &mut groups[i];
                    if g.meta.kind != f.meta.kind || g.meta.value_type != f.meta.value_type {
                        continue;
                    }
                    if g.add(value, created) {
                        g.files += 1;
                        if matches!(value, Value::Bool(true)) {
                            g.bools_true += 1;
                        }
                    }
                }
            }
        }
    }
    groups.into_iter().map(Group::finish).collect()
}

struct Group {
    meta: Arc<FieldMeta>,
    rule: Combine,
    acc: Value,
    /// Creation time of the file `acc` came from (for `last`).
    created: Option<SystemTime>,
    files: usize,
    bools_true: usize,
}

impl Group {
    /// Folds one more value in; `false` if it cannot be combined with the others.
    fn add(&mut self, v: &Value, created: Option<SystemTime>) -> bool {
        let rule = match (&self.acc, self.rule) {
            (Value::Text(_), Combine::Last) => Combine::Last,
            (Value::Text(_), _) => Combine::None,
            (_, r) => r,
        };
        match rule {
            Combine::None => compatible(&self.acc, v),
            Combine::Last => {
                if !compatible(&self.acc, v) {
                    return false;
                }
                if created >= self.created {
                    self.acc = v.clone();
                    self.created = created;
                }
                true
            }
            Combine::Max | Combine::Min => {
                if !compatible(&self.acc, v) {
                    return false;
                }
                if let (Value::Bool(a), Value::Bool(b)) = (&self.acc, v) {
                    self.acc = Value::Bool(if rule == Combine::Max {
                        *a || *b
                    } else {
                        *a && *b
                    });
                    return true;
                }
                let (a, b) = (rank(&self.acc), rank(v));
                let better = match (a, b) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(a), Some(b)) => {
                        if rule == Combine::Max {
                            b > a
                        } else {
                            b < a
                        }
                    }
                };
                if better {
                    self.acc = v.clone();
                }
                true
            }
            Combine::Sum | Combine::Avg => merge(&mut self.acc, v),
        }
    }

    fn finish(self) -> Combined {
        let value = match (self.rule, self.acc) {
            (Combine::Avg, Value::Number(n)) => {
                Value::Number(Num::F(n.as_f64() / self.files as f64))
            }
            (Combine::Avg, Value::Bool(_)) => Value::Bool(2 * self.bools_true > self.files),
            (_, v) => v,
        };
        Combined {
            meta: self.meta,
            value,
            files: self.files,
        }
    }
}

/// The number `max` and `min` compare.
fn rank(v: &Value) -> Option<f64> {
    match v {
        Value::Windowed(w) => Some(w.count as f64),
        Value::Histogram(h) => h.mean(),
        other => other.primary(),
    }
    .filter(|x| !x.is_nan())
}

/// Whether two values have the same shape.
fn compatible(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Histogram(x), Value::Histogram(y)) => x.k == y.k,
        (Value::Windowed(x), Value::Windowed(y)) => {
            x.width == y.width && x.slots.len() == y.slots.len()
        }
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

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
        (Value::Histogram(a), Value::Histogram(b)) => a.merge(b),
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
