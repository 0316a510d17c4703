//! Merging a combination's inputs into one numbered stream, by the sequencer's rule (DESIGN §4): by
//! event time; ties go to the generator declared first; a tick at time T comes before data at T, ticks
//! due together go in declaration order, and ticks stop with the last datapoint. Numbers start at 1.

use crate::base::datapoint::{Datapoint, Kind};
use crate::events::tick::TickSchedule;

/// The merged, numbered stream of `inputs` (each in its source's order, listed in declaration order of
/// their generators) and `ticks`.
pub fn merge(inputs: &[&[Datapoint]], mut ticks: Vec<TickSchedule>) -> Vec<Datapoint> {
    let total: usize = inputs.iter().map(|i| i.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut at = vec![0usize; inputs.len()];
    let mut seq = 0u64;
    loop {
        let mut best: Option<(i64, usize)> = None;
        for (g, input) in inputs.iter().enumerate() {
            if let Some(d) = input.get(at[g]) {
                if best.is_none_or(|(t, _)| d.event_time < t) {
                    best = Some((d.event_time, g));
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
            seq += 1;
            let mut tick = Datapoint::new(Kind::Tick, ticks[k].id, t, 0);
            tick.seq = seq;
            out.push(tick);
        }
        let mut dp = inputs[g][at[g]];
        at[g] += 1;
        seq += 1;
        dp.seq = seq;
        out.push(dp);
    }
    out
}
