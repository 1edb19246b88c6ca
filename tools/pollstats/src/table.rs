//! The dstat/vmstat look: a group line over column names, fixed-width right-aligned cells,
//! `|` between groups; and the same rows as CSV.

use mmstats_render::csv::escape;
use mmstats_render::text::{self, utc_clock};
use mmstats_render::units::{compact, number, seconds_per};

use crate::rate::Cell;

/// Narrowest cell, enough for `1.50KiB` or `15.3ms`.
pub const MIN_WIDTH: usize = 7;
/// Width of the time column (`HH:MM:SS`).
pub const TIME_WIDTH: usize = 8;

const BOLD_BLUE: &str = "\x1b[1;34m";
const GREY: &str = "\x1b[90m";
const RESET: &str = "\x1b[0m";

/// A group of columns under one title: all files combined, or one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Shown centred in the group line.
    pub title: String,
    /// Column names.
    pub names: Vec<String>,
}

/// The columns of every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// A time column first.
    pub time: bool,
    /// The groups, left to right.
    pub groups: Vec<Group>,
}

/// A column's width.
pub fn width(name: &str) -> usize {
    name.chars().count().max(MIN_WIDTH)
}

/// The widths of a group's columns: each its name's ([`width`]), the last widened when the
/// title would not fit between a dash on each side (`pid 4242/4250` over one column), so that
/// every group says whose it is.
fn column_widths(g: &Group) -> Vec<usize> {
    let mut widths: Vec<usize> = g.names.iter().map(|n| width(n)).collect();
    let total = widths.iter().sum::<usize>() + widths.len().saturating_sub(1);
    let need = g.title.chars().count() + 2;
    if let Some(last) = widths.last_mut()
        && total < need
    {
        *last += need - total;
    }
    widths
}

fn group_width(g: &Group) -> usize {
    let widths = column_widths(g);
    widths.iter().sum::<usize>() + widths.len().saturating_sub(1)
}

/// `title` centred in dashes over `w` columns: `---total---`.
fn dashes(title: &str, w: usize) -> String {
    let t: String = title.chars().take(w).collect();
    let fill = w - t.chars().count();
    let left = fill / 2;
    format!("{}{t}{}", "-".repeat(left), "-".repeat(fill - left))
}

fn paint(s: String, code: &str, color: bool) -> String {
    if color {
        format!("{code}{s}{RESET}")
    } else {
        s
    }
}

/// The two header lines (group titles, then column names), with a newline after each.
pub fn header(layout: &Layout, color: bool) -> String {
    let mut titles = Vec::new();
    let mut names = Vec::new();
    if layout.time {
        titles.push(dashes("time", TIME_WIDTH));
        names.push(format!("{:>TIME_WIDTH$}", "UTC"));
    }
    for g in &layout.groups {
        titles.push(dashes(&g.title, group_width(g)));
        let cols: Vec<String> = g
            .names
            .iter()
            .zip(column_widths(g))
            .map(|(n, w)| format!("{n:>w$}"))
            .collect();
        names.push(cols.join(" "));
    }
    format!(
        "{}\n{}\n",
        paint(titles.join(" "), BOLD_BLUE, color),
        paint(names.join("|"), BOLD_BLUE, color)
    )
}

/// A cell's text in `w` columns, right-aligned: `-` when there is no value yet.
pub fn cell_text(cell: &Cell, w: usize) -> String {
    let s = match (&cell.text, cell.value) {
        (Some(t), _) => text::escape(t).chars().take(w).collect(),
        (None, Some(x)) if cell.time => utc_clock(x * seconds_per(&cell.unit).unwrap_or(1.0)),
        (None, Some(x)) if cell.exact => number(x),
        (None, Some(x)) => compact(x, &cell.unit),
        (None, None) => "-".into(),
    };
    format!("{s:>w$}")
}

/// One row, with a newline.
pub fn row(layout: &Layout, time: Option<f64>, cells: &[Vec<Cell>], color: bool) -> String {
    let mut parts = Vec::new();
    if layout.time {
        parts.push(
            time.map(utc_clock)
                .unwrap_or_else(|| "-".repeat(TIME_WIDTH)),
        );
    }
    for (g, cells) in layout.groups.iter().zip(cells) {
        let cols: Vec<String> = column_widths(g)
            .into_iter()
            .zip(cells)
            .map(|(w, c)| {
                let s = cell_text(c, w);
                if c.value.is_none_or(|v| v == 0.0) && c.text.is_none() {
                    paint(s, GREY, color)
                } else {
                    s
                }
            })
            .collect();
        parts.push(cols.join(" "));
    }
    format!("{}\n", parts.join("|"))
}

/// The CSV header: `timestamp`, then each column (`title:name` when there are several groups).
pub fn csv_header(layout: &Layout) -> String {
    let mut cols = vec!["timestamp".to_string()];
    for g in &layout.groups {
        for n in &g.names {
            let name = if layout.groups.len() > 1 {
                format!("{}:{n}", g.title)
            } else {
                n.clone()
            };
            cols.push(escape(&name).into_owned());
        }
    }
    format!("{}\n", cols.join(","))
}

/// One CSV row: the Unix time, then each cell's exact number in its unit (empty when none).
pub fn csv_row(time: f64, cells: &[Vec<Cell>]) -> String {
    let mut cols = vec![format!("{time:.3}")];
    for c in cells.iter().flatten() {
        cols.push(match (&c.text, c.value) {
            (Some(t), _) => escape(t).into_owned(),
            (None, Some(x)) => number(x),
            (None, None) => String::new(),
        });
    }
    format!("{}\n", cols.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(groups: &[(&str, &[&str])], time: bool) -> Layout {
        Layout {
            time,
            groups: groups
                .iter()
                .map(|(t, n)| Group {
                    title: t.to_string(),
                    names: n.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        }
    }

    fn cell(v: f64, unit: &str) -> Cell {
        Cell {
            value: Some(v),
            unit: unit.into(),
            ..Cell::default()
        }
    }

    #[test]
    fn header_and_rows_line_up() {
        let l = layout(&[("total", &["requests", "lat.p99", "rss"])], true);
        let h = header(&l, false);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "--time-- ---------total----------");
        assert_eq!(lines[1], "     UTC|requests lat.p99     rss");
        let cells = vec![vec![
            cell(1500.0, "requests"),
            cell(1_530_000.0, "nanoseconds"),
            cell(3.0 * 1048576.0, "bytes"),
        ]];
        let r = row(&l, Some(3723.0), &cells, false);
        assert_eq!(r, "01:02:03|   1.50k  1.53ms 3.00MiB\n");
        assert_eq!(r.len(), lines[1].len() + 1);
    }

    #[test]
    fn groups_are_separated_and_missing_values_dashed() {
        let l = layout(&[("pid 1", &["req"]), ("pid 2", &["req"])], false);
        assert_eq!(header(&l, false), "-pid 1- -pid 2-\n    req|    req\n");
        let cells = vec![vec![Cell::default()], vec![cell(0.25, "")]];
        assert_eq!(row(&l, None, &cells, false), "      -|   0.25\n");
        assert_eq!(csv_header(&l), "timestamp,pid 1:req,pid 2:req\n");
        assert_eq!(csv_row(12.5, &cells), "12.500,,0.25\n");
    }

    #[test]
    fn a_group_is_widened_to_show_its_whole_title() {
        let l = layout(
            &[
                ("pid 4242/4250", &["req"]),
                ("pid 4242/4251", &["req", "lat"]),
            ],
            false,
        );
        let h = header(&l, false);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "-pid 4242/4250- -pid 4242/4251-");
        assert_eq!(lines[1], "            req|    req     lat");
        let cells = vec![vec![cell(3.0, "")], vec![cell(1.0, ""), cell(2.0, "")]];
        let r = row(&l, None, &cells, false);
        assert_eq!(r, "              3|      1       2\n");
        assert_eq!(r.len(), lines[1].len() + 1);
        // a title that fits (as the second group's does above) leaves the columns as they are
        let l = layout(&[("pid 1", &["requests"])], false);
        assert_eq!(header(&l, false), "-pid 1--\nrequests\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let l = layout(&[("t", &["a", "b"])], false);
        let plain = row(&l, None, &[vec![cell(0.0, ""), cell(5.0, "")]], false);
        assert!(!plain.contains('\x1b'));
        let coloured = row(&l, None, &[vec![cell(0.0, ""), cell(5.0, "")]], true);
        assert!(coloured.contains(GREY));
        assert!(header(&l, true).starts_with(BOLD_BLUE));
    }

    #[test]
    fn text_cells_are_cut_to_width() {
        let c = Cell {
            text: Some("a rather long text".into()),
            ..Cell::default()
        };
        assert_eq!(cell_text(&c, 7), "a rathe");
    }
}
