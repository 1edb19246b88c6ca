//! Gathering the non-zero words of a run of a sequence-counted payload (a histogram's
//! buckets) with 64-byte loads, on x86-64 CPUs with AVX-512: eight words a load, tested and
//! compressed in registers, where the portable loop in `region.rs` takes eight loads and eight
//! branch-free steps.
//!
//! FORMAT.md §4.2 lets a reader copy a sequence-counted payload with wider loads when each
//! byte is read atomically: whatever a concurrent write does, every byte read is one a writer
//! stored, and the sequence check that follows the copy discards one that overlapped a write.
//! Each load here is one `vmovdqu64` in inline assembly. The compiler sees no access to the
//! mapping, only the instruction, which reads each of its 64 bytes once, as a relaxed per-byte
//! atomic load would: no reference to the mapping is formed and no load races in the program's
//! memory model.
#![allow(unsafe_code)]

/// Whether this CPU runs [`gather_nonzero`] (AVX-512 F, BW, VL and VBMI2, and POPCNT), asked
/// of the CPU once.
#[cfg(target_arch = "x86_64")]
pub(crate) fn available() -> bool {
    use std::sync::OnceLock;
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512bw")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx512vbmi2")
            && is_x86_feature_detected!("popcnt")
    })
}

/// No wide loads off x86-64.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn available() -> bool {
    false
}

/// How many lines ahead of its loads [`gather_nonzero`] prefetches: enough to keep a run's
/// loads from waiting on memory one line at a time at the pace this loop consumes lines.
#[cfg(target_arch = "x86_64")]
const PREFETCH_AHEAD: usize = 40;

/// Gathers the non-zero words among the `blocks * 8` words at `base`: each one's position in
/// the run (`8 * block + lane`, as a 16-bit number) into `indexes`, the word itself into
/// `counts`, both from their first element on; returns how many it gathered. Every block
/// stores eight entries at the next free place, of which only its non-zero words count, so
/// both lists need room for eight past the last gathered one.
///
/// # Safety
///
/// - [`available`] returned true;
/// - `base` is 8-byte aligned and the `blocks * 64` bytes from it lie inside one live mapping
///   (read-only is enough) or other readable memory;
/// - `blocks * 8 <= 65,536`, and `indexes` and `counts` hold at least `blocks * 8 + 8`
///   elements each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")]
pub(crate) unsafe fn gather_nonzero(
    base: *const u64,
    blocks: usize,
    indexes: &mut [u16],
    counts: &mut [u64],
) -> usize {
    use std::arch::asm;
    use std::arch::x86_64::{
        __m512i, __mmask8, _MM_HINT_T0, _mm_add_epi16, _mm_maskz_compress_epi16, _mm_prefetch,
        _mm_set1_epi16, _mm_setr_epi16, _mm_storeu_si128, _mm256_add_epi16,
        _mm256_maskz_compress_epi16, _mm256_set1_epi16, _mm256_setr_epi16, _mm256_storeu_si256,
        _mm512_maskz_compress_epi64, _mm512_storeu_si512, _mm512_test_epi64_mask,
    };
    debug_assert!(blocks * 8 <= 1 << 16);
    debug_assert!(indexes.len() >= blocks * 8 + 8 && counts.len() >= blocks * 8 + 8);
    // The 64 bytes of block `b` (`b < blocks`), loaded ahead of a block a few lines on.
    let load = |b: usize| -> __m512i {
        let ahead = (b + PREFETCH_AHEAD).min(blocks - 1);
        // SAFETY: `ahead < blocks`, so the pointer lies inside the run (the caller's
        // contract); a prefetch reads nothing into the program and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(8 * ahead).cast::<i8>()) };
        let v: __m512i;
        // SAFETY: every caller passes `b < blocks`, so the 64 bytes from `base + 8 * b` lie
        // inside the run (the caller's contract). The instruction reads those bytes, each
        // once, and nothing else; it writes no memory and keeps the stack and the flags
        // (`options`). Reading bytes another process or thread may be storing is a per-byte
        // atomic copy (module doc), which the caller's sequence check validates.
        unsafe {
            asm!(
                "vmovdqu64 {v}, zmmword ptr [{p}]",
                v = out(zmm_reg) v,
                p = in(reg) base.add(8 * b),
                options(nostack, readonly, preserves_flags),
            );
        }
        v
    };
    // Stores the words of `v` that `keep` marks at entry `at` of `counts`.
    let put_counts = |counts: &mut [u64], at: usize, keep: __mmask8, v: __m512i| {
        // Holds at every call (shown there); checked, as this closure is safe to call.
        assert!(at + 8 <= counts.len(), "room for a block's words");
        // SAFETY: `at + 8 <= counts.len()` (checked just above), so the 64 bytes stored from
        // entry `at` on lie within `counts`; an unaligned store into memory we own.
        unsafe {
            _mm512_storeu_si512(
                counts.as_mut_ptr().add(at).cast(),
                _mm512_maskz_compress_epi64(keep, v),
            );
        }
    };
    // Two blocks at a time: their positions are gathered by one compress of sixteen.
    let lanes = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut n = 0usize;
    let mut b = 0;
    while b + 2 <= blocks {
        let (v0, v1) = (load(b), load(b + 1));
        let (m0, m1) = (
            _mm512_test_epi64_mask(v0, v0),
            _mm512_test_epi64_mask(v1, v1),
        );
        b += 2;
        let both = u16::from(m0) | u16::from(m1) << 8;
        if both == 0 {
            continue;
        }
        // `n <= 8 * (b - 2)` and `b <= blocks`: the 16 positions stored from entry `n` on and
        // the eight words from `n` and from `n + m0.count_ones() <= n + 8` on all end by
        // entry `8 * b <= blocks * 8`.
        let n0 = n + m0.count_ones() as usize;
        put_counts(counts, n, m0, v0);
        put_counts(counts, n0, m1, v1);
        // Positions fit 16 bits: `8 * b - 1 < 65,536` (the caller's contract).
        let at = _mm256_add_epi16(_mm256_set1_epi16((8 * (b - 2)) as i16), lanes);
        // SAFETY: as shown above, entries `n .. n + 16` lie within `indexes` (the caller's
        // contract); an unaligned store into memory we own.
        unsafe {
            _mm256_storeu_si256(
                indexes.as_mut_ptr().add(n).cast(),
                _mm256_maskz_compress_epi16(both, at),
            );
        }
        n = n0 + m1.count_ones() as usize;
    }
    if b < blocks {
        // The last block of an odd count.
        let v = load(b);
        let keep = _mm512_test_epi64_mask(v, v);
        // `n <= 8 * b`, so `n + 8 <= blocks * 8 + 8`, within both lists.
        put_counts(counts, n, keep, v);
        let at = _mm_add_epi16(
            _mm_set1_epi16((8 * b) as i16),
            _mm_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7),
        );
        // SAFETY: entries `n .. n + 8` lie within `indexes` (above); an unaligned store into
        // memory we own.
        unsafe {
            _mm_storeu_si128(
                indexes.as_mut_ptr().add(n).cast(),
                _mm_maskz_compress_epi16(keep, at),
            );
        }
        n += keep.count_ones() as usize;
    }
    n
}
