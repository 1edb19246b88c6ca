//! Surviving `SIGBUS` on reader mappings: a registry of the address ranges the reader has
//! mapped, and a signal handler that, when a load in one of them faults because the file shrank
//! under it, maps a page of zeros over the faulting page and marks the mapping as faulted.
//!
//! The load that faulted is then re-executed by the processor, reads zero, and returns; the
//! reader ([`crate::region::Region::faulted`]) sees the mark after its copy and refuses the
//! snapshot, so no value read from a zero page ever reaches a caller. A fault outside every
//! registered range is not ours: the handler hands it to the action that was installed before
//! (or to the default action, which ends the process as it would have without us).
//!
//! # Invariants
//!
//! - The registry is a singly linked list of fixed-size chunks that are allocated once and
//!   never freed, so the handler can walk it at any moment without locks. Each entry is three
//!   atomics: start, length and a fault flag. An entry is claimed by a compare-and-swap of its
//!   start from 0, filled, and published by storing the length last (release); it is released
//!   by storing a zero length first, then a zero start.
//! - A range is registered after its mapping exists and unregistered before it is unmapped. A
//!   `SIGBUS` for a registered range is raised on the thread reading it, which holds a borrow of
//!   the mapping, so the mapping cannot be unmapped while the handler runs for it.
//! - The handler calls only async-signal-safe functions (`mmap`, `sigaction`) and atomics; it
//!   allocates nothing and takes no lock.
//! - The handler is installed once, with `SA_SIGINFO | SA_NODEFER | SA_ONSTACK`, the first time
//!   a file is mapped; the previous action is saved before the new one is installed.
//!
//! # Cost
//!
//! Nothing on the read path: the handler runs only when a fault happens. Registering and
//! unregistering a mapping is a scan of the registry (a few atomics per open file) when a file
//! is opened or closed.
#![allow(unsafe_code)]

use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};

/// Entries per chunk of the registry.
const CHUNK: usize = 256;

/// One registered range.
struct Entry {
    start: AtomicUsize,
    len: AtomicUsize,
    faulted: AtomicBool,
}

/// A chunk of entries and the next chunk.
struct Chunk {
    entries: [Entry; CHUNK],
    next: AtomicPtr<Chunk>,
}

/// The first chunk; more are appended when every entry is taken.
static HEAD: AtomicPtr<Chunk> = AtomicPtr::new(ptr::null_mut());

/// The action in place before ours, for faults that are not ours.
static mut PREVIOUS: std::mem::MaybeUninit<libc::sigaction> = std::mem::MaybeUninit::uninit();

static INSTALL: Once = Once::new();

/// Whether the handler is installed (it may fail to be, e.g. under a seccomp filter).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A registered range; unregistered on drop.
#[derive(Debug)]
pub(crate) struct Guard {
    entry: &'static Entry,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("start", &self.start.load(Ordering::Relaxed))
            .field("len", &self.len.load(Ordering::Relaxed))
            .finish()
    }
}

impl Guard {
    /// Registers `[start, start + len)`, a mapping of the reader's, installing the handler on
    /// first use. Returns `None` if the handler could not be installed (the mapping is then
    /// unprotected, as it would be without this module).
    pub(crate) fn register(start: usize, len: usize) -> Option<Guard> {
        install();
        if !INSTALLED.load(Ordering::Acquire) || start == 0 || len == 0 {
            return None;
        }
        let entry = claim(start);
        entry.faulted.store(false, Ordering::Relaxed);
        entry.len.store(len, Ordering::Release);
        Some(Guard { entry })
    }

    /// True if a load in the range faulted since it was registered: part of it now reads as
    /// zeros, and nothing read from it can be trusted.
    pub(crate) fn faulted(&self) -> bool {
        self.entry.faulted.load(Ordering::Acquire)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.entry.len.store(0, Ordering::Release);
        self.entry.start.store(0, Ordering::Release);
    }
}

/// Claims a free entry for `start`, appending a chunk if every entry is taken.
fn claim(start: usize) -> &'static Entry {
    loop {
        let mut chunk = HEAD.load(Ordering::Acquire);
        let mut last: &AtomicPtr<Chunk> = &HEAD;
        while !chunk.is_null() {
            // SAFETY:
            // - chunks are leaked boxes that are never freed (Invariants), so a non-null pointer
            //   read from the list stays valid for the rest of the process;
            // - we only form a shared reference; every field is an atomic.
            let c: &'static Chunk = unsafe { &*chunk };
            for e in &c.entries {
                if e.start
                    .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    return e;
                }
            }
            last = &c.next;
            chunk = c.next.load(Ordering::Acquire);
        }
        let fresh = Box::into_raw(Box::new(Chunk {
            entries: std::array::from_fn(|_| Entry {
                start: AtomicUsize::new(0),
                len: AtomicUsize::new(0),
                faulted: AtomicBool::new(false),
            }),
            next: AtomicPtr::new(ptr::null_mut()),
        }));
        if last
            .compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread appended first: free ours (never published) and rescan.
            // SAFETY: `fresh` came from `Box::into_raw` above and was never shared.
            drop(unsafe { Box::from_raw(fresh) });
        }
    }
}

/// Installs the handler once.
fn install() {
    INSTALL.call_once(|| {
        // SAFETY:
        // - `sigaction` is given a zeroed, then filled `sigaction` struct and a valid pointer
        //   to receive the previous action;
        // - `PREVIOUS` is written here, once, before the handler that reads it is installed,
        //   and never written again.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS;
            if libc::sigaction(libc::SIGBUS, &action, (*previous).as_mut_ptr()) == 0 {
                INSTALLED.store(true, Ordering::Release);
            }
        }
    });
}

/// The entry whose range holds `addr`, if any.
fn find(addr: usize) -> Option<&'static Entry> {
    let mut chunk = HEAD.load(Ordering::Acquire);
    while !chunk.is_null() {
        // SAFETY: as in `claim`: chunks are never freed and hold only atomics.
        let c: &'static Chunk = unsafe { &*chunk };
        for e in &c.entries {
            let len = e.len.load(Ordering::Acquire);
            let start = e.start.load(Ordering::Acquire);
            if len != 0 && start != 0 && addr >= start && addr - start < len {
                return Some(e);
            }
        }
        chunk = c.next.load(Ordering::Acquire);
    }
    None
}

/// The `SIGBUS` handler.
extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO` handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(entry) = find(addr) {
        // SAFETY: sysconf is async-signal-safe; the page size is a power of two.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as usize;
        let at = addr & !(page - 1);
        // SAFETY:
        // - `at` is the page holding `addr`, inside a registered reader mapping that stays
        //   mapped while this handler runs (Invariants): replacing that one page with an
        //   anonymous zero page (MAP_FIXED) touches no memory but our own read-only mapping;
        // - `mmap` is async-signal-safe.
        let mapped = unsafe {
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped != libc::MAP_FAILED {
            entry.faulted.store(true, Ordering::Release);
            return;
        }
    }
    // Not ours (or the page could not be replaced): do what would have happened without us.
    // SAFETY: `PREVIOUS` was initialised before this handler was installed and is never
    // written again, so reading it here is a read of initialised, unchanging memory.
    let previous = unsafe { ptr::read((&raw const PREVIOUS).cast::<libc::sigaction>()) };
    let prev = previous.sa_sigaction;
    if prev == libc::SIG_DFL || prev == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction runs again and the
        // process ends with SIGBUS, as it would have.
        // SAFETY: a zeroed `sigaction` with `SIG_DFL` is a valid action; sigaction is
        // async-signal-safe.
        unsafe {
            let mut dfl: libc::sigaction = std::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigemptyset(&mut dfl.sa_mask);
            libc::sigaction(libc::SIGBUS, &dfl, ptr::null_mut());
        }
    } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous action was installed with SA_SIGINFO, so its handler has this
        // signature; we pass it what the kernel passed us.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(prev) };
        f(sig, info, context);
    } else {
        // SAFETY: without SA_SIGINFO the previous handler takes the signal number only.
        let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(prev) };
        f(sig);
    }
}
