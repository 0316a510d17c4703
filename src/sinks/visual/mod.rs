//! The `Visual` sink kind: a full-screen live view of the rows on a terminal (the latest rows as a
//! scrolling table, a chart of one field, the feeds' state, rates and end-to-end latency), drawn by a
//! thread of its own at most ten times a second.
//!
//! The sink's thread never waits for the view: a row goes into a small shared table only when the view
//! is not copying it out at that moment (`try_lock`); otherwise the row is left out of the view and
//! counted, and every row still reaches the sink's other outputs. When standard output is not a
//! terminal, `Visual` writes plain rows as `Stdout` does and says so once on stderr.

mod screen;

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_yaml::Value;

use super::stdout::StdoutOutput;
use crate::base::RunError;
use crate::config::Reader;
use crate::plugin::{find_column, OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// Rows the view keeps for its table.
const TABLE_ROWS: usize = 200;
/// Points the view keeps for its chart.
const CHART_POINTS: usize = 2000;

/// The `Visual` sink kind.
pub struct Visual;

impl SinkKind for Visual {
    fn names(&self) -> &'static [&'static str] {
        &["Visual"]
    }

    fn parse(
        &self,
        r: &mut Reader<'_>,
        payload: &Value,
        path: &str,
    ) -> Option<Box<dyn SinkOutput>> {
        let chart = match payload {
            Value::Null => None,
            v => {
                let m = r.mapping(v, path, &["chart"], &[], "{Visual: {chart: price}}")?;
                match m.get("chart") {
                    Some(c) => Some(r.string(c, &format!("{path}.chart"))?),
                    None => None,
                }
            }
        };
        Some(Box::new(VisualOutput { chart }))
    }
}

/// A live view on the terminal.
#[derive(Debug)]
pub struct VisualOutput {
    /// The field to chart (a column name, or its part after the label); the first column when absent.
    chart: Option<String>,
}

impl VisualOutput {
    /// The index of the charted column among `columns`.
    fn chart_column(&self, columns: &[&str]) -> Result<usize, String> {
        let Some(want) = &self.chart else {
            return Ok(0);
        };
        find_column(columns, want).map_err(|e| format!("chart: {e}"))
    }
}

impl SinkOutput for VisualOutput {
    fn target(&self) -> String {
        "the terminal (Visual)".into()
    }

    fn is_stdout(&self) -> bool {
        true
    }

    fn takes_terminal(&self) -> bool {
        io::stdout().is_terminal()
    }

    fn check(&self, columns: &[&str]) -> Result<(), String> {
        self.chart_column(columns).map(|_| ())
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let chart = self
            .chart_column(cx.columns)
            .map_err(|e| RunError::Thread(format!("Visual: {e}")))?;
        if !io::stdout().is_terminal() {
            return fall_back(cx, "standard output is not a terminal");
        }
        let shared = Arc::new(Shared::new(cx.columns.len()));
        let names: Vec<String> = cx.columns.iter().map(|c| c.to_string()).collect();
        let board = cx.board.cloned().unwrap_or_default();
        board.watch();
        match screen::start(shared.clone(), board, names, chart, cx.with_status) {
            Ok(view) => Ok(Some(Box::new(VisualWriter {
                shared,
                chart,
                seen: 0,
                view: Some(view),
            }))),
            Err(e) => fall_back(cx, &format!("the terminal could not be taken over ({e})")),
        }
    }
}

/// Plain rows as `Stdout` writes them, after saying why once.
fn fall_back(cx: &OpenSink<'_>, why: &str) -> Result<Option<Box<dyn RowWriter>>, RunError> {
    let _ = writeln!(
        io::stderr(),
        "Visual: {why}; writing plain rows as Stdout does"
    );
    StdoutOutput.open(cx)
}

/// One row as the view shows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Shown {
    /// Event time, ns since the epoch.
    pub time: i64,
    /// One per column; NaN where the row has no value.
    pub values: Vec<f64>,
    /// One per column: the text of a text column (a key's name, a window's start), else empty.
    pub texts: Vec<String>,
    /// What a live feed said in this row.
    pub status: String,
}

/// What the sink's thread hands the view.
pub(crate) struct Shared {
    recent: Mutex<Recent>,
    /// Rows left out of the view because it was copying at that moment.
    pub left_out: AtomicU64,
    /// Rows the sink wrote.
    pub seen: AtomicU64,
    /// Set when the run ends: the view closes.
    pub closing: AtomicBool,
}

/// The rows and chart points the view shows.
#[derive(Default, Clone)]
pub(crate) struct Recent {
    pub rows: VecDeque<Shown>,
    /// Rows placed in `rows` so far (the ring starts full of blank rows, which are not shown).
    pub placed: u64,
    /// (event time in seconds since the epoch, value).
    pub points: VecDeque<(f64, f64)>,
}

impl Shared {
    fn new(columns: usize) -> Shared {
        let mut rows = VecDeque::with_capacity(TABLE_ROWS);
        rows.extend((0..TABLE_ROWS).map(|_| Shown {
            time: 0,
            values: Vec::with_capacity(columns),
            texts: (0..columns).map(|_| String::with_capacity(32)).collect(),
            status: String::with_capacity(64),
        }));
        Shared {
            recent: Mutex::new(Recent {
                rows,
                placed: 0,
                points: VecDeque::with_capacity(CHART_POINTS),
            }),
            left_out: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            closing: AtomicBool::new(false),
        }
    }

    /// A copy of what the view shows, holding the lock only while copying.
    pub(crate) fn copy(&self, rows: usize) -> Recent {
        let r = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let filled = r.rows.len().min(r.placed as usize).min(rows);
        Recent {
            rows: r.rows.iter().skip(r.rows.len() - filled).cloned().collect(),
            placed: r.placed,
            points: r.points.clone(),
        }
    }
}

/// The sink side of the view.
pub struct VisualWriter {
    shared: Arc<Shared>,
    chart: usize,
    seen: u64,
    view: Option<screen::View>,
}

impl VisualWriter {
    /// Takes one row into the view's table, unless the view is copying it right now.
    fn offer(&mut self, row: &Row<'_>) {
        self.seen += 1;
        let Ok(mut r) = self.shared.recent.try_lock() else {
            self.shared.left_out.fetch_add(1, Ordering::Relaxed);
            self.shared.seen.store(self.seen, Ordering::Relaxed);
            return;
        };
        // The ring is full from the start: the oldest row's buffers are reused, so nothing allocates.
        let mut slot = r.rows.pop_front().expect("the table is never empty");
        slot.time = row.time;
        slot.values.clear();
        slot.values
            .extend((0..row.values.len()).map(|i| row.cell(i).unwrap_or(f64::NAN)));
        for (i, t) in slot.texts.iter_mut().enumerate() {
            t.clear();
            t.push_str(row.text(i).unwrap_or(""));
        }
        slot.status.clear();
        slot.status.push_str(row.status.unwrap_or(""));
        r.rows.push_back(slot);
        r.placed += 1;
        if let Some(v) = row.cell(self.chart) {
            if r.points.len() == CHART_POINTS {
                r.points.pop_front();
            }
            r.points.push_back((row.time as f64 / 1e9, v));
        }
        drop(r);
        self.shared.seen.store(self.seen, Ordering::Relaxed);
    }

    fn close(&mut self) {
        if let Some(view) = self.view.take() {
            self.shared.closing.store(true, Ordering::Relaxed);
            view.close();
            let left = self.shared.left_out.load(Ordering::Relaxed);
            let _ = writeln!(
                io::stderr(),
                "Visual: {} rows, {left} of them left out of the view's table while it was drawing",
                self.seen
            );
        }
    }
}

impl RowWriter for VisualWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.offer(row);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.close();
        Ok(())
    }
}

impl Drop for VisualWriter {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(shared: &Arc<Shared>) -> VisualWriter {
        VisualWriter {
            shared: shared.clone(),
            chart: 1,
            seen: 0,
            view: None,
        }
    }

    fn row<'a>(time: i64, values: &'a [f64], present: &'a [bool]) -> Row<'a> {
        Row {
            time,
            values,
            present,
            status: None,
            status_dp: None,
            texts: &[],
            written: &[],
        }
    }

    #[test]
    fn a_view_that_holds_its_table_never_holds_up_the_sink_and_every_row_left_out_is_counted() {
        let shared = Arc::new(Shared::new(2));
        let mut w = writer(&shared);
        let held = shared.recent.lock().unwrap();
        for i in 0..10_000 {
            w.write_row(&row(i, &[i as f64, 1.0], &[true, true]))
                .unwrap();
        }
        assert_eq!(shared.left_out.load(Ordering::Relaxed), 10_000);
        drop(held);
        w.write_row(&row(7, &[2.5, 9.0], &[true, false])).unwrap();
        assert_eq!(shared.seen.load(Ordering::Relaxed), 10_001);
        let copy = shared.copy(5);
        assert_eq!(
            copy.rows.len(),
            1,
            "only the row placed is shown, no blank ones"
        );
        let last = copy.rows.back().unwrap();
        assert_eq!(last.time, 7);
        assert_eq!(last.values[0], 2.5);
        assert!(last.values[1].is_nan(), "an absent cell shows empty");
        assert!(copy.points.is_empty(), "the charted column had no value");
    }

    #[test]
    fn the_table_keeps_the_latest_rows_in_order_and_the_chart_its_points() {
        let shared = Arc::new(Shared::new(2));
        let mut w = writer(&shared);
        for i in 0..(TABLE_ROWS as i64 + 50) {
            w.write_row(&row(i * 1_000_000_000, &[0.0, i as f64], &[true, true]))
                .unwrap();
        }
        let copy = shared.copy(TABLE_ROWS);
        let times: Vec<i64> = copy.rows.iter().map(|r| r.time / 1_000_000_000).collect();
        let want: Vec<i64> = (50..TABLE_ROWS as i64 + 50).collect();
        assert_eq!(times, want);
        assert_eq!(copy.points.len(), TABLE_ROWS + 50);
        assert_eq!(
            copy.points.back(),
            Some(&((TABLE_ROWS + 49) as f64, (TABLE_ROWS + 49) as f64))
        );
    }
}
