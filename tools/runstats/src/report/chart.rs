//! One chart as a PNG: lines over seconds since the start of their run, drawn with plotters'
//! bitmap backend and the DejaVu Sans font built into runstats (no font is looked up on the
//! system at run time).

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use mmstats_render::units::compact;
use plotters::prelude::*;

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 960;
/// Height of every chart, in pixels.
pub const HEIGHT: u32 = 400;

/// Line colours, in order.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One line of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Its legend.
    pub name: String,
    /// (seconds since the run's start, value).
    pub points: Vec<(f64, f64)>,
}

/// A chart: a title, the unit of its values and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The title.
    pub title: String,
    /// The unit of the values (the y axis).
    pub unit: String,
    /// What the x axis counts (`seconds since the run's start`).
    pub x_desc: String,
    /// The lines.
    pub lines: Vec<Line>,
}

/// The colour of line `i`.
pub fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // The font is a valid TrueType file shipped by the dejavu crate; if it were not, text
        // would be left out and the lines still drawn.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Draws `chart` into a PNG of [`WIDTH`] x [`HEIGHT`] at `path`.
pub fn draw(chart: &Chart, path: &Path) -> Result<()> {
    register_font();
    let err = |e: &dyn std::fmt::Display| anyhow!("drawing {}: {e}", path.display());
    let points = chart.lines.iter().flat_map(|l| l.points.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 - x0 < 1e-9 {
        x1 = x0 + 1.0;
    }
    // Start the axis at zero for values that are all positive, as rates and sizes are.
    if y0 > 0.0 {
        y0 = 0.0;
    }
    if y1 - y0 < 1e-12 {
        y1 = y0 + 1.0;
    }
    y1 += (y1 - y0) * 0.05;

    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut c = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    // Bytes per second in IEC binary units, as bytes are everywhere.
    let unit = match chart.unit.as_str() {
        "bytes/s" => "bytes".to_string(),
        u => u.to_string(),
    };
    c.configure_mesh()
        .x_desc(&chart.x_desc)
        .y_desc(&chart.unit)
        .y_label_formatter(&|v| compact(*v, &unit))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, line) in chart.lines.iter().enumerate() {
        let col = colour(i);
        c.draw_series(LineSeries::new(
            line.points.iter().copied(),
            col.stroke_width(2),
        ))
        .map_err(|e| err(&e))?
        .label(&line.name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(2)));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
