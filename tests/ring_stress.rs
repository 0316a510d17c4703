//! 10⁸ sequence numbers through the ring between two threads: none lost, duplicated or reordered.

mod common;
use common::within;
use tubes::base::ring::ring;

const N: u64 = 100_000_000;

#[test]
fn a_hundred_million_sequence_numbers_arrive_once_and_in_order() {
    within(300, || {
        let (mut tx, mut rx) = ring::<u64>(1024);
        let producer = std::thread::spawn(move || {
            let mut next = 0u64;
            let mut batch = [0u64; 64];
            while next < N {
                // Alternate single pushes and batch pushes of varying size.
                if next.is_multiple_of(3) {
                    if tx.push(next).is_ok() {
                        next += 1;
                    } else {
                        std::thread::yield_now();
                    }
                } else {
                    let len = ((next % 61) as usize + 1).min((N - next) as usize);
                    for (i, b) in batch[..len].iter_mut().enumerate() {
                        *b = next + i as u64;
                    }
                    let n = tx.push_slice(&batch[..len]);
                    next += n as u64;
                    if n == 0 {
                        std::thread::yield_now();
                    }
                }
            }
        });
        let mut expect = 0u64;
        let mut buf = [0u64; 128];
        while expect < N {
            let n = if expect.is_multiple_of(5) {
                match rx.pop() {
                    Some(v) => {
                        buf[0] = v;
                        1
                    }
                    None => 0,
                }
            } else {
                rx.pop_into(&mut buf[..(expect % 127) as usize + 1])
            };
            if n == 0 {
                std::thread::yield_now();
            }
            for &v in &buf[..n] {
                assert_eq!(v, expect, "lost, duplicated or reordered");
                expect += 1;
            }
        }
        producer.join().unwrap();
        assert_eq!(rx.pop(), None, "nothing beyond the last number");
    });
}
