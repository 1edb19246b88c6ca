//! HotSpot JVM performance data files ("hsperfdata", `format-spec/HSPERFDATA.md`): the
//! layout's constants, a validating decoder of the prologue and the entry table, and the
//! mapping of each entry onto an mmstats field. No I/O: the reader copies the bytes out of its
//! mapping and hands them here.
//!
//! ```
//! use mmstats_format::hsperf::{self, Builder, Units, Variability};
//! use mmstats_format::{ByteOrder, Kind, Num, Value};
//!
//! let mut b = Builder::new(ByteOrder::Big);
//! b.long("sun.os.hrt.frequency", Units::Hertz, Variability::Constant, 1_000_000_000);
//! b.long("sun.gc.collector.0.time", Units::Ticks, Variability::Monotonic, 2_500_000_000);
//! b.string("sun.rt.javaCommand", Variability::Constant, "Main --port 80", 64);
//! let image = b.finish(4096);
//!
//! let perf = hsperf::decode(&image, image.len() as u64)?;
//! let freq = perf.frequency(&image);
//! let time = &perf.entries[1];
//! let meta = time.meta(freq);
//! assert_eq!((meta.kind, meta.unit.as_str()), (Kind::Counter, "seconds"));
//! assert_eq!(time.value(&image, perf.order, freq), Value::Number(Num::F(2.5)));
//! # Ok::<(), mmstats_format::FormatError>(())
//! ```

use crate::bytes::ByteOrder;
use crate::codes::{Kind, ValueType};
use crate::field::FieldMeta;
use crate::num::Num;
use crate::value::Value;

pub use crate::error::HsperfError;

/// The first four bytes of every file, in this order whatever the byte order.
pub const MAGIC: [u8; 4] = crate::layout::HSPERF_MAGIC;
/// Length of the prologue.
pub const PROLOGUE_LEN: usize = 32;
/// Length of an entry's fixed header.
pub const ENTRY_HEADER_LEN: usize = 20;
/// The only major version this decoder reads (every JVM since 1.5 writes it).
pub const MAJOR_VERSION: u8 = 2;
/// `byte_order` value of a big-endian file.
pub const BYTE_ORDER_BIG: u8 = 0;
/// `byte_order` value of a little-endian file.
pub const BYTE_ORDER_LITTLE: u8 = 1;
/// `data_type` of a 64-bit signed integer (the JVM's `'J'`).
pub const TYPE_LONG: u8 = b'J';
/// `data_type` of a byte array (the JVM's `'B'`).
pub const TYPE_BYTE: u8 = b'B';
/// Other basic-type codes a JVM may in principle write; entries of these types are skipped.
pub const TYPES_SKIPPED: &[u8] = b"ZCFDSI";
/// The label of the high-resolution clock's ticks per second.
pub const FREQUENCY_LABEL: &str = "sun.os.hrt.frequency";
/// The label of the JVM's command line (main class or jar and arguments).
pub const COMMAND_LABEL: &str = "sun.rt.javaCommand";
/// The label of the wall-clock time (milliseconds since the epoch) the JVM started.
pub const VM_BEGIN_LABEL: &str = "sun.rt.createVmBeginTime";

/// Byte offsets of the prologue's fields (HSPERFDATA.md §2).
pub mod prologue {
    /// 4 bytes, [`super::MAGIC`].
    pub const MAGIC: usize = 0;
    /// u8: 0 big-endian, 1 little-endian.
    pub const BYTE_ORDER: usize = 4;
    /// u8: 2.
    pub const MAJOR_VERSION: usize = 5;
    /// u8.
    pub const MINOR_VERSION: usize = 6;
    /// u8: non-zero once the JVM has finished creating the file.
    pub const ACCESSIBLE: usize = 7;
    /// u32: bytes of the file in use (prologue and entries).
    pub const USED: usize = 8;
    /// u32: bytes of entries that did not fit; non-zero means the table is incomplete.
    pub const OVERFLOW: usize = 12;
    /// i64: high-resolution time of the last entry added.
    pub const MOD_TIME_STAMP: usize = 16;
    /// u32: offset of the first entry.
    pub const ENTRY_OFFSET: usize = 24;
    /// u32: number of entries.
    pub const NUM_ENTRIES: usize = 28;
}

/// Byte offsets inside an entry, from the entry's start (HSPERFDATA.md §3).
pub mod entry {
    /// u32: length of the whole entry, header, name, padding and data.
    pub const ENTRY_LENGTH: usize = 0;
    /// u32: offset of the NUL-terminated name.
    pub const NAME_OFFSET: usize = 4;
    /// u32: 0 for a scalar, else the number of elements.
    pub const VECTOR_LENGTH: usize = 8;
    /// u8: basic type code (`'J'`, `'B'`).
    pub const DATA_TYPE: usize = 12;
    /// u8: bit 0 "supported" (shown by jstat without -J-Djstat.showUnsupported).
    pub const FLAGS: usize = 13;
    /// u8: [`super::Units`].
    pub const DATA_UNITS: usize = 14;
    /// u8: [`super::Variability`].
    pub const DATA_VARIABILITY: usize = 15;
    /// u32: offset of the data.
    pub const DATA_OFFSET: usize = 16;
}

/// What an entry's number measures (HSPERFDATA.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Units {
    /// A plain number.
    None = 1,
    /// Bytes.
    Bytes = 2,
    /// Ticks of the high-resolution clock (`sun.os.hrt.frequency` per second).
    Ticks = 3,
    /// A count of events.
    Events = 4,
    /// Text (byte arrays only).
    String = 5,
    /// Per second.
    Hertz = 6,
}

/// How an entry's value changes (HSPERFDATA.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variability {
    /// Set once.
    Constant = 1,
    /// Only grows.
    Monotonic = 2,
    /// Goes up and down.
    Variable = 3,
}

impl Units {
    /// The unit with this code.
    pub fn from_code(code: u8) -> Option<Units> {
        Some(match code {
            1 => Units::None,
            2 => Units::Bytes,
            3 => Units::Ticks,
            4 => Units::Events,
            5 => Units::String,
            6 => Units::Hertz,
            _ => return None,
        })
    }
}

impl Variability {
    /// The variability with this code.
    pub fn from_code(code: u8) -> Option<Variability> {
        Some(match code {
            1 => Variability::Constant,
            2 => Variability::Monotonic,
            3 => Variability::Variable,
            _ => return None,
        })
    }

    /// The mmstats kind of a number with this variability.
    pub fn kind(self) -> Kind {
        match self {
            Variability::Constant => Kind::Constant,
            Variability::Monotonic => Kind::Counter,
            Variability::Variable => Kind::Gauge,
        }
    }
}

/// The prologue, decoded (HSPERFDATA.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prologue {
    /// Byte order of every number after the magic.
    pub order: ByteOrder,
    /// Major version (2).
    pub major: u8,
    /// Minor version.
    pub minor: u8,
    /// The JVM finished creating the file.
    pub accessible: bool,
    /// Bytes in use.
    pub used: u32,
    /// Bytes of entries that did not fit.
    pub overflow: u32,
    /// Clock ticks of the last entry added.
    pub mod_time_stamp: i64,
    /// Offset of the first entry.
    pub entry_offset: u32,
    /// Number of entries.
    pub num_entries: u32,
}

/// What an entry's data holds, among the types mmstats reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// A 64-bit signed integer, 8-aligned in the file.
    Long,
    /// A NUL-terminated string in a byte array of `len` bytes.
    Text,
    /// An unsigned number of `len` bytes (1, 4 or 8) inside the prologue, which the JVM also
    /// lists as a counter (`sun.perfdata.used`, ...).
    Prologue,
    /// A number fixed when the file was opened (`sun.perfdata.size`, the file's size).
    Fixed(i64),
}

/// The counters the JVM keeps in the prologue and lists with its others (`jcmd
/// PerfCounter.print` prints them; jstat's reader makes them from the prologue too): name,
/// offset, width, units, variability.
pub const PROLOGUE_COUNTERS: [(&str, usize, usize, Units, Variability); 5] = [
    (
        "sun.perfdata.majorVersion",
        prologue::MAJOR_VERSION,
        1,
        Units::None,
        Variability::Constant,
    ),
    (
        "sun.perfdata.minorVersion",
        prologue::MINOR_VERSION,
        1,
        Units::None,
        Variability::Constant,
    ),
    (
        "sun.perfdata.used",
        prologue::USED,
        4,
        Units::Bytes,
        Variability::Variable,
    ),
    (
        "sun.perfdata.overflow",
        prologue::OVERFLOW,
        4,
        Units::Bytes,
        Variability::Variable,
    ),
    (
        "sun.perfdata.timestamp",
        prologue::MOD_TIME_STAMP,
        8,
        Units::Ticks,
        Variability::Variable,
    ),
];

/// The name of the file's size as a counter.
pub const SIZE_LABEL: &str = "sun.perfdata.size";

/// One readable entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The JVM's name, e.g. `sun.gc.collector.0.invocations`.
    pub name: String,
    /// What the data holds.
    pub data: Data,
    /// Its unit.
    pub units: Units,
    /// How it changes.
    pub variability: Variability,
    /// The "supported" flag.
    pub supported: bool,
    /// Offset of the data in the file (8-aligned for a long).
    pub offset: usize,
    /// Bytes of data (8 for a long, the array's length for text).
    pub len: usize,
}

/// A decoded entry table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfData {
    /// Byte order of the numbers.
    pub order: ByteOrder,
    /// The prologue as decoded.
    pub prologue: Prologue,
    /// The entries mmstats reads, in file order.
    pub entries: Vec<Entry>,
    /// Entries of types mmstats does not read (long vectors, non-text byte arrays, other basic
    /// types): valid, but left out.
    pub skipped: usize,
}

fn read_u32(order: ByteOrder, b: &[u8], off: usize) -> u32 {
    order.u32(b, off)
}

/// Decodes the prologue from the file's first bytes and checks it against the file's size.
pub fn decode_prologue(bytes: &[u8], file_len: u64) -> Result<Prologue, HsperfError> {
    if bytes.len() < PROLOGUE_LEN {
        if bytes.len() >= 4 && bytes[..4] != MAGIC {
            return Err(HsperfError::BadMagic(bytes[..4].to_vec()));
        }
        return Err(HsperfError::Truncated {
            need: PROLOGUE_LEN as u64,
            have: bytes.len() as u64,
        });
    }
    if bytes[..4] != MAGIC {
        return Err(HsperfError::BadMagic(bytes[..8].to_vec()));
    }
    let bad = |field, value: u64| HsperfError::BadPrologue { field, value };
    let order = match bytes[prologue::BYTE_ORDER] {
        BYTE_ORDER_BIG => ByteOrder::Big,
        BYTE_ORDER_LITTLE => ByteOrder::Little,
        v => return Err(bad("byte_order", v.into())),
    };
    let major = bytes[prologue::MAJOR_VERSION];
    if major != MAJOR_VERSION {
        return Err(HsperfError::Version(major));
    }
    let p = Prologue {
        order,
        major,
        minor: bytes[prologue::MINOR_VERSION],
        accessible: bytes[prologue::ACCESSIBLE] != 0,
        used: read_u32(order, bytes, prologue::USED),
        overflow: read_u32(order, bytes, prologue::OVERFLOW),
        mod_time_stamp: order.u64(bytes, prologue::MOD_TIME_STAMP) as i64,
        entry_offset: read_u32(order, bytes, prologue::ENTRY_OFFSET),
        num_entries: read_u32(order, bytes, prologue::NUM_ENTRIES),
    };
    if !p.accessible {
        return Err(HsperfError::NotAccessible);
    }
    if p.overflow != 0 {
        return Err(HsperfError::Overflow(p.overflow));
    }
    if u64::from(p.used) > file_len {
        return Err(HsperfError::Truncated {
            need: p.used.into(),
            have: file_len,
        });
    }
    if (p.used as usize) < PROLOGUE_LEN {
        return Err(bad("used", p.used.into()));
    }
    if (p.entry_offset as usize) < PROLOGUE_LEN || p.entry_offset > p.used {
        return Err(bad("entry_offset", p.entry_offset.into()));
    }
    // Every entry takes at least its header: a larger count cannot fit in `used`.
    let room = (p.used - p.entry_offset) as usize / ENTRY_HEADER_LEN;
    if p.num_entries as usize > room {
        return Err(bad("num_entries", p.num_entries.into()));
    }
    Ok(p)
}

/// Decodes and validates a whole file's prologue and entries. `bytes` holds at least the
/// file's first `used` bytes (more is ignored); `file_len` is the file's size.
///
/// Every entry must lie inside `used`, its name must be non-empty UTF-8 ending in a NUL inside
/// the entry before its data, its data must lie inside the entry after the name, a long must
/// be 8-aligned in the file and a byte array must have a non-zero length. Names must be unique.
/// Memory used is bounded by `used`, never by a count or length the file claims.
pub fn decode(bytes: &[u8], file_len: u64) -> Result<PerfData, HsperfError> {
    let p = decode_prologue(bytes, file_len)?;
    let used = p.used as usize;
    if bytes.len() < used {
        return Err(HsperfError::Truncated {
            need: used as u64,
            have: bytes.len() as u64,
        });
    }
    let order = p.order;
    let mut entries = Vec::with_capacity(p.num_entries as usize);
    let mut names = std::collections::HashSet::with_capacity(p.num_entries as usize);
    let mut skipped = 0;
    let mut at = p.entry_offset as usize;
    for index in 0..p.num_entries as usize {
        let fail = |what: String| HsperfError::BadEntry {
            index,
            offset: at as u64,
            what,
        };
        if at + ENTRY_HEADER_LEN > used {
            return Err(fail(format!("header runs past the {used} bytes in use")));
        }
        let u = |off: usize| read_u32(order, bytes, at + off) as usize;
        let length = u(entry::ENTRY_LENGTH);
        let name_offset = u(entry::NAME_OFFSET);
        let vector_length = u(entry::VECTOR_LENGTH);
        let data_offset = u(entry::DATA_OFFSET);
        let data_type = bytes[at + entry::DATA_TYPE];
        let flags = bytes[at + entry::FLAGS];
        let units_code = bytes[at + entry::DATA_UNITS];
        let var_code = bytes[at + entry::DATA_VARIABILITY];
        if length < ENTRY_HEADER_LEN || length > used - at {
            return Err(fail(format!(
                "entry_length {length} is not between {ENTRY_HEADER_LEN} and the {} bytes left in use",
                used - at
            )));
        }
        if name_offset < ENTRY_HEADER_LEN || name_offset >= length {
            return Err(fail(format!(
                "name_offset {name_offset} is outside the entry of {length} bytes"
            )));
        }
        if data_offset <= name_offset || data_offset > length {
            return Err(fail(format!(
                "data_offset {data_offset} is not after the name (at {name_offset}) inside the entry of {length} bytes"
            )));
        }
        let name_area = &bytes[at + name_offset..at + data_offset];
        let Some(nul) = name_area.iter().position(|&b| b == 0) else {
            return Err(fail("name is not NUL-terminated before the data".into()));
        };
        if nul == 0 {
            return Err(fail("empty name".into()));
        }
        let name = std::str::from_utf8(&name_area[..nul])
            .map_err(|_| fail("name is not UTF-8".into()))?
            .to_string();
        let units = Units::from_code(units_code)
            .ok_or_else(|| fail(format!("{name}: unknown data_units {units_code}")))?;
        let variability = Variability::from_code(var_code)
            .ok_or_else(|| fail(format!("{name}: unknown data_variability {var_code}")))?;
        let data_room = length - data_offset;
        let offset = at + data_offset;
        let data = match (data_type, vector_length) {
            (TYPE_LONG, 0) => {
                if data_room < 8 {
                    return Err(fail(format!(
                        "{name}: a long needs 8 bytes, entry has {data_room}"
                    )));
                }
                if !offset.is_multiple_of(8) {
                    return Err(fail(format!(
                        "{name}: long at offset {offset} is not 8-aligned"
                    )));
                }
                Some((Data::Long, 8))
            }
            (TYPE_BYTE, 0) => {
                return Err(fail(format!("{name}: byte array of length 0")));
            }
            (TYPE_BYTE, n) | (TYPE_LONG, n) => {
                let width = if data_type == TYPE_LONG { 8 } else { 1 };
                let need = n.checked_mul(width).filter(|need| *need <= data_room);
                let Some(need) = need else {
                    return Err(fail(format!(
                        "{name}: vector_length {n} does not fit the {data_room} data bytes of the entry"
                    )));
                };
                (data_type == TYPE_BYTE && units == Units::String).then_some((Data::Text, need))
            }
            (t, _) if TYPES_SKIPPED.contains(&t) => None,
            (t, _) => return Err(fail(format!("{name}: unknown data_type {t:#04x}"))),
        };
        if !names.insert(name.clone()) {
            return Err(HsperfError::DuplicateName(name));
        }
        match data {
            Some((data, len)) => entries.push(Entry {
                name,
                data,
                units,
                variability,
                supported: flags & 1 != 0,
                offset,
                len,
            }),
            None => skipped += 1,
        }
        at += length;
    }
    for (name, offset, len, units, variability) in PROLOGUE_COUNTERS {
        if names.insert(name.to_string()) {
            entries.push(Entry {
                name: name.into(),
                data: Data::Prologue,
                units,
                variability,
                supported: true,
                offset,
                len,
            });
        }
    }
    if names.insert(SIZE_LABEL.to_string()) {
        entries.push(Entry {
            name: SIZE_LABEL.into(),
            data: Data::Fixed(file_len.min(i64::MAX as u64) as i64),
            units: Units::Bytes,
            variability: Variability::Constant,
            supported: true,
            offset: 0,
            len: 0,
        });
    }
    Ok(PerfData {
        order,
        prologue: p,
        entries,
        skipped,
    })
}

impl PerfData {
    /// The entry with this name.
    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Ticks per second of the JVM's clock (`sun.os.hrt.frequency`), if it is a positive long.
    pub fn frequency(&self, bytes: &[u8]) -> Option<i64> {
        let e = self.find(FREQUENCY_LABEL)?;
        let raw = e.long(bytes, self.order)?;
        (raw > 0).then_some(raw)
    }

    /// The JVM's command line (`sun.rt.javaCommand`).
    pub fn command(&self, bytes: &[u8]) -> Option<String> {
        match self.find(COMMAND_LABEL)?.value(bytes, self.order, None) {
            Value::Text(t) => Some(t.to_string()),
            _ => None,
        }
    }
}

impl Entry {
    /// The mmstats field this entry reads as: variability gives the kind (constant, counter,
    /// gauge; text for strings), units give the unit; ticks become seconds when the clock's
    /// frequency is known.
    pub fn meta(&self, frequency: Option<i64>) -> FieldMeta {
        let (kind, value_type, unit) = match self.data {
            Data::Text => (
                if self.variability == Variability::Constant {
                    Kind::Constant
                } else {
                    Kind::Text
                },
                ValueType::Text,
                "",
            ),
            Data::Long | Data::Prologue | Data::Fixed(_) => {
                let kind = self.variability.kind();
                match self.units {
                    Units::Ticks if frequency.is_some() => (kind, ValueType::F64, "seconds"),
                    Units::Ticks => (kind, ValueType::I64, "ticks"),
                    Units::Bytes => (kind, ValueType::I64, "bytes"),
                    Units::Events => (kind, ValueType::I64, "events"),
                    Units::Hertz => (kind, ValueType::I64, "hertz"),
                    Units::None | Units::String => (kind, ValueType::I64, ""),
                }
            }
        };
        FieldMeta {
            label: self.name.clone(),
            labels: Vec::new(),
            help: String::new(),
            unit: unit.into(),
            kind,
            value_type,
            combine: kind.default_combine(),
            param: 0,
            capacity: if self.data == Data::Text {
                self.len as u32
            } else {
                0
            },
        }
    }

    /// The raw long of a [`Data::Long`] entry, from bytes holding the file's first `used`
    /// bytes.
    pub fn long(&self, bytes: &[u8], order: ByteOrder) -> Option<i64> {
        match self.data {
            Data::Long | Data::Prologue if self.offset + self.len > bytes.len() => None,
            Data::Long => Some(order.u64(bytes, self.offset) as i64),
            Data::Prologue => Some(match self.len {
                1 => i64::from(bytes[self.offset]),
                4 => i64::from(order.u32(bytes, self.offset)),
                _ => order.u64(bytes, self.offset) as i64,
            }),
            Data::Fixed(v) => Some(v),
            Data::Text => None,
        }
    }

    /// The value, from bytes holding at least the entry's data at its offset.
    pub fn value(&self, bytes: &[u8], order: ByteOrder, frequency: Option<i64>) -> Value {
        match self.data {
            Data::Long | Data::Prologue | Data::Fixed(_) => {
                self.long_value(self.long(bytes, order).unwrap_or(0), frequency)
            }
            Data::Text => {
                let end = (self.offset + self.len).min(bytes.len());
                text_value(bytes.get(self.offset..end).unwrap_or(&[]))
            }
        }
    }

    /// The value of a long entry whose raw number is `raw` (ticks become seconds when the
    /// frequency is known).
    pub fn long_value(&self, raw: i64, frequency: Option<i64>) -> Value {
        match (self.units, frequency) {
            (Units::Ticks, Some(f)) => Value::Number(Num::F(ticks_to_seconds(raw, f))),
            _ => Value::Number(Num::I(raw)),
        }
    }
}

/// `ticks` of a clock running at `frequency` ticks per second, in seconds (as jstat divides).
pub fn ticks_to_seconds(ticks: i64, frequency: i64) -> f64 {
    ticks as f64 / frequency as f64
}

/// The text of a NUL-terminated byte array (all of it if it has no NUL); invalid UTF-8 is
/// replaced, as the JVM writes its platform encoding.
pub fn text_value(array: &[u8]) -> Value {
    let end = array.iter().position(|&b| b == 0).unwrap_or(array.len());
    Value::Text(String::from_utf8_lossy(&array[..end]).into())
}

/// Lays out an hsperfdata file the way a JVM does, for test vectors and tests.
#[derive(Debug, Clone)]
pub struct Builder {
    order: ByteOrder,
    entries: Vec<u8>,
    count: u32,
}

impl Builder {
    /// An empty table in byte order `order`.
    pub fn new(order: ByteOrder) -> Builder {
        Builder {
            order,
            entries: Vec::new(),
            count: 0,
        }
    }

    /// Adds a long entry.
    pub fn long(&mut self, name: &str, units: Units, var: Variability, value: i64) -> &mut Self {
        let mut data = vec![0u8; 8];
        self.order.put_u64(&mut data, 0, value as u64);
        self.raw(name, TYPE_LONG, 0, units as u8, var as u8, 8, &data)
    }

    /// Adds a string entry: a byte array of `capacity` bytes holding `text` and a NUL.
    pub fn string(
        &mut self,
        name: &str,
        var: Variability,
        text: &str,
        capacity: usize,
    ) -> &mut Self {
        let mut data = text.as_bytes().to_vec();
        data.truncate(capacity.saturating_sub(1));
        data.resize(capacity, 0);
        self.raw(
            name,
            TYPE_BYTE,
            capacity as u32,
            Units::String as u8,
            var as u8,
            1,
            &data,
        )
    }

    /// Adds an entry with any codes: the name is NUL-terminated and padded so that the data
    /// starts on a multiple of `align` from the start of the file, and the entry is padded to
    /// a multiple of 8.
    #[allow(clippy::too_many_arguments)]
    pub fn raw(
        &mut self,
        name: &str,
        data_type: u8,
        vector_length: u32,
        units: u8,
        variability: u8,
        align: usize,
        data: &[u8],
    ) -> &mut Self {
        let start = PROLOGUE_LEN + self.entries.len();
        let name_offset = ENTRY_HEADER_LEN;
        let mut data_offset = name_offset + name.len() + 1;
        while !(start + data_offset).is_multiple_of(align.max(1)) {
            data_offset += 1;
        }
        let length = (data_offset + data.len()).div_ceil(8) * 8;
        let mut e = vec![0u8; length];
        let o = self.order;
        o.put_u32(&mut e, entry::ENTRY_LENGTH, length as u32);
        o.put_u32(&mut e, entry::NAME_OFFSET, name_offset as u32);
        o.put_u32(&mut e, entry::VECTOR_LENGTH, vector_length);
        e[entry::DATA_TYPE] = data_type;
        e[entry::FLAGS] = 0;
        e[entry::DATA_UNITS] = units;
        e[entry::DATA_VARIABILITY] = variability;
        o.put_u32(&mut e, entry::DATA_OFFSET, data_offset as u32);
        e[name_offset..name_offset + name.len()].copy_from_slice(name.as_bytes());
        e[data_offset..data_offset + data.len()].copy_from_slice(data);
        self.entries.extend_from_slice(&e);
        self.count += 1;
        self
    }

    /// The whole file, `size` bytes (at least what the entries need, rounded up to 8),
    /// accessible, without overflow.
    pub fn finish(&self, size: usize) -> Vec<u8> {
        let used = PROLOGUE_LEN + self.entries.len();
        let mut f = vec![0u8; size.max(used).div_ceil(8) * 8];
        let o = self.order;
        f[..4].copy_from_slice(&MAGIC);
        f[prologue::BYTE_ORDER] = match o {
            ByteOrder::Big => BYTE_ORDER_BIG,
            ByteOrder::Little => BYTE_ORDER_LITTLE,
        };
        f[prologue::MAJOR_VERSION] = MAJOR_VERSION;
        f[prologue::MINOR_VERSION] = 0;
        f[prologue::ACCESSIBLE] = 1;
        o.put_u32(&mut f, prologue::USED, used as u32);
        o.put_u32(&mut f, prologue::OVERFLOW, 0);
        o.put_u64(&mut f, prologue::MOD_TIME_STAMP, 1);
        o.put_u32(&mut f, prologue::ENTRY_OFFSET, PROLOGUE_LEN as u32);
        o.put_u32(&mut f, prologue::NUM_ENTRIES, self.count);
        f[PROLOGUE_LEN..used].copy_from_slice(&self.entries);
        f
    }

    /// Offset in the finished file of the entry added `n`th (from 0).
    pub fn entry_offset(&self, n: usize) -> Option<usize> {
        let o = self.order;
        let mut at = 0;
        for _ in 0..n {
            if at + 4 > self.entries.len() {
                return None;
            }
            at += o.u32(&self.entries, at) as usize;
        }
        (at < self.entries.len()).then_some(PROLOGUE_LEN + at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(order: ByteOrder) -> (Builder, Vec<u8>) {
        let mut b = Builder::new(order);
        b.long(FREQUENCY_LABEL, Units::Hertz, Variability::Constant, 1_000)
            .long(
                "sun.gc.collector.0.invocations",
                Units::Events,
                Variability::Monotonic,
                7,
            )
            .long(
                "sun.gc.collector.0.time",
                Units::Ticks,
                Variability::Monotonic,
                1_500,
            )
            .long(
                "sun.gc.generation.0.space.0.used",
                Units::Bytes,
                Variability::Variable,
                -1,
            )
            .string(COMMAND_LABEL, Variability::Constant, "Main arg", 32)
            .string("sun.gc.cause", Variability::Variable, "No GC", 16)
            .raw("sun.misc.vector", TYPE_LONG, 2, 1, 1, 8, &[0; 16]);
        let img = b.finish(1024);
        (b, img)
    }

    #[test]
    fn decodes_both_orders() {
        for order in [ByteOrder::Big, ByteOrder::Little] {
            let (_, img) = sample(order);
            let p = decode(&img, img.len() as u64).unwrap();
            assert_eq!(p.order, order);
            assert_eq!(p.entries.len(), 6 + PROLOGUE_COUNTERS.len() + 1);
            assert_eq!(p.skipped, 1);
            let f = p.frequency(&img);
            assert_eq!(f, Some(1000));
            assert_eq!(p.command(&img).as_deref(), Some("Main arg"));
            let v = |n: &str| p.find(n).unwrap().value(&img, order, f);
            assert_eq!(v("sun.perfdata.majorVersion"), Value::Number(Num::I(2)));
            assert_eq!(v(SIZE_LABEL), Value::Number(Num::I(1024)));
            let used = i64::from(order.u32(&img, prologue::USED));
            assert_eq!(v("sun.perfdata.used"), Value::Number(Num::I(used)));
            assert_eq!(v("sun.perfdata.timestamp"), Value::Number(Num::F(0.001)));
            assert_eq!(
                v("sun.gc.collector.0.invocations"),
                Value::Number(Num::I(7))
            );
            assert_eq!(v("sun.gc.collector.0.time"), Value::Number(Num::F(1.5)));
            assert_eq!(
                v("sun.gc.generation.0.space.0.used"),
                Value::Number(Num::I(-1))
            );
            assert_eq!(v("sun.gc.cause"), Value::Text("No GC".into()));
            let m = |n: &str| p.find(n).unwrap().meta(f);
            assert_eq!(m("sun.gc.collector.0.invocations").kind, Kind::Counter);
            assert_eq!(m("sun.gc.collector.0.invocations").unit, "events");
            assert_eq!(m("sun.gc.generation.0.space.0.used").kind, Kind::Gauge);
            assert_eq!(m("sun.gc.generation.0.space.0.used").unit, "bytes");
            assert_eq!(m(FREQUENCY_LABEL).kind, Kind::Constant);
            assert_eq!(m(COMMAND_LABEL).value_type, ValueType::Text);
            assert_eq!(m("sun.gc.cause").kind, Kind::Text);
            assert_eq!(m("sun.gc.cause").capacity, 16);
            for e in &p.entries {
                m(&e.name).validate().unwrap();
            }
            // Without a frequency, ticks stay ticks.
            let t = p.find("sun.gc.collector.0.time").unwrap();
            assert_eq!(t.meta(None).unit, "ticks");
            assert_eq!(t.value(&img, order, None), Value::Number(Num::I(1500)));
        }
    }

    fn put32(img: &mut [u8], off: usize, v: u32) {
        ByteOrder::Little.put_u32(img, off, v);
    }

    #[test]
    fn prologue_errors() {
        let (_, img) = sample(ByteOrder::Little);
        let len = img.len() as u64;
        assert!(matches!(
            decode(&img[..10], len),
            Err(HsperfError::Truncated { .. })
        ));
        let mut bad = img.clone();
        bad[1] = 0;
        assert!(matches!(decode(&bad, len), Err(HsperfError::BadMagic(_))));
        let mut bad = img.clone();
        bad[prologue::BYTE_ORDER] = 7;
        assert!(matches!(
            decode(&bad, len),
            Err(HsperfError::BadPrologue {
                field: "byte_order",
                ..
            })
        ));
        let mut bad = img.clone();
        bad[prologue::MAJOR_VERSION] = 1;
        assert_eq!(decode(&bad, len), Err(HsperfError::Version(1)));
        let mut bad = img.clone();
        bad[prologue::ACCESSIBLE] = 0;
        assert_eq!(decode(&bad, len), Err(HsperfError::NotAccessible));
        let mut bad = img.clone();
        put32(&mut bad, prologue::OVERFLOW, 64);
        assert_eq!(decode(&bad, len), Err(HsperfError::Overflow(64)));
        let mut bad = img.clone();
        put32(&mut bad, prologue::USED, 1 << 30);
        assert!(matches!(
            decode(&bad, len),
            Err(HsperfError::Truncated { .. })
        ));
        let mut bad = img.clone();
        put32(&mut bad, prologue::ENTRY_OFFSET, 4);
        assert!(matches!(
            decode(&bad, len),
            Err(HsperfError::BadPrologue {
                field: "entry_offset",
                ..
            })
        ));
        let mut bad = img.clone();
        put32(&mut bad, prologue::NUM_ENTRIES, u32::MAX);
        assert!(matches!(
            decode(&bad, len),
            Err(HsperfError::BadPrologue {
                field: "num_entries",
                ..
            })
        ));
        // The whole file truncated below `used`.
        let used = ByteOrder::Little.u32(&img, prologue::USED) as usize;
        assert!(matches!(
            decode(&img[..used - 1], (used - 1) as u64),
            Err(HsperfError::Truncated { .. })
        ));
    }

    #[test]
    fn entry_errors() {
        let (b, img) = sample(ByteOrder::Little);
        let len = img.len() as u64;
        let e1 = b.entry_offset(1).unwrap();
        let e4 = b.entry_offset(4).unwrap();
        let cases: Vec<(usize, u32, &str)> = vec![
            (e1 + entry::ENTRY_LENGTH, u32::MAX, "entry_length"),
            (e1 + entry::ENTRY_LENGTH, 4, "entry_length"),
            (e1 + entry::NAME_OFFSET, 1 << 20, "name_offset"),
            (e1 + entry::NAME_OFFSET, 2, "name_offset"),
            (e1 + entry::DATA_OFFSET, u32::MAX, "data_offset"),
            (e1 + entry::DATA_OFFSET, 20, "data_offset"),
            (e4 + entry::VECTOR_LENGTH, u32::MAX, "vector_length"),
            (e4 + entry::VECTOR_LENGTH, 0, "length 0"),
        ];
        for (off, v, what) in cases {
            let mut bad = img.clone();
            put32(&mut bad, off, v);
            match decode(&bad, len) {
                Err(HsperfError::BadEntry { index, what: w, .. }) => {
                    assert!(index == 1 || index == 4);
                    assert!(w.contains(what), "{w} lacks {what}");
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        // A name without its NUL: overwrite the NUL and the padding up to the data.
        let mut bad = img.clone();
        let name_at = e1 + ENTRY_HEADER_LEN;
        let data_at = e1 + ByteOrder::Little.u32(&img, e1 + entry::DATA_OFFSET) as usize;
        bad[name_at..data_at].fill(b'x');
        assert!(
            matches!(decode(&bad, len), Err(HsperfError::BadEntry { what, .. }) if what.contains("NUL"))
        );
        // Unknown codes.
        for (at, what) in [
            (entry::DATA_TYPE, "data_type"),
            (entry::DATA_UNITS, "data_units"),
            (entry::DATA_VARIABILITY, "data_variability"),
        ] {
            let mut bad = img.clone();
            bad[e1 + at] = 0x7f;
            assert!(
                matches!(decode(&bad, len), Err(HsperfError::BadEntry { what: w, .. }) if w.contains(what))
            );
        }
        // A misaligned long.
        let mut b2 = Builder::new(ByteOrder::Little);
        b2.raw("xyzw", TYPE_LONG, 0, 1, 1, 4, &[0; 8]);
        let img2 = b2.finish(256);
        // The data lands at 32 + 20 + 5 rounded up to 4: offset 60.
        assert_eq!(
            ByteOrder::Little.u32(&img2, PROLOGUE_LEN + entry::DATA_OFFSET),
            28
        );
        assert!(
            matches!(decode(&img2, 256), Err(HsperfError::BadEntry { what, .. }) if what.contains("aligned"))
        );
        // Duplicates.
        let mut b3 = Builder::new(ByteOrder::Little);
        b3.long("a", Units::None, Variability::Constant, 1).long(
            "a",
            Units::None,
            Variability::Constant,
            2,
        );
        let img3 = b3.finish(256);
        assert_eq!(
            decode(&img3, 256),
            Err(HsperfError::DuplicateName("a".into()))
        );
    }

    #[test]
    fn every_single_byte_flip_is_an_error_or_a_table_in_bounds() {
        let (_, img) = sample(ByteOrder::Big);
        let used = ByteOrder::Big.u32(&img, prologue::USED) as usize;
        for i in 0..used {
            for bit in [0x01u8, 0x80] {
                let mut bad = img.clone();
                bad[i] ^= bit;
                if let Ok(p) = decode(&bad, bad.len() as u64) {
                    for e in &p.entries {
                        assert!(e.offset + e.len <= used);
                        let _ = e.value(&bad, p.order, p.frequency(&bad));
                    }
                }
            }
        }
    }
}
