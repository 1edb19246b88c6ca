//! What a series is, and the rules that make a `metrics` name and label key valid for the
//! format.

/// What a series is: name, sorted label set, unit and the factor values are scaled by.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) name: String,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) unit: String,
    pub(crate) scale: f64,
}

impl Spec {
    /// The `metrics` key of exactly this series.
    pub(crate) fn key(&self) -> metrics::Key {
        let labels: Vec<metrics::Label> = self
            .labels
            .iter()
            .map(|(k, v)| metrics::Label::new(k.clone(), v.clone()))
            .collect();
        metrics::Key::from_parts(self.name.clone(), labels)
    }
}

/// A label key the format allows (FORMAT.md §3.5), from any string.
pub(crate) fn label_key(k: &str) -> String {
    let mut s: String = k
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.as_bytes()[0].is_ascii_digit() {
        s.insert(0, '_');
    }
    if let Some(rest) = s.strip_prefix("__") {
        s = format!("_x_{rest}");
    }
    s
}

/// A `metrics` name as a field name (FORMAT.md §3.3 takes no whitespace or NUL in a label):
/// each such character becomes `_`, an empty name `_`.
pub(crate) fn field_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '\0' {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_valid_field_names() {
        assert_eq!(field_name("http requests"), "http_requests");
        assert_eq!(field_name("a\tb\nc\0"), "a_b_c_");
        assert_eq!(field_name(""), "_");
        for n in ["http requests", " ", "x.y z"] {
            assert_eq!(
                mmstats_format::strings::check_name(&field_name(n)),
                Ok(()),
                "{n}"
            );
        }
    }

    #[test]
    fn label_keys_are_made_valid() {
        assert_eq!(label_key("method"), "method");
        assert_eq!(label_key("http.method"), "http_method");
        assert_eq!(label_key("1x"), "_1x");
        assert_eq!(label_key("__name"), "_x_name");
        assert_eq!(label_key(""), "_");
        for k in ["a-b", "é", "__", "9"] {
            assert!(mmstats_format::labels::valid_key(&label_key(k)), "{k}");
        }
    }
}
