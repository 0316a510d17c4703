//! What a generator counts while it runs, shared with the thread that reports progress and the summary.

use std::sync::atomic::{AtomicU64, Ordering};

use super::datapoint::{Datapoint, Kind, TubeId};

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
    /// Largest delay between a datapoint's intended and actual send time (paced sources, and the mock
    /// exchange's frames on a WebSocket connection with `mock_stamps`).
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
    /// Live feeds: the last status sent, for the live view, in one word so that a reader never pairs
    /// one status with another's count: its code in the low byte, its reason in the next, its count
    /// (reconnects for up, trades for a gap) above (0 before the first).
    pub status: AtomicU64,
}

impl GenCounters {
    /// Remembers a status datapoint this generator sent, for the live view.
    pub fn note_status(&self, dp: &Datapoint) {
        let (code, n, reason) = (
            dp.values[0] as u64,
            dp.values[1] as u64,
            dp.values[2] as u64,
        );
        let n = n.min((1 << 48) - 1);
        self.status.store(
            code & 0xff | (reason & 0xff) << 8 | n << 16,
            Ordering::Relaxed,
        );
    }

    /// The last status this generator sent (as generator `origin`), if any.
    pub fn last_status(&self, origin: TubeId) -> Option<Datapoint> {
        let packed = self.status.load(Ordering::Relaxed);
        let (code, reason, n) = (packed & 0xff, packed >> 8 & 0xff, packed >> 16);
        (code != 0).then(|| {
            let mut dp = Datapoint::new(Kind::Status, origin, 0, 0);
            dp.len = 4;
            dp.values[..4].copy_from_slice(&[
                code as f64,
                n as f64,
                reason as f64,
                f64::from(origin),
            ]);
            dp
        })
    }
}
