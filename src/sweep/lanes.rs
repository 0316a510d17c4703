//! Combinations that read the same stream, run as lanes of one pass.
//!
//! Each combination keeps its own tubes ([`Fused`]); a through that alone takes a source's data
//! keeps its reducers' state for every combination side by side ([`Lanes`]), so a datapoint is added
//! to all of them in one loop. A datapoint that makes a lane's condition hold, and every datapoint
//! that is not simply added, runs through that combination's own tubes, with the lane's state put in
//! first and taken back after: the tubes that write rows are always the engine's own, so each
//! combination's rows are exactly those of a run of its config.

use crate::base::datapoint::{Datapoint, Kind};
use crate::base::RunError;
use crate::graph::{Graph, NodeKind};
use crate::runtime::{Fused, FusedFinished};
use crate::throughs::Lanes;

/// A through kept as lanes: its index among each combination's tubes, and its state in every lane.
struct Shared {
    local: usize,
    lanes: Lanes,
}

/// Combinations that read one stream, run together.
pub(super) struct Together {
    fused: Vec<Fused>,
    /// By source tube id: the index in `shared` of the through that alone takes its data, and the port.
    by_source: Vec<Option<(usize, u8)>>,
    shared: Vec<Shared>,
    /// The lanes a datapoint made fire (capacity: every lane).
    fired: Vec<u32>,
}

impl Together {
    /// Runs `fused`, the tubes of combinations that read one stream (whose sources are those of `g`,
    /// any of them), as lanes; gives `fused` back, to run one by one, unless every source of the
    /// stream feeds one through alone, the same in every combination, that can be kept as lanes.
    pub(super) fn new(g: &Graph, fused: Vec<Fused>) -> Result<Together, Vec<Fused>> {
        let sources = (g.nodes.iter().enumerate())
            .filter(|(_, n)| n.kind.is_generator() || matches!(n.kind, NodeKind::Tick(_)))
            .map(|(id, _)| id);
        let mut by_source = vec![None; g.nodes.len()];
        let mut shared: Vec<Shared> = Vec::new();
        for src in sources {
            let Some((local, port)) = fused.first().and_then(|f| f.sole_through(src as _)) else {
                return Err(fused);
            };
            if fused
                .iter()
                .any(|f| f.sole_through(src as _) != Some((local, port)))
            {
                return Err(fused);
            }
            let k = match shared.iter().position(|s| s.local == local) {
                Some(k) => k,
                None => {
                    let lanes: Vec<_> = fused.iter().map(|f| f.through(local)).collect();
                    let Some(lanes) = Lanes::new(&lanes) else {
                        return Err(fused);
                    };
                    shared.push(Shared { local, lanes });
                    shared.len() - 1
                }
            };
            by_source[src] = Some((k, port));
        }
        let fired = Vec::with_capacity(fused.len());
        Ok(Together {
            fused,
            by_source,
            shared,
            fired,
        })
    }

    /// Runs one numbered datapoint of the stream through every combination.
    #[inline]
    pub(super) fn push(&mut self, dp: &Datapoint) -> Result<(), RunError> {
        let lane = self.by_source.get(dp.source as usize).copied().flatten();
        match lane {
            Some((k, port)) if dp.kind != Kind::Status => {
                let mut fired = std::mem::take(&mut self.fired);
                self.shared[k].lanes.add(port, dp, &mut fired);
                let r = fired.iter().try_for_each(|&i| self.own(i as usize, dp));
                self.fired = fired;
                r
            }
            _ => (0..self.fused.len()).try_for_each(|i| self.own(i, dp)),
        }
    }

    /// Runs `dp` through combination `i`'s own tubes, with its lanes' state.
    #[inline(never)]
    fn own(&mut self, i: usize, dp: &Datapoint) -> Result<(), RunError> {
        let f = &mut self.fused[i];
        for s in &self.shared {
            s.lanes.load(i, f.through_mut(s.local));
        }
        let r = f.push(dp);
        for s in &mut self.shared {
            s.lanes.store(i, f.through(s.local));
        }
        r
    }

    /// Ends the input of every combination, in order (see [`Fused::finish`]).
    pub(super) fn finish(self) -> impl Iterator<Item = Result<FusedFinished, RunError>> {
        let shared = self.shared;
        (self.fused.into_iter().enumerate()).map(move |(i, mut f)| {
            for s in &shared {
                s.lanes.load(i, f.through_mut(s.local));
            }
            f.finish()
        })
    }
}
