//! Synthetic trades at a fixed rate, for benchmarks (`tubes bench`) and tests.
//!
//! Datapoint *i* is due at `start + i / rate`. Its ingest time is that *intended* time, not the time it was
//! actually pushed, so when the sender falls behind (backpressure from a slow pipeline, a stall) the delay
//! is counted in every latency figure downstream instead of disappearing: the coordinated-omission
//! correction of load generators such as wrk2. The time it was actually pushed is still visible as the
//! generator ring's queue wait minus the lag, and the largest lag is reported.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_yaml::Value;

use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::time::{monotonic_ns, wall_ns};
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, RunError};
use crate::config::{field, Diagnostics, PipelineType, Reader};
use crate::plugin::{CheckSource, Limits, OpenSource, Source, SourceKind, SourceRun};

/// How far past `--duration` a sender behind its schedule may go on sending what fell due before it.
const LATE_STOP: u64 = 250_000_000;

/// `Synthetic: {rate: 50000, price: 60000, seed: 1, stall: {after: 500ms, for: 100ms}}`.
///
/// Emits trades with fields `price`, `quantity`, `side`, `trade_id`. Each datapoint's ingest time is its
/// *intended* send time, so a sender that falls behind (a stall, backpressure) shows up in latency instead
/// of hiding it (coordinated-omission correction).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSource {
    /// Datapoints per second.
    pub rate: f64,
    /// Starting price of the random walk.
    pub price: f64,
    /// Seed of the random walk.
    pub seed: u64,
    /// Simulated sender stall: (after, for), after since the generator started.
    pub stall: Option<(Duration, Duration)>,
}

/// The `Synthetic` source kind.
pub struct Synthetic;

impl SourceKind for Synthetic {
    fn name(&self) -> &'static str {
        "Synthetic"
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example =
            "Synthetic: {rate: 50000, price: 60000, seed: 1, stall: {after: 500ms, for: 100ms}}";
        let m = r.mapping(
            v,
            path,
            &["rate", "price", "seed", "stall"],
            &["rate"],
            example,
        )?;
        let rate = r.number(m.get("rate")?, &field(path, "rate"))?;
        if rate <= 0.0 || rate > 1e9 {
            r.diag.error(
                &field(path, "rate"),
                format!("{rate} datapoints per second is out of range"),
                Some("use a rate between 1 and 1e9".into()),
            );
            return None;
        }
        let price = match m.get("price") {
            Some(p) => r.number(p, &field(path, "price"))?,
            None => 60_000.0,
        };
        let seed = match m.get("seed") {
            Some(s) => r.uint(s, &field(path, "seed"))?,
            None => 1,
        };
        let stall = match m.get("stall") {
            None => None,
            Some(s) => {
                let sp = field(path, "stall");
                let sm = r.mapping(
                    s,
                    &sp,
                    &["after", "for"],
                    &["after", "for"],
                    "stall: {after: 500ms, for: 100ms}",
                )?;
                let after = r.duration(sm.get("after")?, &field(&sp, "after"));
                let len = r.duration(sm.get("for")?, &field(&sp, "for"));
                Some((after?, len?))
            }
        };
        Some(Box::new(SyntheticSource {
            rate,
            price,
            seed,
            stall,
        }))
    }
}

impl Source for SyntheticSource {
    fn check(&mut self, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> Option<Vec<String>> {
        if let PipelineType::Batch { .. } = cx.pipeline {
            diag.error(
                cx.path,
                "a Synthetic source generates live data at a fixed rate and cannot run in a Batch pipeline",
                Some("use pipeline_type: Stream (and tubes run --duration to end the run)".into()),
            );
            return None;
        }
        Some(super::TRADE_FIELDS.iter().map(|f| f.to_string()).collect())
    }

    fn describe(&self) -> String {
        format!("Synthetic {} /s", self.rate)
    }

    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        Ok(Box::new(SyntheticGenerator::new(at.id, self, at.counters)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A paced trade source.
pub struct SyntheticGenerator {
    id: TubeId,
    src: SyntheticSource,
    /// Shared counters (rows emitted, largest lag).
    pub counters: Arc<GenCounters>,
    /// Stop after this long (None: run until stopped).
    pub duration: Option<Duration>,
}

/// xorshift64*: a small, fast, seedable generator (quality is ample for a random walk).
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl SyntheticGenerator {
    /// A generator for tube `id`.
    pub fn new(id: TubeId, src: &SyntheticSource, counters: Arc<GenCounters>) -> Self {
        SyntheticGenerator {
            id,
            src: src.clone(),
            counters,
            duration: None,
        }
    }

    /// Emits trades on schedule until the duration is over or the run stops.
    fn run_paced(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let period = 1e9 / self.src.rate;
        let start = monotonic_ns();
        let wall0 = wall_ns();
        let end = self.duration.map(|d| start + d.as_nanos() as u64);
        let stall = self.src.stall.map(|(after, len)| {
            let at = start + after.as_nanos() as u64;
            (at, at + len.as_nanos() as u64)
        });
        let mut rng = Rng(self.src.seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut price = self.src.price;
        let mut max_lag = 0u64;
        let mut i: u64 = 0;
        loop {
            let due = start + (i as f64 * period) as u64;
            if end.is_some_and(|e| due >= e) || ctx.stopped() || ctx.stop_requested() {
                break;
            }
            let mut now = monotonic_ns();
            if let Some((from, to)) = stall {
                if now >= from && now < to {
                    // The simulated sender stall: nothing is sent until it is over.
                    std::thread::sleep(Duration::from_nanos(to - now));
                    now = monotonic_ns();
                }
            }
            // `--duration` is wall time: a sender that cannot keep up with its rate still sends what
            // falls due before the end if it is less than LATE_STOP behind, and stops then otherwise.
            if end.is_some_and(|e| now >= e + LATE_STOP) {
                break;
            }
            if now < due {
                let gap = due - now;
                if gap > 200_000 {
                    std::thread::sleep(Duration::from_nanos(gap - 100_000));
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            price *= 1.0 + (rng.next_f64() - 0.5) * 2e-4;
            let u = rng.next_f64();
            let mut dp = Datapoint::new(Kind::Data, self.id, wall0 + (due - start) as i64, due);
            dp.len = 5;
            dp.values[0] = (price * 100.0).round() / 100.0;
            dp.values[1] = 0.0001 + u * u * 0.5;
            dp.values[2] = if rng.next_f64() < 0.5 { 1.0 } else { -1.0 };
            dp.values[3] = i as f64;
            dp.values[4] = if dp.values[2] < 0.0 { 1.0 } else { 0.0 };
            out.push(dp, now, ctx)?;
            out.notify();
            max_lag = max_lag.max(now - due);
            i += 1;
            if i.is_multiple_of(1024) {
                self.counters.rows.store(i, Ordering::Relaxed);
            }
        }
        self.counters.rows.store(i, Ordering::Relaxed);
        self.counters.max_lag_ns.store(max_lag, Ordering::Relaxed);
        Ok(())
    }
}

impl SourceRun for SyntheticGenerator {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        self.run_paced(out, ctx)
    }

    fn limit(&mut self, limits: Limits) {
        if limits.duration.is_some() {
            self.duration = limits.duration;
        }
    }
}
