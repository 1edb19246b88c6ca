//! Glue for version-1 files (the original Python mmstats, FORMAT.md §11): the writer's
//! identity comes from its `sys.*` fields, since that format has no header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mmstats_format::{FieldMeta, FormatError, Num, Value};

use crate::writer::{FileInfo, FormatVersion};

/// Decodes a whole version-1 file into the writer's identity, the fields' metadata and their
/// values.
pub(crate) fn decode(
    bytes: &[u8],
    dev_ino: (u64, u64),
) -> Result<(FileInfo, Vec<FieldMeta>, Vec<Value>), FormatError> {
    let fields = mmstats_format::v1::decode(bytes)?;
    // The original writer prefixes every label with its `label_prefix`, the system fields
    // too (`pre.sys.pid`), and its own tools match them by suffix: an exact label wins, then
    // the first label that ends with it.
    let find = |label: &str| {
        fields
            .iter()
            .find(|f| f.meta.label == label)
            .or_else(|| fields.iter().find(|f| f.meta.label.ends_with(label)))
            .map(|f| &f.value)
    };
    let id = |label: &str| find(label).and_then(as_u32);
    let created = find("sys.created").and_then(as_time);
    let writer = match find("sys.version") {
        Some(Value::Text(t)) => t.to_string(),
        _ => String::new(),
    };
    let info = FileInfo {
        pid: id("sys.pid"),
        tid: id("sys.tid"),
        uid: id("sys.uid"),
        gid: id("sys.gid"),
        created,
        writer,
        ..FileInfo::new(FormatVersion::V1, dev_ino)
    };
    let (metas, values) = fields.into_iter().map(|f| (f.meta, f.value)).unzip();
    Ok((info, metas, values))
}

/// A whole number that fits in a u32.
fn as_u32(v: &Value) -> Option<u32> {
    match v {
        Value::Number(Num::U(n)) => u32::try_from(*n).ok(),
        Value::Number(Num::I(n)) => u32::try_from(*n).ok(),
        Value::Number(Num::F(f)) if f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX) => {
            Some(*f as u32)
        }
        _ => None,
    }
}

/// Unix seconds as a time.
fn as_time(v: &Value) -> Option<SystemTime> {
    let secs = match v {
        Value::Number(n) => n.as_f64(),
        _ => return None,
    };
    if !(secs.is_finite() && (0.0..1e12).contains(&secs)) {
        return None;
    }
    UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_comes_from_sys_fields() {
        let bytes = mmstats_format::v1::encode(&[
            ("sys.pid", "I", 4321u32.to_ne_bytes().to_vec()),
            ("sys.tid", "I", 4322u32.to_ne_bytes().to_vec()),
            (
                "sys.created",
                "d",
                1_700_000_000.5f64.to_ne_bytes().to_vec(),
            ),
            ("hits", "Q", 9u64.to_ne_bytes().to_vec()),
        ]);
        let (info, metas, values) = decode(&bytes, (1, 2)).unwrap();
        assert_eq!(info.version, FormatVersion::V1);
        assert_eq!(info.pid, Some(4321));
        assert_eq!(info.tid, Some(4322));
        assert_eq!(info.uid, None);
        assert_eq!(
            info.created,
            Some(UNIX_EPOCH + Duration::from_secs_f64(1_700_000_000.5))
        );
        assert_eq!(info.dev_ino, (1, 2));
        assert_eq!(metas.len(), 4);
        assert_eq!(values[3], Value::Number(Num::U(9)));
    }

    #[test]
    fn prefixed_system_fields_name_the_writer() {
        // The original writer with `label_prefix="pre."` prefixes the system fields too.
        let bytes = mmstats_format::v1::encode(&[
            ("pre.sys.pid", "I", 4321u32.to_ne_bytes().to_vec()),
            ("pre.sys.tid", "I", 4322u32.to_ne_bytes().to_vec()),
            ("pre.sys.uid", "I", 1000u32.to_ne_bytes().to_vec()),
            ("pre.hits", "Q", 9u64.to_ne_bytes().to_vec()),
        ]);
        let (info, _, _) = decode(&bytes, (1, 2)).unwrap();
        assert_eq!(info.pid, Some(4321));
        assert_eq!(info.tid, Some(4322));
        assert_eq!(info.uid, Some(1000));
        assert_eq!(info.gid, None);
    }

    #[test]
    fn odd_identity_values_are_ignored() {
        assert_eq!(as_u32(&Value::Number(Num::I(-1))), None);
        assert_eq!(as_u32(&Value::Number(Num::F(1.5))), None);
        assert_eq!(as_u32(&Value::Text("1".into())), None);
        assert_eq!(as_time(&Value::Number(Num::F(f64::NAN))), None);
        assert_eq!(as_time(&Value::Number(Num::F(-3.0))), None);
    }
}
