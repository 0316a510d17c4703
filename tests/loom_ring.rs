//! Model checks of the ring's and the progress protocol's memory orderings, under every interleaving loom explores.
//! Run with: RUSTFLAGS="--cfg loom" cargo test --release --test loom_ring
#![cfg(loom)]

use loom::thread;
use tubes::base::ring::{ring, Progress};

#[test]
fn push_then_pop_delivers_every_value_in_order_through_a_wrapping_ring() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::<u32>(2);
        let t = thread::spawn(move || {
            let mut next = 0;
            while next < 3 {
                if tx.push(next).is_ok() {
                    next += 1;
                } else {
                    thread::yield_now();
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match rx.pop() {
                Some(v) => got.push(v),
                None => thread::yield_now(),
            }
        }
        t.join().unwrap();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn batch_push_and_batch_pop_keep_order_and_count() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::<u32>(4);
        let t = thread::spawn(move || {
            let items = [1, 2, 3, 4, 5];
            let mut sent = 0;
            while sent < items.len() {
                let n = tx.push_slice(&items[sent..]);
                if n == 0 {
                    thread::yield_now();
                }
                sent += n;
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u32; 3];
        while got.len() < 5 {
            let n = rx.pop_into(&mut buf);
            if n == 0 {
                thread::yield_now();
            }
            got.extend_from_slice(&buf[..n]);
        }
        t.join().unwrap();
        assert_eq!(got, [1, 2, 3, 4, 5]);
    });
}

#[test]
fn peek_sees_the_value_pop_returns() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::<u64>(2);
        let t = thread::spawn(move || {
            tx.push(7).unwrap();
        });
        loop {
            if let Some(v) = rx.peek() {
                assert_eq!(v, 7);
                assert_eq!(rx.pop(), Some(7));
                break;
            }
            thread::yield_now();
        }
        t.join().unwrap();
    });
}

/// Reading an item in place (what the sequencer does to compare times) sees it whole while the
/// producer goes on filling the ring.
#[test]
fn peek_with_reads_in_place_what_pop_returns() {
    loom::model(|| {
        let (mut tx, mut rx) = ring::<u64>(2);
        let t = thread::spawn(move || {
            for v in [7, 8, 9] {
                while tx.push(v).is_err() {
                    thread::yield_now();
                }
            }
        });
        let mut got = Vec::new();
        while got.len() < 3 {
            match rx.peek_with(|v| *v * 10) {
                Some(tenfold) => {
                    let v = rx.pop().expect("what was peeked is there");
                    assert_eq!(tenfold, v * 10);
                    got.push(v);
                }
                None => thread::yield_now(),
            }
        }
        t.join().unwrap();
        assert_eq!(got, [7, 8, 9]);
    });
}

/// A consumer that reads progress p and then finds the ring empty has already seen every item numbered ≤ p.
#[test]
fn progress_read_before_an_empty_ring_covers_every_item_pushed_before_it() {
    loom::model(|| {
        let progress = loom::sync::Arc::new(Progress::new());
        let (mut tx, mut rx) = ring::<u64>(2);
        let p2 = progress.clone();
        let t = thread::spawn(move || {
            tx.push(1).unwrap();
            p2.publish(1);
            tx.push(2).unwrap();
            p2.publish(2);
        });
        let mut seen = 0u64;
        loop {
            let p = progress.load();
            match rx.pop() {
                Some(v) => seen = v,
                None => {
                    assert!(seen >= p, "progress {p} published but item {p} not visible");
                    if p == 2 {
                        break;
                    }
                    thread::yield_now();
                }
            }
        }
        t.join().unwrap();
    });
}
