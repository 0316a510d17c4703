//! Model check of the journal's commit protocol: a reader racing the writer sees an empty slot or the
//! whole record, never half of one. Weakening the marker's Release store to Relaxed makes loom find a
//! reader that saw the marker but not the body (the checksum then calls the record torn).
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
            writer.write(3, &[7u8; 128]);
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

/// Recovering a torn tail clears a slot and writes it again with the same index, while a tailer in
/// another process may be reading it: the reader sees nothing, the old record or the new one, never a
/// body half of one and half of the other. Each word a reader loads may be old or new, so the search
/// grows with every word: this model and the next use a slot of two payload words, the same code as
/// the journal's sixteen. Without the Release fence in `Slot::clear`, loom finds the torn read.
#[test]
fn a_reader_racing_a_clear_and_rewrite_never_takes_a_mixed_record() {
    loom::model(|| {
        let slot = Arc::new(Slot::<2>::new());
        slot.write_words(3, &[7, 7]);
        let writer = slot.clone();
        let t = thread::spawn(move || {
            writer.clear();
            writer.write_words(3, &[9, 9]);
        });
        match slot.read_words(3) {
            Found::Empty => {}
            Found::Record(w) => assert!(w == [7, 7] || w == [9, 9], "a mixed record: {w:?}"),
            Found::Torn => panic!("a reader took a slot being rewritten for a torn record"),
        }
        t.join().unwrap();
        assert_eq!(slot.read_words(3), Found::Record([9, 9]));
    });
}

/// A cleared slot reads as empty once the clear is visible, and never as a record.
#[test]
fn a_reader_racing_a_clear_sees_the_record_or_nothing() {
    loom::model(|| {
        let slot = Arc::new(Slot::<2>::new());
        slot.write_words(5, &[1, 2]);
        let writer = slot.clone();
        let t = thread::spawn(move || writer.clear());
        match slot.read_words(5) {
            Found::Empty => {}
            Found::Record(w) => assert_eq!(w, [1, 2]),
            Found::Torn => panic!("a reader took a slot being cleared for a torn record"),
        }
        t.join().unwrap();
        assert_eq!(slot.read_words(5), Found::Empty);
    });
}
