//! Synthetic trades at a fixed rate, for benchmarks (`tubes bench`) and tests.
//!
//! Datapoint *i* is due at `start + i / rate`. Its ingest time is that *intended* time, not the time it was
//! actually pushed, so when the sender falls behind (backpressure from a slow pipeline, a stall) the delay
//! is counted in every latency figure downstream instead of disappearing: the coordinated-omission
//! correction of load generators such as wrk2. The time it was actually pushed is still visible as the
//! generator ring's queue wait minus the lag, and the largest lag is reported.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::time::{monotonic_ns, wall_ns};
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, RunError};
use crate::config::SyntheticSource;

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
    pub fn new(id: TubeId, src: &SyntheticSource) -> Self {
        SyntheticGenerator {
            id,
            src: src.clone(),
            counters: Arc::new(GenCounters::default()),
            duration: None,
        }
    }

    /// Emits trades on schedule until the duration is over or the run stops.
    pub fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let period = 1e9 / self.src.rate;
        let start = monotonic_ns();
        let wall0 = wall_ns();
        let end = self.duration.map(|d| start + d.as_nanos() as u64);
        let stall = self
            .src
            .stall
            .map(|(after, len)| (start + after as u64, start + (after + len) as u64));
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
            dp.len = 4;
            dp.values[0] = (price * 100.0).round() / 100.0;
            dp.values[1] = 0.0001 + u * u * 0.5;
            dp.values[2] = if rng.next_f64() < 0.5 { 1.0 } else { -1.0 };
            dp.values[3] = i as f64;
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
