//! Decoding value slots into values, and the values each field exposes (FORMAT.md §4, §5).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bytes::ByteOrder;
use crate::codes::{Kind, ValueType};
use crate::error::{FieldError, FormatError, SlotValueError};
use crate::field::FieldMeta;
use crate::histogram::{Buckets, HistogramValue, QUANTILES};
use crate::layout::limits;
use crate::layout::slot::{
    self, average, histogram as hist, moving_average as moving, text, windowed as win,
};
use crate::num::Num;
use crate::windowed::{Period, WindowedValue};

/// A field's decoded value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Value {
    /// Counter, gauge, numeric constant or timestamp.
    Number(Num),
    /// A bool gauge or constant.
    Bool(bool),
    /// Text or text constant, shared: cloning a value does not copy the text.
    Text(Arc<str>),
    /// Running average.
    Average {
        /// Values recorded.
        count: u64,
        /// Their sum.
        sum: Num,
    },
    /// Moving average over the last N values (boxed, as a windowed value is, so that a value
    /// takes 24 bytes: a reader keeps one per field of every file it reads).
    MovingAverage(Box<MovingAverageValue>),
    /// Histogram or timer, shared: cloning a value (a reader's remembered copy, a snapshot, an
    /// interval engine's previous sample) does not copy its buckets.
    Histogram(Arc<HistogramValue>),
    /// Time-windowed counts and sums.
    Windowed(Box<WindowedValue>),
}

/// A moving average's value: what [`Value::MovingAverage`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MovingAverageValue {
    /// Values recorded since creation.
    pub count: u64,
    /// Values in the window.
    pub window_count: u64,
    /// Their sum.
    pub window_sum: Num,
    /// The last value.
    pub last: Num,
}

/// The number of words a slot of `len` bytes has.
pub fn slot_words(len: u32) -> usize {
    (len as usize).div_ceil(8)
}

impl Value {
    /// Decodes a slot's words (each already turned into its value with [`ByteOrder::word`]),
    /// including the sequence word of multi-word kinds. A histogram or timer copy may end after
    /// the bucket of `max` ([`crate::used_buckets`]); the buckets it lacks are zero. `order` is the file's byte order, needed
    /// to recover text bytes.
    pub fn decode(meta: &FieldMeta, words: &[u64], order: ByteOrder) -> Result<Value, FormatError> {
        Value::decode_reusing(meta, words, order, None)
    }

    /// [`Value::decode`], built in the storage of `reuse` when that is a value of the same
    /// kind nothing else holds (a reader's previous copy of the same field): a moving
    /// average's or a windowed value's box, and a windowed value's list of periods, are
    /// rewritten where they are. Histograms: [`Value::decode_histogram_reusing`].
    pub fn decode_reusing(
        meta: &FieldMeta,
        words: &[u64],
        order: ByteOrder,
        reuse: Option<Value>,
    ) -> Result<Value, FormatError> {
        let corrupt = |reason: SlotValueError| FormatError::CorruptValue {
            label: meta.label.clone(),
            reason,
        };
        let full = meta
            .slot_length()
            .map(slot_words)
            .map_err(|e| corrupt(SlotValueError::Slot(e)))?;
        // A histogram's copy may stop after the bucket of `max` (FORMAT.md §5.5).
        let need = match meta.kind {
            Kind::Histogram | Kind::Timer => full.min(hist::BUCKETS),
            _ => full,
        };
        if words.len() < need {
            return Err(corrupt(SlotValueError::ShortSlot {
                have: words.len(),
                need,
            }));
        }
        let vt = meta.value_type;
        let wide = |w: u64| Num::from_wide(vt, w);
        Ok(match (meta.kind, vt) {
            (_, ValueType::Text) if matches!(meta.kind, Kind::Text | Kind::Constant) => {
                let len = words[text::LENGTH];
                if len > u64::from(meta.capacity) {
                    return Err(corrupt(SlotValueError::TextTooLong {
                        len,
                        capacity: meta.capacity,
                    }));
                }
                let mut bytes = Vec::with_capacity(len as usize);
                for w in &words[text::BYTES..] {
                    let raw = match order {
                        ByteOrder::Little => w.to_le_bytes(),
                        ByteOrder::Big => w.to_be_bytes(),
                    };
                    bytes.extend_from_slice(&raw);
                }
                bytes.truncate(len as usize);
                Value::Text(
                    String::from_utf8(bytes)
                        .map_err(|_| corrupt(SlotValueError::TextNotUtf8))?
                        .into(),
                )
            }
            (Kind::Counter | Kind::Gauge | Kind::Constant | Kind::Timestamp, ValueType::Bool) => {
                Value::Bool(words[slot::VALUE] & 1 != 0)
            }
            (Kind::Counter | Kind::Gauge | Kind::Constant | Kind::Timestamp, _) => {
                Value::Number(Num::from_word(vt, words[slot::VALUE]))
            }
            (Kind::Average, _) => Value::Average {
                count: words[average::COUNT],
                sum: wide(words[average::SUM]),
            },
            (Kind::MovingAverage, _) => {
                let m = MovingAverageValue {
                    count: words[moving::COUNT],
                    window_count: words[moving::WINDOW_COUNT],
                    window_sum: wide(words[moving::WINDOW_SUM]),
                    last: wide(words[moving::LAST]),
                };
                Value::MovingAverage(match reuse {
                    Some(Value::MovingAverage(mut kept)) => {
                        *kept = m;
                        kept
                    }
                    _ => Box::new(m),
                })
            }
            (Kind::Histogram | Kind::Timer, _) => {
                let end = words.len().min(hist::BUCKETS + meta.capacity as usize);
                let buckets = Buckets::from_dense(&words[hist::BUCKETS..end]);
                return Value::decode_histogram(meta, &words[..hist::BUCKETS], buckets);
            }
            (Kind::Windowed, _) => {
                let mut w = match reuse {
                    Some(Value::Windowed(kept)) => kept,
                    _ => Box::new(WindowedValue {
                        width: 0,
                        count: 0,
                        sum: Num::U(0),
                        slots: Vec::new(),
                    }),
                };
                w.width = u64::from(meta.param);
                w.count = words[win::COUNT];
                w.sum = wide(words[win::SUM]);
                w.slots.clear();
                w.slots.extend(
                    words[win::PERIODS..win::PERIODS + win::PERIOD_WORDS * meta.capacity as usize]
                        .chunks_exact(win::PERIOD_WORDS)
                        .map(|c| Period {
                            period: c[win::PERIOD],
                            count: c[win::PERIOD_COUNT],
                            sum: wide(c[win::PERIOD_SUM]),
                        }),
                );
                Value::Windowed(w)
            }
            (Kind::Text, _) => return Err(corrupt(SlotValueError::NumericText)),
        })
    }

    /// Decodes a histogram or timer slot whose non-zero buckets were gathered apart (as a
    /// reader does while it copies them, [`Buckets::from_sorted`]): `head` holds the sequence
    /// word and the seven words after it, each already turned into its value. The same value
    /// as [`Value::decode`] of the whole slot.
    pub fn decode_histogram(
        meta: &FieldMeta,
        head: &[u64],
        buckets: Buckets,
    ) -> Result<Value, FormatError> {
        let head = histogram_head(meta, head)?;
        Ok(Value::Histogram(Arc::new(HistogramValue::from_parts(
            u32::from(meta.param),
            head,
            buckets,
            meta.capacity as usize,
        ))))
    }

    /// [`Value::decode_histogram`] of the buckets with indexes `indexes` and counts `counts`
    /// (as [`Buckets::from_sorted`] takes them), built in the storage of `reuse` when that is
    /// a histogram nothing else shares (a reader's previous copy of the same field that no
    /// snapshot holds any more): its bucket list is rewritten where it is when the new one
    /// takes as many bytes, so a changed histogram costs no allocation.
    pub fn decode_histogram_reusing(
        meta: &FieldMeta,
        head: &[u64],
        indexes: &[u16],
        counts: &[u64],
        reuse: Option<Value>,
    ) -> Result<Value, FormatError> {
        let head = histogram_head(meta, head)?;
        let (k, capacity) = (u32::from(meta.param), meta.capacity as usize);
        if let Some(Value::Histogram(mut h)) = reuse
            && let Some(value) = Arc::get_mut(&mut h)
        {
            value.set_parts(k, head, indexes, counts, capacity);
            return Ok(Value::Histogram(h));
        }
        let buckets = Buckets::from_sorted(indexes, counts);
        Ok(Value::Histogram(Arc::new(HistogramValue::from_parts(
            k, head, buckets, capacity,
        ))))
    }

    /// Encodes the value as the words of `meta`'s slot, in native values as a writer stores
    /// them, with the sequence word of a multi-word slot 0 (the writer keeps its own): the
    /// inverse of [`Value::decode`]. `None` if the value is not of the field's kind, or does not
    /// fit its slot (more buckets or period slots than its capacity).
    pub fn encode(&self, meta: &FieldMeta) -> Option<Vec<u64>> {
        let mut words = vec![0u64; slot_words(meta.slot_length().ok()?)];
        let vt = meta.value_type;
        match (meta.kind, self) {
            (Kind::Counter | Kind::Gauge | Kind::Constant | Kind::Timestamp, Value::Number(n))
                if vt != ValueType::Text =>
            {
                words[slot::VALUE] = n.to_word(vt);
            }
            (Kind::Counter | Kind::Gauge | Kind::Constant | Kind::Timestamp, Value::Bool(b)) => {
                words[slot::VALUE] = u64::from(*b);
            }
            (Kind::Text | Kind::Constant, Value::Text(t)) if vt == ValueType::Text => {
                let (text, _) = text_words(t, meta.capacity);
                let end = slot::SEQ + 1 + text.len();
                words.get_mut(slot::SEQ + 1..end)?.copy_from_slice(&text);
            }
            (Kind::Average, Value::Average { count, sum }) => {
                words[average::COUNT] = *count;
                words[average::SUM] = sum.to_wide(vt);
            }
            (Kind::MovingAverage, Value::MovingAverage(m)) => {
                let MovingAverageValue {
                    count,
                    window_count,
                    window_sum,
                    last,
                } = &**m;
                words[moving::COUNT] = *count;
                words[moving::WINDOW_COUNT] = *window_count;
                words[moving::WINDOW_SUM] = window_sum.to_wide(vt);
                words[moving::LAST] = last.to_wide(vt);
            }
            (Kind::Histogram | Kind::Timer, Value::Histogram(h)) => {
                let head = [
                    (hist::COUNT, h.count),
                    (hist::SUM, h.sum),
                    (hist::MIN, h.min),
                    (hist::MAX, h.max),
                    (hist::LAST, h.last),
                    (hist::WINDOW_COUNT, h.window_count),
                    (hist::WINDOW_SUM, h.window_sum),
                ];
                for (i, w) in head {
                    words[i] = w;
                }
                let buckets = words.get_mut(hist::BUCKETS..)?;
                for (i, n) in h.buckets() {
                    *buckets.get_mut(i)? = n;
                }
            }
            (Kind::Windowed, Value::Windowed(w)) => {
                words[win::COUNT] = w.count;
                words[win::SUM] = w.sum.to_wide(vt);
                for (j, p) in w.slots.iter().enumerate() {
                    let base = win::PERIODS + win::PERIOD_WORDS * j;
                    let s = words.get_mut(base..base + win::PERIOD_WORDS)?;
                    s[win::PERIOD] = p.period;
                    s[win::PERIOD_COUNT] = p.count;
                    s[win::PERIOD_SUM] = p.sum.to_wide(vt);
                }
            }
            _ => return None,
        }
        Some(words)
    }

    /// The value as one number, where it has an obvious one (scalars, means, counts).
    pub fn primary(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(n.as_f64()),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Text(_) => None,
            Value::Average { count, sum } => (*count > 0).then(|| sum.as_f64() / *count as f64),
            Value::MovingAverage(m) => {
                (m.window_count > 0).then(|| m.window_sum.as_f64() / m.window_count as f64)
            }
            Value::Histogram(h) => h.mean(),
            Value::Windowed(w) => Some(w.count as f64),
        }
    }

    /// The one derived value named `name` (`p99`, `mean`, `rate`, ...), if this value has it;
    /// see [`Value::derived_values`].
    pub fn derived(&self, kind: Kind, now: f64, created: f64, name: &str) -> Option<f64> {
        self.derived_values(kind, now, created)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, x)| x)
    }

    /// The derived values this field has, as `(suffix, value)`: a reader shows them as
    /// `label.suffix` (FORMAT.md §5). `now` and `created` are Unix seconds, for windows.
    pub fn derived_values(&self, kind: Kind, now: f64, created: f64) -> Vec<(&'static str, f64)> {
        let mut out = Vec::new();
        match self {
            Value::Average { count, sum } => {
                out.push(("count", *count as f64));
                out.push(("sum", sum.as_f64()));
                if let Some(m) = self.primary() {
                    out.push(("mean", m));
                }
            }
            Value::MovingAverage(a) => {
                out.push(("count", a.count as f64));
                if let Some(m) = self.primary() {
                    out.push(("mean", m));
                }
                out.push(("last", a.last.as_f64()));
            }
            Value::Histogram(h) => return histogram_derived_values(h, kind),
            Value::Windowed(w) => {
                let s = w.summary(now, created);
                out.push(("count", w.count as f64));
                out.push(("rate", s.rate));
                if let Some(m) = s.mean {
                    out.push(("mean", m));
                }
            }
            Value::Number(_) | Value::Bool(_) | Value::Text(_) => {}
        }
        out
    }
}

/// The derived values of a histogram or timer of `kind` whose value is `h`, as
/// [`Value::derived_values`] lists them: `count`, `sum`, then `min`, `max` and `last` unless it
/// is empty, `mean`, a timer's `avg` (its moving window's mean), and the quantiles `p50` to
/// `p999`. Takes the histogram by reference, so a histogram that is not a [`Value`] (an
/// interval's bucket differences) needs no copy.
pub fn histogram_derived_values(h: &HistogramValue, kind: Kind) -> Vec<(&'static str, f64)> {
    let mut out = Vec::with_capacity(7 + QUANTILES.len());
    out.push(("count", h.count as f64));
    out.push(("sum", h.sum as f64));
    if h.count > 0 {
        out.push(("min", h.min as f64));
        out.push(("max", h.max as f64));
        out.push(("last", h.last as f64));
    }
    if let Some(m) = h.mean() {
        out.push(("mean", m));
    }
    if kind == Kind::Timer
        && let Some(m) = h.window_mean()
    {
        out.push(("avg", m));
    }
    for (q, name) in QUANTILES {
        if let Some(v) = h.quantile(q) {
            out.push((name, v as f64));
        }
    }
    out
}

/// The initial words of a field's slot (seq word first for multi-word kinds), in native values.
/// Constants other than text start at zero; the writer stores their value.
pub fn initial_words(meta: &FieldMeta) -> Result<Vec<u64>, FieldError> {
    let len = meta.validate()?;
    let mut words = vec![0u64; slot_words(len)];
    if matches!(meta.kind, Kind::Histogram | Kind::Timer) {
        words[hist::MIN] = u64::MAX; // min of an empty histogram (§5.5)
    }
    Ok(words)
}

/// Encodes text into a text slot's words after the sequence word (`length`, then the bytes),
/// truncated to `capacity` on a character boundary; returns the words and the length used.
pub fn text_words(text: &str, capacity: u32) -> (Vec<u64>, usize) {
    let cap = (capacity as usize).min(limits::TEXT_CAPACITY_MAX as usize);
    let t = crate::strings::truncate_utf8(text, cap);
    let mut words = Vec::with_capacity(1 + t.len().div_ceil(8));
    words.push(t.len() as u64);
    for chunk in t.as_bytes().chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        words.push(u64::from_ne_bytes(b));
    }
    (words, t.len())
}

/// The seven words after a histogram slot's sequence word, from `head` (the sequence word and
/// what follows it, turned into values), for a field that is a histogram or a timer.
fn histogram_head(meta: &FieldMeta, head: &[u64]) -> Result<[u64; 7], FormatError> {
    let corrupt = |reason: SlotValueError| FormatError::CorruptValue {
        label: meta.label.clone(),
        reason,
    };
    if !matches!(meta.kind, Kind::Histogram | Kind::Timer) {
        return Err(corrupt(SlotValueError::NotAHistogram));
    }
    if head.len() < hist::BUCKETS {
        return Err(corrupt(SlotValueError::ShortSlot {
            have: head.len(),
            need: hist::BUCKETS,
        }));
    }
    Ok([
        head[hist::COUNT],
        head[hist::SUM],
        head[hist::MIN],
        head[hist::MAX],
        head[hist::LAST],
        head[hist::WINDOW_COUNT],
        head[hist::WINDOW_SUM],
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_types_mask_and_sign_extend() {
        assert_eq!(Num::from_word(ValueType::U8, 0x1ff), Num::U(0xff));
        assert_eq!(Num::from_word(ValueType::I8, 0xff), Num::I(-1));
        assert_eq!(
            Num::from_word(ValueType::I32, Num::I(-5).to_word(ValueType::I32)),
            Num::I(-5)
        );
        assert_eq!(
            Num::from_word(ValueType::F32, Num::F(1.5).to_word(ValueType::F32)),
            Num::F(1.5)
        );
        assert_eq!(Num::from_word(ValueType::Bool, 1), Num::U(1));
    }

    #[test]
    fn text_round_trips_and_truncates_on_char_boundary() {
        let mut meta = FieldMeta::new("t", Kind::Text, ValueType::Text);
        meta.capacity = 5;
        let (w, used) = text_words("héllo", 5);
        assert_eq!(used, 5);
        let mut words = vec![0u64];
        words.extend(w);
        assert_eq!(words.len(), 3);
        let v = Value::decode(&meta, &words, ByteOrder::NATIVE).unwrap();
        assert_eq!(v, Value::Text("héll".into()));
        let (_, used) = text_words("ééé", 5);
        assert_eq!(used, 4);
    }

    #[test]
    fn encode_is_the_inverse_of_decode() {
        let mut text = FieldMeta::new("t", Kind::Text, ValueType::Text);
        text.capacity = 12;
        let mut hist = FieldMeta::new("h", Kind::Timer, ValueType::U64);
        hist.param = 5;
        hist.capacity = 64;
        let mut win = FieldMeta::new("w", Kind::Windowed, ValueType::F64);
        win.param = 1;
        win.capacity = 3;
        let mut moving = FieldMeta::new("m", Kind::MovingAverage, ValueType::I32);
        moving.capacity = 4;
        let mut h = HistogramValue::empty(5, 64);
        h.record(7);
        h.record(1000);
        let cases = [
            (
                FieldMeta::new("c", Kind::Counter, ValueType::I16),
                Value::Number(Num::I(-3)),
            ),
            (
                FieldMeta::new("b", Kind::Gauge, ValueType::Bool),
                Value::Bool(true),
            ),
            (text, Value::Text("héllo".into())),
            (
                FieldMeta::new("a", Kind::Average, ValueType::F32),
                Value::Average {
                    count: 2,
                    sum: Num::F(1.5),
                },
            ),
            (
                moving,
                Value::MovingAverage(Box::new(MovingAverageValue {
                    count: 9,
                    window_count: 4,
                    window_sum: Num::I(-8),
                    last: Num::I(-2),
                })),
            ),
            (hist, Value::Histogram(h.into())),
            (
                win,
                Value::Windowed(Box::new(WindowedValue {
                    width: 1,
                    count: 5,
                    sum: Num::F(2.5),
                    slots: vec![
                        Period {
                            period: 10,
                            count: 2,
                            sum: Num::F(1.0),
                        },
                        Period {
                            period: 11,
                            count: 3,
                            sum: Num::F(1.5),
                        },
                        Period {
                            period: 0,
                            count: 0,
                            sum: Num::F(0.0),
                        },
                    ],
                })),
            ),
        ];
        for (meta, v) in cases {
            let words = v.encode(&meta).unwrap();
            assert_eq!(words.len(), slot_words(meta.slot_length().unwrap()));
            assert_eq!(
                Value::decode(&meta, &words, ByteOrder::NATIVE),
                Ok(v.clone()),
                "{}",
                meta.label
            );
            // decoded into the storage of another value of the field (all words zero)
            let other = Value::decode(&meta, &vec![0; words.len()], ByteOrder::NATIVE).ok();
            assert_ne!(other.as_ref(), Some(&v), "{}", meta.label);
            assert_eq!(
                Value::decode_reusing(&meta, &words, ByteOrder::NATIVE, other),
                Ok(v),
                "{}",
                meta.label
            );
        }
        let counter = FieldMeta::new("c", Kind::Counter, ValueType::U64);
        assert_eq!(Value::Text("x".into()).encode(&counter), None);
    }

    #[test]
    fn corrupt_text_length_is_an_error() {
        let mut meta = FieldMeta::new("t", Kind::Text, ValueType::Text);
        meta.capacity = 8;
        let words = [0u64, 99, 0];
        assert!(matches!(
            Value::decode(&meta, &words, ByteOrder::NATIVE),
            Err(FormatError::CorruptValue {
                reason: SlotValueError::TextTooLong {
                    len: 99,
                    capacity: 8
                },
                ..
            })
        ));
    }
}
