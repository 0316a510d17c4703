//! The ends of an edge between two engine threads: a ring, the other side's doorbell and progress, and
//! what every engine thread carries ([`Ctx`]).

use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;

use super::datapoint::Datapoint;
use super::error::RunError;
use super::ring::{Consumer, Producer, Progress};
use super::wait::{Waiter, Wake};

/// What every engine thread carries: its doorbell, its way of waiting, and the stop flag.
pub struct Ctx {
    /// This thread's doorbell.
    pub wake: Arc<Wake>,
    /// How it waits.
    pub waiter: Waiter,
    /// Set when any thread fails: everyone stops.
    pub shutdown: Arc<AtomicBool>,
    /// Set to end the run early but cleanly (a signal): generators stop, the rest drains and flushes.
    pub stop: Arc<AtomicBool>,
}

impl Ctx {
    /// Whether generators should stop reading (the run then ends normally).
    #[inline]
    pub fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Whether the run is being stopped.
    pub fn stopped(&self) -> bool {
        self.shutdown.load(Ordering::Relaxed)
    }

    /// The context of a thread that is joined to no other by a ring (a sweep's worker), stopped by
    /// `stop`.
    pub fn detached(stop: Arc<AtomicBool>) -> Ctx {
        Ctx {
            wake: Arc::new(Wake::default()),
            waiter: Waiter::new(super::wait::WaitStrategy::Park),
            shutdown: Arc::new(AtomicBool::new(false)),
            stop,
        }
    }
}

/// Where a source's loop puts its datapoints: a ring to the sequencer ([`Outlet`]), or memory (a sweep
/// reads each input once, then runs every combination over it).
pub trait Push {
    /// Takes one datapoint; `now` as in [`Outlet::push`].
    fn push(&mut self, dp: Datapoint, now: u64, ctx: &mut Ctx) -> Result<(), RunError>;
    /// Wakes whoever takes the datapoints, if anyone waits.
    fn notify(&self) {}
    /// Told that about `n` datapoints are coming (an upper bound), before the first.
    fn expect(&mut self, _n: usize) {}
    /// Whether datapoints taken here carry ingest times, from which latency is measured (a sweep's
    /// inputs do not: see `Points`).
    const INGEST_TIMES: bool = true;
    /// The ingest time of a datapoint read now: the engine's clock ([`monotonic_ns`]), or 0 where
    /// datapoints carry none (then the clock is not read).
    ///
    /// [`monotonic_ns`]: super::time::monotonic_ns
    #[inline]
    fn ingest_now(&self) -> u64 {
        if Self::INGEST_TIMES {
            super::time::monotonic_ns()
        } else {
            0
        }
    }
}

impl Push for Outlet {
    #[inline]
    fn push(&mut self, dp: Datapoint, now: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        Outlet::push(self, dp, now, ctx)
    }

    fn notify(&self) {
        Outlet::notify(self)
    }
}

impl Push for Vec<Datapoint> {
    /// Reserves room for them all at once: growing a vector of millions of datapoints step by step
    /// copies them and touches twice the memory. In small pages: asking for huge ones
    /// (`MADV_HUGEPAGE`) saved about 10 ms of page faults in the shipped sweep, but with the kernel's
    /// usual `defrag` setting it also let a fault wait for memory to be compacted, and a quarter of
    /// runs stalled for 0.2 to 0.3 s.
    fn expect(&mut self, n: usize) {
        self.reserve_exact(n);
    }

    #[inline]
    fn push(&mut self, dp: Datapoint, _: u64, _: &mut Ctx) -> Result<(), RunError> {
        Vec::push(self, dp);
        Ok(())
    }
}

/// The producing end of an edge: a ring and the consumer's doorbell.
pub struct Outlet {
    /// The ring.
    pub ring: Producer<Datapoint>,
    /// The consumer's doorbell.
    pub consumer: Arc<Wake>,
    /// `Some` under `backpressure: drop_newest`: the count of datapoints dropped because the ring was full.
    pub drops: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl Outlet {
    /// Pushes, blocking while the ring is full (lossless backpressure), or, under `drop_newest`, dropping the
    /// datapoint and counting it. `now` (monotonic ns, 0 when latency recording is off) stamps when it entered
    /// the ring.
    pub fn push(&mut self, dp: Datapoint, now: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        let mut dp = dp;
        dp.hop_ns = now.saturating_sub(dp.ingest_time).min(u32::MAX as u64) as u32;
        loop {
            match self.ring.push(dp) {
                Ok(()) => return Ok(()),
                Err(back) => {
                    if let Some(drops) = &self.drops {
                        drops.fetch_add(1, Ordering::Relaxed);
                        self.consumer.notify();
                        return Ok(());
                    }
                    dp = back;
                    self.consumer.notify();
                    if ctx.stopped() {
                        return Err(RunError::Stopped);
                    }
                    let (ring, stop) = (&mut self.ring, &ctx.shutdown);
                    ctx.waiter.wait(&ctx.wake, || {
                        ring.has_space() || stop.load(Ordering::Relaxed)
                    });
                }
            }
        }
    }
}

impl Outlet {
    /// Wakes the consumer if it sleeps: call after pushes it should see without delay.
    pub fn notify(&self) {
        self.consumer.notify();
    }
}

/// The consuming end of an edge: a ring, its producer's progress and doorbell.
pub struct Inlet {
    /// The ring.
    pub ring: Consumer<Datapoint>,
    /// What the producer has finished.
    pub progress: Arc<Progress>,
    /// The producer's doorbell.
    pub producer: Arc<Wake>,
}

/// Wakes every consumer of `outlets` that sleeps, with one fence for all of them.
pub fn notify_all<'a>(wakes: impl Iterator<Item = &'a Arc<Wake>>) {
    fence(Ordering::SeqCst);
    for w in wakes {
        w.notify();
    }
}
