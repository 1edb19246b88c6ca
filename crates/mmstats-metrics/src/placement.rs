//! Where the update functions' code is placed: each starts a 64-byte block of code.
//!
//! A `metrics` handle's update is a call through the facade's `dyn` handle into one short
//! function of this crate (an increment is nine instructions, 40 bytes). x86-64 functions are
//! 16-byte aligned, so where the linker happens to put such a function decides whether it lies
//! in one 64-byte block of code or spans two, and a function that spans two takes measurably
//! longer per call (see benches/README.md, "`metrics` updates through mmstats-metrics"). Which
//! it gets would otherwise change with unrelated code in the program.
//!
//! [`code_block_start!`] placed anywhere in a function's body asks the assembler to align the
//! function's own section to 64 bytes. It emits no instruction into the function: its only
//! directive goes to subsection 1 of the function's section, which the assembler lays out after
//! the function's code (subsection 0). Functions have sections of their own on ELF targets
//! (function sections are the default there), so the function starts its section and with it a
//! 64-byte block; the cost is up to 63 bytes of padding after it. Elsewhere the macro does
//! nothing.

/// Makes the function whose body holds it start a 64-byte block of code (see the module docs).
macro_rules! code_block_start {
    () => {
        #[cfg(all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ))]
        // SAFETY: the block emits no instruction and touches no register, memory, stack or
        // flag: it switches to subsection 1 of the current section, aligns it there and
        // switches back to subsection 0, where the function's code is, so the assembler's
        // state is what it was (the function's section, subsection 0) when the block ends.
        unsafe {
            ::core::arch::asm!(
                ".subsection 1",
                ".p2align 6",
                ".subsection 0",
                options(nomem, nostack, preserves_flags)
            );
        }
    };
}

pub(crate) use code_block_start;
