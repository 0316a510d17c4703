//! Model check of the sequence lock behind the live stats file (`base/seqlock.rs`) through the real
//! code: a reader racing the writer either gets one published snapshot whole or is told the copy tore,
//! never a mixture of two. Weakening any one of the four orderings (the writer's Release fence, its
//! Release store of the even sequence, or either of the reader's Acquire fences) makes loom find
//! a mixed read.
//! Run with: RUSTFLAGS="--cfg loom" cargo test --release --test loom_stats
#![cfg(loom)]

use loom::sync::atomic::AtomicU64;
use loom::sync::Arc;
use loom::thread;
use tubes::base::seqlock::{SeqWords, Torn};

struct Words {
    seq: AtomicU64,
    len: AtomicU64,
    body: Vec<AtomicU64>,
}

impl Words {
    fn lock(&self) -> SeqWords<'_, AtomicU64> {
        SeqWords::new(&self.seq, &self.len, &self.body)
    }
}

#[test]
fn a_reader_sees_one_snapshot_whole_or_a_torn_copy_never_a_mixture() {
    loom::model(|| {
        let w = Arc::new(Words {
            seq: AtomicU64::new(0),
            len: AtomicU64::new(0),
            body: (0..2).map(|_| AtomicU64::new(0)).collect(),
        });
        let writer = {
            let w = w.clone();
            thread::spawn(move || {
                let mut seq = 0;
                w.lock().publish(&mut seq, b"AAAAAAAAAAAA");
                w.lock().publish(&mut seq, b"BBBBBBBBBBBBBBBB");
            })
        };
        let mut out = Vec::new();
        match w.lock().read(&mut out) {
            Ok(2) => assert_eq!(out, b"AAAAAAAAAAAA"),
            Ok(4) => assert_eq!(out, b"BBBBBBBBBBBBBBBB"),
            Ok(s) => panic!("sequence {s} was never published"),
            Err(Torn::Busy) | Err(Torn::Empty) => assert!(out.is_empty()),
        }
        writer.join().unwrap();
        assert_eq!(w.lock().read(&mut out), Ok(4));
        assert_eq!(out, b"BBBBBBBBBBBBBBBB");
    });
}
