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

/// Gathers the non-zero words among the `lines * 8` words at `base`: each one's position in
/// the run (`8 * line + lane`, as a 16-bit number) into `indexes`, the word itself into
/// `counts`, both from their first element on; returns how many it gathered. `lines` is even:
/// lines are taken two at a time. Every line stores eight entries at the next free place, of
/// which only its non-zero words count, so both lists need room for eight past the last
/// gathered one.
///
/// # Safety
///
/// - [`available`] returned true;
/// - `base` is 8-byte aligned and the `lines * 64` bytes from it lie inside one live mapping
///   (read-only is enough) or other readable memory;
/// - `lines` is even, `lines * 8 <= 65,536`, and `indexes` and `counts` hold at least
///   `lines * 8 + 8` elements each.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi2,popcnt")]
pub(crate) unsafe fn gather_nonzero(
    base: *const u64,
    lines: usize,
    indexes: &mut [u16],
    counts: &mut [u64],
) -> usize {
    use std::arch::asm;
    use std::arch::x86_64::{
        __m512i, __mmask8, _MM_HINT_T0, _mm_prefetch, _mm256_add_epi16,
        _mm256_maskz_compress_epi16, _mm256_set1_epi16, _mm256_setr_epi16, _mm256_storeu_si256,
        _mm512_maskz_compress_epi64, _mm512_storeu_si512, _mm512_test_epi64_mask,
    };
    debug_assert!(lines.is_multiple_of(2) && lines * 8 <= 1 << 16);
    debug_assert!(indexes.len() >= lines * 8 + 8 && counts.len() >= lines * 8 + 8);
    // The 64 bytes of line `l` (`l < lines`, at both calls below), loaded after asking for a
    // line a few further on.
    let load = |l: usize| -> __m512i {
        let ahead = (l + PREFETCH_AHEAD).min(lines - 1);
        // SAFETY: `ahead < lines`, so the pointer lies inside the run (the caller's
        // contract); a prefetch reads nothing into the program and cannot fault.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(base.add(8 * ahead).cast::<i8>()) };
        let v: __m512i;
        // SAFETY: `l < lines`, so the 64 bytes from `base + 8 * l` lie inside the run (the
        // caller's contract). The instruction reads those bytes, each once, and nothing else;
        // it writes no memory and keeps the stack and the flags (`options`). Reading bytes
        // another process or thread may be storing is a per-byte atomic copy (module doc),
        // which the caller's sequence check validates.
        unsafe {
            asm!(
                "vmovdqu64 {v}, zmmword ptr [{p}]",
                v = out(zmm_reg) v,
                p = in(reg) base.add(8 * l),
                options(nostack, readonly, preserves_flags),
            );
        }
        v
    };
    // Stores the words of `v` that `keep` marks at entry `at` of `counts`.
    let put_counts = |counts: &mut [u64], at: usize, keep: __mmask8, v: __m512i| {
        // Holds at every call (shown there); checked, as this closure is safe to call.
        assert!(at + 8 <= counts.len(), "room for a line's words");
        // SAFETY: `at + 8 <= counts.len()` (checked just above), so the 64 bytes stored from
        // entry `at` on lie within `counts`; an unaligned store into memory we own.
        unsafe {
            _mm512_storeu_si512(
                counts.as_mut_ptr().add(at).cast(),
                _mm512_maskz_compress_epi64(keep, v),
            );
        }
    };
    // Two lines at a time: their positions are gathered by one compress of sixteen.
    let lanes = _mm256_setr_epi16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut n = 0usize;
    for l in (0..lines).step_by(2) {
        let (v0, v1) = (load(l), load(l + 1));
        let (m0, m1) = (
            _mm512_test_epi64_mask(v0, v0),
            _mm512_test_epi64_mask(v1, v1),
        );
        let both = u16::from(m0) | u16::from(m1) << 8;
        if both == 0 {
            continue;
        }
        // `n <= 8 * l` and `l + 2 <= lines`: the 16 positions stored from entry `n` on and
        // the eight words from `n` and from `n + m0.count_ones() <= n + 8` on all end by
        // entry `8 * (l + 2) <= lines * 8`.
        let n0 = n + m0.count_ones() as usize;
        put_counts(counts, n, m0, v0);
        put_counts(counts, n0, m1, v1);
        // Positions fit 16 bits: `8 * l + 15 < 65,536` (the caller's contract).
        let at = _mm256_add_epi16(_mm256_set1_epi16((8 * l) as i16), lanes);
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
    n
}
