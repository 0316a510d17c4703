//! What a run reports: per generator, per feed, per sink, latency, and the observer that watches it.

use std::time::Duration;

use hdrhistogram::Histogram;

use std::sync::Arc;

use crate::metrics::live::Snapshot;
use crate::metrics::Series;

/// What one generator did.
#[derive(Debug, Clone, PartialEq)]
pub struct GenReport {
    /// Its label.
    pub label: String,
    /// Rows it emitted.
    pub rows: u64,
    /// Malformed rows skipped (`on_error: skip`).
    pub skipped: u64,
    /// Rows outside the Batch range.
    pub outside: u64,
    /// Largest delay between intended and actual send time: of a paced source, or of the mock exchange
    /// sending a WebSocket feed's frames (`mock_stamps`, the largest on its connection); 0 otherwise.
    pub max_lag_ns: u64,
    /// Rows left unread because the run was stopped early.
    pub unread: u64,
    /// Where the first malformed messages of a message queue are (`partition 0 offset 17`).
    pub named: Vec<String>,
    /// Message queues: trades read again and dropped.
    pub duplicates: u64,
    /// Message queues: messages passed over (trades of other markets, messages that are not trades).
    pub passed: u64,
    /// For a live feed: what happened to its connection.
    pub feed: Option<FeedReport>,
}

/// What happened to a live feed (reconnects and malformed frames are its connection's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedReport {
    /// `binance btcusdt`.
    pub name: String,
    /// Times the connection was re-established.
    pub reconnects: u64,
    /// Jumps in trade ids.
    pub gaps: u64,
    /// Trades missing in those jumps.
    pub missed: u64,
    /// Trades seen again after a reconnect, dropped.
    pub duplicates: u64,
    /// Frames that could not be read.
    pub malformed: u64,
    /// Message queues: trades of markets that no generator reads, passed over.
    pub foreign: u64,
    /// The last connection error, if any.
    pub last_error: Option<String>,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Datapoints numbered by the sequencer (generator rows and ticks).
    pub datapoints: u64,
    /// Rows written by all sinks.
    pub rows: u64,
    /// From the start signal to the last thread's end.
    pub wall: Duration,
    /// Per generator.
    pub generators: Vec<GenReport>,
    /// Rows per sink label.
    pub sinks: Vec<(String, u64)>,
    /// How threads were placed.
    pub placement: String,
    /// Latency series of the run (empty when recording is off).
    pub series: Vec<Series>,
    /// Whole-run histogram of each series, in nanoseconds.
    pub latency: Vec<Histogram<u64>>,
    /// Under `backpressure: drop_newest`: datapoints dropped per ring (empty when blocking).
    pub drops: Vec<(String, u64)>,
    /// The run was stopped early by [`super::Engine::stop_handle`] (a signal).
    pub interrupted: bool,
    /// Records in the journal at the end, when the run was recorded.
    pub journal: Option<u64>,
    /// By keyed or windowed through: what it counted (keys met, late datapoints, window sizes).
    pub throughs: Vec<(String, String)>,
}

/// Watches a run from the thread that waits for it.
pub trait Observer {
    /// How often to report latency intervals (None: only totals at the end).
    fn interval(&self) -> Option<Duration> {
        None
    }
    /// Called about every 200 ms with progress numbers.
    fn progress(&mut self, _p: Progressing) {}
    /// Whether it wants the run's live figures ([`Observer::snapshot`]).
    fn wants_live(&self) -> bool {
        false
    }
    /// Called about every 200 ms with the run's live figures when it wants them, and once at the end
    /// (`ended` set).
    fn snapshot(&mut self, _s: &Arc<Snapshot>) {}
    /// Called once per interval with what each series recorded in it; `start` is relative to the run's start.
    fn latency(
        &mut self,
        _start: Duration,
        _length: Duration,
        _series: &[Series],
        _hists: &[Histogram<u64>],
    ) {
    }
}

/// An observer that only follows progress.
pub struct OnProgress<F: FnMut(Progressing)>(pub F);

impl<F: FnMut(Progressing)> Observer for OnProgress<F> {
    fn progress(&mut self, p: Progressing) {
        (self.0)(p)
    }
}

/// Live numbers for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progressing {
    /// Input bytes processed.
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
    /// Rows read so far.
    pub rows: u64,
}
