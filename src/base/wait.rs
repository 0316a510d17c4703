//! How a thread waits when it has nothing to do: `spin`, `yield`, `park`, or `adaptive` (the default).
//!
//! A sleeping thread is woken by the thread that gave it work ([`Wake::notify`]): the sleeper sets its flag,
//! issues a SeqCst fence and re-checks for work before parking; the waker publishes the work, issues a SeqCst
//! fence and then reads the flag. One of the two always sees the other, so no wake-up is lost. Parking is
//! also bounded by [`PARK_TIMEOUT`] as a second line of defence.

use std::time::Duration;

use super::sync::{fence, park_timeout, AtomicBool, Ordering, Owner};

/// The longest a parked thread sleeps before looking again on its own.
pub const PARK_TIMEOUT: Duration = Duration::from_millis(1);

/// How a stage waits when it has nothing to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Busy-spin: lowest latency, burns a core.
    Spin,
    /// `thread::yield_now` in a loop.
    Yield,
    /// Sleep until woken by the producer.
    Park,
    /// Spin briefly, then yield, then park (the default).
    Adaptive,
}

/// A thread's doorbell, shared with the threads that feed it and the threads it feeds.
pub struct Wake {
    sleeping: AtomicBool,
    thread: Owner,
}

impl Default for Wake {
    fn default() -> Self {
        Wake {
            sleeping: AtomicBool::new(false),
            thread: Owner::default(),
        }
    }
}

impl Wake {
    /// Binds the doorbell to the calling thread (once, at start-up).
    pub fn register(&self) {
        self.thread.set_current();
    }

    /// Wakes the owner if it sleeps. Call after publishing work for it (a push, a progress, a freed slot).
    pub fn notify(&self) {
        fence(Ordering::SeqCst);
        // A plain store rather than a swap: two wakers may both unpark, which costs the sleeper one
        // spurious wake-up and nothing else, and the protocol stays loads, stores and fences only (the
        // form loom checks exactly).
        if self.sleeping.load(Ordering::Relaxed) {
            self.sleeping.store(false, Ordering::Relaxed);
            self.thread.unpark();
        }
    }
}

/// Per-thread waiting state.
pub struct Waiter {
    strategy: WaitStrategy,
    idle: u32,
}

const SPINS: u32 = 64;
const YIELDS: u32 = 16;

impl Waiter {
    /// A waiter following `strategy`.
    pub fn new(strategy: WaitStrategy) -> Self {
        Waiter { strategy, idle: 0 }
    }

    /// Call when work was found: the next wait starts from the cheapest step again.
    pub fn reset(&mut self) {
        self.idle = 0;
    }

    /// Waits a little, escalating with each call since the last [`Waiter::reset`].
    /// `ready` re-checks for work after the thread has announced it is about to sleep.
    pub fn wait(&mut self, wake: &Wake, ready: impl FnOnce() -> bool) {
        self.idle = self.idle.saturating_add(1);
        match self.strategy {
            WaitStrategy::Spin => std::hint::spin_loop(),
            WaitStrategy::Yield => std::thread::yield_now(),
            WaitStrategy::Park => park(wake, ready),
            WaitStrategy::Adaptive if self.idle <= SPINS => std::hint::spin_loop(),
            WaitStrategy::Adaptive if self.idle <= SPINS + YIELDS => std::thread::yield_now(),
            WaitStrategy::Adaptive => park(wake, ready),
        }
    }
}

fn park(wake: &Wake, ready: impl FnOnce() -> bool) {
    wake.sleeping.store(true, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    if !ready() {
        park_timeout(PARK_TIMEOUT);
    }
    wake.sleeping.store(false, Ordering::Relaxed);
}
