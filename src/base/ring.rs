//! A bounded lock-free single-producer/single-consumer ring of `Copy` values (DESIGN §5).
//!
//! Indices are free-running counters; a slot is `index & mask`. The producer owns `tail`, the consumer owns
//! `head`, each on its own cache line, and each side keeps a cached copy of the other's index so that it
//! touches the shared line only when its cached view says the ring is full (producer) or empty (consumer).
//!
//! Orderings: the producer writes a slot, then publishes `tail` with `Release`; the consumer reads `tail` with
//! `Acquire` before reading the slot. The consumer finishes reading a slot, then publishes `head` with
//! `Release`; the producer reads `head` with `Acquire` before overwriting it. `tests/loom_ring.rs` checks
//! these orderings under every interleaving loom finds.
//!
//! [`Progress`] is the other half of the protocol between stages: a producer publishes the last sequence
//! number it finished *after* pushing everything with that number, so a consumer that reads progress `p`
//! (Acquire) and then finds the ring empty knows it has seen every item numbered `p` or less.

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use super::sync::{Arc, AtomicU64, AtomicUsize, Ordering, UnsafeCell};

struct Shared<T> {
    /// Next index the consumer will read. Written only by the consumer.
    head: CachePadded<AtomicUsize>,
    /// Next index the producer will write. Written only by the producer.
    tail: CachePadded<AtomicUsize>,
    /// Slots; `slots[i & mask]` is initialised for every `head <= i < tail`.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
}

impl<T: Copy> Shared<T> {
    /// The cell of index `i` (any free-running index; it is masked here).
    #[inline]
    fn cell(&self, i: usize) -> &UnsafeCell<MaybeUninit<T>> {
        let k = i & self.mask;
        debug_assert!(k < self.slots.len());
        // SAFETY: `mask` is `slots.len() - 1` with `slots.len()` a power of two, so `k < slots.len()`.
        unsafe { self.slots.get_unchecked(k) }
    }

    /// Copies `src` into the slots from index `at` on (wrapping), as at most two contiguous copies.
    /// Callers guarantee that these slots are owned by the producer (free and unpublished).
    ///
    /// # Safety
    /// The `src.len()` slots from index `at` on must belong to the producer: free (released by the consumer)
    /// and not yet published, and `src.len()` must be at most the capacity.
    #[cfg(not(loom))]
    #[inline]
    unsafe fn write_run(&self, at: usize, src: &[T]) {
        let start = at & self.mask;
        let first = src.len().min(self.slots.len() - start);
        // `UnsafeCell<MaybeUninit<T>>` is `repr(transparent)` over `T`'s storage, and writing through a
        // pointer derived from `UnsafeCell` is permitted.
        let base = self.slots.as_ptr() as *mut T;
        // SAFETY: `start + first <= len` and `src.len() - first <= start` (at most `len` items fit), so both
        // copies stay inside the buffer; the slots belong to the producer (caller's guarantee) and `src` is
        // a distinct slice, so the regions do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), base.add(start), first);
            std::ptr::copy_nonoverlapping(src.as_ptr().add(first), base, src.len() - first);
        }
    }

    /// Loom tracks each cell separately, so under loom the run is written cell by cell.
    ///
    /// # Safety
    /// The `src.len()` slots from index `at` on must belong to the producer: free (released by the consumer)
    /// and not yet published, and `src.len()` must be at most the capacity.
    #[cfg(loom)]
    unsafe fn write_run(&self, at: usize, src: &[T]) {
        for (i, v) in src.iter().enumerate() {
            // SAFETY: as in the bulk version: these slots are owned by the producer.
            self.cell(at.wrapping_add(i))
                .with_mut(|p| unsafe { (*p).write(*v) });
        }
    }

    /// Copies the slots from index `at` on (wrapping) into `dst`, as at most two contiguous copies.
    /// Callers guarantee that these slots are published and not yet released by the consumer.
    ///
    /// # Safety
    /// The `dst.len()` slots from index `at` on must be published by the producer (an Acquire load of its
    /// tail showed them) and not yet released by the consumer, which the caller must be.
    #[cfg(not(loom))]
    #[inline]
    unsafe fn read_run(&self, at: usize, dst: &mut [T]) {
        let start = at & self.mask;
        let first = dst.len().min(self.slots.len() - start);
        let base = self.slots.as_ptr() as *const T;
        // SAFETY: bounds as in `write_run`; the slots are initialised (published by the producer before the
        // Acquire load that made them visible) and will not be overwritten until the consumer releases them.
        unsafe {
            std::ptr::copy_nonoverlapping(base.add(start), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(base, dst.as_mut_ptr().add(first), dst.len() - first);
        }
    }

    /// Under loom, cell by cell (see `write_run`).
    ///
    /// # Safety
    /// The `dst.len()` slots from index `at` on must be published by the producer (an Acquire load of its
    /// tail showed them) and not yet released by the consumer, which the caller must be.
    #[cfg(loom)]
    unsafe fn read_run(&self, at: usize, dst: &mut [T]) {
        for (i, d) in dst.iter_mut().enumerate() {
            // SAFETY: as in the bulk version: these slots are published and owned by the consumer.
            *d = self
                .cell(at.wrapping_add(i))
                .with(|p| unsafe { (*p).assume_init() });
        }
    }
}

// SAFETY: the ring hands each slot to exactly one side at a time (the producer owns `tail..head+cap`,
// the consumer owns `head..tail`), ownership moving only through the Release/Acquire index stores,
// so sharing `Shared` between the two threads is sound when `T` itself can be sent.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: as above; `Shared` owns plain `T` values.
unsafe impl<T: Send> Send for Shared<T> {}

/// Creates a ring with room for `capacity` items (a power of two, at least 2).
pub fn ring<T: Copy + Send>(capacity: usize) -> (Producer<T>, Consumer<T>) {
    assert!(
        capacity >= 2 && capacity.is_power_of_two(),
        "ring capacity must be a power of two ≥ 2, got {capacity}"
    );
    let slots = (0..capacity)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let shared = Arc::new(Shared {
        head: CachePadded::new(AtomicUsize::new(0)),
        tail: CachePadded::new(AtomicUsize::new(0)),
        slots,
        mask: capacity - 1,
    });
    (
        Producer {
            shared: shared.clone(),
            tail: 0,
            cached_head: 0,
        },
        Consumer {
            shared,
            head: 0,
            cached_tail: 0,
        },
    )
}

/// A read-only view of how full a ring is, for the live view: it never touches the ring's ends.
pub struct Gauge<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Gauge<T> {
    /// Items waiting in the ring now (a moment's view; the ends move on).
    pub fn fill(&self) -> usize {
        // The head first: it never passes the tail, so a tail loaded after it is at or beyond it.
        let head = self.shared.head.load(Ordering::Acquire);
        let tail = self.shared.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(self.shared.mask + 1)
    }

    /// The ring's capacity.
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }
}

/// The writing end of a ring.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Our copy of `shared.tail` (we are its only writer).
    tail: usize,
    /// Last `shared.head` we read; the true head is never behind it.
    cached_head: usize,
}

impl<T: Copy + Send> Producer<T> {
    /// A view of how full the ring is.
    pub fn gauge(&self) -> Gauge<T> {
        Gauge {
            shared: self.shared.clone(),
        }
    }

    /// Capacity of the ring.
    pub fn capacity(&self) -> usize {
        self.shared.mask + 1
    }

    /// Free slots, refreshing the view of the consumer's index only when the cached view shows fewer than `want`.
    fn free(&mut self, want: usize) -> usize {
        let cap = self.capacity();
        let mut free = cap - self.tail.wrapping_sub(self.cached_head);
        if free < want {
            self.cached_head = self.shared.head.load(Ordering::Acquire);
            free = cap - self.tail.wrapping_sub(self.cached_head);
        }
        free
    }

    /// Whether at least one slot is free.
    pub fn has_space(&mut self) -> bool {
        self.free(1) > 0
    }

    /// Appends `value`, or hands it back when the ring is full.
    pub fn push(&mut self, value: T) -> Result<(), T> {
        if self.free(1) == 0 {
            return Err(value);
        }
        let slot = self.shared.cell(self.tail);
        // SAFETY: `free` showed this slot is outside `head..tail`, so the consumer does not read it
        // until we publish the new tail below; we are the only producer.
        slot.with_mut(|p| unsafe { (*p).write(value) });
        self.tail = self.tail.wrapping_add(1);
        self.shared.tail.store(self.tail, Ordering::Release);
        Ok(())
    }

    /// Appends as many of `values` as fit, publishing them with one index store; returns how many.
    pub fn push_slice(&mut self, values: &[T]) -> usize {
        let n = self.free(values.len()).min(values.len());
        // SAFETY: the first `n` slots from `tail` are free (checked by `free`, which saw the consumer's
        // Release of them) and unpublished (we are the only producer and publish below), and n <= capacity.
        unsafe { self.shared.write_run(self.tail, &values[..n]) };
        if n > 0 {
            self.tail = self.tail.wrapping_add(n);
            self.shared.tail.store(self.tail, Ordering::Release);
        }
        n
    }
}

/// The reading end of a ring.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Our copy of `shared.head` (we are its only writer).
    head: usize,
    /// Last `shared.tail` we read; the true tail is never behind it.
    cached_tail: usize,
}

impl<T: Copy + Send> Consumer<T> {
    /// Items ready to read, refreshing the view of the producer's index only when the cached view shows fewer than `want`.
    fn available(&mut self, want: usize) -> usize {
        let mut n = self.cached_tail.wrapping_sub(self.head);
        if n < want {
            self.cached_tail = self.shared.tail.load(Ordering::Acquire);
            n = self.cached_tail.wrapping_sub(self.head);
        }
        n
    }

    /// The item at `index`.
    ///
    /// # Safety
    /// `index` must be in `head..cached_tail`: published (the Acquire load of `tail` that produced
    /// `cached_tail` made the producer's write of it visible) and not yet released.
    unsafe fn read(&self, index: usize) -> T {
        let slot = self.shared.cell(index);
        // SAFETY: the slot is published and not released (the caller's guarantee), so it is initialised and
        // the producer will not overwrite it before we publish a head past it.
        slot.with(|p| unsafe { (*p).assume_init() })
    }

    /// The next item, without removing it.
    pub fn peek(&mut self) -> Option<T> {
        // SAFETY: `available` showed `head` is in `head..cached_tail`.
        (self.available(1) > 0).then(|| unsafe { self.read(self.head) })
    }

    /// `f` of the next item, read in place, without removing it: what a merge needs of a datapoint
    /// (its time) without copying all of it.
    #[inline]
    pub fn peek_with<K>(&mut self, f: impl FnOnce(&T) -> K) -> Option<K> {
        if self.available(1) == 0 {
            return None;
        }
        let slot = self.shared.cell(self.head);
        // SAFETY: `available` showed `head` is in `head..cached_tail`: published, so initialised, and not
        // released, so the producer does not write it while `f` reads it.
        Some(slot.with(|p| f(unsafe { (*p).assume_init_ref() })))
    }

    /// Removes and returns the next item.
    pub fn pop(&mut self) -> Option<T> {
        if self.available(1) == 0 {
            return None;
        }
        // SAFETY: `available` (above) showed `head` is in `head..cached_tail`.
        let v = unsafe { self.read(self.head) };
        self.head = self.head.wrapping_add(1);
        self.shared.head.store(self.head, Ordering::Release);
        Some(v)
    }

    /// Removes up to `out.len()` items into `out` with one index store; returns how many.
    pub fn pop_into(&mut self, out: &mut [T]) -> usize {
        let n = self.available(out.len()).min(out.len());
        // Indices `head..head + n` are published (within `cached_tail`) and ours until we release them.
        // SAFETY: `available` showed the `n` slots from `head` are published, and we have not released them.
        unsafe { self.shared.read_run(self.head, &mut out[..n]) };
        if n > 0 {
            self.head = self.head.wrapping_add(n);
            self.shared.head.store(self.head, Ordering::Release);
        }
        n
    }

    /// Whether the ring is empty right now.
    pub fn is_empty(&mut self) -> bool {
        self.available(1) == 0
    }
}

/// The last sequence number a producer has finished: it will never again push an item numbered at or below it.
/// `u64::MAX` means the producer has ended.
pub struct Progress(CachePadded<AtomicU64>);

/// The value of [`Progress`] once its producer has ended.
pub const ENDED: u64 = u64::MAX;

impl Progress {
    /// Progress 0: nothing finished (sequence numbers start at 1).
    pub fn new() -> Self {
        Progress(CachePadded::new(AtomicU64::new(0)))
    }

    /// Publishes `seq` (after every item numbered `seq` or less has been pushed).
    pub fn publish(&self, seq: u64) {
        self.0.store(seq, Ordering::Release);
    }

    /// Marks the producer ended.
    pub fn end(&self) {
        self.0.store(ENDED, Ordering::Release);
    }

    /// Reads the progress; read it *before* looking at the ring.
    pub fn load(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn full_ring_hands_the_value_back_and_order_is_kept() {
        let (mut p, mut c) = ring::<u32>(4);
        for i in 0..4 {
            p.push(i).unwrap();
        }
        assert_eq!(p.push(9), Err(9));
        assert_eq!(c.peek(), Some(0));
        assert_eq!(c.pop(), Some(0));
        p.push(4).unwrap();
        let mut out = [0; 8];
        assert_eq!(c.pop_into(&mut out), 4);
        assert_eq!(&out[..4], &[1, 2, 3, 4]);
        assert_eq!(c.pop(), None);
        assert_eq!(p.push_slice(&[5, 6, 7, 8, 9, 10]), 4);
        assert_eq!(c.pop_into(&mut out), 4);
        assert_eq!(&out[..4], &[5, 6, 7, 8]);
    }

    #[test]
    #[should_panic(expected = "power of two")]
    fn capacity_must_be_a_power_of_two() {
        let _ = ring::<u8>(3);
    }
}
