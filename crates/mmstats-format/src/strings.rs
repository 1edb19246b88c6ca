//! What a writer accepts as a field's label, label prefix, unit and help text (FORMAT.md §3.3):
//! the one check that the writer's registration and the derive macro's compile-time checks
//! both call, so a model that compiles registers.

use crate::layout::limits;

/// Why a label, prefix, unit or help text is refused (FORMAT.md §3.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StringError {
    /// The label is empty.
    #[error("a label must not be empty")]
    EmptyLabel,
    /// The label (with its prefix and label set) is longer than the format allows.
    #[error("the label is {len} bytes; at most {max} are allowed")]
    LabelTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A label's name, or a label prefix, contains whitespace: labels are dotted names.
    #[error("contains whitespace; labels are dotted names")]
    Whitespace,
    /// The unit is longer than the format allows.
    #[error("the unit is longer than {max} bytes")]
    UnitTooLong {
        /// The limit.
        max: usize,
    },
    /// The unit is not one word.
    #[error("a unit is one word, e.g. `seconds` or `requests`")]
    UnitNotAWord,
    /// The help text is longer than the format allows.
    #[error("the help text is {len} bytes; at most {max} are allowed")]
    HelpTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Checks a label's name (the label without its label set, prefix included): 1 to
/// [`limits::LABEL_MAX`] bytes of a dotted name, without whitespace.
pub fn check_name(name: &str) -> Result<(), StringError> {
    if name.is_empty() {
        return Err(StringError::EmptyLabel);
    }
    check_length(name.len())?;
    check_prefix(name)
}

/// Checks the length of a whole label (series key, FORMAT.md §3.5), in bytes.
pub fn check_length(len: usize) -> Result<(), StringError> {
    if len > limits::LABEL_MAX {
        return Err(StringError::LabelTooLong {
            len,
            max: limits::LABEL_MAX,
        });
    }
    Ok(())
}

/// Checks a label prefix: the start of a label's name, so without whitespace (empty is fine).
pub fn check_prefix(prefix: &str) -> Result<(), StringError> {
    if prefix.contains(char::is_whitespace) {
        return Err(StringError::Whitespace);
    }
    Ok(())
}

/// Checks a unit: one word (no whitespace) of at most [`limits::UNIT_MAX`] bytes, or empty.
pub fn check_unit(unit: &str) -> Result<(), StringError> {
    if unit.len() > limits::UNIT_MAX {
        return Err(StringError::UnitTooLong {
            max: limits::UNIT_MAX,
        });
    }
    if unit.contains(char::is_whitespace) {
        return Err(StringError::UnitNotAWord);
    }
    Ok(())
}

/// Checks a help text: at most [`limits::HELP_MAX`] bytes.
pub fn check_help(help: &str) -> Result<(), StringError> {
    if help.len() > limits::HELP_MAX {
        return Err(StringError::HelpTooLong {
            len: help.len(),
            max: limits::HELP_MAX,
        });
    }
    Ok(())
}

/// The longest prefix of `s` that fits in `max` bytes and ends on a character boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dotted_words() {
        assert_eq!(check_name("web.stats.status.2XX"), Ok(()));
        assert_eq!(check_name(""), Err(StringError::EmptyLabel));
        assert_eq!(check_name("two words"), Err(StringError::Whitespace));
        assert_eq!(check_name("tab\there"), Err(StringError::Whitespace));
        assert_eq!(check_name("nbsp\u{a0}"), Err(StringError::Whitespace));
        let long = "x".repeat(limits::LABEL_MAX + 1);
        assert!(matches!(
            check_name(&long),
            Err(StringError::LabelTooLong { .. })
        ));
        assert_eq!(check_prefix(""), Ok(()));
        assert_eq!(check_prefix("my app."), Err(StringError::Whitespace));
    }

    #[test]
    fn units_are_one_word() {
        assert_eq!(check_unit(""), Ok(()));
        assert_eq!(check_unit("seconds"), Ok(()));
        assert_eq!(check_unit("per second"), Err(StringError::UnitNotAWord));
        assert!(matches!(
            check_unit(&"u".repeat(limits::UNIT_MAX + 1)),
            Err(StringError::UnitTooLong { .. })
        ));
        assert!(check_help(&"h".repeat(limits::HELP_MAX)).is_ok());
        assert!(check_help(&"h".repeat(limits::HELP_MAX + 1)).is_err());
    }
}
