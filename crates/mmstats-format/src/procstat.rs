//! Lines of `/proc/<pid>/stat` (proc(5)), where the process start time of a header's identity
//! comes from (FORMAT.md §6.3): the one parser of them, for writers, readers and tools.

/// A parsed `/proc/<pid>/stat` line: the command name and the fields after it, numbered as
/// proc(5) numbers them.
///
/// ```
/// use mmstats_format::StatLine;
///
/// let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21";
/// let text = format!("42 (a b) c) {tail}");
/// let line = StatLine::parse(&text).unwrap();
/// assert_eq!(line.comm(), "a b) c");
/// assert_eq!(line.field(3), Some("S"));
/// assert_eq!(line.number(22), Some(987654));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatLine<'a> {
    comm: &'a str,
    /// Fields 3, 4, ...
    rest: Vec<&'a str>,
}

impl<'a> StatLine<'a> {
    /// Splits a line. The command name (field 2) is in parentheses and may itself hold spaces
    /// and parentheses, so fields are counted from the last `)`. `None` if there is none.
    pub fn parse(stat: &'a str) -> Option<StatLine<'a>> {
        StatLine::parse_to(stat, usize::MAX)
    }

    /// Splits a line as [`StatLine::parse`] does, up to field `last` only: the fields after
    /// it are [`None`], and cost nothing to a reader that needs the first few.
    pub fn parse_to(stat: &'a str, last: usize) -> Option<StatLine<'a>> {
        let (comm, after) = StatLine::split(stat)?;
        let wanted = last.saturating_sub(2);
        // A stat line of Linux 6 has 52 fields: room for them at once.
        let mut rest = Vec::with_capacity(wanted.min(50));
        rest.extend(after.split_ascii_whitespace().take(wanted));
        Some(StatLine { comm, rest })
    }

    /// The command name (field 2) of a line, without splitting the other fields.
    pub fn comm_of(stat: &'a str) -> Option<&'a str> {
        StatLine::split(stat).map(|(comm, _)| comm)
    }

    /// The command name, between the first `(` and the last `)`, and what follows it.
    fn split(stat: &'a str) -> Option<(&'a str, &'a str)> {
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        Some((stat.get(open + 1..close)?, stat.get(close + 1..)?))
    }

    /// The command name (field 2), without its parentheses.
    pub fn comm(&self) -> &'a str {
        self.comm
    }

    /// Field `n` (3 for the state, 4 for the parent's pid, 22 for the start time, ...).
    pub fn field(&self, n: usize) -> Option<&'a str> {
        self.rest.get(n.checked_sub(3)?).copied()
    }

    /// Field `n` as a number.
    pub fn number<T: std::str::FromStr>(&self, n: usize) -> Option<T> {
        self.field(n)?.parse().ok()
    }
}

/// Field 22 of a `/proc/<pid>/stat` line, `starttime`: the process's start in clock ticks after
/// boot, as a header's `start_time` records it.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    StatLine::parse_to(stat, 22)?.number(22)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_command_names() {
        let tail = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20 21";
        assert_eq!(parse_start_time(&format!("42 (web) {tail}")), Some(987654));
        assert_eq!(
            parse_start_time(&format!("42 (a b) c) (d) {tail}")),
            Some(987654)
        );
        // up to a field: those after it are not there
        let line = format!("42 (web) {tail}");
        let first = StatLine::parse_to(&line, 22).unwrap();
        assert_eq!((first.number(22), first.field(23)), (Some(987654), None));
        assert_eq!(StatLine::parse(&line).unwrap().field(23), Some("20"));
        assert_eq!(parse_start_time("42 (web) S 1 2"), None);
        assert_eq!(parse_start_time("garbage"), None);
        let line = "1234 (we ird) (x) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 18446744073709551615";
        assert_eq!(parse_start_time(line), Some(98765));
        assert_eq!(parse_start_time("1 (x) S 1 2"), None);
        let parsed = StatLine::parse(line).unwrap();
        assert_eq!(parsed.comm(), "we ird) (x");
        assert_eq!(parsed.number::<u32>(4), Some(1));
        assert_eq!(parsed.field(2), None);
    }
}
