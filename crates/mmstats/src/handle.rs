//! The handles that update fields: the hot path.
//!
//! # Thread safety
//!
//! Every handle is `Send` but not `Sync`, and not `Clone`: each field's handle is handed out
//! once and used by one thread at a time. That is what lets [`Counter::incr`] be a plain load
//! and store of its word instead of an atomic read-modify-write (FORMAT.md §8), and what makes
//! the sequence counter of a [`Text`] a single-writer seqlock.

use std::marker::PhantomData;
use std::sync::atomic::Ordering::Relaxed;
use std::time::SystemTime;

use mmstats_format::layout::slot::text;
use mmstats_format::{FieldMeta, Kind, ValueType, truncate_utf8};

use crate::decl::{FieldDecl, Handle};
use crate::error::Error;
use crate::region::Slot;
use crate::seqlock::WriteGuard;

/// Types a gauge or constant can hold: integers of 8 to 64 bits, `f32`, `f64`, `bool`.
pub trait GaugeValue: Copy + Send + 'static + sealed::Sealed {
    /// The stored type.
    const TYPE: ValueType;
}

pub(crate) mod sealed {
    /// Conversion to and from the word of FORMAT.md §4.1; sealed so that only the types the
    /// format knows are gauge values.
    pub trait Sealed {
        /// The word that stores `self`.
        fn to_word(self) -> u64;
        /// The value a word stores.
        fn from_word(w: u64) -> Self;
    }
}

macro_rules! gauge_value {
    ($($t:ty => $vt:ident, $to:expr, $from:expr;)+) => {$(
        impl sealed::Sealed for $t {
            #[inline(always)]
            fn to_word(self) -> u64 {
                let f: fn($t) -> u64 = $to;
                f(self)
            }
            #[inline(always)]
            fn from_word(w: u64) -> $t {
                let f: fn(u64) -> $t = $from;
                f(w)
            }
        }
        impl GaugeValue for $t {
            const TYPE: ValueType = ValueType::$vt;
        }
    )+};
}

gauge_value! {
    u8 => U8, u64::from, |w| w as u8;
    u16 => U16, u64::from, |w| w as u16;
    u32 => U32, u64::from, |w| w as u32;
    u64 => U64, |v| v, |w| w;
    i8 => I8, |v| i64::from(v) as u64, |w| w as i8;
    i16 => I16, |v| i64::from(v) as u64, |w| w as i16;
    i32 => I32, |v| i64::from(v) as u64, |w| w as i32;
    i64 => I64, |v| v as u64, |w| w as i64;
    f32 => F32, |v| u64::from(v.to_bits()), |w| f32::from_bits(w as u32);
    f64 => F64, f64::to_bits, f64::from_bits;
    bool => Bool, u64::from, |w| w & 1 != 0;
}

/// A counter: a `u64` that only goes up (and wraps). Readers show its rate.
///
/// `Send` but not `Sync`: one thread owns it, which is why `incr` is a load and a store, not an
/// atomic read-modify-write.
#[derive(Debug)]
pub struct Counter {
    slot: Slot,
}

impl Counter {
    /// Adds `n`, wrapping at `u64::MAX`: a relaxed load, an add and a relaxed store of the
    /// counter's word, with no lock, no read-modify-write and no system call. On x86-64 the
    /// compiler emits it as one ordinary (not `lock`ed) `add` to memory, the same instruction
    /// as for a `u64` in ordinary memory; readers see each new value whole (FORMAT.md §4.1).
    #[inline]
    pub fn incr(&self, n: u64) {
        let w = self.slot.first();
        w.store(w.load(Relaxed).wrapping_add(n), Relaxed);
    }
    /// The current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.slot.first().load(Relaxed)
    }

    /// The counter's word in the mapped file, for a caller that keeps its own pointer to it
    /// (such as a per-thread cache): the reference stays valid while this handle or a clone of
    /// it lives, wherever the handle moves. Update it only as [`Counter::incr`] does (a load and
    /// a store, from the one thread that writes the file); readers rely on that.
    #[inline]
    pub fn word(&self) -> &std::sync::atomic::AtomicU64 {
        self.slot.first()
    }
}

impl Handle for Counter {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Counter, ValueType::U64))
    }
    fn bind(slot: Slot) -> Self {
        Counter { slot }
    }
}

/// A gauge of type `T`: a level that goes up and down. Readers show its value.
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Gauge<T> {
    slot: Slot,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> Gauge<T> {
    /// Sets the value: one atomic store of its word (FORMAT.md §4.1).
    #[inline]
    pub fn set(&self, v: T) {
        self.slot.first().store(v.to_word(), Relaxed);
    }
    /// The current value.
    #[inline]
    pub fn get(&self) -> T {
        T::from_word(self.slot.first().load(Relaxed))
    }
}

impl<T: GaugeValue> Handle for Gauge<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Gauge, T::TYPE))
    }
    fn bind(slot: Slot) -> Self {
        Gauge {
            slot,
            _t: PhantomData,
        }
    }
}

/// A constant of a model: a number, flag or version that describes the program and does not
/// change, such as a build number or the size of a thread pool. Readers show it as it is, never
/// as a rate. Set it once, right after creating the stats; until then it reads as zero.
///
/// ```
/// # let tmp = tempfile::tempdir()?;
/// use mmstats::{Constant, ConstantText};
///
/// #[derive(mmstats::StatsModel)]
/// struct Build {
///     workers: Constant<u32>,
///     #[stat(capacity = 32)]
///     version: ConstantText,
/// }
///
/// let build = Build::create(mmstats::Options::new().dir(tmp.path()))?;
/// build.workers.set(8);
/// build.version.set("1.4.2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Constant<T> {
    slot: Slot,
    _t: PhantomData<T>,
}

impl<T: GaugeValue> Constant<T> {
    /// Sets the value: one atomic store of its word (FORMAT.md §4.1).
    pub fn set(&self, v: T) {
        self.slot.first().store(v.to_word(), Relaxed);
    }
    /// The value.
    pub fn get(&self) -> T {
        T::from_word(self.slot.first().load(Relaxed))
    }
}

impl<T: GaugeValue> Handle for Constant<T> {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Constant, T::TYPE))
    }
    fn bind(slot: Slot) -> Self {
        Constant {
            slot,
            _t: PhantomData,
        }
    }
}

/// A text constant of a model (a version, a host name, a mode), of the declared capacity in
/// bytes (`#[stat(capacity = N)]`); longer text is truncated on a character boundary. Set it
/// once, right after creating the stats; see [`Constant`].
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct ConstantText {
    slot: Slot,
}

impl ConstantText {
    /// Sets the text, under the field's sequence counter so that readers never see it torn.
    pub fn set(&self, text: &str) {
        write_text(&self.slot, text);
    }
}

impl Handle for ConstantText {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Constant, ValueType::Text))
    }
    fn bind(slot: Slot) -> Self {
        ConstantText { slot }
    }
}

/// A point in time, stored as `f64` seconds since the Unix epoch (unit `seconds` unless
/// declared otherwise). Readers show it as a date or an age.
///
/// `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Timestamp {
    slot: Slot,
}

impl Timestamp {
    /// Sets the time; times before the epoch are stored as negative seconds.
    #[inline]
    pub fn set(&self, t: SystemTime) {
        self.set_secs(mmstats_format::unix_seconds(t));
    }
    /// Sets the time to now.
    #[inline]
    pub fn set_now(&self) {
        self.set(SystemTime::now());
    }
    /// Sets the time as seconds since the Unix epoch.
    #[inline]
    pub fn set_secs(&self, secs: f64) {
        self.slot.first().store(secs.to_bits(), Relaxed);
    }
    /// The stored time in seconds since the Unix epoch.
    pub fn get_secs(&self) -> f64 {
        f64::from_bits(self.slot.first().load(Relaxed))
    }
}

impl Handle for Timestamp {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        let mut meta = decl.meta(Kind::Timestamp, ValueType::F64);
        if meta.unit.is_empty() {
            meta.unit = "seconds".into();
        }
        Ok(meta)
    }
    fn bind(slot: Slot) -> Self {
        Timestamp { slot }
    }
}

/// A text field of fixed capacity; longer text is truncated on a character boundary.
///
/// Updates go through the field's sequence counter (FORMAT.md §4.2), so a reader never sees
/// half of one text and half of another. `Send` but not `Sync`, like every handle.
#[derive(Debug)]
pub struct Text {
    slot: Slot,
}

impl Text {
    /// Sets the text, truncated to the capacity on a character boundary.
    pub fn set(&self, text: &str) {
        write_text(&self.slot, text);
    }
    /// The capacity in bytes.
    pub fn capacity(&self) -> u32 {
        self.slot.capacity()
    }
}

impl Handle for Text {
    fn meta(decl: &FieldDecl) -> Result<FieldMeta, Error> {
        Ok(decl.meta(Kind::Text, ValueType::Text))
    }
    fn bind(slot: Slot) -> Self {
        Text { slot }
    }
}

/// Stores `text` into a text slot (§5.2) under its sequence counter.
pub(crate) fn write_text(slot: &Slot, text: &str) {
    let room = (slot.words() - text::BYTES) * 8;
    let t = truncate_utf8(text, (slot.capacity() as usize).min(room));
    let _guard = WriteGuard::begin(slot.first());
    slot.word(text::LENGTH).store(t.len() as u64, Relaxed);
    for (i, chunk) in t.as_bytes().chunks(8).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        // Native order keeps the bytes in file order (FORMAT.md §5.2: never swapped).
        slot.word(text::BYTES + i)
            .store(u64::from_ne_bytes(b), Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::sealed::Sealed;
    use super::*;
    use mmstats_format::Num;

    fn round_trip<T: GaugeValue + PartialEq + std::fmt::Debug>(v: T) {
        let w = v.to_word();
        assert_eq!(T::from_word(w), v);
        // The word is what the format's decoder expects (§4.1).
        let num = Num::from_word(T::TYPE, w);
        let back = Num::from_word(T::TYPE, Num::to_word(num, T::TYPE));
        assert_eq!(num, back);
    }

    #[test]
    fn gauge_words_follow_the_format() {
        round_trip(200u8);
        round_trip(-5i8);
        round_trip(-30000i16);
        round_trip(u32::MAX);
        round_trip(i64::MIN);
        round_trip(1.5f32);
        round_trip(-2.25f64);
        round_trip(true);
        assert_eq!((-1i8).to_word(), u64::MAX, "sign-extended");
        assert_eq!(1.5f32.to_word() >> 32, 0, "f32 in the low half");
        assert_eq!(
            Num::from_word(ValueType::I16, (-7i16).to_word()),
            Num::I(-7)
        );
        assert_eq!(
            Num::from_word(ValueType::F32, 0.5f32.to_word()),
            Num::F(0.5)
        );
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn handles_are_send() {
        assert_send::<Counter>();
        assert_send::<Gauge<f64>>();
        assert_send::<Text>();
        assert_send::<Timestamp>();
    }
}
