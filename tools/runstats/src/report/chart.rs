//! One chart as a PNG: lines over seconds since the start of their run, drawn with plotters'
//! bitmap backend and the DejaVu Sans font built into runstats (no font is looked up on the
//! system at run time).

use std::path::Path;
use std::sync::Once;

use anyhow::{Result, anyhow};
use mmstats_render::units::{compact, number, seconds_per};
use plotters::element::DashedPathElement;
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
    /// Which series of its run it is (0, 1, ...): its colour, the same for the same series
    /// of every run.
    pub series: usize,
    /// Which run it is of (0 for the first): its stroke, solid for the first run, dashed for
    /// the second, dotted for the third, then again.
    pub run: usize,
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
    // Bytes are drawn in the binary multiple of their largest value, so that the axis's round
    // ticks are round binary amounts.
    let scale = binary_scale(&chart.unit, y0.abs().max(y1.abs()));
    let by = scale.map_or(1.0, |(by, _)| by);
    (y0, y1) = (y0 / by, y1 / by);
    let lines: Vec<Line> = chart
        .lines
        .iter()
        .map(|l| Line {
            points: l.points.iter().map(|(x, y)| (*x, y / by)).collect(),
            ..l.clone()
        })
        .collect();
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
    // The legend goes in a corner no line passes through; when every corner has one, room is
    // made above the lines for it.
    let (w, h) = legend_size(&lines);
    let corner = match legend_corner(&lines, (x0, x1), (y0, y1), (w, h)) {
        Some(corner) => corner,
        None => {
            if h < 0.6 {
                y1 = y0 + (y1 - y0) / (1.0 - h);
            }
            SeriesLabelPosition::UpperRight
        }
    };

    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut c = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    // Ticks of a time unit read as durations (`1.50ms`), so the axis says what they measure.
    let y_desc = if seconds_per(&chart.unit).is_some() {
        "duration"
    } else {
        chart.unit.as_str()
    };
    c.configure_mesh()
        .x_desc(&chart.x_desc)
        .y_desc(y_desc)
        .y_label_formatter(&|v| match scale {
            Some(_) if *v == 0.0 => "0B".to_string(),
            Some((_, suffix)) => format!("{}{suffix}", number(*v)),
            None => compact(*v, &chart.unit),
        })
        .draw()
        .map_err(|e| err(&e))?;
    for line in &lines {
        let style = colour(line.series).stroke_width(2);
        let points = line.points.iter().copied();
        // (dash, gap) in pixels: a solid line, dashes, dots
        let stroke = match line.run % 3 {
            0 => None,
            1 => Some((8, 5)),
            _ => Some((2, 4)),
        };
        let drawn = match stroke {
            None => c.draw_series(LineSeries::new(points, style)),
            Some((dash, gap)) => c.draw_series(DashedLineSeries::new(points, dash, gap, style)),
        };
        drawn
            .map_err(|e| err(&e))?
            .label(&line.name)
            .legend(move |(x, y)| {
                // the legend's sample drawn the same way, over 20 pixels
                let (dash, gap) = stroke.unwrap_or((20, 0));
                DashedPathElement::new(vec![(x, y), (x + 20, y)], dash, gap, style)
            });
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(corner)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// For a chart of bytes (`bytes`, `bytes/s`), the binary multiple its axis counts in, as
/// (bytes in one, suffix): the largest of 1, 1,024, ... that `top` (the largest value) is at
/// least, so that the axis's round ticks are round amounts (`8GiB`, `16GiB`), not round
/// decimal ones written in binary (`9.31GiB`); `None` for other units.
fn binary_scale(unit: &str, top: f64) -> Option<(f64, &'static str)> {
    if unit != "bytes" && unit != "bytes/s" {
        return None;
    }
    let (mut by, mut suffix) = (1.0, "B");
    for next in ["KiB", "MiB", "GiB", "TiB", "PiB"] {
        if top < by * 1024.0 {
            break;
        }
        by *= 1024.0;
        suffix = next;
    }
    Some((by, suffix))
}

/// The plot area inside a chart's margins, axis labels and caption, in pixels (about).
const PLOT: (f64, f64) = (
    WIDTH as f64 - 2.0 * 12.0 - 80.0,
    HEIGHT as f64 - 2.0 * 12.0 - 40.0 - 30.0,
);

/// The legend's width and height as fractions of the plot area, with its margin from the
/// corner: a row of 18 pixels a line, the sample line and about 7 pixels a character of the
/// longest name (the 12-pixel font).
fn legend_size(lines: &[Line]) -> (f64, f64) {
    let chars = lines
        .iter()
        .map(|l| l.name.chars().count())
        .max()
        .unwrap_or(0);
    let width = 50.0 + 7.0 * chars as f64 + 10.0;
    let height = 10.0 + 18.0 * lines.len() as f64 + 10.0;
    (width / PLOT.0, height / PLOT.1)
}

/// The first corner (upper right, upper left, lower right, lower left) whose box of `size`
/// (fractions of the plot, as [`legend_size`] gives) no line passes through, on axes
/// `x` and `y`; `None` if a line passes through every one. Each segment is followed at 32
/// points, so a line that crosses a box between two of its points counts too.
fn legend_corner(
    lines: &[Line],
    x: (f64, f64),
    y: (f64, f64),
    size: (f64, f64),
) -> Option<SeriesLabelPosition> {
    let (w, h) = size;
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let mut free = [true; 4];
    let mut mark = |px: f64, py: f64| {
        let nx = (px - x.0) / (x.1 - x.0);
        let ny = (py - y.0) / (y.1 - y.0);
        for (f, (_, right, upper)) in free.iter_mut().zip(&corners) {
            let in_x = if *right { nx >= 1.0 - w } else { nx <= w };
            let in_y = if *upper { ny >= 1.0 - h } else { ny <= h };
            if in_x && in_y {
                *f = false;
            }
        }
    };
    for line in lines {
        if let [(px, py)] = line.points[..] {
            mark(px, py);
        }
        for pair in line.points.windows(2) {
            let ((ax, ay), (bx, by)) = (pair[0], pair[1]);
            for step in 0..=32 {
                let t = f64::from(step) / 32.0;
                mark(ax + (bx - ax) * t, ay + (by - ay) * t);
            }
        }
    }
    corners
        .into_iter()
        .zip(free)
        .find(|(_, f)| *f)
        .map(|((corner, _, _), _)| corner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(points: &[(f64, f64)]) -> Line {
        Line {
            name: "web.status.2XX.rate".into(),
            series: 0,
            run: 0,
            points: points.to_vec(),
        }
    }

    fn corner(lines: &[Line]) -> Option<SeriesLabelPosition> {
        legend_corner(lines, (0.0, 10.0), (0.0, 100.0), (0.25, 0.25))
    }

    #[test]
    fn the_legend_goes_where_no_line_passes() {
        let name = |c: Option<SeriesLabelPosition>| c.map(|c| format!("{c:?}"));
        // a flat line in the middle: the first corner, upper right
        assert_eq!(
            name(corner(&[line(&[(0.0, 50.0), (10.0, 50.0)])])),
            Some("UpperRight".into())
        );
        // rising to the upper right: upper left
        assert_eq!(
            name(corner(&[line(&[(0.0, 50.0), (10.0, 99.0)])])),
            Some("UpperLeft".into())
        );
        // high all along: lower right
        assert_eq!(
            name(corner(&[line(&[(0.0, 95.0), (10.0, 95.0)])])),
            Some("LowerRight".into())
        );
        // crossing the lower right box between two points only: the segment counts
        let across = line(&[(0.0, 95.0), (10.0, 95.0)]);
        let dip = line(&[(0.0, 50.0), (5.0, 0.0), (10.0, 30.0)]);
        let small = |lines: &[Line]| legend_corner(lines, (0.0, 10.0), (0.0, 100.0), (0.2, 0.2));
        assert_eq!(
            name(small(&[across.clone(), dip])),
            Some("LowerLeft".into())
        );
        // high and low, all along: every corner has a line
        let bottom = line(&[(0.0, 2.0), (10.0, 2.0)]);
        assert_eq!(corner(&[across, bottom]), None);
        assert_eq!(name(corner(&[])), Some("UpperRight".into()), "no lines");
    }

    #[test]
    fn bytes_are_drawn_in_the_binary_multiple_of_their_largest_value() {
        assert_eq!(
            binary_scale("bytes", 24.0 * 1024.0 * 1024.0 * 1024.0),
            Some((1024f64.powi(3), "GiB"))
        );
        assert_eq!(
            binary_scale("bytes/s", 4_000_000.0),
            Some((1024f64.powi(2), "MiB"))
        );
        assert_eq!(binary_scale("bytes", 1023.0), Some((1.0, "B")));
        assert_eq!(binary_scale("bytes", 1024.0), Some((1024.0, "KiB")));
        assert_eq!(binary_scale("bytes", 0.0), Some((1.0, "B")));
        assert_eq!(binary_scale("nanoseconds", 1e9), None);
        assert_eq!(binary_scale("", 1e9), None);
    }

    #[test]
    fn a_legend_grows_with_its_lines_and_names() {
        let (w1, h1) = legend_size(&[line(&[])]);
        let (w3, h3) = legend_size(&[line(&[]), line(&[]), line(&[])]);
        assert!(w1 == w3 && h3 > h1 && h1 > 0.0 && w1 > 0.0);
        let long = Line {
            name: "x".repeat(60),
            ..line(&[])
        };
        assert!(legend_size(&[long]).0 > w1);
    }
}
