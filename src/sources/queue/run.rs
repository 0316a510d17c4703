//! The message-queue thread's run loop: every log reader of the graph, polled in turn.
//!
//! **Stream.** A reader that cannot connect, or whose connection is lost, is announced down to each of
//! its generators (a status datapoint) and retried after a back-off that doubles from 100 ms to 5 s, for
//! ever; when it connects again it is announced up with its reconnect count. Trades read again after a
//! reconnect are dropped as duplicates by their trade ids, and trades the log no longer holds show as a
//! gap, as on a WebSocket feed.
//!
//! **Batch.** Each reader reads what its log held when the run started, the generators' trades are
//! sorted by trade time (a stable sort: equal times keep the log's order, partition by partition), the
//! Batch range `[from, to)` is applied, and the trades are pushed in that order. The range's trades are
//! held in memory until then (a datapoint each).

use std::marker::PhantomData;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Fault, Log, Message, OnError, QueueSource, Read, NAMED};
use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::points::Points;
use crate::base::status::{self, Reason};
use crate::base::time::{monotonic_ns, wall_ns};
use crate::base::{Ctx, GenCounters, Outlet, Push, RunError};
use crate::plugin::{Limits, SourceRun};
use crate::sources::ws::{Market, Router};

/// Longest wait in a read, so stop flags and other readers are looked at.
const LOOK: Duration = Duration::from_millis(100);
/// The back-off between attempts to reach a log: first delay and cap.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// One log and the generators that read it.
struct Reader {
    log: Box<dyn Log>,
    /// `kafka trades`, for errors.
    name: String,
    router: Router,
    on_error: OnError,
    /// Ingest times from the messages' publish times.
    from_publish: bool,
    up: bool,
    ever_up: bool,
    down_announced: bool,
    reconnects: u64,
    failures: u32,
    retry_at: Instant,
    last_trade: Instant,
}

/// Every reader of the message-queue thread.
pub struct QueueRun {
    readers: Vec<Reader>,
    live: bool,
    range: Option<(i64, i64)>,
    limits: Limits,
}

impl QueueRun {
    /// Groups the generators into readers, one per log.
    pub fn new(
        members: Vec<(&QueueSource, TubeId, Arc<GenCounters>)>,
        live: bool,
        range: Option<(i64, i64)>,
    ) -> Self {
        let mut readers: Vec<(String, Reader)> = Vec::new();
        let now = Instant::now();
        for (s, id, counters) in members {
            let market = Market::new(s.market.clone(), id, counters);
            // Generators that read one log alike share a reader; read differently, they each get one.
            let key = format!(
                "{} {:?} {} {:?}",
                s.spec.key(),
                s.format,
                s.from_publish,
                s.on_error
            );
            match readers.iter_mut().find(|(k, _)| *k == key) {
                Some((_, r)) => r.router.markets.push(market),
                None => readers.push((
                    key,
                    Reader {
                        log: s.spec.open(live),
                        name: s.spec.name(),
                        router: Router {
                            exchange: s.format.parser(),
                            ids: s.format.ids(),
                            markets: vec![market],
                            stamps: false,
                            checked: live,
                        },
                        on_error: s.on_error,
                        from_publish: s.from_publish,
                        up: false,
                        ever_up: false,
                        down_announced: false,
                        reconnects: 0,
                        failures: 0,
                        retry_at: now,
                        last_trade: now,
                    },
                )),
            }
        }
        QueueRun {
            readers: readers.into_iter().map(|(_, r)| r).collect(),
            live,
            range,
            limits: Limits::default(),
        }
    }
}

/// A Batch run's trades, collected before they are put in time order and pushed into a `P`: stamped
/// with ingest times only when a `P` keeps them (not a sweep's inputs: see [`Push::INGEST_TIMES`]).
struct Collected<P> {
    trades: Vec<Datapoint>,
    into: PhantomData<fn() -> P>,
}

impl<P: Push> Push for Collected<P> {
    const INGEST_TIMES: bool = P::INGEST_TIMES;

    fn push(&mut self, dp: Datapoint, _: u64, _: &mut Ctx) -> Result<(), RunError> {
        self.trades.push(dp);
        Ok(())
    }
}

impl Reader {
    fn announce<P: Push>(
        &self,
        make: impl Fn(TubeId, i64, u64) -> Datapoint,
        out: &mut P,
        ctx: &mut Ctx,
    ) -> Result<(), RunError> {
        let (t, now) = (wall_ns(), monotonic_ns());
        for m in &self.router.markets {
            let dp = make(m.id, t, now);
            m.counters.note_status(&dp);
            out.push(dp, now, ctx)?;
        }
        out.notify();
        Ok(())
    }

    fn note_error(&self, e: &str) {
        for m in &self.router.markets {
            *m.counters
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
        }
    }

    /// Reads once, routing every trade into `out`; a malformed message is counted and named, or fails
    /// the run under `on_error: fail`.
    fn read<P: Push>(&mut self, wait: Duration, out: &mut P, ctx: &mut Ctx) -> Result<Read, Fault> {
        let (router, on_error, name) = (&mut self.router, self.on_error, &self.name);
        let from_publish = self.from_publish;
        let mut traded = false;
        let r = self.log.read(wait, &mut |msg: Message<'_>| {
            // A message that is not UTF-8, or that gave no trade and is not even JSON, is malformed;
            // one that is JSON but no trade (an exchange's heartbeat) is passed over and counted.
            let (bad, unreadable, passed) = match msg.text {
                Some(text) => {
                    let mut recv = out.ingest_now();
                    if let Some(ms) = msg.published_ms.filter(|_| from_publish) {
                        let ago = wall_ns().saturating_sub(ms.saturating_mul(1_000_000));
                        recv = recv.saturating_sub(ago.max(0) as u64);
                    }
                    let routed = router.on_text(text, recv, out, ctx)?;
                    traded |= routed.taken > 0;
                    let none = routed.parsed == 0 && !routed.malformed;
                    let json = none && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
                    (routed.malformed, none && !json, json)
                }
                None => (false, true, false),
            };
            for m in &router.markets {
                if unreadable {
                    m.counters.malformed.fetch_add(1, Ordering::Relaxed);
                }
                if passed {
                    m.counters.foreign.fetch_add(1, Ordering::Relaxed);
                }
            }
            if bad || unreadable {
                let why = format!("{name}: the message at {} is not a trade payload of this format", msg.at);
                if on_error == OnError::Fail {
                    return Err(RunError::Input(format!(
                        "{why} (on_error: fail; write on_error: skip to count and pass over such messages)"
                    )));
                }
                for m in &router.markets {
                    let mut named = m.counters.named.lock().unwrap_or_else(|p| p.into_inner());
                    if named.len() < NAMED {
                        named.push(msg.at.to_string());
                    }
                }
            }
            Ok(())
        });
        if traded {
            self.last_trade = Instant::now();
        }
        r
    }

    /// Stream: connects when due; announces the log up or down as that changes.
    fn reach(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let now = Instant::now();
        if self.up || now < self.retry_at {
            return Ok(());
        }
        match self.log.connect() {
            Ok(()) => {
                if self.ever_up {
                    self.reconnects += 1;
                    for m in &self.router.markets {
                        m.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                }
                (self.up, self.ever_up, self.down_announced, self.failures) =
                    (true, true, false, 0);
                let k = self.reconnects;
                self.announce(|id, t, n| status::up(id, k, t, n), out, ctx)
            }
            Err(Fault::Down(why)) => self.lost(Reason::Unreachable, &why, out, ctx),
            Err(Fault::Fatal(e)) => Err(e),
        }
    }

    /// The log went away or could not be reached: say so once, then retry after the back-off.
    fn lost(
        &mut self,
        reason: Reason,
        why: &str,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Result<(), RunError> {
        self.note_error(why);
        if self.up || !self.down_announced {
            let reason = if self.up { reason } else { Reason::Unreachable };
            self.announce(|id, t, n| status::down(id, reason, t, n), out, ctx)?;
            self.down_announced = true;
        }
        self.up = false;
        let delay = BACKOFF
            .0
            .saturating_mul(1u32 << self.failures.min(10))
            .min(BACKOFF.1);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Instant::now() + delay;
        Ok(())
    }
}

impl QueueRun {
    /// Stream: polls every reader in turn until the run is stopped or ends by its limits.
    fn run_live(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let start = Instant::now();
        let wait = LOOK / self.readers.len().max(1) as u32;
        loop {
            if ctx.stopped() {
                return Err(RunError::Stopped);
            }
            let now = Instant::now();
            if ctx.stop_requested()
                || self.limits.duration.is_some_and(|d| now - start >= d)
                || self
                    .limits
                    .idle_exit
                    .is_some_and(|d| self.readers.iter().all(|r| now - r.last_trade >= d))
            {
                return Ok(());
            }
            let mut any_up = false;
            for r in &mut self.readers {
                r.reach(out, ctx)?;
                if !r.up {
                    continue;
                }
                any_up = true;
                match r.read(wait, out, ctx) {
                    Ok(_) => {}
                    Err(Fault::Down(why)) => r.lost(Reason::Error, &why, out, ctx)?,
                    Err(Fault::Fatal(e)) => return Err(e),
                }
                out.notify();
            }
            if !any_up {
                let next = self.readers.iter().map(|r| r.retry_at).min();
                let until = next.unwrap_or(now + LOOK).min(Instant::now() + LOOK);
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
        }
    }

    /// Batch: every reader's log to its end, then the trades in time order, within the range.
    fn read_all<P: Push>(&mut self, out: &mut P, ctx: &mut Ctx) -> Result<(), RunError> {
        let mut all = Collected::<P> {
            trades: Vec::new(),
            into: PhantomData,
        };
        for r in &mut self.readers {
            match r.log.connect() {
                Ok(()) => {}
                Err(Fault::Down(why)) => return Err(RunError::Input(format!("{}: {why}", r.name))),
                Err(Fault::Fatal(e)) => return Err(e),
            }
            loop {
                if ctx.stopped() || ctx.stop_requested() {
                    return Ok(());
                }
                match r.read(LOOK, &mut all, ctx) {
                    Ok(Read::End) => break,
                    Ok(Read::More) => {}
                    Err(Fault::Down(why)) => {
                        return Err(RunError::Input(format!(
                            "{}: the connection was lost while reading history: {why}",
                            r.name
                        )))
                    }
                    Err(Fault::Fatal(e)) => return Err(e),
                }
            }
            // A Batch run has no status column: a gap is in the counters, not in the rows.
            all.trades.retain(|dp| dp.kind == Kind::Data);
        }
        let mut all = all.trades;
        all.sort_by_key(|dp| dp.event_time);
        let all = self.drop_duplicates(all);
        let counters = |id: TubeId| {
            self.readers
                .iter()
                .flat_map(|r| &r.router.markets)
                .find(|m| m.id == id)
                .map(|m| m.counters.clone())
        };
        for dp in all {
            if let Some((from, to)) = self.range {
                if dp.event_time < from || dp.event_time >= to {
                    if let Some(c) = counters(dp.source) {
                        c.outside.fetch_add(1, Ordering::Relaxed);
                        c.rows.fetch_sub(1, Ordering::Relaxed);
                    }
                    continue;
                }
            }
            out.push(dp, out.ingest_now(), ctx)?;
        }
        for r in &self.readers {
            for m in &r.router.markets {
                let c = &m.counters;
                c.skipped
                    .store(c.malformed.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        out.notify();
        Ok(())
    }
}

impl QueueRun {
    /// Batch: the trades in time order without the repeats of a trade id of a market (a message
    /// published twice), each counted as a duplicate. Trades without ids are all kept.
    fn drop_duplicates(&self, all: Vec<Datapoint>) -> Vec<Datapoint> {
        let mut seen = std::collections::HashSet::new();
        let mut kept = Vec::with_capacity(all.len());
        for dp in all {
            let id = dp.values[3];
            if id.is_nan() || seen.insert((dp.source, id.to_bits())) {
                kept.push(dp);
                continue;
            }
            let m = self
                .readers
                .iter()
                .flat_map(|r| &r.router.markets)
                .find(|m| m.id == dp.source);
            if let Some(m) = m {
                m.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                m.counters.rows.fetch_sub(1, Ordering::Relaxed);
            }
        }
        kept
    }
}

impl SourceRun for QueueRun {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        if self.live {
            self.run_live(out, ctx)
        } else {
            self.read_all(out, ctx)
        }
    }

    fn collect(&mut self, into: &mut Points, ctx: &mut Ctx) -> Result<(), RunError> {
        if self.live {
            return Err(RunError::Input(
                "a live topic or stream cannot feed a sweep; use a Batch pipeline".into(),
            ));
        }
        self.read_all(into, ctx)
    }

    fn limit(&mut self, limits: Limits) {
        if limits.duration.is_some() {
            self.limits.duration = limits.duration;
        }
        if limits.idle_exit.is_some() {
            self.limits.idle_exit = limits.idle_exit;
        }
    }
}
