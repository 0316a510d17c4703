//! A sequence lock over words: one writer publishes a byte string now and then, readers in other
//! threads or processes copy it out whole or learn that it changed under them and try again. The live
//! stats file (`metrics::stats_file`) is one of these over shared memory, so a reader never blocks the
//! run and the run never waits for a reader.
//!
//! The protocol (Boehm, "Can seqlocks get along with programming language memory models?"): the writer
//! makes the sequence odd, fences (Release), stores the words, then stores the next even sequence with
//! Release. It keeps the sequence itself rather than loading it back (it is the only writer). A reader loads the sequence and fences (Acquire) (odd: a write is under way),
//! loads the words, fences (Acquire) again and loads the sequence again: the copy is whole when both loads saw the same even
//! number. Every word is an atomic, so a torn copy is detected and never a data race. Checked with loom
//! through this code (`tests/loom_stats.rs`).

use std::sync::atomic::Ordering;

/// A 64-bit atomic word the lock is made of, with the fence that goes with it: `std`'s for memory
/// shared with other processes (a mapped file), `loom`'s in the model checks.
pub trait Word: Sync {
    /// An atomic load.
    fn load(&self, o: Ordering) -> u64;
    /// An atomic store.
    fn store(&self, v: u64, o: Ordering);
    /// A fence of this word's kind.
    fn fence(o: Ordering);
}

impl Word for std::sync::atomic::AtomicU64 {
    fn load(&self, o: Ordering) -> u64 {
        self.load(o)
    }
    fn store(&self, v: u64, o: Ordering) {
        self.store(v, o)
    }
    fn fence(o: Ordering) {
        std::sync::atomic::fence(o)
    }
}

#[cfg(loom)]
impl Word for loom::sync::atomic::AtomicU64 {
    fn load(&self, o: Ordering) -> u64 {
        self.load(o)
    }
    fn store(&self, v: u64, o: Ordering) {
        self.store(v, o)
    }
    fn fence(o: Ordering) {
        loom::sync::atomic::fence(o)
    }
}

/// Words shared by one writer and any readers: `seq` and `len` (the byte length) head the body.
pub struct SeqWords<'a, W: Word> {
    seq: &'a W,
    len: &'a W,
    body: &'a [W],
}

/// Why a read gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Torn {
    /// The writer was writing, or wrote between the two loads of the sequence: read again.
    Busy,
    /// Nothing was published yet.
    Empty,
}

impl<'a, W: Word> SeqWords<'a, W> {
    /// The lock over `seq`, `len` and `body`; `body.len() * 8` bytes at most can be published.
    pub fn new(seq: &'a W, len: &'a W, body: &'a [W]) -> Self {
        SeqWords { seq, len, body }
    }

    /// How many bytes fit.
    pub fn capacity(&self) -> usize {
        self.body.len() * 8
    }

    /// Publishes `bytes`. The caller is the only writer and keeps the sequence it last stored in
    /// `seq` (0 at first): the writer never needs to load it back.
    pub fn publish(&self, seq: &mut u64, bytes: &[u8]) {
        let bytes = &bytes[..bytes.len().min(self.capacity())];
        self.seq.store(*seq + 1, Ordering::Relaxed);
        W::fence(Ordering::Release);
        for (word, chunk) in self.body.iter().zip(bytes.chunks(8)) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(w), Ordering::Relaxed);
        }
        self.len.store(bytes.len() as u64, Ordering::Relaxed);
        *seq += 2;
        self.seq.store(*seq, Ordering::Release);
    }

    /// Copies the last published bytes into `out` (cleared first) and returns the sequence they were
    /// published under.
    pub fn read(&self, out: &mut Vec<u8>) -> Result<u64, Torn> {
        out.clear();
        // A Relaxed load and an Acquire fence rather than an Acquire load: the words may be a read-only
        // mapping, where only plain loads are promised to work.
        let s1 = self.seq.load(Ordering::Relaxed);
        W::fence(Ordering::Acquire);
        if s1 & 1 == 1 {
            return Err(Torn::Busy);
        }
        if s1 == 0 {
            return Err(Torn::Empty);
        }
        let len = (self.len.load(Ordering::Relaxed) as usize).min(self.capacity());
        for word in &self.body[..len.div_ceil(8)] {
            out.extend_from_slice(&word.load(Ordering::Relaxed).to_le_bytes());
        }
        out.truncate(len);
        W::fence(Ordering::Acquire);
        if self.seq.load(Ordering::Relaxed) != s1 {
            out.clear();
            return Err(Torn::Busy);
        }
        Ok(s1)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn what_is_published_is_read_back_whole_and_cut_at_capacity() {
        let (seq, len) = (AtomicU64::new(0), AtomicU64::new(0));
        let body: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
        let w = SeqWords::new(&seq, &len, &body);
        let (mut out, mut written) = (Vec::new(), 0);
        assert_eq!(w.read(&mut out), Err(Torn::Empty));
        w.publish(&mut written, b"hello, world");
        assert_eq!(w.read(&mut out), Ok(2));
        assert_eq!(out, b"hello, world");
        w.publish(&mut written, b"0123456789abcdefXYZ");
        assert_eq!(w.read(&mut out), Ok(4));
        assert_eq!(out, b"0123456789abcdef");
    }
}
