//! A sequence lock over words: one writer publishes a byte string now and then, readers in other
//! threads or processes copy it out whole or learn that it changed under them and try again. The live
//! stats file (`metrics::stats_file`) is one of these over shared memory, so a reader never blocks the
//! run and the run never waits for a reader.
//!
//! The protocol (Boehm, "Can seqlocks get along with programming language memory models?"): the writer
//! makes the sequence odd, fences (Release), stores the words, then stores the next even sequence with
//! Release. A reader loads the sequence with Acquire (odd: a write is under way), loads the words,
//! fences (Acquire) and loads the sequence again: the copy is whole when both loads saw the same even
//! number. Every word is an atomic, so a torn copy is detected and never a data race. Checked with loom
//! through this code (`tests/loom_stats.rs`).

use super::sync::{fence, AtomicU64, Ordering};

/// Words shared by one writer and any readers: `seq` and `len` (the byte length) head the body.
pub struct SeqWords<'a> {
    seq: &'a AtomicU64,
    len: &'a AtomicU64,
    body: &'a [AtomicU64],
}

/// Why a read gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Torn {
    /// The writer was writing, or wrote between the two loads of the sequence: read again.
    Busy,
    /// Nothing was published yet.
    Empty,
}

impl<'a> SeqWords<'a> {
    /// The lock over `seq`, `len` and `body`; `body.len() * 8` bytes at most can be published.
    pub fn new(seq: &'a AtomicU64, len: &'a AtomicU64, body: &'a [AtomicU64]) -> Self {
        SeqWords { seq, len, body }
    }

    /// How many bytes fit.
    pub fn capacity(&self) -> usize {
        self.body.len() * 8
    }

    /// Publishes `bytes` (the caller is the only writer). Bytes beyond [`Self::capacity`] are cut off.
    pub fn publish(&self, bytes: &[u8]) {
        let bytes = &bytes[..bytes.len().min(self.capacity())];
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1) | 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, chunk) in self.body.iter().zip(bytes.chunks(8)) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            word.store(u64::from_le_bytes(w), Ordering::Relaxed);
        }
        self.len.store(bytes.len() as u64, Ordering::Relaxed);
        self.seq
            .store((s.wrapping_add(1) | 1).wrapping_add(1), Ordering::Release);
    }

    /// Copies the last published bytes into `out` (cleared first) and returns the sequence they were
    /// published under.
    pub fn read(&self, out: &mut Vec<u8>) -> Result<u64, Torn> {
        out.clear();
        let s1 = self.seq.load(Ordering::Acquire);
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
        fence(Ordering::Acquire);
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

    #[test]
    fn what_is_published_is_read_back_whole_and_cut_at_capacity() {
        let (seq, len) = (AtomicU64::new(0), AtomicU64::new(0));
        let body: Vec<AtomicU64> = (0..2).map(|_| AtomicU64::new(0)).collect();
        let w = SeqWords::new(&seq, &len, &body);
        let mut out = Vec::new();
        assert_eq!(w.read(&mut out), Err(Torn::Empty));
        w.publish(b"hello, world");
        assert_eq!(w.read(&mut out), Ok(2));
        assert_eq!(out, b"hello, world");
        w.publish(b"0123456789abcdefXYZ");
        assert_eq!(w.read(&mut out), Ok(4));
        assert_eq!(out, b"0123456789abcdef");
    }
}
