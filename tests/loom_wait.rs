//! Model check of the doorbell (`base/wait.rs`) through the real code: a consumer that parks on an
//! empty ring is always woken by the producer's push, and a producer that parks on a full ring (the
//! real `Outlet::push`) by the consumer's pop. Under loom, parking has no timeout, so a lost wake-up is a
//! deadlock, which loom reports.
//! Run with: RUSTFLAGS="--cfg loom" cargo test --release --test loom_wait
#![cfg(loom)]

use std::sync::atomic::AtomicBool;
// The doorbells and progress are shared through std's `Arc`, as in the engine; loom models what is
// inside them.
use std::sync::Arc;

use loom::thread;
use tubes::base::datapoint::{Datapoint, Kind};
use tubes::base::ring::{ring, Progress};
use tubes::base::wait::{WaitStrategy, Waiter, Wake};
use tubes::base::{Ctx, Inlet, Outlet};

#[test]
fn a_consumer_parked_on_an_empty_ring_is_woken_by_the_push() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::<u64>(2);
        let wake = Arc::new(Wake::default());
        let mine = wake.clone();
        let consumer = thread::spawn(move || {
            mine.register();
            let mut waiter = Waiter::new(WaitStrategy::Park);
            loop {
                if let Some(v) = rx.pop() {
                    return v;
                }
                waiter.wait(&mine, || !rx.is_empty());
            }
        });
        tx.push(7).unwrap();
        wake.notify();
        assert_eq!(consumer.join().unwrap(), 7);
    });
}

fn ctx(wake: &Arc<Wake>) -> Ctx {
    Ctx {
        wake: wake.clone(),
        waiter: Waiter::new(WaitStrategy::Park),
        shutdown: Arc::new(AtomicBool::new(false)),
        stop: Arc::new(AtomicBool::new(false)),
    }
}

/// Loom's exhaustive search over three items, two doorbells and two parks is too large to finish;
/// bounded to two preemptions (loom's documented remedy) it covers every interleaving with up to
/// two forced thread switches, which is where lost wake-ups live.
fn bounded() -> loom::model::Builder {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b
}

#[test]
fn a_producer_parked_on_a_full_ring_is_woken_by_the_pop() {
    bounded().check(|| {
        let (tx, rx) = ring::<Datapoint>(2);
        let producer_wake = Arc::new(Wake::default());
        let consumer_wake = Arc::new(Wake::default());
        let mut outlet = Outlet {
            ring: tx,
            consumer: consumer_wake.clone(),
            drops: None,
        };
        let mut inlet = Inlet {
            ring: rx,
            progress: Arc::new(Progress::new()),
            producer: producer_wake.clone(),
        };
        let pw = producer_wake.clone();
        let producer = thread::spawn(move || {
            pw.register();
            let mut cx = ctx(&pw);
            for i in 0..3 {
                let dp = Datapoint::new(Kind::Data, 0, i, 0);
                outlet.push(dp, 0, &mut cx).unwrap();
            }
            outlet.notify();
        });
        // Both ends on threads of their own: the model's main thread only joins, so no unpark meant for
        // an end can reach a thread blocked in `join`.
        let consumer = thread::spawn(move || {
            consumer_wake.register();
            let mut waiter = Waiter::new(WaitStrategy::Park);
            let mut seen = Vec::new();
            while seen.len() < 3 {
                match inlet.ring.pop() {
                    Some(dp) => {
                        seen.push(dp.event_time);
                        inlet.producer.notify();
                    }
                    None => {
                        let ring = &mut inlet.ring;
                        waiter.wait(&consumer_wake, || !ring.is_empty());
                    }
                }
            }
            seen
        });
        producer.join().unwrap();
        assert_eq!(consumer.join().unwrap(), [0, 1, 2]);
    });
}
