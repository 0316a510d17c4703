//! The sequencer: merges every generator and tick source into one stream and numbers it (DESIGN §4).
//!
//! Batch: by event time; ties go to the generator declared first; a tick at time T comes before data at T.
//! Stream: by arrival (ingest time) among what has arrived; ticks on the wall clock.
//!
//! Under `placement: inline` it also runs the run's one stage itself, each datapoint as it is numbered.

use std::sync::Arc;

use super::stage::Stage;
use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::ring::{Progress, ENDED};
use crate::base::time::{monotonic_ns, wall_ns};
use crate::base::{notify_all, Ctx, Inlet, Outlet, RunError};
use crate::events::tick::TickSchedule;
use crate::metrics::Recorder;

/// The sequencer, ready to run.
pub struct Sequencer {
    /// One per generator, in declaration order.
    pub(super) inlets: Vec<Inlet>,
    pub(super) ticks: Vec<TickSchedule>,
    pub(super) outlets: Vec<Outlet>,
    /// By source tube id: the outlets its datapoints go to.
    pub(super) routes: Vec<Vec<u16>>,
    pub(super) progress: Arc<Progress>,
    pub(super) batch: bool,
    pub(super) seq: u64,
    /// Scratch: which generators had nothing at the last look.
    pub(super) waiting: Vec<bool>,
    /// Queue wait of each generator's ring (series k = generator k).
    pub(super) rec: Recorder,
    /// The journal writer's ring, when the run is recorded: every numbered datapoint is copied into it.
    pub(super) journal: Option<Outlet>,
    /// Under `placement: inline`, the one stage, run on this thread as each datapoint is numbered.
    pub(super) inline: Option<Stage>,
}

impl Sequencer {
    fn emit(&mut self, mut dp: Datapoint, now: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        self.seq += 1;
        dp.seq = self.seq;
        for &o in &self.routes[dp.source as usize] {
            self.outlets[o as usize].push(dp, now, ctx)?;
        }
        if let Some(j) = &mut self.journal {
            j.push(dp, now, ctx)?;
        }
        if let Some(stage) = &mut self.inline {
            stage.step(&dp, now, ctx)?;
            stage.rec.maybe_flush();
        }
        self.progress.publish(self.seq);
        // Under `inline` nothing downstream waits for a ring: no fence to pay per datapoint.
        if !self.outlets.is_empty() || self.journal.is_some() {
            notify_all(
                self.outlets
                    .iter()
                    .chain(self.journal.as_ref())
                    .map(|o| &o.consumer),
            );
        }
        Ok(())
    }

    /// Emits every tick due at or before `t`, earliest first (ties by declaration order).
    /// A stop request (Ctrl-C) ends the ticks for good: a burst of millions between two rows must not
    /// hold the run.
    #[inline]
    fn ticks_until(&mut self, t: i64, ctx: &mut Ctx) -> Result<(), RunError> {
        if self.ticks.is_empty() {
            return Ok(());
        }
        for n in 0u32.. {
            if n.is_multiple_of(1024) && ctx.stop_requested() {
                self.ticks.clear();
            }
            let due = self
                .ticks
                .iter()
                .enumerate()
                .filter_map(|(k, s)| s.peek().filter(|&n| n <= t).map(|n| (n, k)))
                .min();
            let Some((time, k)) = due else { return Ok(()) };
            self.ticks[k].advance();
            let id = self.ticks[k].id;
            let now = monotonic_ns();
            self.emit(Datapoint::new(Kind::Tick, id, time, now), now, ctx)?;
        }
        Ok(())
    }

    /// Waits until a generator that had nothing (`waiting[g]`) delivers or ends.
    fn idle(&mut self, ctx: &mut Ctx) {
        self.rec.maybe_flush();
        if let Some(stage) = &mut self.inline {
            stage.on_idle(ctx);
        }
        notify_all(self.inlets.iter().map(|i| &i.producer));
        let (inlets, waiting, stop) = (&mut self.inlets, &self.waiting, &ctx.shutdown);
        ctx.waiter.wait(&ctx.wake, || {
            stop.load(std::sync::atomic::Ordering::Relaxed)
                || inlets
                    .iter_mut()
                    .zip(waiting)
                    .any(|(i, &w)| w && (i.progress.load() == ENDED || !i.ring.is_empty()))
        });
    }

    /// Runs until every generator has ended; returns how many datapoints it numbered and, under
    /// `placement: inline`, the rows each of its stage's sinks wrote.
    pub fn run(&mut self, ctx: &mut Ctx) -> Result<(u64, Vec<(TubeId, u64)>), RunError> {
        let mut popped = 0u32;
        loop {
            if ctx.stopped() {
                return Err(RunError::Stopped);
            }
            let mut best: Option<(i64, usize)> = None;
            let mut missing = false;
            let mut live = false;
            for (g, inlet) in self.inlets.iter_mut().enumerate() {
                let ended = inlet.progress.load() == ENDED;
                self.waiting[g] = false;
                let batch = self.batch;
                let key = inlet.ring.peek_with(|d| {
                    if batch {
                        d.event_time
                    } else {
                        d.ingest_time as i64
                    }
                });
                match key {
                    Some(key) => {
                        live = true;
                        if best.is_none_or(|(t, _)| key < t) {
                            best = Some((key, g));
                        }
                    }
                    None if ended => {}
                    None => {
                        missing = true;
                        live = true;
                        self.waiting[g] = true;
                    }
                }
            }
            if !live {
                break;
            }
            if !self.batch {
                self.ticks_until(wall_ns(), ctx)?;
            }
            // Batch needs every live generator's next row to know which is oldest.
            let Some((key, g)) = best.filter(|_| !(self.batch && missing)) else {
                self.idle(ctx);
                continue;
            };
            ctx.waiter.reset();
            if self.batch {
                self.ticks_until(key, ctx)?;
            }
            let dp = self.inlets[g].ring.pop().expect("peeked above");
            let now = if self.rec.on() { monotonic_ns() } else { 0 };
            self.rec
                .record(g, now.saturating_sub(dp.ingest_time + u64::from(dp.hop_ns)));
            self.emit(dp, now, ctx)?;
            self.rec.maybe_flush();
            popped += 1;
            if popped.is_multiple_of(64) {
                notify_all(self.inlets.iter().map(|i| &i.producer));
            }
        }
        self.rec.flush();
        let rows = match &mut self.inline {
            Some(stage) => stage.end_input(ctx)?,
            None => Vec::new(),
        };
        self.progress.end();
        notify_all(
            self.outlets
                .iter()
                .chain(self.journal.as_ref())
                .map(|o| &o.consumer),
        );
        Ok((self.seq, rows))
    }
}
