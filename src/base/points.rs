//! An input's datapoints held in memory, compactly: a sweep reads each input once and every
//! combination that reads it runs over it, but most of a datapoint's 128 bytes are fields that no tube
//! reads. [`Points`] keeps each datapoint's times, source, kind and length, and only the fields kept;
//! in the shipped sweep (one field of twelve read) that is 20 bytes a datapoint instead of 128, so
//! reading the inputs touches a sixth of the memory, and each pass over a stream reads a sixth.
//!
//! Nor does it keep ingest times: nothing in a sweep measures latency, so its inputs are read without
//! reading the clock, and without calibrating it (a busy loop of several milliseconds on one core).

use super::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use super::edge::{Ctx, Push};
use super::error::RunError;

/// What a datapoint is besides its times and values.
#[derive(Clone, Copy)]
struct Head {
    source: TubeId,
    kind: Kind,
    len: u8,
}

/// Datapoints in the order they came. One read back ([`Points::fill`], into a datapoint whose other
/// fields are 0) has the same event time, source, kind, length and kept fields as the one put in; its
/// other fields are 0, and so are its ingest time (see [`Push::ingest_now`]), its sequence number (a
/// stream numbers it) and its ring wait (it was in no ring).
pub struct Points {
    /// The fields kept, by slot, in order.
    slots: Vec<u8>,
    times: Vec<i64>,
    heads: Vec<Head>,
    /// The kept fields' values, `slots.len()` to a datapoint.
    values: Vec<f64>,
    /// Whether every datapoint is plain data (no status, tick or event).
    only_data: bool,
}

impl Points {
    /// Keeps the fields `used` marks: the fields the graph reads of a generator, one mark for each
    /// field of its schema (see `Graph::used_fields`).
    pub fn new(used: &[bool]) -> Points {
        let slots = (used.iter().take(MAX_FIELDS).enumerate())
            .filter(|(_, &u)| u)
            .map(|(s, _)| s as u8)
            .collect();
        Points {
            slots,
            times: Vec::new(),
            heads: Vec::new(),
            values: Vec::new(),
            only_data: true,
        }
    }

    /// Whether every datapoint it holds is plain data ([`Kind::Data`]).
    pub fn only_data(&self) -> bool {
        self.only_data
    }

    /// How many it holds.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Their event times, in order.
    pub fn times(&self) -> &[i64] {
        &self.times
    }

    /// Writes datapoint `i`'s event time, source, kind, length and kept fields into `dp`, leaving the
    /// rest as they are: into a datapoint whose other fields are 0, it writes datapoint `i`.
    #[inline(always)]
    pub fn fill(&self, i: usize, dp: &mut Datapoint) {
        let h = self.heads[i];
        dp.event_time = self.times[i];
        (dp.source, dp.kind, dp.len) = (h.source, h.kind, h.len);
        let n = self.slots.len();
        for (&s, &v) in self.slots.iter().zip(&self.values[i * n..(i + 1) * n]) {
            dp.values[s as usize] = v;
        }
    }

    /// Gives back the room reserved past what it holds, when that is more than it holds (a source
    /// reserves for every row of its file; a Batch range may keep far fewer).
    pub fn shrink(&mut self) {
        if self.times.len() < self.times.capacity() / 2 {
            self.times.shrink_to_fit();
            self.heads.shrink_to_fit();
            self.values.shrink_to_fit();
        }
    }
}

impl Push for Points {
    /// Reserves room for them all at once, as for a vector of datapoints (see `Vec<Datapoint>`'s
    /// [`Push::expect`]).
    fn expect(&mut self, n: usize) {
        self.times.reserve_exact(n);
        self.heads.reserve_exact(n);
        self.values.reserve_exact(n * self.slots.len());
    }

    /// None: see [`Points`].
    const INGEST_TIMES: bool = false;

    #[inline]
    fn push(&mut self, dp: Datapoint, _: u64, _: &mut Ctx) -> Result<(), RunError> {
        self.times.push(dp.event_time);
        self.heads.push(Head {
            source: dp.source,
            kind: dp.kind,
            len: dp.len,
        });
        self.only_data &= dp.kind == Kind::Data;
        let values = &dp.values;
        self.values
            .extend(self.slots.iter().map(|&s| values[s as usize]));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn a_datapoint_comes_back_with_its_times_head_and_kept_fields_and_zeros_elsewhere() {
        let mut ctx = Ctx::detached(Arc::new(AtomicBool::new(false)));
        // Fields 1 and 4 are read, of a schema of six.
        let used = [false, true, false, false, true, false];
        let mut points = Points::new(&used);
        let mut sent = Vec::new();
        for i in 0..5u16 {
            let kind = [Kind::Data, Kind::Event, Kind::Tick, Kind::Status][i as usize % 4];
            let mut dp = Datapoint::new(kind, 7 + i, 1_000 * i as i64 - 2_000, 5 * i as u64);
            dp.len = 3 + i as u8;
            dp.seq = 99;
            dp.hop_ns = 3;
            for (s, v) in dp.values.iter_mut().enumerate() {
                *v = (i as f64) * 100.0 + s as f64 + 0.5;
            }
            points.push(dp, 0, &mut ctx).unwrap();
            sent.push(dp);
        }
        assert_eq!(points.len(), 5);
        assert!(!points.only_data());
        let times: Vec<i64> = sent.iter().map(|d| d.event_time).collect();
        assert_eq!(points.times(), times);
        // One datapoint written over and over, as a stream's pass does.
        let mut got = Datapoint::new(Kind::Data, 0, 0, 0);
        for (i, want) in sent.iter().enumerate() {
            points.fill(i, &mut got);
            assert_eq!(
                (got.event_time, got.source, got.kind, got.len),
                (want.event_time, want.source, want.kind, want.len)
            );
            assert_eq!((got.ingest_time, got.seq, got.hop_ns), (0, 0, 0));
            for s in 0..MAX_FIELDS {
                let kept = s == 1 || s == 4;
                let expect = if kept { want.values[s] } else { 0.0 };
                assert_eq!(got.values[s], expect, "datapoint {i}, field {s}");
            }
        }
    }
}
