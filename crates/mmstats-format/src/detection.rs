//! Which of the formats a reader knows a file's first bytes announce.

use crate::error::FormatError;
use crate::layout::{HSPERF_MAGIC, MAGIC, VERSION};

/// Which format a file's first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// The original Python mmstats format (FORMAT.md §11).
    V1,
    /// This format.
    V2,
    /// A HotSpot JVM's performance data file (`format-spec/HSPERFDATA.md`).
    Hsperf,
}

/// Looks at a file's first bytes (at least 1) and says which version it is, or why it is none.
pub fn detect(first: &[u8]) -> Result<Detected, FormatError> {
    match first.first() {
        None => Err(FormatError::Empty),
        Some(1) => Ok(Detected::V1),
        Some(&VERSION) => {
            if first.len() < 8 {
                return Err(FormatError::Truncated {
                    need: 8,
                    have: first.len() as u64,
                });
            }
            if first[1..8] == MAGIC {
                Ok(Detected::V2)
            } else {
                Err(FormatError::Foreign(first[..8].to_vec()))
            }
        }
        Some(_) if first.starts_with(&HSPERF_MAGIC) => Ok(Detected::Hsperf),
        Some(&v) if v > VERSION && first.len() >= 8 && first[1..8] == MAGIC => {
            Err(FormatError::FutureVersion(v))
        }
        Some(_) => Err(FormatError::Foreign(first[..first.len().min(8)].to_vec())),
    }
}
