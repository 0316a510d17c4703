//! `tubes bench --plot FILE.svg`: latency against percentile, the percentile axis stretched towards the tail.

use std::path::Path;

use hdrhistogram::Histogram;
use plotters::prelude::*;

use super::point::Point;
use crate::metrics::human;

/// Nines shown on the x axis: x = k means the percentile 1 − 10⁻ᵏ (0 → 0%, 2 → 99%, 4 → 99.99%).
const NINES: f64 = 5.0;

fn curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    (0..=200)
        .map(|k| {
            let x = k as f64 * NINES / 200.0;
            let q = 1.0 - 10f64.powf(-x);
            (x, (h.value_at_quantile(q).max(1) as f64) / 1e3)
        })
        .collect()
}

/// Why the plot could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// No latency was recorded.
    #[error("nothing was recorded")]
    Empty,
    /// The SVG backend failed.
    #[error("{0}")]
    Draw(Box<dyn std::error::Error + Send + Sync>),
}

/// One run: a line per ring, tube and sink. Several runs: the end-to-end line of each rate.
pub fn percentiles(path: &Path, points: &[Point]) -> Result<(), PlotError> {
    let mut lines: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    if let [p] = points {
        for (s, h) in p.report.series.iter().zip(&p.report.latency) {
            if !h.is_empty() {
                lines.push((s.label(), curve(h)));
            }
        }
    } else {
        for p in points {
            if let Some((_, h)) = p.end_to_end() {
                lines.push((format!("{}/s end-to-end", human(p.rate)), curve(h)));
            }
        }
    }
    if lines.is_empty() {
        return Err(PlotError::Empty);
    }
    let ymax = lines
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(1.0, f64::max)
        * 2.0;
    let ymin = lines
        .iter()
        .flat_map(|(_, c)| c.iter().map(|p| p.1))
        .fold(f64::MAX, f64::min)
        .max(1e-3)
        / 2.0;
    let root = SVGBackend::new(path, (1000, 620)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| PlotError::Draw(Box::new(e));
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption("tubes bench: latency by percentile", ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..NINES, (ymin..ymax).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (µs)")
        .x_labels(6)
        .x_label_formatter(&|x| match x.round() as i32 {
            0 => "0%".into(),
            1 => "90%".into(),
            2 => "99%".into(),
            3 => "99.9%".into(),
            4 => "99.99%".into(),
            _ => "99.999%".into(),
        })
        .draw()
        .map_err(e)?;
    for (i, (name, pts)) in lines.into_iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(e)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(e)?;
    root.present().map_err(e)
}
