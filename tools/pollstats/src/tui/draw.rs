//! Drawing the view: a title line, the process line, the table of fields, and a status or
//! filter line; the help box on top when asked.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row as TableRow, Table, TableState};

use mmstats_render::text::escape;
use mmstats_render::units::compact;

use super::app::{App, Row, SortKey};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The last `width` points as a one-line sparkline scaled between their minimum and maximum.
pub fn sparkline(points: &[f64], width: usize) -> String {
    let pts: Vec<f64> = points
        .iter()
        .rev()
        .take(width)
        .rev()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    // scaled from zero (or the minimum, if negative) so small wobbles look small
    let (lo, hi) = pts.iter().fold((0f64, f64::NEG_INFINITY), |(l, h), x| {
        (l.min(*x), h.max(*x))
    });
    pts.iter()
        .map(|x| {
            if hi > lo {
                BARS[(((x - lo) / (hi - lo)) * 7.0).round() as usize]
            } else {
                BARS[0]
            }
        })
        .collect()
}

/// `s` cut to `w` characters, with `…` when cut.
fn fit(s: &str, w: usize) -> String {
    if s.chars().count() <= w {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(w.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// The value column's width: at least this, so that numbers line up from one refresh to the
/// next...
const VALUE_WIDTH: u16 = 12;
/// ... and at most this, widened for the longest text shown (a version, a path).
const VALUE_WIDTH_MAX: u16 = 32;

/// A row's value, a text cut to [`VALUE_WIDTH_MAX`] columns.
fn value_text(r: &Row) -> String {
    match (&r.text, r.value) {
        (Some(t), _) => fit(&escape(t), VALUE_WIDTH_MAX.into()),
        (None, Some(x)) => compact(x, &r.unit),
        (None, None) => "-".into(),
    }
}

/// The value column's width for these values (each at most [`VALUE_WIDTH_MAX`] long): as
/// wide as the longest, and at least [`VALUE_WIDTH`].
fn value_width(values: &[String]) -> u16 {
    let longest = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
    u16::try_from(longest)
        .unwrap_or(u16::MAX)
        .clamp(VALUE_WIDTH, VALUE_WIDTH_MAX)
}

fn rate_text(r: &Row) -> String {
    match r.rate {
        Some(x) => format!(
            "{}/s",
            compact(x, if r.unit == "nanoseconds" { "" } else { &r.unit })
        ),
        None => String::new(),
    }
}

/// The help text, one key per line.
pub const HELP: &[(&str, &str)] = &[
    ("q, Esc, Ctrl-C", "quit"),
    ("?", "this help"),
    ("/", "filter labels (Enter keeps, Esc clears)"),
    ("space, f", "pause or resume"),
    ("j k, Down Up", "move"),
    ("g G, Home End", "first, last row"),
    ("h l, Left Right", "sort column"),
    ("s, r", "reverse the order"),
    ("p, Tab / P", "next / previous process (or all)"),
    ("t", "list each process's threads (select one alone)"),
    ("L", "a row per series or per family (label sets combined)"),
];

/// Draws the whole view.
pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let panel_height = super::panel::height(app);
    let [title, procs, panel, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(panel_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    super::panel::draw(frame, app, panel);

    let selected = app
        .selected
        .as_ref()
        .and_then(|k| app.procs.iter().find(|p| &p.key == k))
        .map_or("all processes".to_string(), |p| p.title.clone());
    let mut head = vec![
        Span::styled(" pollstats ", Style::new().bold().reversed()),
        Span::raw(format!(
            " {} file{} · {} live of {} process{} · {selected}",
            app.files,
            if app.files == 1 { "" } else { "s" },
            app.live,
            app.processes,
            if app.processes == 1 { "" } else { "es" }
        )),
    ];
    if app.paused {
        head.push(Span::styled(
            "  PAUSED",
            Style::new().fg(Color::Yellow).bold(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(head)), title);

    let mut spans = vec![Span::raw(" ")];
    let all = std::iter::once((None, "all".to_string()))
        .chain(app.procs.iter().map(|p| (Some(&p.key), p.title.clone())));
    for (path, name) in all {
        let on = path == app.selected.as_ref();
        let style = if on {
            Style::new().reversed()
        } else {
            Style::new().dim()
        };
        spans.push(Span::styled(format!(" {name} "), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), procs);

    draw_table(frame, app, body);

    let line = if app.editing {
        Line::from(vec![
            Span::styled(" / ", Style::new().reversed()),
            Span::raw(app.filter.clone()),
            Span::raw("█"),
        ])
    } else if let Some(e) = app.errors.first() {
        Line::from(Span::styled(
            format!(" {}", escape(e)),
            Style::new().fg(Color::Red),
        ))
    } else {
        let filter = if app.filter.is_empty() {
            String::new()
        } else {
            format!("filter '{}' · ", app.filter)
        };
        Line::from(Span::styled(
            format!(" {filter}? help · q quit · / filter · space pause · p process"),
            Style::new().dim(),
        ))
    };
    frame.render_widget(Paragraph::new(line), status);

    if app.help {
        draw_help(frame);
    }
}

fn draw_table(frame: &mut Frame<'_>, app: &App, area: Rect) {
    let names = ["label", "kind", "value", "rate", "history"];
    let header: Vec<Cell<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let sorted = SortKey::ALL.get(i) == Some(&app.sort);
            let arrow = if app.descending { "▼" } else { "▲" };
            let text = if sorted {
                format!("{n}{arrow}")
            } else {
                n.to_string()
            };
            let style = if sorted {
                Style::new().bold().underlined()
            } else {
                Style::new().bold()
            };
            Cell::from(text).style(style)
        })
        .collect();
    let visible = app.visible();
    // each value once, cut to the widest the column may be, which is then as wide as they need
    let values: Vec<String> = visible.iter().map(|r| value_text(r)).collect();
    let value_width = value_width(&values);
    let widths = [
        Constraint::Fill(3),
        Constraint::Length(14),
        Constraint::Length(value_width),
        Constraint::Length(12),
        Constraint::Fill(2),
    ];
    // lay the columns out as the table will (inside the border, one space apart), so the
    // sparklines hold exactly as many points as their column shows
    let inner = Block::bordered().inner(area);
    let history_width = Layout::horizontal(widths).spacing(1).split(inner)[4]
        .width
        .max(1) as usize;
    let rows: Vec<TableRow<'_>> = visible
        .into_iter()
        .zip(values)
        .map(|(r, value)| {
            TableRow::new(vec![
                Cell::from(escape(&r.label).into_owned()),
                Cell::from(r.kind).style(Style::new().dim()),
                Cell::from(Line::from(value).right_aligned()),
                Cell::from(Line::from(rate_text(r)).right_aligned()),
                Cell::from(sparkline(&r.history, history_width))
                    .style(Style::new().fg(Color::Cyan)),
            ])
        })
        .collect();
    let empty = rows.is_empty();
    let table = Table::new(rows, widths)
        .header(TableRow::new(header))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(Block::bordered());
    let mut state = TableState::default().with_selected((!empty).then_some(app.cursor));
    frame.render_stateful_widget(table, area, &mut state);
    if empty {
        let msg = if app.samples == 0 {
            "waiting for the first sample…"
        } else {
            "no fields"
        };
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1,
        };
        if area.height > 3 {
            frame.render_widget(Paragraph::new(msg).dim(), inner);
        }
    }
}

fn draw_help(frame: &mut Frame<'_>) {
    let lines: Vec<Line<'_>> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>16}  "), Style::new().bold()),
                Span::raw(*what),
            ])
        })
        .collect();
    let h = lines.len() as u16 + 2;
    let [area] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(frame.area());
    let [area] = Layout::horizontal([Constraint::Length(60)])
        .flex(Flex::Center)
        .areas(area);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys ")),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::tests::scan;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| draw(f, app)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| {
                (0..w)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect()
    }

    fn line_with<'a>(lines: &'a [String], what: &str) -> &'a str {
        lines
            .iter()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} in\n{}", lines.join("\n")))
    }

    #[test]
    fn control_characters_from_files_are_escaped_on_screen() {
        use crate::columns::tests::{m, snap};
        use mmstats_reader::{Kind, Num, Scan, Value, ValueType};
        let file = snap(
            "evil",
            10.0,
            vec![
                (
                    m("evil\x1b[2J", Kind::Gauge, ValueType::U64),
                    Value::Number(Num::U(1)),
                ),
                (
                    m("role", Kind::Text, ValueType::Text),
                    Value::Text("\x1b]0;x\x07".into()),
                ),
            ],
        );
        let mut app = App::new();
        app.on_sample(&Scan {
            snapshots: vec![file],
            errors: Vec::new(),
        });
        let lines = screen(&app, 100, 10);
        let all = lines.join("\n");
        assert!(!all.chars().any(|c| c.is_control() && c != '\n'), "{all:?}");
        assert!(all.contains("evil\\x1b[2J"), "{all}");
        assert!(all.contains("\\x1b]0;x\\x07"), "{all}");
    }

    #[test]
    fn the_value_column_widens_for_long_texts_up_to_a_limit() {
        use crate::columns::tests::{m, snap};
        use mmstats_reader::{Kind, Scan, Value, ValueType};
        let text = |label: &str, t: &str| {
            (
                m(label, Kind::Constant, ValueType::Text),
                Value::Text(t.into()),
            )
        };
        let file = snap(
            "app",
            10.0,
            vec![
                text("sys.version", "mmstats-rust 0.1.0"),
                text("app.path", &format!("/srv/{}", "x".repeat(60))),
            ],
        );
        let mut app = App::new();
        app.on_sample(&Scan {
            snapshots: vec![file],
            errors: Vec::new(),
        });
        let lines = screen(&app, 120, 10);
        assert!(
            line_with(&lines, "sys.version").contains("mmstats-rust 0.1.0"),
            "a version shown whole"
        );
        let cut = format!("/srv/{}…", "x".repeat(26));
        assert!(line_with(&lines, "app.path").contains(&cut), "{lines:#?}");
        assert!(!line_with(&lines, "app.path").contains(&"x".repeat(28)));
    }

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(sparkline(&[0.0, 7.0, 3.5], 10), "▁█▅");
        assert_eq!(
            sparkline(&[1.0, 2.0, 3.0], 2),
            "▆█",
            "the newest points, from zero"
        );
        assert_eq!(sparkline(&[5.0, 5.0], 4), "██");
        assert_eq!(sparkline(&[0.0, 0.0], 4), "▁▁");
        assert_eq!(sparkline(&[-1.0, 1.0], 4), "▁█");
        assert_eq!(sparkline(&[], 4), "");
    }

    #[test]
    fn table_shows_values_rates_and_titles() {
        let mut app = App::with_engine(mmstats_reader::Intervals::new().assume_alive());
        app.on_sample(&scan(10.0, [100, 200]));
        app.on_sample(&scan(12.0, [120, 260]));
        let lines = screen(&app, 100, 14);
        assert!(
            lines[0].contains("pollstats")
                && lines[0].contains("2 files · 2 live of 2 processes · all processes"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(" all ")
                && lines[1].contains("pid 100 ")
                && lines[1].contains("pid 200 ")
        );
        let head = line_with(&lines, "label");
        assert!(
            head.contains("label▲")
                && head.contains("value")
                && head.contains("rate")
                && head.contains("history")
        );
        let req = line_with(&lines, "web.requests");
        assert!(
            req.contains("counter") && req.contains("380") && req.contains("40/s"),
            "{req}"
        );
        assert!(line_with(&lines, "mem.rss").contains("4.00KiB"));
        assert!(line_with(&lines, "web.latency").contains("2.00ms"));
        assert!(line_with(&lines, "web.role").contains(" a,bb "));
        assert!(lines[13].contains("? help"));
        assert_eq!(fit("mmstats-rust 0.1.0", 12), "mmstats-rus…");
    }

    #[test]
    fn filter_box_help_pause_and_small_terminals() {
        let mut app = App::new();
        app.on_sample(&scan(10.0, [1, 2]));
        app.on_key(KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Char('m'), KeyModifiers::NONE));
        let lines = screen(&app, 80, 10);
        assert!(lines[9].starts_with(" / m"), "{}", lines[9]);
        assert!(lines.iter().any(|l| l.contains("mem.rss")));
        assert!(!lines.iter().any(|l| l.contains("web.requests")));
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE));
        app.on_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
        let lines = screen(&app, 80, 16);
        assert!(lines[0].contains("PAUSED"));
        assert!(line_with(&lines, "keys").contains('┌'));
        assert!(line_with(&lines, "sort column").contains("h l"));
        // tiny terminals do not panic
        for (w, h) in [(1, 1), (10, 3), (20, 5)] {
            screen(&app, w, h);
        }
        let lines = screen(&App::new(), 60, 8);
        assert!(line_with(&lines, "waiting").contains("first sample"));
    }
}
