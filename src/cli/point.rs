//! What one `tubes bench` run at one rate measured, and the figures read from it.

use hdrhistogram::Histogram;

use crate::metrics::{Series, SeriesKind};
use crate::runtime::Report;

/// What one run at one rate measured.
pub struct Point {
    /// Target datapoints per second.
    pub rate: f64,
    /// The run's report.
    pub report: Report,
    /// Resident memory in bytes at the first progress report and at the end of the run.
    pub rss: (Option<u64>, Option<u64>),
}

impl Point {
    /// Datapoints per second actually sent.
    pub fn achieved(&self) -> f64 {
        self.sent() as f64 / self.report.wall.as_secs_f64().max(1e-9)
    }

    /// Datapoints the generators sent (dropped ones included).
    pub fn sent(&self) -> u64 {
        self.report.generators.iter().map(|g| g.rows).sum()
    }

    /// The end-to-end histogram of the sink that recorded the most values.
    pub fn end_to_end(&self) -> Option<(&Series, &Histogram<u64>)> {
        self.report
            .series
            .iter()
            .zip(&self.report.latency)
            .filter(|(s, h)| s.kind == SeriesKind::EndToEnd && !h.is_empty())
            .max_by_key(|(_, h)| h.len())
    }

    /// Datapoints dropped under `backpressure: drop_newest` (0 when rings block).
    pub fn dropped(&self) -> u64 {
        self.report.drops.iter().map(|(_, n)| n).sum()
    }

    /// The largest delay between a datapoint's intended and actual send time.
    pub fn max_lag(&self) -> u64 {
        self.report
            .generators
            .iter()
            .map(|g| g.max_lag_ns)
            .max()
            .unwrap_or(0)
    }
}
