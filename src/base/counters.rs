//! What a generator counts while it runs, shared with the thread that reports progress and the summary.

use std::sync::atomic::AtomicU64;

/// Live counters of a generator, read by the progress bar and the summary.
#[derive(Default, Debug)]
pub struct GenCounters {
    /// Rows emitted.
    pub rows: AtomicU64,
    /// Malformed rows skipped (`on_error: skip`).
    pub skipped: AtomicU64,
    /// Rows outside the Batch range.
    pub outside: AtomicU64,
    /// Bytes of the file processed so far.
    pub bytes_done: AtomicU64,
    /// Largest delay between a datapoint's intended and actual send time (paced sources).
    pub max_lag_ns: AtomicU64,
    /// Rows left unread because the run was stopped early.
    pub unread: AtomicU64,
    /// Live feeds: times the connection was re-established.
    pub reconnects: AtomicU64,
    /// Live feeds: jumps in trade ids.
    pub gaps: AtomicU64,
    /// Live feeds: trades missing in those jumps.
    pub missed: AtomicU64,
    /// Live feeds: trades seen again after a reconnect and dropped.
    pub duplicates: AtomicU64,
    /// Live feeds: frames that could not be read (on every generator of the connection).
    pub malformed: AtomicU64,
    /// Message queues: trades of markets no generator of the topic or stream reads, passed over (on
    /// every generator reading it).
    pub foreign: AtomicU64,
    /// Message queues: where the first malformed messages are in their log (`partition 0 offset 17`).
    pub named: std::sync::Mutex<Vec<String>>,
    /// Live feeds: the last connection error, for the summary.
    pub last_error: std::sync::Mutex<Option<String>>,
}
