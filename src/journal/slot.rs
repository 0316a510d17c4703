//! One record slot and its commit protocol: the body (checksum and payload) is written first, then the
//! commit marker is stored with `Release`; a reader loads the marker with `Acquire` and only then reads the
//! body. A reader therefore never sees half a record, and a writer killed at any instant leaves either a
//! committed record or an empty slot (DESIGN §7). The checksum catches what a power loss can tear: pages of
//! the file reaching the disk out of order. `tests/loom_journal.rs` checks the orderings.

use crate::base::sync::{AtomicU64, Ordering, UnsafeCell};

/// Bytes of a datapoint in the journal.
pub const PAYLOAD: usize = 128;

/// Checksum and payload.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Body {
    /// [`checksum`] of the record's index and payload.
    pub checksum: u64,
    /// The datapoint ([`super::format::encode`]).
    pub payload: [u8; PAYLOAD],
}

/// A slot: 8 bytes of commit marker, then the body; 144 bytes in all.
#[repr(C)]
pub struct Slot {
    /// 0 while empty; the record's index + 1 once committed.
    commit: AtomicU64,
    body: UnsafeCell<Body>,
}

#[cfg(not(loom))]
const _: () = assert!(std::mem::size_of::<Slot>() == 144);

/// What a reader found in a slot.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Found {
    /// Nothing committed yet.
    Empty,
    /// A marker that is not this index's, or a checksum that does not match: a torn or foreign record.
    Torn,
    /// A whole record.
    Record([u8; PAYLOAD]),
}

/// FNV-1a, 64-bit, taken a little-endian u64 word at a time: over the index, then the payload's 16 words.
pub fn checksum(index: u64, payload: &[u8; PAYLOAD]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    h = (h ^ index).wrapping_mul(0x0100_0000_01b3);
    for w in payload.chunks_exact(8) {
        let word = u64::from_le_bytes(w.try_into().expect("8 bytes"));
        h = (h ^ word).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Slot {
    /// An empty slot (for models and tests; in the journal, slots are file memory).
    pub fn new() -> Self {
        Slot {
            commit: AtomicU64::new(0),
            body: UnsafeCell::new(Body {
                checksum: 0,
                payload: [0; PAYLOAD],
            }),
        }
    }

    /// Writes record `index` and commits it.
    ///
    /// # Safety
    /// The caller is the only writer of this slot, and no reader reads its body before the commit marker
    /// says so (readers go through [`Slot::read`], which does not).
    pub unsafe fn write(&self, index: u64, payload: &[u8; PAYLOAD]) {
        let body = Body {
            checksum: checksum(index, payload),
            payload: *payload,
        };
        // SAFETY: the caller is the only writer, and readers touch the body only after seeing the marker,
        // which is stored below, after this write (Release).
        self.body.with_mut(|b| unsafe { b.write(body) });
        self.commit.store(index + 1, Ordering::Release);
    }

    /// Reads the slot expected to hold record `index`.
    pub fn read(&self, index: u64) -> Found {
        match self.commit.load(Ordering::Acquire) {
            0 => Found::Empty,
            c if c != index + 1 => Found::Torn,
            _ => {
                // SAFETY: the marker was stored (Release) after the body was written, and the Acquire load
                // above makes that write visible; the writer never writes a committed slot again.
                let body = self.body.with(|b| unsafe { b.read() });
                if body.checksum == checksum(index, &body.payload) {
                    Found::Record(body.payload)
                } else {
                    Found::Torn
                }
            }
        }
    }

    /// Whether anything was ever committed here (for counting a torn tail).
    pub fn is_marked(&self) -> bool {
        self.commit.load(Ordering::Acquire) != 0
    }

    /// Empties the slot (recovery of a torn tail, before the writer reuses it).
    ///
    /// # Safety
    /// As for [`Slot::write`]: the caller is the only writer.
    pub unsafe fn clear(&self) {
        self.commit.store(0, Ordering::Release);
        let empty = Body {
            checksum: 0,
            payload: [0; PAYLOAD],
        };
        // SAFETY: the caller is the only writer; the marker is 0, so no reader reads the body.
        self.body.with_mut(|b| unsafe { b.write(empty) });
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: the body is written only by the single writer before the Release store of the marker, and read
// only after an Acquire load of it; the marker itself is atomic.
unsafe impl Sync for Slot {}
