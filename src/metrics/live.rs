//! A running pipeline's live figures: what the `Visual` sink shows and `tubes top` reads from the stats
//! file. The runtime builds a [`Snapshot`] about five times a second while somebody watches, and puts it
//! on the run's [`Board`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The run's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The config file the run was started with.
    pub config: String,
    /// The process id of the run.
    pub pid: u32,
    /// `Stream` or `Batch`.
    pub pipeline: String,
    /// How threads were placed.
    pub placement: String,
    /// Milliseconds since the run started.
    pub elapsed_ms: u64,
    /// Whether the run has ended (the last snapshot a stats file holds).
    pub ended: bool,
    /// Per generator, in config order.
    pub generators: Vec<GenStats>,
    /// Per sink, in config order.
    pub sinks: Vec<SinkStats>,
    /// Per ring between threads.
    pub rings: Vec<RingStats>,
    /// Latency of each series over the last second (empty when metrics are off).
    pub latency: Vec<LatencyStats>,
}

/// One generator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenStats {
    /// Its label.
    pub label: String,
    /// Rows (trades) emitted.
    pub rows: u64,
    /// Rows per second over the last snapshot period.
    pub rate: f64,
    /// Malformed rows skipped.
    pub skipped: u64,
    /// Rows outside the Batch range.
    pub outside: u64,
    /// For a live feed (WebSocket, Kafka, Redis): its connection.
    pub feed: Option<FeedStats>,
}

/// A live feed's connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedStats {
    /// `binance btcusdt`.
    pub name: String,
    /// `connecting`, `up` or `down`.
    pub state: String,
    /// The last status the feed sent, as the sinks' `status` column says it
    /// (`gap 100 trades on binance btcusdt`); empty before the first.
    pub status: String,
    /// Times the connection was made again.
    pub reconnects: u64,
    /// Jumps in trade ids.
    pub gaps: u64,
    /// Trades missing in those jumps.
    pub missed: u64,
    /// Trades seen again and dropped.
    pub duplicates: u64,
    /// Frames that could not be read.
    pub malformed: u64,
    /// Milliseconds since its last trade arrived (since the run started, before the first).
    pub quiet_ms: u64,
}

/// One sink.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SinkStats {
    /// Its label.
    pub label: String,
    /// Rows written.
    pub rows: u64,
    /// Rows per second over the last snapshot period.
    pub rate: f64,
}

/// One ring between two threads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RingStats {
    /// `btc→sequencer`.
    pub name: String,
    /// Datapoints waiting in it.
    pub fill: u64,
    /// Its capacity.
    pub capacity: u64,
    /// Datapoints dropped at it (`backpressure: drop_newest`).
    pub drops: u64,
}

/// One latency series over the last interval, in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyStats {
    /// `sink sink (end-to-end)`, `ring btc→sequencer`, `tube btc_vol_sum`.
    pub name: String,
    /// Whether it is a sink's end-to-end series.
    pub end_to_end: bool,
    /// Values recorded in the interval.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

/// Where a run puts its latest snapshot, for readers in the same process (the `Visual` sink). Nothing
/// is built until a reader asks for it ([`Board::watch`]), so an unwatched run does no extra work.
#[derive(Debug, Default)]
pub struct Board {
    watched: AtomicBool,
    latest: Mutex<Option<Arc<Snapshot>>>,
}

impl Board {
    /// Asks the run to build snapshots.
    pub fn watch(&self) {
        self.watched.store(true, Ordering::Relaxed);
    }

    /// Whether somebody asked for snapshots.
    pub fn is_watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }

    /// Puts a new snapshot up.
    pub fn put(&self, s: Arc<Snapshot>) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(s);
    }

    /// The latest snapshot, if any.
    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
