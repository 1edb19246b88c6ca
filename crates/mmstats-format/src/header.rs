//! The 256-byte header (FORMAT.md §2).

use crate::bytes::ByteOrder;
use crate::detection::{Detected, detect};
use crate::error::{FieldError, FormatError};
use crate::layout::{
    self, HEADER_LEN, MAGIC, PAGE, RECORD_LEN, VERSION, WRITER_NAME_LEN, header as h, limits,
};
use crate::strings::truncate_utf8;

/// Who wrote a file: the identity that tells a live writer from a reused pid (FORMAT.md §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identity {
    /// Process id.
    pub pid: u32,
    /// Thread id; 0 for a per-process file.
    pub tid: u32,
    /// Process start time, in clock ticks after boot (`/proc/<pid>/stat` field 22); 0 if unknown.
    pub start_time: u64,
    /// The boot id's 16 bytes; all zero if unknown.
    pub boot_id: [u8; 16],
    /// Creation time in nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Writing library and version (at most 32 bytes of UTF-8).
    pub writer: String,
}

/// Where the areas lie (FORMAT.md §1, §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Geometry {
    /// Size of the file.
    pub file_length: u64,
    /// Records the table can hold.
    pub table_capacity: u32,
    /// Offset of the string area.
    pub strings_offset: u32,
    /// Size of the string area.
    pub strings_capacity: u32,
    /// Offset of the value area.
    pub values_offset: u32,
    /// Size of the value area.
    pub values_capacity: u32,
}

impl Geometry {
    /// Lays out a file with room for `fields` records, `strings` bytes of strings and
    /// `values` bytes of values.
    pub fn new(fields: u32, strings: usize, values: usize) -> Result<Geometry, FieldError> {
        let too_big = FieldError::NoRoom {
            what: "file larger than 64 MiB (FORMAT.md §2.4)",
        };
        if fields > limits::TABLE_CAPACITY_MAX {
            return Err(FieldError::NoRoom {
                what: "more than 65536 fields (FORMAT.md §2.4)",
            });
        }
        let strings_offset = HEADER_LEN + fields as usize * RECORD_LEN;
        let strings_capacity = layout::align8(strings);
        let values_offset = layout::align_page(strings_offset + strings_capacity);
        let file_length = layout::align_page(values_offset + values.max(1));
        if file_length as u64 > limits::FILE_LENGTH_MAX {
            return Err(too_big);
        }
        Ok(Geometry {
            file_length: file_length as u64,
            table_capacity: fields,
            strings_offset: strings_offset as u32,
            strings_capacity: strings_capacity as u32,
            values_offset: values_offset as u32,
            values_capacity: (file_length - values_offset) as u32,
        })
    }
}

/// The live words of the header (FORMAT.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Live {
    /// Published records.
    pub field_count: u64,
    /// Changes whenever `field_count` does.
    pub generation: u64,
    /// Bytes of the string area in use.
    pub strings_used: u64,
    /// Bytes of the value area in use.
    pub values_used: u64,
    /// `state` bits ([`layout::state`]).
    pub state: u64,
}

/// A decoded, validated header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The file's byte order.
    pub byte_order: ByteOrder,
    /// The minor version.
    pub minor_version: u8,
    /// Who wrote it.
    pub identity: Identity,
    /// Where its areas lie.
    pub geometry: Geometry,
    /// The live words as they were when the header was read.
    pub live: Live,
}

fn bad(field: &'static str, value: impl Into<u64>) -> FormatError {
    FormatError::BadHeader {
        field,
        value: value.into(),
    }
}

impl Header {
    /// Decodes and validates a header (FORMAT.md §2.4, checks 1 to 6). `bytes` holds at least
    /// the first 256 bytes of the file; `file_size` is the file's real size.
    pub fn decode(bytes: &[u8], file_size: u64) -> Result<Header, FormatError> {
        if bytes.len() < HEADER_LEN || file_size < HEADER_LEN as u64 {
            return Err(FormatError::Truncated {
                need: HEADER_LEN as u64,
                have: file_size.min(bytes.len() as u64),
            });
        }
        if detect(bytes)? != Detected::V2 {
            return Err(bad("version", bytes[0]));
        }
        let order = ByteOrder::from_code(bytes[h::BYTE_ORDER])
            .ok_or_else(|| bad("byte_order", bytes[h::BYTE_ORDER]))?;
        let header_length = order.u16(bytes, h::HEADER_LENGTH);
        if header_length as usize != HEADER_LEN {
            return Err(bad("header_length", header_length));
        }
        let features = order.u32(bytes, h::REQUIRED_FEATURES);
        if features != 0 {
            return Err(FormatError::UnknownFeatures(features));
        }
        let file_length = order.u64(bytes, h::FILE_LENGTH);
        if file_length != file_size {
            return Err(FormatError::SizeMismatch {
                header: file_length,
                actual: file_size,
            });
        }
        if file_length % PAGE as u64 != 0 {
            return Err(bad("file_length", file_length));
        }
        if file_length > limits::FILE_LENGTH_MAX {
            return Err(FormatError::TooLarge {
                what: "file_length",
                value: file_length,
                max: limits::FILE_LENGTH_MAX,
            });
        }
        let table_offset = order.u32(bytes, h::TABLE_OFFSET);
        if table_offset as usize != HEADER_LEN {
            return Err(bad("table_offset", table_offset));
        }
        let g = Geometry {
            file_length,
            table_capacity: order.u32(bytes, h::TABLE_CAPACITY),
            strings_offset: order.u32(bytes, h::STRINGS_OFFSET),
            strings_capacity: order.u32(bytes, h::STRINGS_CAPACITY),
            values_offset: order.u32(bytes, h::VALUES_OFFSET),
            values_capacity: order.u32(bytes, h::VALUES_CAPACITY),
        };
        if g.table_capacity > limits::TABLE_CAPACITY_MAX {
            return Err(FormatError::TooLarge {
                what: "table_capacity",
                value: g.table_capacity.into(),
                max: limits::TABLE_CAPACITY_MAX.into(),
            });
        }
        let table_end = HEADER_LEN as u64 + u64::from(g.table_capacity) * RECORD_LEN as u64;
        if u64::from(g.strings_offset) != table_end {
            return Err(bad("strings_offset", g.strings_offset));
        }
        if !g.strings_capacity.is_multiple_of(8) {
            return Err(bad("strings_capacity", g.strings_capacity));
        }
        let strings_end = u64::from(g.strings_offset) + u64::from(g.strings_capacity);
        if u64::from(g.values_offset) < strings_end
            || !(g.values_offset as usize).is_multiple_of(PAGE)
        {
            return Err(bad("values_offset", g.values_offset));
        }
        if u64::from(g.values_offset) + u64::from(g.values_capacity) != file_length {
            return Err(bad("values_capacity", g.values_capacity));
        }
        let live = Live {
            field_count: order.u64(bytes, h::FIELD_COUNT),
            generation: order.u64(bytes, h::GENERATION),
            strings_used: order.u64(bytes, h::STRINGS_USED),
            values_used: order.u64(bytes, h::VALUES_USED),
            state: order.u64(bytes, h::STATE),
        };
        let header = Header {
            byte_order: order,
            minor_version: bytes[h::MINOR_VERSION],
            identity: Identity {
                pid: order.u32(bytes, h::PID),
                tid: order.u32(bytes, h::TID),
                start_time: order.u64(bytes, h::START_TIME),
                boot_id: bytes[h::BOOT_ID..h::BOOT_ID + 16]
                    .try_into()
                    .unwrap_or([0; 16]),
                created_ns: order.u64(bytes, h::CREATED_NS) as i64,
                uid: order.u32(bytes, h::UID),
                gid: order.u32(bytes, h::GID),
                writer: decode_padded(&bytes[h::WRITER..h::WRITER + WRITER_NAME_LEN]),
            },
            geometry: g,
            live,
        };
        header.check_live(&live)?;
        Ok(header)
    }

    /// Checks live words against the geometry (FORMAT.md §2.4, check 6).
    pub fn check_live(&self, live: &Live) -> Result<(), FormatError> {
        let g = &self.geometry;
        if live.field_count > u64::from(g.table_capacity) {
            return Err(bad("field_count", live.field_count));
        }
        if live.strings_used > u64::from(g.strings_capacity) {
            return Err(bad("strings_used", live.strings_used));
        }
        if live.values_used > u64::from(g.values_capacity) {
            return Err(bad("values_used", live.values_used));
        }
        Ok(())
    }

    /// Encodes a header in `order`.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let o = self.byte_order;
        let g = &self.geometry;
        let id = &self.identity;
        let mut b = [0u8; HEADER_LEN];
        b[h::VERSION] = VERSION;
        b[h::MAGIC..h::MAGIC + 7].copy_from_slice(&MAGIC);
        b[h::BYTE_ORDER] = o.code();
        b[h::MINOR_VERSION] = self.minor_version;
        o.put_u16(&mut b, h::HEADER_LENGTH, HEADER_LEN as u16);
        o.put_u64(&mut b, h::FILE_LENGTH, g.file_length);
        o.put_u32(&mut b, h::PID, id.pid);
        o.put_u32(&mut b, h::TID, id.tid);
        o.put_u64(&mut b, h::START_TIME, id.start_time);
        b[h::BOOT_ID..h::BOOT_ID + 16].copy_from_slice(&id.boot_id);
        o.put_u64(&mut b, h::CREATED_NS, id.created_ns as u64);
        o.put_u32(&mut b, h::UID, id.uid);
        o.put_u32(&mut b, h::GID, id.gid);
        o.put_u32(&mut b, h::TABLE_OFFSET, HEADER_LEN as u32);
        o.put_u32(&mut b, h::TABLE_CAPACITY, g.table_capacity);
        o.put_u32(&mut b, h::STRINGS_OFFSET, g.strings_offset);
        o.put_u32(&mut b, h::STRINGS_CAPACITY, g.strings_capacity);
        o.put_u32(&mut b, h::VALUES_OFFSET, g.values_offset);
        o.put_u32(&mut b, h::VALUES_CAPACITY, g.values_capacity);
        let name = truncate_utf8(&id.writer, WRITER_NAME_LEN);
        b[h::WRITER..h::WRITER + name.len()].copy_from_slice(name.as_bytes());
        o.put_u64(&mut b, h::FIELD_COUNT, self.live.field_count);
        o.put_u64(&mut b, h::GENERATION, self.live.generation);
        o.put_u64(&mut b, h::STRINGS_USED, self.live.strings_used);
        o.put_u64(&mut b, h::VALUES_USED, self.live.values_used);
        o.put_u64(&mut b, h::STATE, self.live.state);
        b
    }
}

fn decode_padded(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Parses the text of `/proc/sys/kernel/random/boot_id` into its 16 bytes.
pub fn parse_boot_id(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.trim().bytes().filter(|c| *c != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            byte_order: ByteOrder::NATIVE,
            minor_version: 0,
            identity: Identity {
                pid: 42,
                tid: 43,
                start_time: 1234,
                boot_id: [7; 16],
                created_ns: 1_700_000_000_000_000_000,
                uid: 1000,
                gid: 100,
                writer: "mmstats-rust 0.1.0".into(),
            },
            geometry: Geometry::new(10, 100, 100).unwrap(),
            live: Live {
                field_count: 3,
                generation: 1,
                strings_used: 24,
                values_used: 16,
                state: 0,
            },
        }
    }

    #[test]
    fn header_round_trips_in_both_orders() {
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let mut h = sample();
            h.byte_order = order;
            let bytes = h.encode();
            let back = Header::decode(&bytes, h.geometry.file_length).unwrap();
            assert_eq!(back, h);
        }
    }

    #[test]
    fn geometry_is_page_aligned() {
        let g = Geometry::new(3, 10, 10).unwrap();
        assert_eq!(g.values_offset % 4096, 0);
        assert_eq!(g.file_length % 4096, 0);
        assert_eq!(g.strings_offset, 256 + 3 * 64);
        assert_eq!(g.strings_capacity, 16);
    }

    #[test]
    fn detects_versions() {
        assert_eq!(detect(&[1]).unwrap(), Detected::V1);
        assert_eq!(detect(b"\x02MMSTATS").unwrap(), Detected::V2);
        assert_eq!(
            detect(&[0xCA, 0xFE, 0xC0, 0xC0, 1, 2]).unwrap(),
            Detected::Hsperf
        );
        assert!(detect(&[0xCA, 0xFE]).is_err());
        assert_eq!(
            detect(b"\x03MMSTATS").unwrap_err(),
            FormatError::FutureVersion(3)
        );
        assert!(matches!(
            detect(b"\x7fELF\x02\x01\x01\x00"),
            Err(FormatError::Foreign(_))
        ));
        assert_eq!(detect(b"").unwrap_err(), FormatError::Empty);
    }

    #[test]
    fn rejects_size_mismatch_and_bad_fields() {
        let h = sample();
        let bytes = h.encode();
        assert!(matches!(
            Header::decode(&bytes, h.geometry.file_length - 4096),
            Err(FormatError::SizeMismatch { .. })
        ));
        let mut b = bytes;
        b[h::BYTE_ORDER] = 9;
        assert!(Header::decode(&b, h.geometry.file_length).is_err());
        let mut b = bytes;
        ByteOrder::NATIVE.put_u64(&mut b, h::FIELD_COUNT, 11);
        assert!(Header::decode(&b, h.geometry.file_length).is_err());
    }

    #[test]
    fn boot_id_parses() {
        let id = parse_boot_id("0123456789abcdef0123456789ABCDEF\n").unwrap();
        assert_eq!(id[0], 0x01);
        assert_eq!(id[15], 0xEF);
        assert_eq!(
            parse_boot_id("4a5c8e62-9a3e-4d2b-8e1f-0b7a6c5d4e3f").unwrap()[0],
            0x4a
        );
        assert!(parse_boot_id("nope").is_none());
    }
}
