//! The live figures of a running pipeline: what the waiting thread gathers into a [`Snapshot`] about five
//! times a second while somebody watches (the `Visual` sink, or `tubes run` publishing its stats file
//! for `tubes top`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::ring::Gauge;
use crate::base::status::{self, Text};
use crate::base::GenCounters;
use crate::metrics::live::{
    Board, FeedStats, GenStats, LatencyStats, RingStats, SinkStats, Snapshot,
};
use crate::metrics::{Series, SeriesKind};

/// What a run keeps for its live view.
#[derive(Default)]
pub(super) struct Watched {
    pub board: Arc<Board>,
    pub gauges: Vec<(String, Gauge<Datapoint>)>,
    pub sink_rows: Vec<(String, Arc<AtomicU64>)>,
    pub pipeline: &'static str,
    pub config: String,
    /// The tube id of each generator, in the order of the run's counters.
    pub ids: Vec<TubeId>,
    /// Latency of each series over the last sample.
    pub latency: Vec<LatencyStats>,
    /// Counts at the last snapshot (generators' rows, then sinks' rows) and when, for rates.
    pub last: Option<(Instant, Vec<u64>)>,
    /// By generator: when its row count last changed (the first snapshot's time before that).
    pub changed: Vec<Instant>,
}

/// One generator's counters: its label, its counters, its feed's name.
type Counted = (String, Arc<GenCounters>, Option<String>);

impl Watched {
    /// The run's figures now; `ended` marks the last one.
    pub fn snapshot(
        &mut self,
        counters: &[Counted],
        drops: &[(String, Arc<AtomicU64>)],
        placement: &str,
        elapsed: std::time::Duration,
        ended: bool,
    ) -> Snapshot {
        let now = Instant::now();
        let counts: Vec<u64> = counters
            .iter()
            .map(|(_, c, _)| c.rows.load(Ordering::Relaxed))
            .chain(
                self.sink_rows
                    .iter()
                    .map(|(_, r)| r.load(Ordering::Relaxed)),
            )
            .collect();
        let rates: Vec<f64> = match &self.last {
            Some((at, before)) if now > *at => {
                let secs = (now - *at).as_secs_f64();
                (counts.iter().zip(before))
                    .map(|(n, b)| n.saturating_sub(*b) as f64 / secs)
                    .collect()
            }
            _ => vec![0.0; counts.len()],
        };
        let ids = &self.ids;
        let feeds: Vec<String> = feed_names(counters, ids);
        if self.changed.len() != counters.len() {
            self.changed = vec![now; counters.len()];
        }
        if let Some((_, before)) = &self.last {
            for (i, at) in self.changed.iter_mut().enumerate() {
                if counts[i] != before[i] {
                    *at = now;
                }
            }
        }
        let changed = &self.changed;
        let generators = counters
            .iter()
            .zip(ids)
            .enumerate()
            .map(|(i, ((label, c, feed), &id))| GenStats {
                label: label.clone(),
                rows: counts[i],
                rate: rates[i],
                skipped: c.skipped.load(Ordering::Relaxed),
                outside: c.outside.load(Ordering::Relaxed),
                feed: feed.as_ref().map(|name| FeedStats {
                    quiet_ms: (now - changed[i]).as_millis() as u64,
                    ..feed_stats(name, c, id, &feeds)
                }),
            })
            .collect();
        let g = counters.len();
        let sinks = self
            .sink_rows
            .iter()
            .enumerate()
            .map(|(i, (label, _))| SinkStats {
                label: label.clone(),
                rows: counts[g + i],
                rate: rates[g + i],
            })
            .collect();
        let rings = self
            .gauges
            .iter()
            .map(|(name, gauge)| RingStats {
                name: name.clone(),
                fill: gauge.fill() as u64,
                capacity: gauge.capacity() as u64,
                drops: drops
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(0, |(_, d)| d.load(Ordering::Relaxed)),
            })
            .collect();
        self.last = Some((now, counts));
        Snapshot {
            config: self.config.clone(),
            pid: std::process::id(),
            pipeline: self.pipeline.to_string(),
            placement: placement.to_string(),
            elapsed_ms: elapsed.as_millis() as u64,
            ended,
            generators,
            sinks,
            rings,
            latency: self.latency.clone(),
        }
    }
}

/// Feed names by tube id (the generators' labels where they have none), for status sentences.
fn feed_names(counters: &[Counted], ids: &[TubeId]) -> Vec<String> {
    let len = ids.iter().map(|&i| i as usize + 1).max().unwrap_or(0);
    let mut names = vec![String::new(); len];
    for ((label, _, feed), &id) in counters.iter().zip(ids) {
        names[id as usize] = feed.clone().unwrap_or_else(|| label.clone());
    }
    names
}

fn feed_stats(name: &str, c: &GenCounters, id: TubeId, feeds: &[String]) -> FeedStats {
    let last = c.last_status(id);
    let state = match last.map(|dp| dp.values[0]) {
        None => "connecting",
        Some(status::DOWN) => "down",
        Some(_) => "up",
    };
    FeedStats {
        name: name.to_string(),
        state: state.to_string(),
        status: last
            .map(|dp| Text { dp: &dp, feeds }.to_string())
            .unwrap_or_default(),
        reconnects: c.reconnects.load(Ordering::Relaxed),
        gaps: c.gaps.load(Ordering::Relaxed),
        missed: c.missed.load(Ordering::Relaxed),
        duplicates: c.duplicates.load(Ordering::Relaxed),
        malformed: c.malformed.load(Ordering::Relaxed),
        quiet_ms: 0,
    }
}

/// Each series' figures over one sample.
pub(super) fn latency_stats(series: &[Series], hists: &[Histogram<u64>]) -> Vec<LatencyStats> {
    series
        .iter()
        .zip(hists)
        .map(|(s, h)| LatencyStats {
            name: s.label(),
            end_to_end: s.kind == SeriesKind::EndToEnd,
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        })
        .collect()
}
