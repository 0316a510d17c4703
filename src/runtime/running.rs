//! A started run: its threads, waited for and joined into a [`Report`].

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::live::{latency_stats, Watched};
use super::report::{FeedReport, GenReport, Observer, OnProgress, Progressing, Report};
use crate::base::datapoint::TubeId;
use crate::base::{GenCounters, RunError, SinkError};
use crate::metrics::{histogram, move_into, Series, Shared};
use crate::plugin::Commit;

/// What a thread returned.
pub(super) enum Done {
    Generator,
    Journal(u64),
    /// Datapoints numbered; under `placement: inline`, also what its stage's sinks and throughs did.
    Sequencer(u64, Vec<(TubeId, u64)>, Vec<(TubeId, String)>),
    /// Rows per sink, and what keyed and windowed throughs counted.
    Stage(Vec<(TubeId, u64)>, Vec<(TubeId, String)>),
}

/// What the threads returned.
#[derive(Default)]
struct Ended {
    at: Option<Instant>,
    datapoints: u64,
    journal: Option<u64>,
    sinks: Vec<(TubeId, u64)>,
    notes: Vec<(TubeId, String)>,
}

/// A generator's counters as reported.
fn gen_report(label: &str, c: &GenCounters, feed: Option<&str>) -> GenReport {
    GenReport {
        label: label.to_string(),
        rows: c.rows.load(Ordering::Relaxed),
        skipped: c.skipped.load(Ordering::Relaxed),
        outside: c.outside.load(Ordering::Relaxed),
        max_lag_ns: c.max_lag_ns.load(Ordering::Relaxed),
        unread: c.unread.load(Ordering::Relaxed),
        named: c.named.lock().map(|n| n.clone()).unwrap_or_default(),
        duplicates: c.duplicates.load(Ordering::Relaxed),
        passed: c.foreign.load(Ordering::Relaxed),
        feed: feed.map(|name| FeedReport {
            name: name.to_string(),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            gaps: c.gaps.load(Ordering::Relaxed),
            missed: c.missed.load(Ordering::Relaxed),
            duplicates: c.duplicates.load(Ordering::Relaxed),
            malformed: c.malformed.load(Ordering::Relaxed),
            foreign: c.foreign.load(Ordering::Relaxed),
            last_error: c.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        }),
    }
}

/// A spawned thread: what it returned and when it ended.
pub(super) type Handle = JoinHandle<(Result<Done, RunError>, Instant)>;

/// Spawned threads waiting for the start signal.
pub struct Running {
    pub(super) handles: Vec<Handle>,
    pub(super) start: Arc<Barrier>,
    pub(super) finished: Arc<AtomicUsize>,
    pub(super) labels: Vec<String>,
    pub(super) counters: Vec<(String, Arc<GenCounters>, Option<String>)>,
    pub(super) bytes_total: u64,
    pub(super) placement: String,
    pub(super) metrics: Arc<Shared>,
    pub(super) drops: Vec<(String, Arc<AtomicU64>)>,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) staged: Vec<Box<dyn Commit>>,
    pub(super) live: Watched,
}

/// Time the waiting thread gives engine threads to flush their histograms after a new interval starts
/// (an idle thread looks at least every millisecond).
const FLUSH_GRACE: Duration = Duration::from_millis(5);

/// How often the live view's latency figures are sampled.
const LIVE_SAMPLE: Duration = Duration::from_secs(1);

impl Running {
    /// Starts the run and waits for its end, calling `on_progress` about every 200 ms meanwhile.
    /// Call it from the thread that called [`Engine::start`]: finishing threads wake that thread.
    pub fn finish(self, on_progress: impl FnMut(Progressing)) -> Result<Report, RunError> {
        self.finish_observed(&mut OnProgress(on_progress))
    }

    /// Starts the run and waits for its end, reporting progress and latency intervals to `obs`.
    pub fn finish_observed(mut self, obs: &mut dyn Observer) -> Result<Report, RunError> {
        let series = self.metrics.series.clone();
        let mut totals: Vec<Histogram<u64>> = series.iter().map(|_| histogram()).collect();
        self.start.wait();
        let t0 = Instant::now();
        self.watch(obs, &mut totals, t0);
        let ended = self.join()?;
        // A clean end: what this run wrote becomes the outputs.
        for s in &self.staged {
            s.commit().map_err(|e| SinkError::new(s.target(), e))?;
        }
        Ok(self.report(ended, series, totals, t0))
    }

    /// Until every thread has finished: progress about every 200 ms and, when `obs` asks, latency
    /// intervals; then the last interval (every thread flushed when it ended). While somebody watches
    /// (`obs` or the board), a live snapshot every 200 ms, with latency sampled every second.
    fn watch(&mut self, obs: &mut dyn Observer, totals: &mut [Histogram<u64>], t0: Instant) {
        let live = obs.wants_live() || self.live.board.is_watched();
        // Made on first use: a run that nobody watches and that reports no intervals needs neither.
        let (mut sample, mut pending) = (Vec::new(), Vec::new());
        let period = obs.interval().filter(|_| !totals.is_empty());
        // Latency is sampled for the live view every second, and at the end of each of `obs`'s
        // intervals, whichever comes first.
        let every = (live && !totals.is_empty()).then_some(LIVE_SAMPLE);
        let tick = Duration::from_millis(200);
        let (mut last_progress, mut interval_start, mut sample_start) = (t0, t0, t0);
        while self.finished.load(Ordering::SeqCst) < self.handles.len() {
            let mut wait = tick.saturating_sub(last_progress.elapsed());
            if let Some(e) = every {
                wait = wait.min(e.saturating_sub(sample_start.elapsed()));
            }
            if let Some(p) = period {
                wait = wait.min(p.saturating_sub(interval_start.elapsed()));
            }
            std::thread::park_timeout(wait.max(Duration::from_millis(1)));
            let sample_due = every.is_some_and(|e| sample_start.elapsed() >= e);
            if sample_due || period.is_some_and(|p| interval_start.elapsed() >= p) {
                self.metrics.new_interval();
                std::thread::sleep(FLUSH_GRACE);
                sample_start = Instant::now();
                self.take_sample(&mut sample, &mut pending, live);
                if period.is_some_and(|p| interval_start.elapsed() >= p) {
                    let (start, length) = (interval_start - t0, sample_start - interval_start);
                    report_interval(
                        obs,
                        &self.metrics.series,
                        &mut pending,
                        totals,
                        start,
                        length,
                    );
                    interval_start = sample_start;
                }
            }
            if last_progress.elapsed() >= tick {
                last_progress = Instant::now();
                obs.progress(self.progressing());
                if live {
                    self.publish(obs, t0, false);
                }
            }
        }
        self.take_sample(&mut sample, &mut pending, live);
        let now = Instant::now();
        let (start, length) = (interval_start - t0, now - interval_start);
        report_interval(
            obs,
            &self.metrics.series,
            &mut pending,
            totals,
            start,
            length,
        );
        if live {
            self.publish(obs, t0, true);
        }
    }

    /// Moves what the threads flushed into `pending`, keeping its figures for the live view.
    fn take_sample(
        &mut self,
        sample: &mut Vec<Histogram<u64>>,
        pending: &mut Vec<Histogram<u64>>,
        live: bool,
    ) {
        let series = self.metrics.series.len();
        let fill = |v: &mut Vec<Histogram<u64>>| {
            if v.is_empty() {
                v.extend((0..series).map(|_| histogram()));
            }
        };
        fill(pending);
        if !live {
            self.metrics.take(pending);
            return;
        }
        fill(sample);
        self.metrics.take(sample);
        self.live.latency = latency_stats(&self.metrics.series, sample);
        for (p, s) in pending.iter_mut().zip(sample.iter_mut()) {
            move_into(p, s);
        }
    }

    /// A live snapshot onto the board and to `obs`.
    fn publish(&mut self, obs: &mut dyn Observer, t0: Instant, ended: bool) {
        let s = Arc::new(self.live.snapshot(
            &self.counters,
            &self.drops,
            &self.placement,
            t0.elapsed(),
            ended,
        ));
        self.live.board.put(s.clone());
        obs.snapshot(&s);
    }

    fn progressing(&self) -> Progressing {
        Progressing {
            bytes_done: self
                .counters
                .iter()
                .map(|(_, c, _)| c.bytes_done.load(Ordering::Relaxed))
                .sum(),
            bytes_total: self.bytes_total,
            rows: self
                .counters
                .iter()
                .map(|(_, c, _)| c.rows.load(Ordering::Relaxed))
                .sum(),
        }
    }

    /// Joins every thread; the first real error wins.
    fn join(&mut self) -> Result<Ended, RunError> {
        let mut first_error = None;
        let mut ended = Ended::default();
        for h in self.handles.drain(..) {
            let thread = h.thread().clone();
            match h.join() {
                Ok((r, at)) => {
                    ended.at = Some(ended.at.map_or(at, |e: Instant| e.max(at)));
                    match r {
                        Ok(Done::Generator) => {}
                        Ok(Done::Journal(n)) => ended.journal = Some(n),
                        Ok(Done::Sequencer(n, rows, notes)) => {
                            ended.datapoints = n;
                            ended.sinks.extend(rows);
                            ended.notes.extend(notes);
                        }
                        Ok(Done::Stage(rows, notes)) => {
                            ended.sinks.extend(rows);
                            ended.notes.extend(notes);
                        }
                        Err(RunError::Stopped) => {}
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Err(_) => {
                    first_error.get_or_insert(RunError::Thread(format!(
                        "{} panicked",
                        thread.name().unwrap_or("?")
                    )));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(ended),
        }
    }

    fn report(
        self,
        mut ended: Ended,
        series: Vec<Series>,
        latency: Vec<Histogram<u64>>,
        t0: Instant,
    ) -> Report {
        ended.sinks.sort_by_key(|&(id, _)| id);
        ended.notes.sort_by_key(|(id, _)| *id);
        let generators = self
            .counters
            .iter()
            .map(|(label, c, feed)| gen_report(label, c, feed.as_deref()))
            .collect();
        Report {
            datapoints: ended.datapoints,
            rows: ended.sinks.iter().map(|&(_, r)| r).sum(),
            wall: ended.at.unwrap_or(t0) - t0,
            generators,
            sinks: ended
                .sinks
                .into_iter()
                .map(|(id, r)| (self.labels[id as usize].clone(), r))
                .collect(),
            placement: self.placement,
            series,
            latency,
            drops: self
                .drops
                .iter()
                .map(|(n, c)| (n.clone(), c.load(Ordering::Relaxed)))
                .collect(),
            interrupted: self.stop.load(Ordering::Relaxed),
            journal: ended.journal,
            throughs: ended
                .notes
                .into_iter()
                .map(|(id, n)| (self.labels[id as usize].clone(), n))
                .collect(),
        }
    }
}

/// Hands `obs` the interval in `pending` and adds it to the run's totals.
fn report_interval(
    obs: &mut dyn Observer,
    series: &[Series],
    pending: &mut [Histogram<u64>],
    totals: &mut [Histogram<u64>],
    start: Duration,
    length: Duration,
) {
    if pending.iter().all(Histogram::is_empty) {
        return;
    }
    obs.latency(start, length, series, pending);
    for (t, p) in totals.iter_mut().zip(pending.iter_mut()) {
        move_into(t, p);
    }
}
