//! The `Visual` sink's thread: every 100 ms it copies the latest rows out, reads the run's live figures
//! and redraws; `q`, `Esc` or Ctrl-C end the run as SIGINT does.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph, Row, Table};
use ratatui::Frame;

use super::{Recent, Shared};
use crate::base::time::format_rfc3339_millis;
use crate::metrics::human;
use crate::metrics::live::{Board, Snapshot};
use crate::view::panels;
use crate::view::term::{interrupt_self, quit_pressed, Screen};

/// How often the view redraws (and looks for keys).
const FRAME: Duration = Duration::from_millis(100);
/// How long the run's end waits for the view to give the terminal back; a view stuck writing to a
/// terminal nobody reads is left behind after it.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The view's thread.
pub struct View {
    handle: JoinHandle<()>,
    done: mpsc::Receiver<()>,
}

impl View {
    /// Waits for the view to restore the terminal (it was told to close); says so on stderr when the
    /// view had failed.
    pub fn close(self) {
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(CLOSE_WAIT) {
            return;
        }
        if let Err(p) = self.handle.join() {
            let why = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("Visual: the view failed ({why}); the rows went on to the other outputs");
        }
    }
}

/// What the view draws besides the live figures.
struct Columns {
    names: Vec<String>,
    /// The table's headers: each column's field alone when no other column has that field.
    short: Vec<String>,
    chart: usize,
    status: bool,
}

/// Takes over the terminal and starts the view's thread.
pub fn start(
    shared: Arc<Shared>,
    board: Arc<Board>,
    names: Vec<String>,
    chart: usize,
    status: bool,
) -> std::io::Result<View> {
    let mut screen = Screen::open()?;
    let (tx, done) = mpsc::channel();
    let field = |n: &String| n.rsplit('.').next().unwrap_or(n).to_string();
    let short = names
        .iter()
        .map(|n| {
            let f = field(n);
            let alike = names.iter().filter(|m| field(m) == f).count();
            if alike == 1 {
                f
            } else {
                n.clone()
            }
        })
        .collect();
    let cols = Columns {
        short,
        names,
        chart,
        status,
    };
    let handle = std::thread::Builder::new()
        .name("tubes-visual".into())
        .spawn(move || {
            // One SIGINT only: a second one exits the process at once (status 130), which would leave
            // the terminal raw and the outputs uncommitted.
            let mut stopping = false;
            while !shared.closing.load(Ordering::Relaxed) {
                if quit_pressed(FRAME) && !stopping {
                    stopping = true;
                    interrupt_self();
                }
                let keys = if stopping { "stopping…" } else { "q quits" };
                let recent = shared.copy(super::TABLE_ROWS);
                let snap = board.latest().unwrap_or_default();
                let drawn = screen
                    .terminal
                    .draw(|f| draw(f, &recent, &snap, &cols, (&shared, keys)));
                if drawn.is_err() {
                    break;
                }
            }
            drop(screen);
            let _ = tx.send(());
        })?;
    Ok(View { handle, done })
}

fn draw(
    f: &mut Frame<'_>,
    recent: &Recent,
    s: &Snapshot,
    cols: &Columns,
    (shared, keys): (&Shared, &str),
) {
    let [title, middle, feeds, sinks, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(6),
        Constraint::Length(panels::rows_high(s.generators.len())),
        Constraint::Length(panels::rows_high(s.sinks.len())),
        Constraint::Length(1),
    ])
    .areas(f.area());
    panels::title(f, title, s, keys);
    let [table, chart] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(middle);
    rows_table(f, table, recent, cols);
    chart_of(f, chart, recent, cols);
    panels::feeds(f, feeds, s);
    panels::sinks(f, sinks, s);
    let dps: f64 = s.generators.iter().map(|g| g.rate).sum();
    let rps: f64 = s.sinks.iter().map(|k| k.rate).sum();
    let text = format!(
        " {} rows · {} left out of the table · {} rows/s · {} datapoints/s",
        shared.seen.load(Ordering::Relaxed),
        shared.left_out.load(Ordering::Relaxed),
        human(rps),
        human(dps)
    );
    f.render_widget(Paragraph::new(Line::from(text)), footer);
}

fn cell(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        v.to_string()
    }
}

/// The latest rows, newest at the bottom.
fn rows_table(f: &mut Frame<'_>, area: Rect, recent: &Recent, cols: &Columns) {
    let fit = area.height.saturating_sub(3) as usize;
    let skip = recent.rows.len().saturating_sub(fit);
    let rows = recent.rows.iter().skip(skip).map(|r| {
        let stamp = format_rfc3339_millis(r.time);
        let mut cells = vec![String::from_utf8_lossy(&stamp[11..23]).into_owned()];
        cells.extend(
            (r.values.iter().zip(&r.texts)).map(|(&v, t)| match t.is_empty() {
                true => cell(v),
                false => t.clone(),
            }),
        );
        if cols.status {
            cells.push(r.status.clone());
        }
        Row::new(cells)
    });
    let mut header = vec!["time (UTC)".to_string()];
    header.extend(cols.short.iter().cloned());
    let mut widths = vec![Constraint::Length(12)];
    widths.extend(
        cols.short
            .iter()
            .map(|n| Constraint::Length(n.len().max(10) as u16)),
    );
    if cols.status {
        header.push("status".into());
        widths.push(Constraint::Min(10));
    }
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(bold))
        .block(Block::bordered().title(" latest rows "));
    f.render_widget(table, area);
}

/// The charted column over event time, the newest point at the right edge.
fn chart_of(f: &mut Frame<'_>, area: Rect, recent: &Recent, cols: &Columns) {
    let name = cols.names.get(cols.chart).map_or("", String::as_str);
    let last_t = recent.points.back().map_or(0.0, |p| p.0);
    let data: Vec<(f64, f64)> = recent
        .points
        .iter()
        .map(|&(t, v)| (t - last_t, v))
        .collect();
    let (lo, hi) = data
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let (lo, hi) = if lo.is_finite() {
        let pad = ((hi - lo) * 0.05).max(hi.abs() * 1e-6).max(1e-9);
        // Quantities and counts are never negative: the axis does not go below zero for them.
        let floor = if lo >= 0.0 { 0.0 } else { f64::NEG_INFINITY };
        ((lo - pad).max(floor), hi + pad)
    } else {
        (0.0, 1.0)
    };
    let x0 = data.first().map_or(-1.0, |p| p.0.min(-1e-3));
    let latest = data
        .last()
        .map_or_else(String::new, |p| format!(" = {}", p.1));
    let set = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(Style::default().fg(Color::Cyan))
        .data(&data);
    let chart = Chart::new(vec![set])
        .block(Block::bordered().title(format!(" {name}{latest} ")))
        .x_axis(
            Axis::default()
                .bounds([x0, 0.0])
                .labels([format!("{x0:.0} s"), "now".to_string()]),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels([format!("{lo:.6}"), format!("{hi:.6}")]),
        );
    f.render_widget(chart, area);
}
