//! Our SPSC ring against rtrb, crossbeam's ArrayQueue and bounded channel, and std's sync_channel, in one run:
//! throughput (items/s at batch sizes 1, 16 and 256) and round-trip latency (ping-pong; one hop is half),
//! with the hardware floor: two threads bouncing one cache line.
//!
//! Producer and consumer are pinned to cores 0 and 1 and spin, so this measures the data structures, not
//! wait strategies. Run: cargo bench --bench ring

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use crossbeam_utils::CachePadded;

const ITEMS: u64 = 1 << 20;
const CAPACITY: usize = 1024;

trait Queue {
    type P: Send + 'static;
    type C: Send + 'static;
    const NAME: &'static str;
    fn make() -> (Self::P, Self::C);
    /// Pushes a prefix of `items`; returns how many.
    fn push(p: &mut Self::P, items: &[u64]) -> usize;
    /// Pops up to `out.len()` items; returns how many.
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize;
}

/// Fills `out` from a one-item-at-a-time queue until it is empty; returns how many.
fn fill(out: &mut [u64], mut next: impl FnMut() -> Option<u64>) -> usize {
    for (n, slot) in out.iter_mut().enumerate() {
        match next() {
            Some(v) => *slot = v,
            None => return n,
        }
    }
    out.len()
}

struct Tubes;
impl Queue for Tubes {
    type P = tubes::base::ring::Producer<u64>;
    type C = tubes::base::ring::Consumer<u64>;
    const NAME: &'static str = "tubes ring";
    fn make() -> (Self::P, Self::C) {
        tubes::base::ring::ring(CAPACITY)
    }
    fn push(p: &mut Self::P, items: &[u64]) -> usize {
        if items.len() == 1 {
            usize::from(p.push(items[0]).is_ok())
        } else {
            p.push_slice(items)
        }
    }
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize {
        if out.len() == 1 {
            c.pop().map(|v| out[0] = v).is_some() as usize
        } else {
            c.pop_into(out)
        }
    }
}

struct Rtrb;
impl Queue for Rtrb {
    type P = rtrb::Producer<u64>;
    type C = rtrb::Consumer<u64>;
    const NAME: &'static str = "rtrb";
    fn make() -> (Self::P, Self::C) {
        rtrb::RingBuffer::new(CAPACITY)
    }
    fn push(p: &mut Self::P, items: &[u64]) -> usize {
        if items.len() == 1 {
            usize::from(p.push(items[0]).is_ok())
        } else {
            p.push_partial_slice(items).0.len()
        }
    }
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize {
        if out.len() == 1 {
            c.pop().map(|v| out[0] = v).is_ok() as usize
        } else {
            c.pop_partial_slice(out).0.len()
        }
    }
}

struct ArrayQ;
impl Queue for ArrayQ {
    type P = Arc<crossbeam::queue::ArrayQueue<u64>>;
    type C = Arc<crossbeam::queue::ArrayQueue<u64>>;
    const NAME: &'static str = "crossbeam ArrayQueue";
    fn make() -> (Self::P, Self::C) {
        let q = Arc::new(crossbeam::queue::ArrayQueue::new(CAPACITY));
        (q.clone(), q)
    }
    fn push(p: &mut Self::P, items: &[u64]) -> usize {
        items.iter().take_while(|&&v| p.push(v).is_ok()).count()
    }
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize {
        fill(out, || c.pop())
    }
}

struct CbChannel;
impl Queue for CbChannel {
    type P = crossbeam::channel::Sender<u64>;
    type C = crossbeam::channel::Receiver<u64>;
    const NAME: &'static str = "crossbeam channel";
    fn make() -> (Self::P, Self::C) {
        crossbeam::channel::bounded(CAPACITY)
    }
    fn push(p: &mut Self::P, items: &[u64]) -> usize {
        items.iter().take_while(|&&v| p.try_send(v).is_ok()).count()
    }
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize {
        fill(out, || c.try_recv().ok())
    }
}

struct StdMpsc;
impl Queue for StdMpsc {
    type P = std::sync::mpsc::SyncSender<u64>;
    type C = std::sync::mpsc::Receiver<u64>;
    const NAME: &'static str = "std sync_channel";
    fn make() -> (Self::P, Self::C) {
        std::sync::mpsc::sync_channel(CAPACITY)
    }
    fn push(p: &mut Self::P, items: &[u64]) -> usize {
        items.iter().take_while(|&&v| p.try_send(v).is_ok()).count()
    }
    fn pop(c: &mut Self::C, out: &mut [u64]) -> usize {
        fill(out, || c.try_recv().ok())
    }
}

/// Runs `a` on core 0 and `b` on core 1, each on a fresh thread that pins itself; both start together.
/// Returns what `b` returns (its own timing). The calling thread's affinity is never changed.
fn on_two_cores<A, B>(a: A, b: B) -> Duration
where
    A: FnOnce() + Send + 'static,
    B: FnOnce() -> Duration + Send + 'static,
{
    let start = Arc::new(std::sync::Barrier::new(2));
    let s2 = start.clone();
    let ta = std::thread::spawn(move || {
        tubes::base::pin::pin_current(0);
        s2.wait();
        a()
    });
    let tb = std::thread::spawn(move || {
        tubes::base::pin::pin_current(1);
        start.wait();
        b()
    });
    ta.join().unwrap();
    tb.join().unwrap()
}

/// Moves ITEMS numbers producer → consumer in batches of `batch`; checks order; returns the consumer's time.
fn transfer<Q: Queue>(batch: usize) -> Duration {
    let (mut p, mut c) = Q::make();
    let producer = move || {
        let mut buf = vec![0u64; batch];
        let mut next = 0u64;
        while next < ITEMS {
            let n = batch.min((ITEMS - next) as usize);
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = next + i as u64;
            }
            let mut sent = 0;
            while sent < n {
                let k = Q::push(&mut p, &buf[sent..n]);
                if k == 0 {
                    std::hint::spin_loop();
                }
                sent += k;
            }
            next += n as u64;
        }
    };
    let consumer = move || {
        let t = Instant::now();
        let mut buf = vec![0u64; batch];
        let mut expect = 0u64;
        while expect < ITEMS {
            let n = Q::pop(&mut c, &mut buf);
            if n == 0 {
                std::hint::spin_loop();
            }
            for &v in &buf[..n] {
                assert_eq!(v, expect);
                expect += 1;
            }
        }
        t.elapsed()
    };
    on_two_cores(producer, consumer)
}

/// `iters` round trips: one thread sends, the echo thread sends back.
fn ping_pong<Q: Queue>(iters: u64) -> Duration {
    let (mut to_echo, mut from_main) = Q::make();
    let (mut to_main, mut from_echo) = Q::make();
    let echo = move || {
        let mut v = [0u64];
        for _ in 0..iters {
            while Q::pop(&mut from_main, &mut v) == 0 {
                std::hint::spin_loop();
            }
            while Q::push(&mut to_main, &v) == 0 {
                std::hint::spin_loop();
            }
        }
    };
    let main = move || {
        let t = Instant::now();
        let mut v = [0u64];
        for i in 0..iters {
            while Q::push(&mut to_echo, &[i]) == 0 {
                std::hint::spin_loop();
            }
            while Q::pop(&mut from_echo, &mut v) == 0 {
                std::hint::spin_loop();
            }
        }
        t.elapsed()
    };
    on_two_cores(echo, main)
}

/// The floor: `iters` round trips of one cache line between two cores, with nothing else.
fn cache_line_floor(iters: u64) -> Duration {
    let line = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let other = line.clone();
    let echo = move || {
        for i in 0..iters {
            while other.load(Ordering::Acquire) != 2 * i + 1 {
                std::hint::spin_loop();
            }
            other.store(2 * i + 2, Ordering::Release);
        }
    };
    let main = move || {
        let t = Instant::now();
        for i in 0..iters {
            line.store(2 * i + 1, Ordering::Release);
            while line.load(Ordering::Acquire) != 2 * i + 2 {
                std::hint::spin_loop();
            }
        }
        t.elapsed()
    };
    on_two_cores(echo, main)
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_throughput");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(ITEMS));
    for batch in [1usize, 16, 256] {
        g.bench_with_input(BenchmarkId::new(Tubes::NAME, batch), &batch, |b, &n| {
            b.iter_custom(|k| (0..k).map(|_| transfer::<Tubes>(n)).sum())
        });
        g.bench_with_input(BenchmarkId::new(Rtrb::NAME, batch), &batch, |b, &n| {
            b.iter_custom(|k| (0..k).map(|_| transfer::<Rtrb>(n)).sum())
        });
        g.bench_with_input(BenchmarkId::new(ArrayQ::NAME, batch), &batch, |b, &n| {
            b.iter_custom(|k| (0..k).map(|_| transfer::<ArrayQ>(n)).sum())
        });
        g.bench_with_input(BenchmarkId::new(CbChannel::NAME, batch), &batch, |b, &n| {
            b.iter_custom(|k| (0..k).map(|_| transfer::<CbChannel>(n)).sum())
        });
        g.bench_with_input(BenchmarkId::new(StdMpsc::NAME, batch), &batch, |b, &n| {
            b.iter_custom(|k| (0..k).map(|_| transfer::<StdMpsc>(n)).sum())
        });
    }
    g.finish();
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring_round_trip");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    g.bench_function("cache-line floor", |b| b.iter_custom(cache_line_floor));
    g.bench_function(Tubes::NAME, |b| b.iter_custom(ping_pong::<Tubes>));
    g.bench_function(Rtrb::NAME, |b| b.iter_custom(ping_pong::<Rtrb>));
    g.bench_function(ArrayQ::NAME, |b| b.iter_custom(ping_pong::<ArrayQ>));
    g.bench_function(CbChannel::NAME, |b| b.iter_custom(ping_pong::<CbChannel>));
    g.bench_function(StdMpsc::NAME, |b| b.iter_custom(ping_pong::<StdMpsc>));
    g.finish();
}

/// Round trips measured in turns: each round runs every queue (and the floor) once, and the medians over
/// rounds are compared. Cross-core latency on a shared or virtual machine drifts over seconds, which skews
/// benchmarks run one after another; taking turns exposes every queue to the same drift.
fn interleaved_round_trips() {
    const ROUNDS: usize = 25;
    const TRIPS: u64 = 20_000;
    type Run = fn(u64) -> Duration;
    let runs: [(&str, Run); 6] = [
        ("cache-line floor", cache_line_floor),
        (Tubes::NAME, ping_pong::<Tubes>),
        (Rtrb::NAME, ping_pong::<Rtrb>),
        (ArrayQ::NAME, ping_pong::<ArrayQ>),
        (CbChannel::NAME, ping_pong::<CbChannel>),
        (StdMpsc::NAME, ping_pong::<StdMpsc>),
    ];
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for _ in 0..ROUNDS {
        for (k, (_, run)) in runs.iter().enumerate() {
            samples[k].push(run(TRIPS).as_nanos() as f64 / TRIPS as f64);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let medians: Vec<f64> = samples.iter_mut().map(median).collect();
    println!("\nround trips taken in turns ({ROUNDS} rounds of {TRIPS}; median per round trip, one hop is half):");
    for ((name, _), m) in runs.iter().zip(&medians) {
        println!(
            "  {name:<22} {m:>8.1} ns   {:>5.2}x the floor",
            m / medians[0]
        );
    }
}

criterion_group!(benches, throughput, round_trip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        interleaved_round_trips();
    }
}
