//! The mapped file (or, for stats kept in memory only, a heap buffer laid out the same way),
//! reached only through raw pointers and atomic words. This is the only module of the writer
//! that uses `unsafe`.
//!
//! # Invariants
//!
//! - The file's size is fixed before it is mapped: every byte was allocated
//!   (`posix_fallocate`) and written before the mapping is made, the writer never truncates or
//!   grows it, and only the writer's user can write in the stats directory (FORMAT.md §6). The
//!   mapping covers exactly `len` bytes of it. A heap region is a boxed slice of `len / 8`
//!   `AtomicU64`s that is never resized.
//! - The mapping is page-aligned and a heap region is an `AtomicU64` slice, so every offset
//!   that is a multiple of 8 is a naturally aligned `u64`; every offset is checked against
//!   `len` and for alignment with a real `if` before any pointer arithmetic.
//! - Every access to the mapped bytes, by this process or any other, is an 8-byte atomic load
//!   or store (FORMAT.md §4, §7). No `&[u8]`, `&mut [u8]` or `&T` other than `&AtomicU64` is
//!   ever formed over the mapping, because another process may change any byte at any time.
//! - The mapping lives as long as its [`Region`]; every [`Slot`] holds an `Arc` of its region,
//!   so a slot's pointer never dangles, even after the stats object that made it is gone.
//!   What the stats object must do once nothing writes into the region any more (fold the
//!   file into the totals, mark it closed, remove it) runs in the region's `Drop`
//!   ([`Region::on_last_drop`]), while the memory is still there.

use std::fmt;
use std::fs::File;
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};

use memmap2::{MmapOptions, MmapRaw};

/// What runs when a region's last user lets go of it, with the region still readable.
pub(crate) type LastDrop = Box<dyn FnOnce(&Region) + Send>;

/// A read-write shared mapping of a whole stats file, or a heap buffer in its place.
pub(crate) struct Region {
    memory: Memory,
    len: usize,
    last_drop: Mutex<Option<LastDrop>>,
}

/// Where a region's words are.
enum Memory {
    /// A shared mapping of the stats file.
    File(MmapRaw),
    /// Heap memory that no other process sees (stats kept in memory only).
    Heap(Box<[AtomicU64]>),
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Region")
            .field("base", &self.base())
            .field("len", &self.len)
            .field("in_memory", &matches!(self.memory, Memory::Heap(_)))
            .finish()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let last = self
            .last_drop
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(last) = last {
            last(self);
        }
    }
}

impl Region {
    /// Maps the first `len` bytes of `file` (opened read-write) shared.
    ///
    /// The file must already be `len` bytes long: a mapping past the end of a file raises
    /// SIGBUS when touched, which is why creation allocates every byte first (FORMAT.md §6.2).
    pub(crate) fn map(file: &File, len: usize) -> io::Result<Region> {
        let size = file.metadata()?.len();
        if size != len as u64 || len == 0 {
            return Err(io::Error::other(format!(
                "file is {size} bytes, expected {len}"
            )));
        }
        let raw = MmapOptions::new().len(len).map_raw(file)?;
        if raw.len() != len || !(raw.as_ptr() as usize).is_multiple_of(8) {
            return Err(io::Error::other(
                "mapping has an unexpected size or alignment",
            ));
        }
        Ok(Region::new(Memory::File(raw), len))
    }

    /// A heap region holding a copy of `image` (whose length must be a non-zero multiple of
    /// 8), for stats that no other process reads.
    pub(crate) fn heap(image: &[u8]) -> io::Result<Region> {
        if image.is_empty() || !image.len().is_multiple_of(8) {
            return Err(io::Error::other(format!(
                "an image of {} bytes is not a whole number of words",
                image.len()
            )));
        }
        let words: Box<[AtomicU64]> = image
            .chunks_exact(8)
            .map(|w| AtomicU64::new(u64::from_ne_bytes(w.try_into().unwrap_or_default())))
            .collect();
        Ok(Region::new(Memory::Heap(words), image.len()))
    }

    fn new(memory: Memory, len: usize) -> Region {
        Region {
            memory,
            len,
            last_drop: Mutex::new(None),
        }
    }

    /// The first byte of the region.
    fn base(&self) -> *mut u8 {
        match &self.memory {
            Memory::File(raw) => raw.as_mut_ptr(),
            // Writing through this pointer is allowed: `AtomicU64` is an `UnsafeCell`.
            Memory::Heap(words) => words.as_ptr().cast_mut().cast::<u8>(),
        }
    }

    /// Whether the region is heap memory rather than a mapped file.
    pub(crate) fn is_heap(&self) -> bool {
        matches!(self.memory, Memory::Heap(_))
    }

    /// Runs `f` with the region when the last `Arc` of it (the stats object's or a slot's) is
    /// dropped, replacing what an earlier call asked for.
    pub(crate) fn on_last_drop(&self, f: LastDrop) {
        *self
            .last_drop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(f);
    }

    /// The word at byte offset `off`, or `None` if `off` is misaligned or the word is not
    /// wholly inside the mapping.
    pub(crate) fn word(&self, off: usize) -> Option<&AtomicU64> {
        if !off.is_multiple_of(8) || off.checked_add(8)? > self.len {
            return None;
        }
        // SAFETY:
        // - `off + 8 <= self.len` was checked above and neither the file nor a heap region
        //   ever shrinks (invariants), so the pointer and the 8 bytes after it lie inside the
        //   live mapping or buffer;
        // - `off % 8 == 0` and the memory is page- or word-aligned, as `from_ptr` requires;
        // - every process touches this word only through atomics (FORMAT.md §4, §7);
        // - the returned reference borrows `self`, so it cannot outlive the memory.
        Some(unsafe { AtomicU64::from_ptr(self.base().add(off).cast::<u64>()) })
    }

    /// The value slot of `words` words at byte offset `off`, for a handle; `capacity` is the
    /// field's kind-specific capacity (text bytes, ...). `None` if the slot is empty,
    /// misaligned or not wholly inside the mapping.
    pub(crate) fn slot(self: &Arc<Self>, off: usize, words: usize, capacity: u32) -> Option<Slot> {
        let end = words.checked_mul(8)?.checked_add(off)?;
        if words == 0 || !off.is_multiple_of(8) || end > self.len {
            return None;
        }
        // SAFETY:
        // - `off + 8 * words <= self.len` was checked above, so `off` is inside the mapping or
        //   buffer and `add` stays in the same allocation;
        // - the base pointer of a mapping or of a non-empty boxed slice is never null, and
        //   adding an in-bounds offset keeps it non-null.
        let ptr = unsafe { NonNull::new_unchecked(self.base().add(off).cast::<u64>()) };
        Some(Slot {
            ptr,
            words,
            capacity,
            region: Arc::clone(self),
        })
    }

    /// Writes dirty pages back to the file (`msync`); nothing to do for a heap region.
    pub(crate) fn flush(&self) -> io::Result<()> {
        match &self.memory {
            Memory::File(raw) => raw.flush(),
            Memory::Heap(_) => Ok(()),
        }
    }
}

/// A field's value slot in a mapping: where a handle stores its words.
///
/// Holds a raw pointer to the slot's first word and an `Arc` of the mapping, which keeps the
/// pointer valid for as long as the slot exists. `Send`, so a handle can move to the thread
/// that uses it, but not `Sync`: one thread at a time writes a field (FORMAT.md §8).
pub struct Slot {
    ptr: NonNull<u64>,
    words: usize,
    capacity: u32,
    region: Arc<Region>,
}

// SAFETY:
// - `ptr` points into the memory owned by `region`, which is `Send + Sync` and kept alive by
//   the `Arc` the slot carries, so the pointer stays valid on whichever thread holds the slot;
// - every access through `ptr` is an atomic word operation, so moving the slot between threads
//   cannot create a data race. `Slot` stays `!Sync`, so only one thread at a time uses it.
unsafe impl Send for Slot {}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let off = self.ptr.as_ptr() as usize - self.region.base() as usize;
        f.debug_struct("Slot")
            .field("offset", &off)
            .field("words", &self.words)
            .field("capacity", &self.capacity)
            .finish()
    }
}

impl Slot {
    /// The slot's first word: the value of a scalar field, the sequence word of a multi-word
    /// one.
    #[inline(always)]
    pub(crate) fn first(&self) -> &AtomicU64 {
        // SAFETY:
        // - a slot has at least one word (checked in `Region::slot`) and `ptr` points at it,
        //   inside memory that `self.region` keeps alive for as long as `&self` lives;
        // - `ptr` is 8-byte aligned (checked in `Region::slot`);
        // - all access to mapped words is atomic (module invariants).
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr()) }
    }

    /// Word `i` of the slot.
    ///
    /// # Panics
    ///
    /// If `i` is not below [`Slot::words`]; handles only ask for words their kind has.
    #[inline]
    pub(crate) fn word(&self, i: usize) -> &AtomicU64 {
        if i >= self.words {
            panic!("word {i} outside a slot of {} words", self.words);
        }
        // SAFETY:
        // - `i < self.words` was checked above, so `ptr + i` is inside the slot, which lies
        //   inside the live memory kept alive by `self.region`;
        // - `ptr` is 8-byte aligned, and so is `ptr + i`;
        // - all access to mapped words is atomic (module invariants).
        unsafe { AtomicU64::from_ptr(self.ptr.as_ptr().add(i)) }
    }

    /// Number of words in the slot.
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// The field's kind-specific capacity (bytes of a text field).
    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }
}

/// The one-word value slot of a *shared* field (FORMAT.md §8): any thread of the writer may
/// update it, with atomic stores and read-modify-writes of its one word only. `Sync`, unlike
/// [`Slot`].
#[derive(Debug)]
pub(crate) struct SharedSlot(Slot);

// SAFETY:
// - the wrapped slot's pointer stays valid on every thread for as long as the slot lives (see
//   `Slot`'s `Send`), and `SharedSlot` gives access to nothing but its first word;
// - that word is reached only as an `&AtomicU64` (which is `Sync`), and shared fields are
//   updated only with atomic stores and read-modify-writes (FORMAT.md §8), so concurrent use
//   from several threads is race-free and no update is lost.
unsafe impl Sync for SharedSlot {}

impl SharedSlot {
    /// Wraps the slot of a one-word field.
    pub(crate) fn new(slot: Slot) -> SharedSlot {
        SharedSlot(slot)
    }

    /// The field's word.
    #[inline(always)]
    pub(crate) fn word(&self) -> &AtomicU64 {
        self.0.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    fn region(len: usize) -> Arc<Region> {
        let file = tempfile::tempfile().unwrap();
        file.set_len(len as u64).unwrap();
        Arc::new(Region::map(&file, len).unwrap())
    }

    #[test]
    fn words_are_bounds_and_alignment_checked() {
        let r = region(4096);
        assert!(r.word(0).is_some());
        assert!(r.word(4088).is_some());
        assert!(r.word(4096).is_none());
        assert!(r.word(4).is_none());
        assert!(r.word(usize::MAX - 7).is_none());
        assert!(r.slot(4080, 2, 0).is_some());
        assert!(r.slot(4080, 3, 0).is_none());
        assert!(r.slot(8, 0, 0).is_none());
        assert!(r.slot(12, 1, 0).is_none());
        assert!(r.slot(8, usize::MAX, 0).is_none());
    }

    #[test]
    fn slot_words_alias_region_words() {
        let r = region(4096);
        let s = r.slot(64, 3, 7).unwrap();
        s.word(2).store(42, Relaxed);
        s.first().store(9, Relaxed);
        assert_eq!(r.word(80).unwrap().load(Relaxed), 42);
        assert_eq!(r.word(64).unwrap().load(Relaxed), 9);
        assert_eq!(s.words(), 3);
        assert_eq!(s.capacity(), 7);
    }

    #[test]
    #[should_panic(expected = "outside a slot")]
    fn slot_word_past_the_end_panics() {
        let r = region(4096);
        let s = r.slot(64, 2, 0).unwrap();
        s.word(2);
    }

    #[test]
    fn a_heap_region_holds_its_image_and_hands_out_slots() {
        let mut image = vec![0u8; 64];
        image[8..16].copy_from_slice(&7u64.to_ne_bytes());
        let r = Arc::new(Region::heap(&image).unwrap());
        assert!(r.is_heap());
        assert_eq!(r.word(8).unwrap().load(Relaxed), 7);
        assert!(r.word(64).is_none());
        let s = r.slot(56, 1, 0).unwrap();
        s.first().store(3, Relaxed);
        assert_eq!(r.word(56).unwrap().load(Relaxed), 3);
        assert!(r.slot(56, 2, 0).is_none());
        assert!(Region::heap(&[0u8; 12]).is_err());
        assert!(Region::heap(&[]).is_err());
    }

    #[test]
    fn the_last_drop_runs_once_when_the_last_slot_goes() {
        use std::sync::atomic::AtomicUsize;
        static RAN: AtomicUsize = AtomicUsize::new(0);
        let r = Arc::new(Region::heap(&[0u8; 64]).unwrap());
        let s = r.slot(8, 1, 0).unwrap();
        s.first().store(5, Relaxed);
        r.on_last_drop(Box::new(|region| {
            // The memory is still there.
            assert_eq!(region.word(8).unwrap().load(Relaxed), 5);
            RAN.fetch_add(1, Relaxed);
        }));
        drop(r);
        assert_eq!(RAN.load(Relaxed), 0, "a slot still holds the region");
        drop(s);
        assert_eq!(RAN.load(Relaxed), 1);
    }

    #[test]
    fn map_refuses_a_size_mismatch() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        assert!(Region::map(&file, 8192).is_err());
    }
}
