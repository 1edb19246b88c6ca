//! Label sets (FORMAT.md §3.5): the pairs a field may carry besides its name, their encoding in
//! the string area, and the one canonical series key `name{k="v",...}` that tells series apart.
//!
//! Every crate that needs to tell two series apart, print one, or parse one a user typed calls
//! this module: [`series_key`] renders, [`parse_series`] parses (quoted or bare values),
//! [`encode`] and [`decode`] are the bytes of §3.5, [`check`] is the rule.
//!
//! ```
//! use mmstats_format::labels::{parse_series, series_key};
//!
//! let pairs = vec![("code".to_string(), "200".to_string()), ("method".to_string(), "GET".to_string())];
//! let key = series_key("http.requests", &pairs);
//! assert_eq!(key, r#"http.requests{code="200",method="GET"}"#);
//! let (name, back) = parse_series(&key).unwrap();
//! assert_eq!((name, back), ("http.requests", pairs));
//! assert_eq!(series_key("plain", &[]), "plain");
//! ```

use crate::layout::limits;

/// One label pair: key and value.
pub type Pair = (String, String);

/// Why a label set is not valid (FORMAT.md §3.5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LabelError {
    /// A key is empty, starts with a digit or `__`, or has a character outside `[A-Za-z0-9_]`.
    #[error("label key {0:?} must match [A-Za-z_][A-Za-z0-9_]* and not start with __")]
    BadKey(String),
    /// Two pairs share a key.
    #[error("label key {0:?} appears twice")]
    DuplicateKey(String),
    /// Pairs are not in ascending byte order of their keys.
    #[error("label keys are not sorted ({0:?} before {1:?})")]
    Unsorted(String, String),
    /// A value contains a NUL byte.
    #[error("label value of {0:?} contains a NUL byte")]
    NulInValue(String),
    /// The encoded set or the series key is too long.
    #[error("label set too long: {0} bytes, at most {max}", max = limits::LABELS_MAX)]
    TooLong(usize),
    /// The encoded bytes are not pairs of NUL-terminated UTF-8 strings.
    #[error("label set encoding: {0}")]
    Encoding(&'static str),
    /// The name of a labelled field is empty or contains `{`.
    #[error("name {0:?} of a labelled field must be non-empty and contain no '{{'")]
    BadName(String),
    /// The record's label is not the canonical series key of its name and label set.
    #[error("label {found:?} is not the series key {want:?} of its label set")]
    KeyMismatch {
        /// The record's label.
        found: String,
        /// The series key of its name and pairs.
        want: String,
    },
}

/// True if `key` may be a label key: `[A-Za-z_][A-Za-z0-9_]*`, not starting with `__`
/// (reserved, as in Prometheus).
pub fn valid_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == b'_')
        && !key.starts_with("__")
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks a label set: valid keys, values without NUL, keys strictly ascending (so sorted and
/// unique), encoded length within [`limits::LABELS_MAX`].
pub fn check(pairs: &[Pair]) -> Result<(), LabelError> {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if !valid_key(k) {
            return Err(LabelError::BadKey(k.clone()));
        }
        if v.contains('\0') {
            return Err(LabelError::NulInValue(k.clone()));
        }
        if let Some((prev, _)) = i.checked_sub(1).map(|j| &pairs[j]) {
            if prev == k {
                return Err(LabelError::DuplicateKey(k.clone()));
            }
            if prev > k {
                return Err(LabelError::Unsorted(prev.clone(), k.clone()));
            }
        }
    }
    let len = encoded_len(pairs);
    if len > limits::LABELS_MAX {
        return Err(LabelError::TooLong(len));
    }
    Ok(())
}

/// Sorts pairs by key (stably, so duplicates stay for [`check`] to report).
pub fn sort(pairs: &mut [Pair]) {
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
}

/// Bytes the encoding of `pairs` takes (§3.5).
pub fn encoded_len(pairs: &[Pair]) -> usize {
    pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
}

/// The encoding of §3.5: each pair as its key, a NUL byte, its value, a NUL byte.
pub fn encode(pairs: &[Pair]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(pairs));
    for (k, v) in pairs {
        out.extend_from_slice(k.as_bytes());
        out.push(0);
        out.extend_from_slice(v.as_bytes());
        out.push(0);
    }
    out
}

/// Decodes and checks the bytes of §3.5.
pub fn decode(bytes: &[u8]) -> Result<Vec<Pair>, LabelError> {
    if bytes.len() > limits::LABELS_MAX {
        return Err(LabelError::TooLong(bytes.len()));
    }
    let Some(body) = bytes.strip_suffix(&[0]) else {
        return Err(LabelError::Encoding("does not end with a NUL byte"));
    };
    let parts: Vec<&[u8]> = body.split(|b| *b == 0).collect();
    if !parts.len().is_multiple_of(2) {
        return Err(LabelError::Encoding("a key without a value"));
    }
    let text = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_string)
            .map_err(|_| LabelError::Encoding("not UTF-8"))
    };
    let pairs = parts
        .chunks_exact(2)
        .map(|kv| Ok((text(kv[0])?, text(kv[1])?)))
        .collect::<Result<Vec<Pair>, LabelError>>()?;
    check(&pairs)?;
    Ok(pairs)
}

/// Appends `v` escaped as a label value: `\` → `\\`, `"` → `\"`, newline → `\n` (the escaping of
/// the Prometheus text format and OpenMetrics).
pub fn escape_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// The pairs as `k1="v1",k2="v2"`, values escaped ([`escape_value`]); empty for no pairs.
pub fn render_pairs(pairs: &[Pair]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        escape_value(v, &mut out);
        out.push('"');
    }
    out
}

/// The canonical series key (§3.5): `name` alone for no pairs, else `name{k1="v1",...}` with the
/// pairs in the order given (sorted, for a valid set) and values escaped. Two fields are the
/// same series exactly when their series keys are equal.
pub fn series_key(name: &str, pairs: &[Pair]) -> String {
    if pairs.is_empty() {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2 + encoded_len(pairs) * 2);
    out.push_str(name);
    out.push('{');
    out.push_str(&render_pairs(pairs));
    out.push('}');
    out
}

/// Splits a series as a user writes it, `name{k="v",k2=v2}`, into its name and pairs, in the
/// order written. Values are quoted (with the escapes of [`escape_value`]; a comma or `}` inside
/// quotes belongs to the value) or bare (up to the next `,` or `}`). Text without `{` is a name
/// with no pairs. `None` if the braces or quotes do not close, or a pair has no `=`.
pub fn parse_series(s: &str) -> Option<(&str, Vec<Pair>)> {
    let Some(open) = s.find('{') else {
        return Some((s, Vec::new()));
    };
    let name = &s[..open];
    let body = s[open + 1..].strip_suffix('}')?;
    let mut pairs = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ').is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',') {
            key.push(c);
        }
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| *c == ' ').is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        'n' => value.push('\n'),
                        c => value.push(c),
                    },
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
            value.truncate(value.trim_end().len());
        }
        pairs.push((key.trim().to_string(), value));
        while chars.next_if(|c| *c == ' ').is_some() {}
        match chars.next() {
            None => break,
            Some(',') => {}
            Some(_) => return None,
        }
    }
    Some((name, pairs))
}

/// The name of a labelled series key: the part before the first `{`.
pub fn name_of(key: &str) -> &str {
    key.find('{').map_or(key, |i| &key[..i])
}

/// Splits `text` at the commas that are outside braces and quotes: a list of series as a user
/// writes it (`requests{code="5xx",method=GET},bytes`).
pub fn split_list(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0usize, false, false, 0);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            '{' if !quoted => depth += 1,
            '}' if !quoted => depth = depth.saturating_sub(1),
            ',' if depth == 0 && !quoted => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// True if the series `(name, pairs)` is selected by `selector` (a [`parse_series`] form): its
/// name starts with the selector's name, and for every pair of the selector the series has that
/// key with a matching value. A value matches when equal, or when the selector's value ends in
/// `xx`/`XX`/`*` and the series' value starts with the rest (`code=5xx` matches `503`).
pub fn selects(selector: &(&str, Vec<Pair>), name: &str, pairs: &[Pair]) -> bool {
    name.starts_with(selector.0)
        && selector.1.iter().all(|(k, want)| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .is_some_and(|(_, v)| value_matches(want, v))
        })
}

fn value_matches(want: &str, value: &str) -> bool {
    let stem = want
        .strip_suffix('*')
        .or_else(|| want.strip_suffix("xx"))
        .or_else(|| want.strip_suffix("XX"));
    match stem {
        // (`get`: a prefix of the stem's length may end inside a character of the value)
        Some(stem) => value
            .get(..stem.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(stem)),
        None => value == want,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wildcard_never_cuts_a_character() {
        // found by the `labels` fuzz target: a multi-byte character where the stem ends
        assert!(!super::value_matches("ab*", "aé"));
        assert!(super::value_matches("5xx", "503"));
        assert!(super::value_matches("é*", "éa"));
    }

    use super::*;

    fn p(k: &str, v: &str) -> Pair {
        (k.into(), v.into())
    }

    #[test]
    fn encoding_round_trips_and_is_checked() {
        let pairs = vec![p("a", "x\"y"), p("b", "")];
        let bytes = encode(&pairs);
        assert_eq!(bytes, b"a\0x\"y\0b\0\0");
        assert_eq!(decode(&bytes).unwrap(), pairs);
        assert!(matches!(
            decode(b"b\0x\0a\0y\0"),
            Err(LabelError::Unsorted(..))
        ));
        assert!(matches!(
            decode(b"a\0x\0a\0y\0"),
            Err(LabelError::DuplicateKey(_))
        ));
        assert!(matches!(decode(b"a\0\xff\0"), Err(LabelError::Encoding(_))));
        assert!(matches!(decode(b"a\0x"), Err(LabelError::Encoding(_))));
        assert!(matches!(decode(b"a\0"), Err(LabelError::Encoding(_))));
        assert!(matches!(decode(b"9a\0x\0"), Err(LabelError::BadKey(_))));
        assert!(matches!(decode(b"__a\0x\0"), Err(LabelError::BadKey(_))));
        assert!(decode(&vec![b'a'; limits::LABELS_MAX + 2]).is_err());
    }

    #[test]
    fn series_keys_escape_and_parse_back() {
        let pairs = vec![p("path", "/a,b\"c\\\n}"), p("z", "1")];
        let key = series_key("http.requests", &pairs);
        assert_eq!(key, r#"http.requests{path="/a,b\"c\\\n}",z="1"}"#);
        assert_eq!(parse_series(&key), Some(("http.requests", pairs)));
        assert_eq!(
            parse_series("requests{code=5xx, method = \"GET\"}"),
            Some(("requests", vec![p("code", "5xx"), p("method", "GET")]))
        );
        assert_eq!(parse_series("r{a=\"x"), None);
        assert_eq!(parse_series("r{a}"), None);
        assert_eq!(parse_series("r{}"), Some(("r", vec![])));
        assert_eq!(name_of(&key), "http.requests");
    }

    #[test]
    fn lists_split_outside_braces_and_quotes() {
        assert_eq!(
            split_list(r#"a,requests{code="5,x",m=GET},b"#),
            ["a", r#"requests{code="5,x",m=GET}"#, "b"]
        );
        assert_eq!(split_list("a"), ["a"]);
        assert_eq!(
            split_list(r#"r{v="\",",w=1},c"#),
            [r#"r{v="\",",w=1}"#, "c"]
        );
    }

    #[test]
    fn selectors_match_by_prefix_and_pattern() {
        let sel = parse_series("requests{code=5xx}").unwrap();
        assert!(selects(
            &sel,
            "requests",
            &[p("code", "503"), p("m", "GET")]
        ));
        assert!(!selects(&sel, "requests", &[p("code", "200")]));
        assert!(!selects(&sel, "requests", &[]));
        assert!(!selects(&sel, "bytes", &[p("code", "503")]));
        let exact = parse_series("r{m=\"GET\"}").unwrap();
        assert!(selects(&exact, "r", &[p("m", "GET")]));
        assert!(!selects(&exact, "r", &[p("m", "GETX")]));
    }
}
