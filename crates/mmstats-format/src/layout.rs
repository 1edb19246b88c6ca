//! Offsets, sizes and limits of the version-2 layout, each naming the FORMAT.md section it
//! implements. Nothing else in the workspace spells these numbers.

/// Format version stored in byte 0 (§2.1).
pub const VERSION: u8 = 2;
/// The 7 bytes after the version (§2.1).
pub const MAGIC: [u8; 7] = *b"MMSTATS";
/// The first four bytes of a HotSpot JVM's performance data file (`format-spec/HSPERFDATA.md`
/// §2), which a reader tells apart from this format by them ([`crate::detect`]).
pub const HSPERF_MAGIC: [u8; 4] = [0xCA, 0xFE, 0xC0, 0xC0];
/// Minor version this crate writes (§2.1).
pub const MINOR_VERSION: u8 = 1;
/// `byte_order` value for little-endian files (§2.2).
pub const BYTE_ORDER_LITTLE: u8 = 1;
/// `byte_order` value for big-endian files (§2.2).
pub const BYTE_ORDER_BIG: u8 = 2;

/// Size of the header (§2.1).
pub const HEADER_LEN: usize = 256;
/// Size of one field record (§3.1).
pub const RECORD_LEN: usize = 64;
/// Every file's size and the value area's offset are multiples of this (§1).
pub const PAGE: usize = 4096;
/// Size of a word (§4).
pub const WORD: usize = 8;
/// Size of the `writer` name in the header (§2.1).
pub const WRITER_NAME_LEN: usize = 32;

/// Header offsets (§2.1).
pub mod header {
    /// `version` (u8).
    pub const VERSION: usize = 0;
    /// `magic` (7 bytes).
    pub const MAGIC: usize = 1;
    /// `byte_order` (u8).
    pub const BYTE_ORDER: usize = 8;
    /// `minor_version` (u8).
    pub const MINOR_VERSION: usize = 9;
    /// `header_length` (u16).
    pub const HEADER_LENGTH: usize = 10;
    /// `required_features` (u32).
    pub const REQUIRED_FEATURES: usize = 12;
    /// `file_length` (u64).
    pub const FILE_LENGTH: usize = 16;
    /// `pid` (u32).
    pub const PID: usize = 24;
    /// `tid` (u32).
    pub const TID: usize = 28;
    /// `start_time` (u64).
    pub const START_TIME: usize = 32;
    /// `boot_id` (16 bytes).
    pub const BOOT_ID: usize = 40;
    /// `created_ns` (i64).
    pub const CREATED_NS: usize = 56;
    /// `uid` (u32).
    pub const UID: usize = 64;
    /// `gid` (u32).
    pub const GID: usize = 68;
    /// `table_offset` (u32).
    pub const TABLE_OFFSET: usize = 72;
    /// `table_capacity` (u32).
    pub const TABLE_CAPACITY: usize = 76;
    /// `strings_offset` (u32).
    pub const STRINGS_OFFSET: usize = 80;
    /// `strings_capacity` (u32).
    pub const STRINGS_CAPACITY: usize = 84;
    /// `values_offset` (u32).
    pub const VALUES_OFFSET: usize = 88;
    /// `values_capacity` (u32).
    pub const VALUES_CAPACITY: usize = 92;
    /// `writer` (32 bytes).
    pub const WRITER: usize = 96;
    /// Live word `field_count` (§2.3).
    pub const FIELD_COUNT: usize = 128;
    /// Live word `generation` (§2.3).
    pub const GENERATION: usize = 136;
    /// Live word `strings_used` (§2.3).
    pub const STRINGS_USED: usize = 144;
    /// Live word `values_used` (§2.3).
    pub const VALUES_USED: usize = 152;
    /// Live word `state` (§2.3).
    pub const STATE: usize = 160;
    /// Live word `fold_seq` of a process file (§2.1, §6.4).
    pub const FOLD_SEQ: usize = 168;
    /// First reserved byte.
    pub const RESERVED: usize = 176;
}

/// Bits of the `state` live word (§2.1).
pub mod state {
    /// The writer closed the file cleanly.
    pub const CLOSED: u64 = 1;
    /// The file holds a process's totals, folded from threads that ended.
    pub const PROCESS: u64 = 2;
    /// This thread's values were folded into its process file (§6.4): readers skip them.
    pub const FOLDED: u64 = 4;
}

/// Record offsets (§3.1).
pub mod record {
    /// `label_offset` (u32).
    pub const LABEL_OFFSET: usize = 0;
    /// `label_length` (u16).
    pub const LABEL_LENGTH: usize = 4;
    /// `help_length` (u16).
    pub const HELP_LENGTH: usize = 6;
    /// `help_offset` (u32).
    pub const HELP_OFFSET: usize = 8;
    /// `unit_offset` (u32).
    pub const UNIT_OFFSET: usize = 12;
    /// `unit_length` (u16).
    pub const UNIT_LENGTH: usize = 16;
    /// `kind` (u8).
    pub const KIND: usize = 18;
    /// `value_type` (u8).
    pub const VALUE_TYPE: usize = 19;
    /// `combine` (u8).
    pub const COMBINE: usize = 20;
    /// `flags` (u8).
    pub const FLAGS: usize = 21;
    /// `param` (u16).
    pub const PARAM: usize = 22;
    /// `value_offset` (u32).
    pub const VALUE_OFFSET: usize = 24;
    /// `value_length` (u32).
    pub const VALUE_LENGTH: usize = 28;
    /// `capacity` (u32).
    pub const CAPACITY: usize = 32;
    /// `labels_offset` (u32, minor version 1, §3.5).
    pub const LABELS_OFFSET: usize = 36;
    /// `labels_length` (u16, minor version 1, §3.5).
    pub const LABELS_LENGTH: usize = 40;
    /// First reserved byte.
    pub const RESERVED: usize = 42;
}

/// Limits on string lengths (§3.1).
pub mod limits {
    /// Longest label in bytes.
    pub const LABEL_MAX: usize = 1024;
    /// Longest help text in bytes.
    pub const HELP_MAX: usize = 4096;
    /// Longest unit in bytes.
    pub const UNIT_MAX: usize = 64;
    /// Longest encoded label set in bytes (§3.5).
    pub const LABELS_MAX: usize = 1024;
    /// Largest file a reader accepts and a writer creates, in bytes (§2.4 check 8): 64 MiB.
    pub const FILE_LENGTH_MAX: u64 = 64 << 20;
    /// Most records a field table may have room for (§2.4 check 8).
    pub const TABLE_CAPACITY_MAX: u32 = 65_536;
    /// Largest version-1 file a reader accepts, in bytes (§11): 1 MiB.
    pub const V1_FILE_LENGTH_MAX: u64 = 1 << 20;
    /// Largest text capacity in bytes (§5.2).
    pub const TEXT_CAPACITY_MAX: u32 = 65536;
    /// Largest moving-average window (§5.4).
    pub const WINDOW_MAX: u32 = 1_000_000;
    /// Smallest and largest histogram sub-bucket exponent (§5.5).
    pub const HISTOGRAM_K_MIN: u16 = 1;
    /// Largest histogram sub-bucket exponent (§5.5).
    pub const HISTOGRAM_K_MAX: u16 = 10;
    /// The sub-bucket exponent writers use (§5.5): 1.6% relative error.
    pub const HISTOGRAM_K_DEFAULT: u16 = 5;
    /// Fewest windowed slots (§5.7).
    pub const WINDOW_SLOTS_MIN: u32 = 2;
    /// Most windowed slots (§5.7).
    pub const WINDOW_SLOTS_MAX: u32 = 3600;
    /// Largest windowed slot width in seconds (§5.7).
    pub const SLOT_SECONDS_MAX: u16 = 3600;
    /// Most attempts a reader makes at a consistent multi-word copy (§4.2).
    pub const SEQ_READ_ATTEMPTS: u32 = 64;
    /// A reader yields after this many failed attempts (§4.2).
    pub const SEQ_YIELD_EVERY: u32 = 8;
}

/// Word positions inside value slots (FORMAT.md §5): word `i` of a slot lies at byte `8 × i`
/// from its `value_offset`. Writers, readers and codecs name slot words only through these.
pub mod slot {
    /// The sequence word of every multi-word slot (§4.2).
    pub const SEQ: usize = 0;
    /// The value word of a single-word slot (§5.1).
    pub const VALUE: usize = 0;

    /// Text and text constants (§5.2).
    pub mod text {
        /// `length`: bytes of text in use.
        pub const LENGTH: usize = 1;
        /// The first word of the bytes.
        pub const BYTES: usize = 2;
    }

    /// Averages (§5.3).
    pub mod average {
        /// `count` (u64).
        pub const COUNT: usize = 1;
        /// `sum` (num).
        pub const SUM: usize = 2;
        /// Words in the slot.
        pub const WORDS: usize = 3;
    }

    /// Moving averages (§5.4).
    pub mod moving_average {
        /// `count` (u64): values recorded since creation.
        pub const COUNT: usize = 1;
        /// `window_count` (u64).
        pub const WINDOW_COUNT: usize = 2;
        /// `window_sum` (num).
        pub const WINDOW_SUM: usize = 3;
        /// `last` (num).
        pub const LAST: usize = 4;
        /// Words in the slot.
        pub const WORDS: usize = 5;
    }

    /// Histograms and timers (§5.5).
    pub mod histogram {
        /// `count` (u64).
        pub const COUNT: usize = 1;
        /// `sum` (u64, wrapping).
        pub const SUM: usize = 2;
        /// `min` (u64).
        pub const MIN: usize = 3;
        /// `max` (u64).
        pub const MAX: usize = 4;
        /// `last` (u64).
        pub const LAST: usize = 5;
        /// `window_count` (u64, timers only).
        pub const WINDOW_COUNT: usize = 6;
        /// `window_sum` (u64, timers only).
        pub const WINDOW_SUM: usize = 7;
        /// The first bucket; also the number of head words before the buckets.
        pub const BUCKETS: usize = 8;
    }

    /// Windowed fields (§5.7).
    pub mod windowed {
        /// `count` (u64): values recorded since creation.
        pub const COUNT: usize = 1;
        /// `sum` (num).
        pub const SUM: usize = 2;
        /// The first word of period slot 0; slot `j` starts at `PERIODS + PERIOD_WORDS × j`.
        pub const PERIODS: usize = 3;
        /// Words of one period slot.
        pub const PERIOD_WORDS: usize = 3;
        /// In a period slot: `slot[j].second`, the period it holds (0 if unused).
        pub const PERIOD: usize = 0;
        /// In a period slot: `slot[j].count`.
        pub const PERIOD_COUNT: usize = 1;
        /// In a period slot: `slot[j].sum` (num).
        pub const PERIOD_SUM: usize = 2;
    }
}

/// Header bytes of a text slot before the text itself: `seq`, `length` (§5.2).
pub const TEXT_SLOT_HEAD: usize = 16;
/// Size of an average slot (§5.3).
pub const AVERAGE_SLOT: usize = 24;
/// Size of a moving-average slot (§5.4).
pub const MOVING_AVERAGE_SLOT: usize = 40;
/// Words of a histogram slot before the buckets (§5.5).
pub const HISTOGRAM_SLOT_HEAD: usize = 64;
/// Words of a windowed slot before the slots (§5.7).
pub const WINDOWED_SLOT_HEAD: usize = 24;
/// Size of one windowed period slot (§5.7).
pub const WINDOWED_PERIOD: usize = 24;

/// Rounds up to a multiple of 8.
pub const fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// Rounds up to a multiple of [`PAGE`].
pub const fn align_page(n: usize) -> usize {
    n.div_ceil(PAGE) * PAGE
}

const _: () = assert!(HEADER_LEN.is_multiple_of(64));
const _: () = assert!(RECORD_LEN.is_multiple_of(WORD));
const _: () = assert!(
    header::FIELD_COUNT.is_multiple_of(64),
    "live words start a cache line"
);
const _: () = assert!(header::RESERVED <= HEADER_LEN);
const _: () = assert!(header::WRITER + WRITER_NAME_LEN == header::FIELD_COUNT);
const _: () = assert!(record::RESERVED <= RECORD_LEN);
const _: () = assert!(TEXT_SLOT_HEAD == WORD * slot::text::BYTES);
const _: () = assert!(AVERAGE_SLOT == WORD * slot::average::WORDS);
const _: () = assert!(MOVING_AVERAGE_SLOT == WORD * slot::moving_average::WORDS);
const _: () = assert!(HISTOGRAM_SLOT_HEAD == WORD * slot::histogram::BUCKETS);
const _: () = assert!(WINDOWED_SLOT_HEAD == WORD * slot::windowed::PERIODS);
const _: () = assert!(WINDOWED_PERIOD == WORD * slot::windowed::PERIOD_WORDS);

#[cfg(test)]
mod tests {
    //! The spec and the constants must agree: parse FORMAT.md's tables and compare.
    use super::*;

    const SPEC: &str = include_str!("../../../format-spec/FORMAT.md");

    /// Rows `| offset | type | name | ...` of the table under the given heading.
    fn table_rows(heading: &str) -> Vec<(usize, String)> {
        let start = SPEC.find(heading).expect("heading in FORMAT.md");
        let mut rows = Vec::new();
        let mut in_table = false;
        for line in SPEC[start..].lines().skip(1) {
            if line.starts_with('|') {
                in_table = true;
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                if let Ok(off) = cells[1].parse::<usize>() {
                    rows.push((off, cells[3].trim_matches('`').to_string()));
                }
            } else if in_table {
                break;
            }
        }
        rows
    }

    #[test]
    fn header_table_matches_constants() {
        let expect = [
            (header::VERSION, "version"),
            (header::MAGIC, "magic"),
            (header::BYTE_ORDER, "byte_order"),
            (header::MINOR_VERSION, "minor_version"),
            (header::HEADER_LENGTH, "header_length"),
            (header::REQUIRED_FEATURES, "required_features"),
            (header::FILE_LENGTH, "file_length"),
            (header::PID, "pid"),
            (header::TID, "tid"),
            (header::START_TIME, "start_time"),
            (header::BOOT_ID, "boot_id"),
            (header::CREATED_NS, "created_ns"),
            (header::UID, "uid"),
            (header::GID, "gid"),
            (header::TABLE_OFFSET, "table_offset"),
            (header::TABLE_CAPACITY, "table_capacity"),
            (header::STRINGS_OFFSET, "strings_offset"),
            (header::STRINGS_CAPACITY, "strings_capacity"),
            (header::VALUES_OFFSET, "values_offset"),
            (header::VALUES_CAPACITY, "values_capacity"),
            (header::WRITER, "writer"),
            (header::FIELD_COUNT, "field_count"),
            (header::GENERATION, "generation"),
            (header::STRINGS_USED, "strings_used"),
            (header::VALUES_USED, "values_used"),
            (header::STATE, "state"),
            (header::FOLD_SEQ, "fold_seq"),
            (header::RESERVED, "reserved"),
        ];
        let rows = table_rows("### 2.1 Layout");
        let expect: Vec<(usize, String)> =
            expect.iter().map(|(o, n)| (*o, n.to_string())).collect();
        assert_eq!(rows, expect);
    }

    #[test]
    fn record_table_matches_constants() {
        let expect = [
            (record::LABEL_OFFSET, "label_offset"),
            (record::LABEL_LENGTH, "label_length"),
            (record::HELP_LENGTH, "help_length"),
            (record::HELP_OFFSET, "help_offset"),
            (record::UNIT_OFFSET, "unit_offset"),
            (record::UNIT_LENGTH, "unit_length"),
            (record::KIND, "kind"),
            (record::VALUE_TYPE, "value_type"),
            (record::COMBINE, "combine"),
            (record::FLAGS, "flags"),
            (record::PARAM, "param"),
            (record::VALUE_OFFSET, "value_offset"),
            (record::VALUE_LENGTH, "value_length"),
            (record::CAPACITY, "capacity"),
            (record::LABELS_OFFSET, "labels_offset"),
            (record::LABELS_LENGTH, "labels_length"),
            (record::RESERVED, "reserved"),
        ];
        let rows = table_rows("### 3.1 Record layout");
        let expect: Vec<(usize, String)> =
            expect.iter().map(|(o, n)| (*o, n.to_string())).collect();
        assert_eq!(rows, expect);
    }

    /// Rows `| offset | word |` of a §5 slot table, as (word index, first name in backticks).
    fn slot_rows(heading: &str) -> Vec<(usize, String)> {
        let start = SPEC.find(heading).expect("heading in FORMAT.md");
        let mut rows = Vec::new();
        for line in SPEC[start..].lines().skip(1) {
            if line.starts_with("###") {
                break;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 3 {
                continue;
            }
            // "24 + 24 × j": the first period slot's words.
            let first = cells[1].split(' ').next().unwrap_or_default();
            if let Ok(off) = first.parse::<usize>() {
                let name = match cells[2].strip_prefix('`') {
                    Some(rest) => rest.split('`').next().unwrap_or_default(),
                    None => cells[2].split(',').next().unwrap_or_default(),
                };
                rows.push((off / WORD, name.to_string()));
            }
        }
        rows
    }

    #[test]
    fn slot_tables_match_word_positions() {
        let named = |v: &[(usize, &str)]| -> Vec<(usize, String)> {
            v.iter().map(|(o, n)| (*o, n.to_string())).collect()
        };
        use slot::*;
        assert_eq!(
            slot_rows("### 5.2 text"),
            named(&[
                (SEQ, "seq"),
                (text::LENGTH, "length"),
                (text::BYTES, "the bytes")
            ])
        );
        assert_eq!(
            slot_rows("### 5.3 average"),
            named(&[
                (SEQ, "seq"),
                (average::COUNT, "count"),
                (average::SUM, "sum")
            ])
        );
        assert_eq!(
            slot_rows("### 5.4 moving_average"),
            named(&[
                (SEQ, "seq"),
                (moving_average::COUNT, "count"),
                (moving_average::WINDOW_COUNT, "window_count"),
                (moving_average::WINDOW_SUM, "window_sum"),
                (moving_average::LAST, "last"),
            ])
        );
        assert_eq!(
            slot_rows("### 5.5 histogram"),
            named(&[
                (SEQ, "seq"),
                (histogram::COUNT, "count"),
                (histogram::SUM, "sum"),
                (histogram::MIN, "min"),
                (histogram::MAX, "max"),
                (histogram::LAST, "last"),
                (histogram::WINDOW_COUNT, "window_count"),
                (histogram::WINDOW_SUM, "window_sum"),
                (histogram::BUCKETS, "buckets[capacity]"),
            ])
        );
        assert_eq!(
            slot_rows("### 5.7 windowed"),
            named(&[
                (SEQ, "seq"),
                (windowed::COUNT, "count"),
                (windowed::SUM, "sum"),
                (windowed::PERIODS + windowed::PERIOD, "slot[j].second"),
                (windowed::PERIODS + windowed::PERIOD_COUNT, "slot[j].count"),
                (windowed::PERIODS + windowed::PERIOD_SUM, "slot[j].sum"),
            ])
        );
    }

    #[test]
    fn spec_states_sizes() {
        assert!(SPEC.contains(&format!("| header | 0 | {HEADER_LEN} |")));
        assert!(SPEC.contains(&format!("### 3.1 Record layout ({RECORD_LEN} bytes)")));
        assert!(SPEC.contains(&format!("up to **{} attempts**", limits::SEQ_READ_ATTEMPTS)));
    }
}
