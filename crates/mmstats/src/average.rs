//! Averages: the running average of every value ([`Average`], FORMAT.md §5.3) and the moving
//! average of the last N ([`MovingAverage`], §5.4).
//!
//! # Thread safety
//!
//! Like every handle, both are `Send` but not `Sync` and not `Clone`: one thread records into
//! a field, so an update is a handful of plain stores under the field's sequence counter
//! (FORMAT.md §4.2), never an atomic read-modify-write.

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;

use mmstats_format::layout::slot::{average, moving_average as moving};
use mmstats_format::{FieldMeta, Kind, ValueType};

use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// Types an average, moving average or windowed field records: integers of 8 to 64 bits,
/// `f32` and `f64`. Sums are kept in the widened "num" word of FORMAT.md §5: `u64` for
/// unsigned, `i64` for signed integers (both wrapping), `f64` for floats.
pub trait Numeric: Copy + Send + 'static + sealed::Sealed {
    /// The stored type.
    const TYPE: ValueType;
}

pub(crate) mod sealed {
    /// The widening of a recorded value into its sum type; sealed so that only the types the
    /// format knows are numeric values.
    pub trait Sealed {
        /// The sum type: `u64`, `i64` or `f64`.
        type Acc: super::Acc;
        /// The value widened to its sum type.
        fn widen(self) -> Self::Acc;
    }
}

/// A sum type of FORMAT.md §5 "num": `u64` and `i64` add with wrapping, `f64` as IEEE floats.
pub trait Acc: Copy + Default + PartialEq + std::fmt::Debug + Send + 'static {
    /// True if adding and then subtracting a value gives back the same sum exactly (integers).
    const EXACT: bool;
    /// The 64-bit type whose words decode like this sum's.
    const WIDE: ValueType;
    /// `self + v`.
    fn add(self, v: Self) -> Self;
    /// `self - v`.
    fn sub(self, v: Self) -> Self;
    /// The widened word (§5).
    fn to_wide(self) -> u64;
    /// The sum a widened word holds.
    fn from_wide(w: u64) -> Self;
}

impl Acc for u64 {
    const WIDE: ValueType = ValueType::U64;
    const EXACT: bool = true;
    #[inline(always)]
    fn add(self, v: u64) -> u64 {
        self.wrapping_add(v)
    }
    #[inline(always)]
    fn sub(self, v: u64) -> u64 {
        self.wrapping_sub(v)
    }
    #[inline(always)]
    fn to_wide(self) -> u64 {
        self
    }
    #[inline(always)]
    fn from_wide(w: u64) -> u64 {
        w
    }
}

impl Acc for i64 {
    const WIDE: ValueType = ValueType::I64;
    const EXACT: bool = true;
    #[inline(always)]
    fn add(self, v: i64) -> i64 {
        self.wrapping_add(v)
    }
    #[inline(always)]
    fn sub(self, v: i64) -> i64 {
        self.wrapping_sub(v)
    }
    #[inline(always)]
    fn to_wide(self) -> u64 {
        self as u64
    }
    #[inline(always)]
    fn from_wide(w: u64) -> i64 {
        w as i64
    }
}

impl Acc for f64 {
    const WIDE: ValueType = ValueType::F64;
    const EXACT: bool = false;
    #[inline(always)]
    fn add(self, v: f64) -> f64 {
        self + v
    }
    #[inline(always)]
    fn sub(self, v: f64) -> f64 {
        self - v
    }
    #[inline(always)]
    fn to_wide(self) -> u64 {
        self.to_bits()
    }
    #[inline(always)]
    fn from_wide(w: u64) -> f64 {
        f64::from_bits(w)
    }
}

macro_rules! numeric {
    ($($t:ty => $vt:ident, $acc:ty;)+) => {$(
        impl sealed::Sealed for $t {
            type Acc = $acc;
            #[inline(always)]
            fn widen(self) -> $acc {
                <$acc>::from(self)
            }
        }
        impl Numeric for $t {
            const TYPE: ValueType = ValueType::$vt;
        }
    )+};
}

numeric! {
    u8 => U8, u64;
    u16 => U16, u64;
    u32 => U32, u64;
    u64 => U64, u64;
    i8 => I8, i64;
    i16 => I16, i64;
    i32 => I32, i64;
    i64 => I64, i64;
    f32 => F32, f64;
    f64 => F64, f64;
}

/// The widened sum type of `T`.
pub(crate) type AccOf<T> = <T as sealed::Sealed>::Acc;

/// The running average of every value recorded: count and sum (FORMAT.md §5.3). Readers show
/// `label.count`, `label.sum` and `label.mean`.
///
/// # Thread safety
///
/// `Send` but not `Sync`: one thread records, so [`Average::record`] is a few plain stores
/// under the field's sequence counter.
#[derive(Debug)]
pub struct Average<T: Numeric> {
    slot: Slot,
    count: Cell<u64>,
    sum: Cell<AccOf<T>>,
    _t: PhantomData<T>,
}

impl<T: Numeric> Average<T> {
    /// Records `v`: `count += 1`, `sum += v` in one update of the sequence counter.
    #[inline]
    pub fn record(&self, v: T) {
        let count = self.count.get().wrapping_add(1);
        let sum = self.sum.get().add(v.widen());
        self.count.set(count);
        self.sum.set(sum);
        let _g = WriteGuard::begin(self.slot.first());
        self.slot.word(average::COUNT).store(count, Relaxed);
        self.slot.word(average::SUM).store(sum.to_wide(), Relaxed);
    }
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count.get()
    }
    /// The mean of every value recorded, `None` before the first.
    pub fn mean(&self) -> Option<f64> {
        (self.count.get() > 0).then(|| acc_f64(self.sum.get()) / self.count.get() as f64)
    }
}

/// A sum as a float.
pub(crate) fn acc_f64<A: Acc>(a: A) -> f64 {
    mmstats_format::Num::from_wide(A::WIDE, a.to_wide()).as_f64()
}

impl<T: Numeric> Handle for Average<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::Average, T::TYPE);
        meta.capacity = 0;
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        Average {
            count: Cell::new(slot.word(average::COUNT).load(Relaxed)),
            sum: Cell::new(AccOf::<T>::from_wide(slot.word(average::SUM).load(Relaxed))),
            slot,
            _t: PhantomData,
        }
    }
}

/// The default window of a [`MovingAverage`] when the declaration gives none.
pub const DEFAULT_WINDOW: u32 = 100;

/// The average of the last N values recorded (FORMAT.md §5.4), N being the field's window
/// (`FieldDecl::capacity`, default [`DEFAULT_WINDOW`]). The last N values are kept in the
/// handle's own memory, allocated once when the field is registered. Readers show
/// `label.count`, `label.mean` (of the window) and `label.last`.
///
/// Integer sums are exact; a float window sum is recomputed from the kept values once every N
/// records, so rounding never accumulates.
///
/// # Thread safety
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct MovingAverage<T: Numeric> {
    slot: Slot,
    ring: Ring<AccOf<T>>,
    _t: PhantomData<T>,
}

/// The last N values of a window, in the handle's memory, and their sum.
#[derive(Debug)]
pub(crate) struct Ring<A: Acc> {
    values: Box<[Cell<A>]>,
    next: Cell<usize>,
    len: Cell<usize>,
    sum: Cell<A>,
}

impl<A: Acc> Ring<A> {
    /// An empty window of `n` values (at least 1).
    pub(crate) fn new(n: usize) -> Ring<A> {
        Ring {
            values: (0..n.max(1)).map(|_| Cell::new(A::default())).collect(),
            next: Cell::new(0),
            len: Cell::new(0),
            sum: Cell::new(A::default()),
        }
    }

    /// Adds `v`, dropping the oldest value if the window is full; returns the number of values
    /// in the window and their sum.
    #[inline]
    pub(crate) fn push(&self, v: A) -> (u64, A) {
        let n = self.values.len();
        let i = self.next.get();
        let old = self.values[i].replace(v);
        let len = self.len.get();
        let mut sum = if len == n {
            self.sum.get().sub(old).add(v)
        } else {
            self.len.set(len + 1);
            self.sum.get().add(v)
        };
        let next = if i + 1 == n { 0 } else { i + 1 };
        self.next.set(next);
        if !A::EXACT && next == 0 {
            // Once per lap: the exact sum of the kept values replaces the running one.
            sum = self.values.iter().fold(A::default(), |s, c| s.add(c.get()));
        }
        self.sum.set(sum);
        (self.len.get() as u64, sum)
    }

    /// The window's size N.
    pub(crate) fn capacity(&self) -> usize {
        self.values.len()
    }
}

impl<T: Numeric> MovingAverage<T> {
    /// Records `v`: the count, the window's count and sum and the last value change in one
    /// update of the sequence counter.
    #[inline]
    pub fn record(&self, v: T) {
        let w = v.widen();
        let (window_count, window_sum) = self.ring.push(w);
        let count = self.slot.word(moving::COUNT).load(Relaxed).wrapping_add(1);
        let _g = WriteGuard::begin(self.slot.first());
        self.slot.word(moving::COUNT).store(count, Relaxed);
        self.slot
            .word(moving::WINDOW_COUNT)
            .store(window_count, Relaxed);
        self.slot
            .word(moving::WINDOW_SUM)
            .store(window_sum.to_wide(), Relaxed);
        self.slot.word(moving::LAST).store(w.to_wide(), Relaxed);
    }
    /// The window's size N.
    pub fn window(&self) -> usize {
        self.ring.capacity()
    }
    /// The mean of the values in the window, `None` before the first.
    pub fn mean(&self) -> Option<f64> {
        let n = self.ring.len.get();
        (n > 0).then(|| acc_f64(self.ring.sum.get()) / n as f64)
    }
}

impl<T: Numeric> Handle for MovingAverage<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::MovingAverage, T::TYPE);
        meta.capacity = decl.capacity.unwrap_or(DEFAULT_WINDOW);
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        MovingAverage {
            ring: Ring::new(slot.capacity() as usize),
            slot,
            _t: PhantomData,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_rings_are_exact() {
        let r = Ring::<i64>::new(3);
        assert_eq!(r.push(5), (1, 5));
        assert_eq!(r.push(-2), (2, 3));
        assert_eq!(r.push(10), (3, 13));
        assert_eq!(r.push(1), (3, 9), "the 5 left the window");
        assert_eq!(r.push(i64::MAX), (3, 11i64.wrapping_add(i64::MAX)));
    }

    #[test]
    fn float_rings_do_not_drift() {
        let r = Ring::<f64>::new(10);
        let mut last = (0, 0.0);
        for i in 0..100_000u32 {
            // Values of very different sizes make a running sum lose bits quickly.
            let v = if i % 2 == 0 { 1e12 } else { 0.1 };
            last = r.push(v);
        }
        assert_eq!(last.0, 10);
        let exact = (0..10).fold(0.0, |s, i| s + if i % 2 == 0 { 1e12 } else { 0.1 });
        assert_eq!(last.1, exact, "recomputed every lap");
    }

    #[test]
    fn sums_decode_as_their_type() {
        assert_eq!(acc_f64(-3i64), -3.0);
        assert_eq!(acc_f64(u64::MAX), u64::MAX as f64);
        assert_eq!(acc_f64(2.5f64), 2.5);
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        assert_send::<Average<f32>>();
        assert_send::<MovingAverage<u16>>();
    }
}
