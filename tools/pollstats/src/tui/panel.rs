//! Drawing the resource panel: host lines on the left, a CPU/RSS table of the processes with
//! stats files on the right. Absent when the scan carries no resources.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

use mmstats_render::units::compact;

use super::app::App;

/// Rows of process table shown at most.
const PROCS_MAX: usize = 5;

/// The panel's height: 0 without resources, else its lines plus the border.
pub fn height(app: &App) -> u16 {
    let r = &app.resources;
    if r.host.is_empty() && r.procs.is_empty() {
        return 0;
    }
    let procs = if r.procs.is_empty() {
        0
    } else {
        r.procs.len().min(PROCS_MAX) + 1
    };
    (r.host.len().max(procs) + 2) as u16
}

/// Draws the panel into `area` (nothing when `area` is empty).
pub fn draw(frame: &mut Frame<'_>, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let r = &app.resources;
    let [left, right] = Layout::horizontal([Constraint::Fill(3), Constraint::Fill(2)]).areas(area);
    let host: Vec<Line<'_>> = r.host.iter().map(|l| Line::from(l.clone())).collect();
    frame.render_widget(
        Paragraph::new(host).block(Block::bordered().title(" host ")),
        left,
    );
    let opt = |x: Option<f64>, unit: &str| x.map_or("-".into(), |x| compact(x, unit));
    let rows: Vec<Row<'_>> = r
        .procs
        .iter()
        .take(PROCS_MAX)
        .map(|p| {
            Row::new(vec![
                Cell::from(p.pid.to_string()),
                Cell::from(p.cmd.clone()),
                Cell::from(
                    Line::from(p.cpu.map_or("-".into(), |c| format!("{c:.1}%"))).right_aligned(),
                ),
                Cell::from(Line::from(opt(p.rss, "bytes")).right_aligned()),
                Cell::from(Line::from(opt(p.threads, "")).right_aligned()),
            ])
        })
        .collect();
    let header = Row::new(["pid", "cmd", "cpu", "rss", "thr"]).style(Style::new().bold());
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(4),
        ],
    )
    .header(header)
    .block(Block::bordered().title(" processes "));
    frame.render_widget(table, right);
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmstats_reader::Scan;
    use mmstats_reader::resource::{HostSource, ProcessSource};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| super::super::draw::draw(f, app)).unwrap();
        let buf = t.backend().buffer().clone();
        (0..h)
            .map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect())
            .collect()
    }

    #[test]
    fn host_panel_and_process_columns_show_live_resources() {
        let me = std::process::id();
        let mut host = HostSource::new();
        let mut procs = ProcessSource::new();
        let mut app = App::new();
        assert_eq!(height(&app), 0, "no panel without resources");
        for _ in 0..2 {
            let scan = Scan {
                snapshots: vec![host.sample(), procs.sample(me).unwrap()],
                errors: Vec::new(),
            };
            app.on_sample(&scan);
        }
        let lines = screen(&app, 120, 24);
        let text = lines.join("\n");
        // the host's resources are no process of their own
        assert!(
            lines[0].contains("0 files · 1 live of 1 process ·"),
            "{}",
            lines[0]
        );
        assert!(text.contains(" host "), "{text}");
        assert!(text.contains(" processes "), "{text}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("cpu ") && l.contains("cores")),
            "{text}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.contains("mem ") && l.contains("available")),
            "{text}"
        );
        assert!(
            lines.iter().any(|l| l.contains("net ") && l.contains("/s")),
            "{text}"
        );
        let row = lines
            .iter()
            .find(|l| l.contains(&format!("│{me} ")))
            .unwrap_or_else(|| panic!("no row for pid {me} in\n{text}"));
        assert!(row.contains('%') && row.contains("iB"), "{row}");
        // the host has an entry of its own, whose rows are the host's; "all" (the stats files
        // combined) leaves resources to the panel
        assert_eq!(app.procs.len(), 2);
        assert!(app.procs.iter().any(|p| p.title == "host"));
        assert!(app.rows.is_empty());
        let key = app
            .procs
            .iter()
            .find(|p| p.title == "host")
            .unwrap()
            .key
            .clone();
        app.select(Some(key));
        let scan = Scan {
            snapshots: vec![host.sample(), procs.sample(me).unwrap()],
            errors: Vec::new(),
        };
        app.on_sample(&scan);
        assert!(app.rows.iter().any(|r| r.label == "host.mem.total"));
        assert!(!app.rows.iter().any(|r| r.label == "proc.mem.rss"));
        // a process's entry shows its resources beside its files' fields
        let mine = procs.sample(me).unwrap();
        let id = mmstats_reader::ProcessId::of(&mine.info, &mine.path);
        app.select(Some(crate::tui::app::ProcKey::Process(id)));
        let scan = Scan {
            snapshots: vec![host.sample(), mine],
            errors: Vec::new(),
        };
        app.on_sample(&scan);
        assert!(app.rows.iter().any(|r| r.label == "proc.mem.rss"));
        assert!(!app.rows.iter().any(|r| r.label == "host.mem.total"));
    }
}
