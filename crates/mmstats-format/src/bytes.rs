//! Byte order and bounded integer access over byte slices.

use crate::layout::{BYTE_ORDER_BIG, BYTE_ORDER_LITTLE};

/// The byte order of a file's numbers (FORMAT.md §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Little-endian.
    Little,
    /// Big-endian.
    Big,
}

impl ByteOrder {
    /// The order of the machine this code runs on.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "little") {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };

    /// From the header's `byte_order` byte.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            BYTE_ORDER_LITTLE => Some(ByteOrder::Little),
            BYTE_ORDER_BIG => Some(ByteOrder::Big),
            _ => None,
        }
    }

    /// The header's `byte_order` byte.
    pub fn code(self) -> u8 {
        match self {
            ByteOrder::Little => BYTE_ORDER_LITTLE,
            ByteOrder::Big => BYTE_ORDER_BIG,
        }
    }

    /// Turns a word loaded natively from a file of this order into its value.
    pub fn word(self, loaded: u64) -> u64 {
        if self == Self::NATIVE {
            loaded
        } else {
            loaded.swap_bytes()
        }
    }

    /// Reads a u16 at `off`; the caller has checked bounds.
    pub(crate) fn u16(self, b: &[u8], off: usize) -> u16 {
        let a = [b[off], b[off + 1]];
        match self {
            ByteOrder::Little => u16::from_le_bytes(a),
            ByteOrder::Big => u16::from_be_bytes(a),
        }
    }

    /// Reads a u32 at `off`; the caller has checked bounds.
    pub(crate) fn u32(self, b: &[u8], off: usize) -> u32 {
        let mut a = [0u8; 4];
        a.copy_from_slice(&b[off..off + 4]);
        match self {
            ByteOrder::Little => u32::from_le_bytes(a),
            ByteOrder::Big => u32::from_be_bytes(a),
        }
    }

    /// Reads a u64 at `off`; the caller has checked bounds.
    pub(crate) fn u64(self, b: &[u8], off: usize) -> u64 {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[off..off + 8]);
        match self {
            ByteOrder::Little => u64::from_le_bytes(a),
            ByteOrder::Big => u64::from_be_bytes(a),
        }
    }

    pub(crate) fn put_u16(self, b: &mut [u8], off: usize, v: u16) {
        let a = match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        b[off..off + 2].copy_from_slice(&a);
    }

    pub(crate) fn put_u32(self, b: &mut [u8], off: usize, v: u32) {
        let a = match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        b[off..off + 4].copy_from_slice(&a);
    }

    pub(crate) fn put_u64(self, b: &mut [u8], off: usize, v: u64) {
        let a = match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        };
        b[off..off + 8].copy_from_slice(&a);
    }
}
