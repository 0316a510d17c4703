//! Latency recording. Every engine thread owns one HDR histogram per series it records (time a datapoint
//! waited in a ring, time a tube spent on it, end-to-end time at a sink). Recording is a plain array
//! update: no lock, no allocation, no shared cache line. Off the hot path, each thread adds its histograms
//! into shared per-series accumulators and resets them: when the main thread starts a new reporting
//! interval, and when the thread ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use hdrhistogram::Histogram;

/// Largest recorded value (60 s in ns); larger values are recorded as this.
pub const MAX_NS: u64 = 60_000_000_000;

/// An empty histogram: 1 ns to 60 s, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_NS, 3).expect("valid histogram bounds")
}

/// Adds `from` into `into` and empties `from`. When `into` is empty the two are swapped: a histogram
/// holds some 27,000 buckets, and adding one walks them all while a swap moves three pointers.
pub fn move_into(into: &mut Histogram<u64>, from: &mut Histogram<u64>) {
    if from.is_empty() {
        return;
    }
    if into.is_empty() {
        std::mem::swap(into, from);
    } else {
        into.add(&*from).expect("same bounds");
        from.reset();
    }
}

/// What a series measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesKind {
    /// Time a datapoint waited in a ring, from push to pop.
    Queue,
    /// Time a tube spent on the datapoints of one sequence number.
    Service,
    /// Time from a datapoint's ingest to the sink writing the row it caused.
    EndToEnd,
}

/// One recorded series.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// What it measures.
    pub kind: SeriesKind,
    /// The ring (`btc→sequencer`), tube (`btc_vol_sum`) or sink (`sink`).
    pub name: String,
}

impl Series {
    /// A tag for HDR logs: no spaces or commas (`queue:btc->sequencer`, `service:btc_vol_sum`, `e2e:sink`).
    pub fn tag(&self) -> String {
        let kind = match self.kind {
            SeriesKind::Queue => "queue",
            SeriesKind::Service => "service",
            SeriesKind::EndToEnd => "e2e",
        };
        let name: String = self
            .name
            .replace('→', "->")
            .chars()
            .map(|c| if c == ' ' || c == ',' { '_' } else { c })
            .collect();
        format!("{kind}:{name}")
    }

    /// A label for tables (`ring btc→sequencer`, `tube btc_vol_sum`, `sink sink (end-to-end)`).
    pub fn label(&self) -> String {
        match self.kind {
            SeriesKind::Queue => format!("ring {}", self.name),
            SeriesKind::Service => format!("tube {}", self.name),
            SeriesKind::EndToEnd => format!("sink {} (end-to-end)", self.name),
        }
    }
}

/// Every series of a run, with the accumulators threads flush into.
pub struct Shared {
    /// The series, in table order.
    pub series: Vec<Series>,
    slots: Vec<Mutex<Histogram<u64>>>,
    epoch: AtomicU64,
}

impl Shared {
    /// Accumulators for `series`.
    pub fn new(series: Vec<Series>) -> Arc<Shared> {
        let slots = series.iter().map(|_| Mutex::new(histogram())).collect();
        Arc::new(Shared {
            series,
            slots,
            epoch: AtomicU64::new(0),
        })
    }

    /// Asks every thread to flush what it recorded (each does so at its next look, within about 1 ms).
    pub fn new_interval(&self) {
        self.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Moves what has been flushed so far into `into` (one histogram per series) and empties the accumulators.
    pub fn take(&self, into: &mut [Histogram<u64>]) {
        for (slot, out) in self.slots.iter().zip(into) {
            let mut h = slot.lock().unwrap_or_else(|e| e.into_inner());
            move_into(out, &mut h);
        }
    }
}

/// A thread's recorder for a contiguous range of series.
pub struct Recorder {
    on: bool,
    first: usize,
    hists: Vec<Histogram<u64>>,
    shared: Arc<Shared>,
    epoch: u64,
}

impl Recorder {
    /// A recorder for series `first..first + count` of `shared`; records nothing when `on` is false.
    pub fn new(shared: &Arc<Shared>, first: usize, count: usize, on: bool) -> Self {
        Recorder {
            on,
            first,
            hists: (0..if on { count } else { 0 })
                .map(|_| histogram())
                .collect(),
            shared: shared.clone(),
            epoch: 0,
        }
    }

    /// A recorder that records nothing, until replaced by [`Recorder::new`].
    pub fn off(shared: &Arc<Shared>) -> Self {
        Recorder::new(shared, 0, 0, false)
    }

    /// Whether recording is on (when off, callers skip reading the clock too).
    #[inline]
    pub fn on(&self) -> bool {
        self.on
    }

    /// Records `ns` into series `i` (relative to this recorder's first series).
    #[inline]
    pub fn record(&mut self, i: usize, ns: u64) {
        if self.on {
            self.hists[i].saturating_record(ns.clamp(1, MAX_NS));
        }
    }

    /// Flushes if the main thread started a new interval since the last flush. Cheap: one relaxed load.
    #[inline]
    pub fn maybe_flush(&mut self) {
        if self.on && self.shared.epoch.load(Ordering::Relaxed) != self.epoch {
            self.flush();
        }
    }

    /// Adds everything recorded into the shared accumulators and starts afresh.
    pub fn flush(&mut self) {
        self.epoch = self.shared.epoch.load(Ordering::Relaxed);
        for (k, h) in self.hists.iter_mut().enumerate() {
            if h.is_empty() {
                continue;
            }
            let mut slot = self.shared.slots[self.first + k]
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            move_into(&mut slot, h);
        }
    }
}
