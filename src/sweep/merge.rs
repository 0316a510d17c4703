//! Merging a combination's inputs into one numbered stream, by the sequencer's rule (DESIGN §4): by
//! event time; ties go to the generator declared first; a tick at time T comes before data at T, ticks
//! due together go in declaration order, and ticks stop with the last datapoint. Numbers start at 1.
//!
//! A stream does not store its inputs' datapoints: it lists where each one is, eight bytes apiece, and
//! keeps only its ticks, which no input holds; a pass writes each one it gives into a scratch
//! datapoint of its input ([`Stream::each`]).

use crate::base::datapoint::{Datapoint, Kind};
use crate::base::points::Points;
use crate::events::tick::TickSchedule;

/// Bits of an entry that give the datapoint's place in its input; the bits above say which input.
const PLACE_BITS: u32 = 48;
const PLACE: u64 = (1 << PLACE_BITS) - 1;

/// A merged stream: by number (from 1), where its datapoint is.
pub struct Stream {
    /// By number − 1: the input (an index into the inputs merged, or one past them for the ticks) in
    /// the top bits, the place in it below.
    at: Vec<u64>,
    /// Its ticks, in order.
    ticks: Vec<Datapoint>,
}

impl Stream {
    /// How many datapoints it holds.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Room for [`Stream::each`] to put the datapoints it gives of a stream merged from `inputs`
    /// inputs: one datapoint for each input, and one for the ticks.
    pub fn scratch(inputs: usize) -> Vec<Datapoint> {
        vec![Datapoint::new(Kind::Data, 0, 0, 0); inputs + 1]
    }

    /// Gives `f` numbers `range` (counted from 0) of the stream, in order, each stamped with its
    /// number; `inputs` are those it was merged from, and `scratch` room for as many (see
    /// [`Stream::scratch`]). A datapoint of an input is written over the last one of that input, its
    /// fields that are not kept staying 0, rather than built anew (see [`Points::fill`]).
    pub fn each<E>(
        &self,
        inputs: &[&Points],
        range: std::ops::Range<usize>,
        scratch: &mut [Datapoint],
        mut f: impl FnMut(&Datapoint) -> Result<(), E>,
    ) -> Result<(), E> {
        self.each_from(inputs, range, scratch, &mut [], |dp, _| f(dp))
    }

    /// [`Stream::each`], passing over the datapoints of input `i` before place `from[i]` (inputs
    /// past the end of `from` are never passed over), which `f` may move on as it goes.
    pub fn each_from<E>(
        &self,
        inputs: &[&Points],
        range: std::ops::Range<usize>,
        scratch: &mut [Datapoint],
        from: &mut [usize],
        mut f: impl FnMut(&Datapoint, &mut [usize]) -> Result<(), E>,
    ) -> Result<(), E> {
        let ticks = inputs.len();
        for (&e, k) in self.at[range.clone()].iter().zip(range) {
            let (input, place) = ((e >> PLACE_BITS) as usize, (e & PLACE) as usize);
            if from.get(input).is_some_and(|&f| place < f) {
                continue;
            }
            let dp = &mut scratch[input];
            if input == ticks {
                *dp = self.ticks[place];
            } else {
                inputs[input].fill(place, dp);
            }
            dp.seq = k as u64 + 1;
            f(dp, from)?;
        }
        Ok(())
    }
}

/// The merged, numbered stream of `inputs` (the event times of each input's datapoints, in its
/// source's order, listed in declaration order of their generators) and `ticks`.
pub fn merge(inputs: &[&[i64]], mut ticks: Vec<TickSchedule>) -> Stream {
    let total: usize = inputs.iter().map(|i| i.len()).sum();
    let mut out = Stream {
        at: Vec::with_capacity(total),
        ticks: Vec::new(),
    };
    let entry = |input: usize, place: usize| ((input as u64) << PLACE_BITS) | place as u64;
    let mut at = vec![0usize; inputs.len()];
    loop {
        let mut best: Option<(i64, usize)> = None;
        for (g, input) in inputs.iter().enumerate() {
            if let Some(&d) = input.get(at[g]) {
                if best.is_none_or(|(t, _)| d < t) {
                    best = Some((d, g));
                }
            }
        }
        let Some((time, g)) = best else { break };
        // Ticks due at or before this datapoint, earliest first.
        while let Some((t, k)) = ticks
            .iter()
            .enumerate()
            .filter_map(|(k, s)| s.peek().filter(|&n| n <= time).map(|n| (n, k)))
            .min()
        {
            ticks[k].advance();
            out.at.push(entry(inputs.len(), out.ticks.len()));
            out.ticks
                .push(Datapoint::new(Kind::Tick, ticks[k].id, t, 0));
        }
        out.at.push(entry(g, at[g]));
        at[g] += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(source: u16, times: &[i64]) -> Points {
        let mut ctx = crate::base::Ctx::detached(Default::default());
        let mut p = Points::new(&[]);
        for &t in times {
            let dp = Datapoint::new(Kind::Data, source, t, 0);
            crate::base::Push::push(&mut p, dp, 0, &mut ctx).unwrap();
        }
        p
    }

    #[test]
    fn a_stream_gives_the_inputs_datapoints_by_time_ties_to_the_first_input_numbered_from_one() {
        let (a, b) = (points(0, &[1, 3, 3]), points(1, &[0, 3, 7]));
        let inputs = [&a, &b];
        let s = merge(&[a.times(), b.times()], Vec::new());
        let given = |range| {
            let mut got = Vec::new();
            let mut scratch = Stream::scratch(inputs.len());
            s.each(&inputs, range, &mut scratch, |d| {
                got.push((d.source as u32, d.event_time, d.seq));
                Ok::<(), ()>(())
            })
            .unwrap();
            got
        };
        let got = given(0..s.len());
        // Written from the rule: by time; at a tie, the generator declared first.
        let want = [
            (1, 0, 1),
            (0, 1, 2),
            (0, 3, 3),
            (0, 3, 4),
            (1, 3, 5),
            (1, 7, 6),
        ];
        assert_eq!(got, want);
        let tail: Vec<u64> = given(4..6).iter().map(|d| d.2).collect();
        assert_eq!(tail, [5, 6]);
    }
}
