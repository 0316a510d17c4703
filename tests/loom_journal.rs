//! Model check of the journal's commit protocol: a reader racing the writer sees an empty slot or the
//! whole record, never half of one. Loom also reports the body read as a data race if the marker's
//! Release/Acquire pair is weakened.
//! Run with: RUSTFLAGS="--cfg loom" cargo test --release --test loom_journal
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use tubes::journal::slot::{Found, Slot};

#[test]
fn a_racing_reader_sees_nothing_or_the_whole_record() {
    loom::model(|| {
        let slot = Arc::new(Slot::new());
        let writer = slot.clone();
        let t = thread::spawn(move || {
            // SAFETY: this thread is the slot's only writer.
            unsafe { writer.write(3, &[7u8; 128]) };
        });
        match slot.read(3) {
            Found::Empty => {}
            Found::Record(p) => assert_eq!(p, [7u8; 128]),
            Found::Torn => panic!("a reader saw a torn record"),
        }
        t.join().unwrap();
        assert_eq!(slot.read(3), Found::Record([7u8; 128]));
        assert_eq!(
            slot.read(4),
            Found::Torn,
            "another index's record is not this one"
        );
    });
}
