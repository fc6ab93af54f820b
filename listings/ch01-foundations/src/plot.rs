//! A small line-chart helper over plotters, shared by every chapter's figures. Figures
//! are SVG written from code, never drawn by hand: change the code and regenerate.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

/// A function that draws one figure into the file it is given.
pub type Draw = fn(&Path) -> Result<(), Box<dyn Error>>;

/// Draws each `(file name, draw)` figure into `dir`, returning the paths written: the
/// body of every chapter's `figures::write_all`.
pub fn draw_all(
    dir: &Path,
    figures: &[(&str, Draw)],
) -> Result<Vec<std::path::PathBuf>, Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    figures
        .iter()
        .map(|(name, draw)| {
            let path = dir.join(name);
            draw(&path)?;
            Ok(path)
        })
        .collect()
}

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
    // A little room left and right too, so points at the ends are not cut in half.
    let x_pad = ((x1 - x0) * 0.02).max(1e-9);
    let (x0, x1) = (x0 - x_pad, x1 + x_pad);
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

/// A matrix drawn as coloured cells: attention weights, positional encodings, masks.
pub struct HeatMap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Row i is drawn at the top when i = 0 (matrix order, not plot order).
    pub data: ndarray::Array2<f32>,
    /// Diverging colours (blue, white, red) centred on zero, for signed data; otherwise a
    /// sequential scale from the minimum to the maximum.
    pub diverging: bool,
}

/// Writes `map` to `path` as an SVG, 720 px wide, with a colour bar; rows and columns
/// are numbered.
pub fn write_heatmap(path: &Path, map: &HeatMap) -> Result<(), Box<dyn Error>> {
    draw_heatmap(path, map, None)
}

/// The same, with each column and row named (source words, output tokens) instead of
/// numbered: `x_ticks` has one name a column, `y_ticks` one a row, top row first.
pub fn write_labelled_heatmap(
    path: &Path,
    map: &HeatMap,
    x_ticks: &[String],
    y_ticks: &[String],
) -> Result<(), Box<dyn Error>> {
    let (rows, cols) = map.data.dim();
    if x_ticks.len() != cols || y_ticks.len() != rows {
        return Err(format!(
            "heat map {:?} is {rows} x {cols} but has {} row and {} column names",
            map.title,
            y_ticks.len(),
            x_ticks.len()
        )
        .into());
    }
    draw_heatmap(path, map, Some((x_ticks, y_ticks)))
}

fn draw_heatmap(
    path: &Path,
    map: &HeatMap,
    ticks: Option<(&[String], &[String])>,
) -> Result<(), Box<dyn Error>> {
    let (rows, cols) = map.data.dim();
    if rows == 0 || cols == 0 {
        return Err(format!("heat map {:?} is empty", map.title).into());
    }
    let finite = map.data.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if map.diverging {
        let m = lo.abs().max(hi.abs()).max(f32::MIN_POSITIVE);
        (-m, m)
    } else if lo < hi {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    };
    let colour = |v: f32| -> RGBColor {
        if !v.is_finite() {
            return RGBColor(200, 200, 200); // masked (-inf) or missing cells: grey
        }
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0) as f64;
        if map.diverging {
            lerp(&DIVERGING, t)
        } else {
            lerp(&SEQUENTIAL, t)
        }
    };
    let root = SVGBackend::new(path, (720, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (main, bar) = root.split_horizontally(640);
    let mut builder = ChartBuilder::on(&main);
    builder
        .caption(&map.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(if ticks.is_some() { 64 } else { 48 });
    match ticks {
        None => {
            let mut ctx =
                builder.build_cartesian_2d(0f64..cols as f64, rows as f64..0f64)?;
            ctx.configure_mesh()
                .disable_mesh()
                .x_desc(&map.x_label)
                .y_desc(&map.y_label)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .y_label_formatter(&|v| format!("{v:.0}"))
                .draw()?;
            ctx.draw_series(map.data.indexed_iter().map(|((i, j), &v)| {
                let (x, y) = (j as f64, i as f64);
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], colour(v).filled())
            }))?;
        }
        Some((x_ticks, y_ticks)) => {
            // Cell (i, j) is centred on (j, i), so integer ticks fall on cell centres
            // and carry the names.
            let (c, r) = (cols as f64, rows as f64);
            let mut ctx = builder.build_cartesian_2d(-0.5..c - 0.5, r - 0.5..-0.5)?;
            let name = |names: &[String], v: f64| -> String {
                let k = v.round();
                if (v - k).abs() > 1e-6 || k < 0.0 {
                    return String::new();
                }
                names.get(k as usize).cloned().unwrap_or_default()
            };
            ctx.configure_mesh()
                .disable_mesh()
                .x_desc(&map.x_label)
                .y_desc(&map.y_label)
                .x_labels(cols)
                .y_labels(rows)
                .x_label_formatter(&|v| name(x_ticks, *v))
                .y_label_formatter(&|v| name(y_ticks, *v))
                .draw()?;
            ctx.draw_series(map.data.indexed_iter().map(|((i, j), &v)| {
                let (x, y) = (j as f64, i as f64);
                let corners = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
                Rectangle::new(corners, colour(v).filled())
            }))?;
        }
    }
    let mut legend = ChartBuilder::on(&bar)
        .margin_top(44)
        .margin_bottom(52)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..1f64, lo as f64..hi as f64)?;
    legend
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_style(("sans-serif", 12))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .draw()?;
    let steps = 100;
    legend.draw_series((0..steps).map(|k| {
        let (a, b) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
        let v = |t: f64| lo as f64 + t * (hi - lo) as f64;
        Rectangle::new([(0.0, v(a)), (1.0, v(b))], colour(v(a) as f32).filled())
    }))?;
    root.present()?;
    Ok(())
}

const SEQUENTIAL: [RGBColor; 5] = [
    RGBColor(68, 1, 84),
    RGBColor(59, 82, 139),
    RGBColor(33, 145, 140),
    RGBColor(94, 201, 98),
    RGBColor(253, 231, 37),
];

const DIVERGING: [RGBColor; 3] = [
    RGBColor(33, 102, 172),
    RGBColor(247, 247, 247),
    RGBColor(178, 24, 43),
];

/// Piecewise-linear interpolation through evenly spaced colour stops, t in [0, 1].
fn lerp(stops: &[RGBColor], t: f64) -> RGBColor {
    let x = t * (stops.len() - 1) as f64;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + f * (b as f64 - a as f64)).round() as u8;
    let (a, b) = (stops[i], stops[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_draws_one_cell_per_entry_and_greys_out_masked_cells() {
        let mut data =
            ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
        data[[0, 3]] = f32::NEG_INFINITY;
        let path =
            std::env::temp_dir().join(format!("heatmap-{}.svg", std::process::id()));
        let map = HeatMap {
            title: "t".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            data,
            diverging: false,
        };
        write_heatmap(&path, &map).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(svg.contains("#C8C8C8"), "the -inf cell should be grey");
        // 12 cells + 100 colour-bar steps + the white background.
        assert!(
            svg.matches("<rect").count() >= 112,
            "{}",
            svg.matches("<rect").count()
        );
    }

    #[test]
    fn colour_stops_are_hit_exactly() {
        assert_eq!(lerp(&DIVERGING, 0.0), DIVERGING[0]);
        assert_eq!(lerp(&DIVERGING, 0.5), DIVERGING[1]);
        assert_eq!(lerp(&DIVERGING, 1.0), DIVERGING[2]);
    }
}
