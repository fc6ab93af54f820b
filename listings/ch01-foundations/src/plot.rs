//! A small line-chart helper over plotters, shared by every chapter's figures. Figures
//! are SVG written from code, never drawn by hand: change the code and regenerate.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

/// One line on a chart. Non-finite points (NaN, ±inf) break the line: what a computation
/// could not produce is left visibly missing rather than drawn as a spike.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
        }
    }
}

/// A chart: labelled axes, several series, optional vertical markers.
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Vertical dashed lines at these x, with a caption.
    pub markers: Vec<(f64, String)>,
    /// Draw points as well as lines (for few, discrete x values).
    pub points: bool,
}

impl LineChart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series: Vec::new(),
            markers: Vec::new(),
            points: false,
        }
    }
}

/// The book's palette, picked to stay distinct in print and for common colour blindness.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

/// Writes `chart` to `path` as a 720×420 SVG.
pub fn write_line_chart(path: &Path, chart: &LineChart) -> Result<(), Box<dyn Error>> {
    let finite = || {
        chart
            .series
            .iter()
            .flat_map(|s| &s.points)
            .filter(|p| p.0.is_finite() && p.1.is_finite())
    };
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in finite() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return Err(format!("chart {:?} has no finite points", chart.title).into());
    }
    let pad = ((y1 - y0) * 0.05).max(1e-9);
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?;
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .light_line_style(WHITE)
        .draw()?;
    for (x, caption) in &chart.markers {
        let style = ShapeStyle::from(&BLACK.mix(0.5)).stroke_width(1);
        ctx.draw_series(DashedLineSeries::new(
            [(*x, y0 - pad), (*x, y1 + pad)],
            6,
            4,
            style,
        ))?
        .label(caption)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style));
    }
    for (i, series) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let style = ShapeStyle::from(&color).stroke_width(2);
        for (j, segment) in finite_segments(&series.points).into_iter().enumerate() {
            let drawn = ctx.draw_series(LineSeries::new(segment.clone(), style))?;
            if j == 0 {
                drawn
                    .label(&series.label)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], style));
            }
            if chart.points {
                ctx.draw_series(
                    segment.iter().map(|&p| Circle::new(p, 3, color.filled())),
                )?;
            }
        }
    }
    ctx.configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.3))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Splits a polyline at non-finite points.
fn finite_segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut segments = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            segments.last_mut().expect("never empty").push((x, y));
        } else if !segments.last().expect("never empty").is_empty() {
            segments.push(Vec::new());
        }
    }
    segments.retain(|s| !s.is_empty());
    segments
}
