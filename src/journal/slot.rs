//! One record slot and its commit protocol: the body (checksum and payload) is written first, then the
//! commit marker is stored with `Release`; a reader loads the marker with `Acquire` and only then reads the
//! body, and loads the marker again after it. A reader therefore never takes half a record, and a writer
//! killed at any instant leaves either a committed record or an empty slot (DESIGN §7). The checksum
//! catches what a power loss can tear: pages of the file reaching the disk out of order.
//!
//! Every word of a slot is an atomic, so a reader that maps the segment and races the writer (a reader
//! in another language, following the README's layout, while the writer recovers a torn tail and
//! rewrites it) reads stale or fresh words, never undefined memory; the marker read after the body and
//! the checksum tell which. `tests/loom_journal.rs` checks the orderings, the clear included. Tubes' own
//! readers copy the slots ([`read_copy`]) and rely on the checksum alone.

use crate::base::sync::{fence, AtomicU64, Ordering};

/// Bytes of a datapoint in the journal.
pub const PAYLOAD: usize = 128;

/// Words of a journal record's payload.
pub const PAYLOAD_WORDS: usize = PAYLOAD / 8;

/// A slot: 8 bytes of commit marker, then the body: the checksum and the payload
/// ([`super::format::encode`]); 144 bytes in all for a journal's slot (`W` = 16). Smaller `W` serve the
/// model checks, whose search grows with every word.
#[repr(C)]
pub struct Slot<const W: usize = PAYLOAD_WORDS> {
    /// 0 while empty; the record's index + 1 once committed.
    commit: AtomicU64,
    /// The checksum of the index and the payload.
    sum: AtomicU64,
    /// The payload's words, stored little-endian, so the bytes in the file are the payload's bytes.
    words: [AtomicU64; W],
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Slot>() == 144);

/// What a reader found in a slot.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Found<T = [u8; PAYLOAD]> {
    /// Nothing committed yet (or the slot is being rewritten: look again later).
    Empty,
    /// A marker that is not this index's, or a checksum that does not match: a torn or foreign record.
    Torn,
    /// A whole record.
    Record(T),
}

/// FNV-1a, 64-bit, taken a little-endian u64 word at a time: over the index, then the payload's words.
pub fn checksum(index: u64, payload: &[u8; PAYLOAD]) -> u64 {
    checksum_words(index, &to_words(payload))
}

fn checksum_words(index: u64, words: &[u64]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    h = (h ^ index).wrapping_mul(0x0100_0000_01b3);
    for &word in words {
        h = (h ^ word).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn to_words(payload: &[u8; PAYLOAD]) -> [u64; PAYLOAD_WORDS] {
    std::array::from_fn(|i| {
        u64::from_le_bytes(payload[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    })
}

impl<const W: usize> Slot<W> {
    /// An empty slot (for models and tests; in the journal, slots are file memory).
    pub fn new() -> Self {
        Slot {
            commit: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn store_body(&self, sum: u64, words: &[u64; W]) {
        self.sum.store(sum, Ordering::Relaxed);
        for (a, &w) in self.words.iter().zip(words) {
            a.store(w.to_le(), Ordering::Relaxed);
        }
    }

    fn load_body(&self) -> (u64, [u64; W]) {
        let words = std::array::from_fn(|i| u64::from_le(self.words[i].load(Ordering::Relaxed)));
        (self.sum.load(Ordering::Relaxed), words)
    }

    /// Writes record `index` (its payload as little-endian words) and commits it. Only the journal's
    /// one writer calls this (the lock file guarantees there is one), on a slot that is empty.
    pub fn write_words(&self, index: u64, words: &[u64; W]) {
        self.store_body(checksum_words(index, words), words);
        // Release: a reader that sees the marker sees the body stored above.
        self.commit.store(index + 1, Ordering::Release);
    }

    /// Reads the slot expected to hold record `index`, as little-endian words.
    pub fn read_words(&self, index: u64) -> Found<[u64; W]> {
        // Two looks: a record rewritten under a reader (a torn tail cleared and written again with the
        // same index) can show the new marker around a body read half before it; the second look,
        // after the new marker was seen with Acquire, reads the new body.
        for _ in 0..2 {
            match self.commit.load(Ordering::Acquire) {
                0 => return Found::Empty,
                c if c != index + 1 => return Found::Torn,
                _ => {}
            }
            let (sum, words) = self.load_body();
            // The body loads above come before this marker load: if the marker changed, the slot was
            // being cleared or rewritten while they ran.
            fence(Ordering::Acquire);
            if self.commit.load(Ordering::Relaxed) != index + 1 {
                return Found::Empty;
            }
            if sum == checksum_words(index, &words) {
                return Found::Record(words);
            }
        }
        Found::Torn
    }

    /// Whether anything was ever committed here (for counting a torn tail).
    pub fn is_marked(&self) -> bool {
        self.commit.load(Ordering::Acquire) != 0
    }

    /// Empties the slot (recovery of a torn tail, before the writer reuses it). Only the journal's one
    /// writer calls this.
    pub fn clear(&self) {
        self.commit.store(0, Ordering::Relaxed);
        // Release fence: a reader that loads any body word stored below, and then its Acquire fence,
        // sees the marker at 0 or later, so it never takes a half-cleared body for the old record.
        fence(Ordering::Release);
        self.store_body(0, &[0; W]);
    }
}

impl Slot {
    /// Writes record `index` and commits it (see [`Slot::write_words`]).
    pub fn write(&self, index: u64, payload: &[u8; PAYLOAD]) {
        self.write_words(index, &to_words(payload));
    }

    /// Reads the slot expected to hold record `index` (see [`Slot::read_words`]).
    pub fn read(&self, index: u64) -> Found {
        match self.read_words(index) {
            Found::Empty => Found::Empty,
            Found::Torn => Found::Torn,
            Found::Record(words) => {
                let mut payload = [0u8; PAYLOAD];
                for (b, w) in payload.chunks_exact_mut(8).zip(words) {
                    b.copy_from_slice(&w.to_le_bytes());
                }
                Found::Record(payload)
            }
        }
    }
}

/// Reads slot `index` from a private copy of its 144 bytes (a reader that copies segments instead of
/// mapping them): the same rules as [`Slot::read`]. A copy that raced the writer can mix old and new
/// words; it then fails the checksum and reads as torn, and a tailer copies it again.
pub fn read_copy(bytes: &[u8], index: u64) -> Found {
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    match u64_at(0) {
        0 => return Found::Empty,
        c if c != index + 1 => return Found::Torn,
        _ => {}
    }
    let payload: [u8; PAYLOAD] = bytes[16..16 + PAYLOAD]
        .try_into()
        .expect("a slot's payload");
    if u64_at(8) == checksum(index, &payload) {
        Found::Record(payload)
    } else {
        Found::Torn
    }
}

impl<const W: usize> Default for Slot<W> {
    fn default() -> Self {
        Self::new()
    }
}
