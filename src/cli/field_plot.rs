//! `tubes plot INPUT --field NAME`: one field over event time as an SVG line chart, from a recorded
//! journal (a generator's field, `btc.price`) or from an output CSV (a column, `btc_vol_sum.sum_Volume`),
//! for the look back after an incident.

use std::path::Path;

use plotters::prelude::*;

use crate::base::datapoint::Kind;
use crate::base::time::{parse_timestamp, rfc3339};
use crate::journal::{Next, Reader};
use crate::plugin::find_column;

/// One field's points: (event time in seconds since the epoch, value), in the input's order.
pub type Points = Vec<(f64, f64)>;

/// Reads the points of `field` from `input` (a journal directory or a CSV file) within `[from, to)`.
pub fn points(
    input: &Path,
    field: &str,
    range: (Option<i64>, Option<i64>),
) -> Result<Points, String> {
    let inside = |t: i64| range.0.is_none_or(|f| t >= f) && range.1.is_none_or(|e| t < e);
    if input.is_dir() {
        journal_points(input, field, &inside)
    } else {
        csv_points(input, field, &inside)
    }
}

fn journal_points(dir: &Path, field: &str, inside: &dyn Fn(i64) -> bool) -> Result<Points, String> {
    let mut r = Reader::open(dir).map_err(|e| e.to_string())?;
    let meta = r.meta().clone();
    let mut all = Vec::new();
    let mut found = None;
    for (id, t) in meta.tubes.iter().enumerate() {
        for (slot, f) in meta.fields(id).iter().enumerate() {
            let name = format!("{}.{f}", t.label);
            if name == field {
                found = Some((id, slot));
            }
            all.push(name);
        }
    }
    let Some((id, slot)) = found else {
        return Err(format!(
            "the journal has no field '{field}'; it has: {}",
            all.join(", ")
        ));
    };
    let mut pts = Vec::new();
    loop {
        match r.next_record().map_err(|e| e.to_string())? {
            Next::Record(dp) => {
                let v = dp.fields().get(slot).copied().unwrap_or(f64::NAN);
                if dp.kind == Kind::Data
                    && dp.source as usize == id
                    && v.is_finite()
                    && inside(dp.event_time)
                {
                    pts.push((dp.event_time as f64 / 1e9, v));
                }
            }
            Next::End | Next::Torn => return Ok(pts),
        }
    }
}

fn csv_points(path: &Path, field: &str, inside: &dyn Fn(i64) -> bool) -> Result<Points, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = find_column(&header, field)?;
    let time = header
        .iter()
        .position(|c| *c == "timestamp")
        .ok_or("the CSV has no timestamp column (the first column of a sink's CSV)")?;
    let mut pts = Vec::new();
    for (n, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let (Some(t), Some(v)) = (cells.get(time), cells.get(col)) else {
            continue;
        };
        let t = parse_timestamp(t.as_bytes())
            .ok_or_else(|| format!("line {}: '{t}' is not a timestamp", n + 2))?;
        match v.parse::<f64>() {
            Ok(v) if v.is_finite() && inside(t) => pts.push((t as f64 / 1e9, v)),
            _ => {}
        }
    }
    Ok(pts)
}

/// Draws the points as a line over time into an SVG file.
pub fn draw(out: &Path, field: &str, source: &str, pts: &Points) -> Result<(), String> {
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
        return Err(format!(
            "'{field}' has no values in {source} (in that range)"
        ));
    };
    let (x0, x1) = (first.0, last.0.max(first.0 + 1e-3));
    let (lo, hi) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), p| {
            (l.min(p.1), h.max(p.1))
        });
    let pad = ((hi - lo) * 0.05).max(hi.abs() * 0.01).max(1e-9);
    let root = SVGBackend::new(out, (1200, 600)).into_drawing_area();
    let e = |e: DrawingAreaErrorKind<std::io::Error>| format!("{}: {e}", out.display());
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{field} · {source}"), ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))
        .map_err(e)?;
    let when = |x: &f64| rfc3339((x * 1e9) as i64).replace('T', " ")[..19].to_string();
    chart
        .configure_mesh()
        .x_desc("event time (UTC)")
        .y_desc(field)
        .x_labels(5)
        .x_label_formatter(&when)
        .draw()
        .map_err(e)?;
    chart
        .draw_series(LineSeries::new(pts.iter().copied(), BLUE.stroke_width(1)))
        .map_err(e)?;
    root.present().map_err(e)
}

/// Runs `tubes plot`; the exit code.
pub fn run(input: &Path, field: &str, out: &Path, range: (Option<i64>, Option<i64>)) -> i32 {
    let source = input.display().to_string();
    if let (Some(f), Some(t)) = range {
        if f >= t {
            errln!("error: --from is not before --to: the range holds no time");
            return 1;
        }
    }
    if out.extension().and_then(|x| x.to_str()) != Some("svg") {
        errln!(
            "error: {}: tubes plot writes SVG; name the output FILE.svg",
            out.display()
        );
        return 1;
    }
    let result = points(input, field, range).and_then(|pts| {
        draw(out, field, &source, &pts)?;
        Ok(pts.len())
    });
    match result {
        Ok(n) => {
            errln!("{n} points of {field} drawn to {}", out.display());
            0
        }
        Err(e) => {
            errln!("error: {source}: {e}");
            1
        }
    }
}
