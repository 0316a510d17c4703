//! A stage: one thread running a fused group of tubes, one sequence number at a time.

use std::sync::Arc;

use super::sink::Sink;
use crate::base::datapoint::Kind;
use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::ring::{Progress, ENDED};
use crate::base::time::monotonic_ns;
use crate::base::{notify_all, Ctx, Inlet, Outlet, RunError};
use crate::metrics::Recorder;
use crate::throughs::Through;

/// The sequence number of what the end of the input makes tubes emit (windows still open): after
/// every input's, before [`ENDED`].
pub const END_SEQ: u64 = ENDED - 1;

/// A tube run by a stage.
pub enum Tube {
    /// A reducer.
    Through(Through),
    /// An output.
    Sink(Sink),
}

/// Delivery of a source's datapoints to a port of a local tube.
#[derive(Clone, Copy)]
pub struct Route {
    /// Index of the tube in the stage.
    pub local: u16,
    /// Its input port.
    pub port: u8,
    /// The port takes only events and ticks (a `Consume`), not plain data.
    pub events_only: bool,
}

/// By source tube id, where its datapoints go in a stage: one flat table, so a delivery reads one
/// slice.
pub struct Routes {
    /// By source tube id: the range of `all` holding its routes.
    at: Vec<(u32, u32)>,
    all: Vec<Route>,
}

impl From<Vec<Vec<Route>>> for Routes {
    fn from(by_source: Vec<Vec<Route>>) -> Self {
        let mut at = Vec::with_capacity(by_source.len());
        let mut all = Vec::new();
        for rs in by_source {
            let start = all.len() as u32;
            all.extend(rs);
            at.push((start, all.len() as u32));
        }
        Routes { at, all }
    }
}

impl Routes {
    /// The routes of source `src`.
    #[inline]
    pub(super) fn of(&self, src: TubeId) -> &[Route] {
        let (a, b) = self.at[src as usize];
        &self.all[a as usize..b as usize]
    }
}

/// A tube with its inbox for the current sequence number.
pub struct Local {
    /// Tube id (for the report).
    pub id: TubeId,
    /// The tube.
    pub tube: Tube,
    /// (port, index in the stage's `scratch`) of each datapoint received for the current sequence
    /// number; capacity reserved at build time.
    pub inbox: Vec<(u8, u32)>,
}

/// A stage, ready to run.
pub struct Stage {
    pub(super) inlets: Vec<Inlet>,
    pub(super) outlets: Vec<Outlet>,
    pub(super) tubes: Vec<Local>,
    /// By source tube id: where its datapoints go in this stage.
    pub(super) routes: Routes,
    /// By local tube: whether its inbox holds anything (one compact array, scanned per number).
    pub(super) filled: Vec<bool>,
    /// By source tube id: (outlet, whether plain data goes too, not only events).
    pub(super) out_routes: Vec<Vec<(u16, bool)>>,
    pub(super) progress: Arc<Progress>,
    pub(super) published: u64,
    /// Every datapoint of the current sequence number, received or emitted; inboxes index it. Cleared
    /// after each number; capacity reserved at build time.
    pub(super) scratch: Vec<Datapoint>,
    /// What a through emits for one input, before it joins `scratch`; capacity reserved at build time.
    pub(super) emitted: Vec<Datapoint>,
    /// Series: each inlet's queue wait, then each tube's service time, then each sink's end-to-end time.
    pub(super) rec: Recorder,
    /// By local tube: its end-to-end series, for sinks.
    pub(super) e2e: Vec<Option<usize>>,
}

/// Sorts an inbox by event time, then port, keeping arrival order within both (insertion sort:
/// inboxes are tiny). Everything one sequence number brings has its cause's time, except rows of
/// windows, which carry their window's end: windows of different lengths closing together reach a
/// tube in time order.
fn sort_inbox(inbox: &mut [(u8, u32)], scratch: &[Datapoint]) {
    let key = |e: &(u8, u32)| (scratch[e.1 as usize].event_time, e.0);
    for i in 1..inbox.len() {
        let mut j = i;
        while j > 0 && key(&inbox[j - 1]) > key(&inbox[j]) {
            inbox.swap(j - 1, j);
            j -= 1;
        }
    }
}

impl Stage {
    /// Hands the datapoint at `scratch[i]` to the local tubes that take it.
    #[inline]
    fn deliver_at(&mut self, i: u32) {
        let dp = &self.scratch[i as usize];
        let event = dp.kind.is_event();
        for r in self.routes.of(dp.source) {
            if r.events_only && !event {
                continue;
            }
            self.tubes[r.local as usize].inbox.push((r.port, i));
            self.filled[r.local as usize] = true;
        }
    }

    /// Takes a datapoint from an inlet (or a numbered stream) for the current sequence number.
    #[inline]
    fn deliver(&mut self, dp: &Datapoint) {
        self.scratch.push(*dp);
        self.deliver_at(self.scratch.len() as u32 - 1);
    }

    /// Sends the datapoint at `scratch[i]`, which a local tube emitted, on to local tubes and outlets.
    fn emit(&mut self, i: u32, now: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        self.deliver_at(i);
        let dp = &self.scratch[i as usize];
        for &(o, data_too) in &self.out_routes[dp.source as usize] {
            if !dp.kind.is_event() && !data_too {
                continue;
            }
            self.outlets[o as usize].push(*dp, now, ctx)?;
        }
        Ok(())
    }

    #[inline]
    fn now(&self) -> u64 {
        if self.rec.on() {
            monotonic_ns()
        } else {
            0
        }
    }

    /// Runs local tube `t` on its inbox, which it then empties; returns whether it wrote a row (a
    /// sink) and the arena index of its first input. What it emits is appended to `scratch`.
    #[inline]
    fn run_tube(&mut self, t: usize) -> Result<(bool, u32), RunError> {
        let Local { tube, inbox, .. } = &mut self.tubes[t];
        let (scratch, emitted) = (&mut self.scratch, &mut self.emitted);
        if inbox.len() > 1 {
            sort_inbox(inbox, scratch);
        }
        let first = inbox[0].1;
        let wrote = match tube {
            Tube::Through(th) => {
                for &(port, i) in inbox.iter() {
                    th.on_input(port, &scratch[i as usize], emitted);
                    scratch.append(emitted);
                }
                false
            }
            Tube::Sink(s) => {
                s.take_seq((inbox.iter()).map(|&(p, i)| (p, &scratch[i as usize], &[][..])))?
            }
        };
        inbox.clear();
        Ok((wrote, first))
    }

    /// Runs every tube that received something for the current sequence number, in topological order,
    /// then forgets the number's datapoints. `t0` is when the stage took the sequence number up (0 when
    /// latency recording is off).
    fn run_seq(&mut self, t0: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        let services = self.inlets.len();
        let mut t_prev = t0;
        for t in 0..self.tubes.len() {
            if !self.filled[t] {
                continue;
            }
            self.filled[t] = false;
            let emitted = self.scratch.len() as u32;
            let (wrote, first) = self.run_tube(t)?;
            if let (true, Tube::Sink(s)) = (wrote, &self.tubes[t].tube) {
                if s.gone() {
                    ctx.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            let now = self.now();
            if self.rec.on() {
                self.rec.record(services + t, now.saturating_sub(t_prev));
                if let (true, Some(series)) = (wrote, self.e2e[t]) {
                    let cause = &self.scratch[first as usize];
                    self.rec
                        .record(series, now.saturating_sub(cause.ingest_time));
                }
            }
            t_prev = now;
            for i in emitted..self.scratch.len() as u32 {
                self.emit(i, now, ctx)?;
            }
        }
        self.scratch.clear();
        Ok(())
    }

    /// Runs one datapoint of an already numbered stream through every tube (a stage with no rings: see
    /// [`super::Fused`], and the sequencer under `placement: inline`); `t0` is when it was taken up (0
    /// when latency recording is off).
    #[inline(always)]
    pub(super) fn step(&mut self, dp: &Datapoint, t0: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        // Most datapoints go to one through, which takes them without emitting: run it directly.
        // What it does emit goes on exactly as `run_seq` would send it, to the tubes after it, and its
        // service time is recorded as `run_seq` would record it.
        if let [r] = self.routes.of(dp.source) {
            let (local, port) = (r.local as usize, r.port);
            if !r.events_only || dp.kind.is_event() {
                if let Tube::Through(th) = &mut self.tubes[local].tube {
                    th.on_input(port, dp, &mut self.emitted);
                    let now = self.now();
                    self.rec
                        .record(self.inlets.len() + local, now.saturating_sub(t0));
                    if self.emitted.is_empty() {
                        return Ok(());
                    }
                    return self.after_direct(dp, now, ctx);
                }
            }
        }
        self.step_all(dp, t0, ctx)
    }

    /// [`Self::step`] after its through emitted: sends what it emitted on, then runs the tubes after it.
    #[inline(never)]
    fn after_direct(&mut self, dp: &Datapoint, now: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        self.scratch.push(*dp);
        self.scratch.append(&mut self.emitted);
        for i in 1..self.scratch.len() as u32 {
            self.emit(i, now, ctx)?;
        }
        self.run_seq(now, ctx)
    }

    /// [`Self::step`] for a datapoint that goes to several tubes, to a sink, or only as an event.
    #[inline(never)]
    fn step_all(&mut self, dp: &Datapoint, t0: u64, ctx: &mut Ctx) -> Result<(), RunError> {
        self.deliver(dp);
        self.run_seq(t0, ctx)
    }

    /// The end of the input: every through whose windows are still open emits them (Batch), as one last
    /// sequence number, [`END_SEQ`], run through the tubes after it like any other.
    pub(super) fn end_windows(&mut self, ctx: &mut Ctx) -> Result<(), RunError> {
        let ends: Vec<bool> = (self.tubes.iter())
            .map(|t| matches!(&t.tube, Tube::Through(th) if th.emits_at_end()))
            .collect();
        if !ends.contains(&true) {
            return Ok(());
        }
        let mut cause = Datapoint::new(Kind::Data, 0, 0, self.now());
        cause.seq = END_SEQ;
        for (t, &end) in ends.iter().enumerate() {
            let emitted = self.scratch.len() as u32;
            if std::mem::take(&mut self.filled[t]) {
                self.run_tube(t)?;
            }
            if let (true, Tube::Through(th)) = (end, &mut self.tubes[t].tube) {
                th.finish(&cause, &mut self.emitted);
                self.scratch.append(&mut self.emitted);
            }
            for i in emitted..self.scratch.len() as u32 {
                self.emit(i, 0, ctx)?;
            }
        }
        self.scratch.clear();
        Ok(())
    }

    /// What each keyed or windowed through counted, for the summary.
    pub(super) fn notes(&self) -> Vec<(TubeId, String)> {
        self.through_notes(Through::report)
    }

    /// What the throughs that lost or grew something counted (see [`Through::losses`]).
    pub(super) fn losses(&self) -> Vec<(TubeId, String)> {
        self.through_notes(Through::losses)
    }

    fn through_notes(&self, note: fn(&Through) -> Option<String>) -> Vec<(TubeId, String)> {
        (self.tubes.iter())
            .filter_map(|t| match &t.tube {
                Tube::Through(th) => Some((t.id, note(th)?)),
                Tube::Sink(_) => None,
            })
            .collect()
    }

    /// Flushes every sink; returns the rows each wrote.
    pub(super) fn finish_sinks(&mut self) -> Result<Vec<(TubeId, u64)>, RunError> {
        let mut rows = Vec::new();
        for t in &mut self.tubes {
            if let Tube::Sink(s) = &mut t.tube {
                rows.push((t.id, s.finish()?));
            }
        }
        Ok(rows)
    }

    fn publish(&mut self, seq: u64) {
        if seq > self.published {
            self.published = seq;
            self.progress.publish(seq);
            notify_all(self.outlets.iter().map(|o| &o.consumer));
        }
    }

    /// Nothing to do for now: flushes what the sinks hold (a live run's rows reach their reader), and
    /// asks the run to stop when a sink's reader has gone.
    pub(super) fn on_idle(&mut self, ctx: &mut Ctx) {
        self.rec.maybe_flush();
        for t in &mut self.tubes {
            if let Tube::Sink(s) = &mut t.tube {
                s.flush_idle();
                if s.gone() {
                    ctx.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
        }
    }

    /// The end of the input: closes the windows still open, flushes the sinks and the latency
    /// recorder, and returns the rows each sink wrote.
    pub(super) fn end_input(&mut self, ctx: &mut Ctx) -> Result<Vec<(TubeId, u64)>, RunError> {
        self.end_windows(ctx)?;
        let rows = self.finish_sinks()?;
        self.rec.flush();
        Ok(rows)
    }

    /// Waits until `ready` holds (or a wake-up, or the park timeout), after freeing upstream producers.
    fn idle(&mut self, ctx: &mut Ctx, ready: impl FnOnce(&mut [Inlet]) -> bool) {
        self.on_idle(ctx);
        notify_all(self.inlets.iter().map(|i| &i.producer));
        let (inlets, stop) = (&mut self.inlets, &ctx.shutdown);
        ctx.waiter.wait(&ctx.wake, || {
            stop.load(std::sync::atomic::Ordering::Relaxed) || ready(inlets)
        });
    }

    /// Sum of every input's progress: it changes whenever any input makes progress.
    fn progress_sum(inlets: &[Inlet]) -> u64 {
        inlets
            .iter()
            .fold(0u64, |a, i| a.wrapping_add(i.progress.load()))
    }

    /// Runs until every input has ended; returns the rows each sink wrote.
    pub fn run(&mut self, ctx: &mut Ctx) -> Result<Vec<(TubeId, u64)>, RunError> {
        let mut since_notify = 0u32;
        loop {
            if ctx.stopped() {
                return Err(RunError::Stopped);
            }
            // The lowest sequence number waiting, and how far every input is known to be complete.
            let mut next = u64::MAX;
            let mut complete = u64::MAX;
            let seen = Self::progress_sum(&self.inlets);
            for inlet in &mut self.inlets {
                let p = inlet.progress.load();
                match inlet.ring.peek() {
                    Some(d) => {
                        next = next.min(d.seq);
                        complete = complete.min(d.seq - 1);
                    }
                    None => complete = complete.min(p),
                }
            }
            if next == u64::MAX {
                if complete == ENDED {
                    break;
                }
                self.publish(complete);
                self.idle(ctx, |ins| {
                    ins.iter_mut().any(|i| !i.ring.is_empty()) || Self::progress_sum(ins) != seen
                });
                continue;
            }
            if complete < next - 1 {
                // Some input may still deliver an older number.
                self.publish(complete);
                self.idle(ctx, |ins| Self::progress_sum(ins) != seen);
                continue;
            }
            // Take every item numbered `next`; each input must show it has no more of them.
            let t0 = self.now();
            for i in 0..self.inlets.len() {
                loop {
                    let p = self.inlets[i].progress.load();
                    match self.inlets[i].ring.peek() {
                        Some(d) if d.seq == next => {
                            self.inlets[i].ring.pop();
                            self.rec
                                .record(i, t0.saturating_sub(d.ingest_time + u64::from(d.hop_ns)));
                            self.deliver(&d);
                        }
                        Some(_) => break,
                        None if p >= next => break,
                        None => {
                            if ctx.stopped() {
                                return Err(RunError::Stopped);
                            }
                            self.idle(ctx, |ins| {
                                !ins[i].ring.is_empty() || ins[i].progress.load() >= next
                            });
                        }
                    }
                }
            }
            self.run_seq(t0, ctx)?;
            self.publish(next);
            self.rec.maybe_flush();
            ctx.waiter.reset();
            since_notify += 1;
            if since_notify >= 64 {
                since_notify = 0;
                notify_all(self.inlets.iter().map(|i| &i.producer));
            }
        }
        let rows = self.end_input(ctx)?;
        self.progress.end();
        notify_all(self.outlets.iter().map(|o| &o.consumer));
        Ok(rows)
    }
}
