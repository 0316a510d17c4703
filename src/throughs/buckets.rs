//! Tumbling and hopping windows: epoch-aligned, half-open `[start, end)`, on event time. Window `j`
//! starts at `j·every` and lasts `size` (tumbling: `every = size`), so a datapoint falls in
//! `size/every` windows. Each key keeps one set of reducers per window it may be in; a window is
//! emitted (for every key with data in it, in the order the keys were met) when a datapoint at or
//! after its end arrives, or at the end of the input.

use super::reducers::Reducer;

/// No window.
const NONE: i64 = i64::MIN;

/// A closed window of one key, handed to the caller to emit.
pub(super) struct Closed<'a> {
    /// The key's slot.
    pub slot: usize,
    /// The window's start and end (ns).
    pub start: i64,
    pub end: i64,
    /// Its reducers.
    pub reducers: &'a [Reducer],
}

/// The open windows of every key.
#[derive(Debug, Clone)]
pub(super) struct Buckets {
    size: i64,
    every: i64,
    /// Windows a datapoint falls in: `size / every`.
    n: usize,
    /// By `key slot · n + j mod n`: the reducers of window `j` of that key.
    sets: Vec<Vec<Reducer>>,
    /// Same index: which window the set holds (`NONE`: none).
    stamps: Vec<i64>,
    /// The first window not yet emitted.
    next_close: i64,
    /// The windows holding data: `lo..=hi` (none while `lo > hi`).
    lo: i64,
    hi: i64,
    /// Datapoints that fell (at least partly) in windows already emitted.
    pub late: u64,
}

impl Buckets {
    /// Windows of `size` every `every` (ns), for up to `keys` keys, each with a copy of `reducers`.
    pub fn new(size: i64, every: i64, reducers: &[Reducer], keys: usize) -> Self {
        let n = (size / every) as usize;
        Buckets {
            size,
            every,
            n,
            sets: vec![reducers.to_vec(); n * keys],
            stamps: vec![NONE; n * keys],
            next_close: NONE,
            lo: i64::MAX,
            hi: NONE,
            late: 0,
        }
    }

    fn pos(&self, slot: usize, j: i64) -> usize {
        slot * self.n + j.rem_euclid(self.n as i64) as usize
    }

    /// Emits (through `emit`) every window that ends at or before `t`, in window order and, within a
    /// window, for every key `0..keys` with data in it.
    pub fn close_until(&mut self, t: i64, keys: usize, mut emit: impl FnMut(Closed<'_>)) {
        while self.lo <= self.hi && self.lo.saturating_mul(self.every) + self.size <= t {
            self.emit_window(self.lo, keys, &mut emit);
            self.lo += 1;
        }
        let first_open = (t - self.size).div_euclid(self.every) + 1;
        self.next_close = self.next_close.max(first_open);
        self.lo = self.lo.max(self.next_close);
    }

    /// Emits every window holding data (the end of the input).
    pub fn close_all(&mut self, keys: usize, mut emit: impl FnMut(Closed<'_>)) {
        while self.lo <= self.hi {
            self.emit_window(self.lo, keys, &mut emit);
            self.lo += 1;
        }
        self.next_close = self.next_close.max(self.lo);
    }

    fn emit_window(&mut self, j: i64, keys: usize, emit: &mut impl FnMut(Closed<'_>)) {
        let start = j * self.every;
        for slot in 0..keys {
            let p = self.pos(slot, j);
            if self.stamps[p] != j {
                continue;
            }
            self.stamps[p] = NONE;
            emit(Closed {
                slot,
                start,
                end: start + self.size,
                reducers: &self.sets[p],
            });
        }
    }

    /// Adds a datapoint at `t` of key `slot` that arrived on `port`, after [`Self::close_until`]`(t)`:
    /// to every window it falls in that is still open. One that falls in a window already emitted is
    /// late: counted, and added only to its windows still open.
    pub fn add(&mut self, t: i64, slot: usize, port: usize, values: &[f64]) {
        let j_hi = t.div_euclid(self.every);
        let j_lo = j_hi - self.n as i64 + 1;
        if j_lo < self.next_close {
            self.late += 1;
        }
        for j in j_lo.max(self.next_close)..=j_hi {
            let p = self.pos(slot, j);
            if self.stamps[p] != j {
                self.stamps[p] = j;
                for r in &mut self.sets[p] {
                    r.reset();
                }
            }
            for r in &mut self.sets[p] {
                r.add(port, values);
            }
            self.lo = self.lo.min(j);
            self.hi = self.hi.max(j);
        }
    }
}
