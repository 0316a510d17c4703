//! Combinations that read the same stream, run as lanes of one pass.
//!
//! Each combination keeps its own tubes ([`Fused`]); a through that alone takes a source's data
//! keeps its reducers' state for every combination side by side ([`Lanes`]), so a datapoint is added
//! to all of them in one loop. When a datapoint makes a lane's condition hold, and the through's
//! emissions go only to sinks and to throughs kept as lanes that consume its events ([`Fire`]), the
//! lanes emit and reset as their throughs would ([`Lanes::fire`], [`Lanes::take`]) and the
//! combination's own sinks write the row. Otherwise, and for every datapoint that is not simply
//! added, the datapoint runs through that combination's own tubes, with the lanes' state put in
//! first and taken back after. Either way the rows are written by the combination's own sinks.

use std::sync::Arc;

use super::tape::Tape;
use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::number::Written;
use crate::base::RunError;
use crate::graph::{Graph, NodeKind};
use crate::runtime::{Fill, Fused, FusedFinished};
use crate::throughs::Lanes;

/// A through kept as lanes: its index among each combination's tubes, and its state in every lane.
struct Shared {
    local: usize,
    lanes: Lanes,
}

/// What a through kept as lanes reaches when its condition holds, the same in every combination:
/// sinks, and throughs kept as lanes that consume its events and send only to sinks.
#[derive(Debug, PartialEq)]
struct Fire {
    /// Its tube id, for what it emits.
    id: TubeId,
    /// The throughs that consume its events, in the order the stage runs them: their index in
    /// `shared`, and their tube id.
    consumers: Vec<(usize, TubeId)>,
    /// The sinks, in the order the stage runs them: each one's index among the tubes, its inputs in
    /// the order its inbox holds them (by port, then arrival): the port, and what arrives there (0:
    /// the event; `1 + j`: what consumer `j` emits), and the columns those fill ([`Fill`]), when
    /// they come one per port.
    sinks: Vec<Sinking>,
}

/// A sink a firing reaches (see [`Fire::sinks`]).
#[derive(Debug, PartialEq)]
struct Sinking {
    local: usize,
    inputs: Vec<(u8, u8)>,
    fills: Option<Vec<Fill>>,
}

impl Fire {
    /// The plan for shared through `k`, when every combination has the same one.
    fn of(fused: &[Fused], shared: &[Shared], k: usize) -> Option<Fire> {
        let plan = Fire::plan(fused.first()?, shared, k)?;
        (fused[1..].iter())
            .all(|f| Fire::plan(f, shared, k).as_ref() == Some(&plan))
            .then_some(plan)
    }

    fn plan(f: &Fused, shared: &[Shared], k: usize) -> Option<Fire> {
        let local = shared[k].local;
        // (sink, port, what) in the order the stage delivers them: the event as it is emitted, then
        // what each consumer emits as it runs, in tube order.
        let mut delivered = Vec::new();
        let mut consumers = Vec::new();
        for (to, port, events_only) in f.routes_from(local) {
            if f.is_sink(to) {
                delivered.push((to, port, 0u8));
                continue;
            }
            let c = shared.iter().position(|s| s.local == to)?;
            let consumes = f.through(to).plain_consumer() == Some(port);
            if !events_only || !consumes || shared[c].lanes.produces() {
                return None;
            }
            consumers.push((to, c));
        }
        consumers.sort_unstable();
        for (j, &(to, _)) in consumers.iter().enumerate() {
            for (s, p, _) in f.routes_from(to) {
                f.is_sink(s).then_some(())?;
                delivered.push((s, p, 1 + j as u8));
            }
        }
        let mut order: Vec<usize> = delivered.iter().map(|d| d.0).collect();
        order.sort_unstable();
        order.dedup();
        let sinks = (order.into_iter())
            .map(|s| {
                let mut inputs: Vec<(u8, u8)> = (delivered.iter().filter(|d| d.0 == s))
                    .map(|d| (d.1, d.2))
                    .collect();
                inputs.sort_by_key(|i| i.0);
                let fills = f.sink(s).fills(&inputs);
                Sinking {
                    local: s,
                    inputs,
                    fills,
                }
            })
            .collect();
        Some(Fire {
            id: f.tube_id(local),
            consumers: (consumers.iter())
                .map(|&(to, c)| (c, f.tube_id(to)))
                .collect(),
            sinks,
        })
    }
}

/// A tape being played by a shared through: its next firing, and which of the stream's inputs it was
/// recorded over.
struct Playing {
    tape: Arc<Tape>,
    next: usize,
    input: usize,
}

impl Playing {
    /// The place in the input of the next firing (`usize::MAX` after the last).
    fn next_place(&self) -> usize {
        self.tape.at.get(self.next).map_or(usize::MAX, |f| f.0)
    }
}

/// Combinations that read one stream, run together.
pub(super) struct Together {
    fused: Vec<Fused>,
    /// By source tube id: the index in `shared` of the through that alone takes its data, and the port.
    by_source: Vec<Option<(usize, u8)>>,
    shared: Vec<Shared>,
    /// By shared through: when it produces events, what its firing reaches, when that can be done
    /// from the lanes.
    fires: Vec<Option<Fire>>,
    /// The lanes a datapoint made fire (capacity: every lane).
    fired: Vec<u32>,
    /// By shared through with a plan: what its firing emits, the event, then what each consumer
    /// emits.
    emitted: Vec<Vec<Datapoint>>,
    /// By shared through: the tape it plays instead of adding its source's datapoints, if any.
    playing: Vec<Option<Playing>>,
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
        let fires: Vec<Option<Fire>> = (0..shared.len())
            .map(|k| {
                shared[k]
                    .lanes
                    .produces()
                    .then(|| Fire::of(&fused, &shared, k))?
            })
            .collect();
        let emitted = (fires.iter())
            .map(|f| match f {
                Some(f) => std::iter::once(Datapoint::new(Kind::Event, f.id, 0, 0))
                    .chain(
                        (f.consumers.iter()).map(|&(_, id)| Datapoint::new(Kind::Data, id, 0, 0)),
                    )
                    .collect(),
                None => Vec::new(),
            })
            .collect();
        Ok(Together {
            playing: shared.iter().map(|_| None).collect(),
            fired: Vec::with_capacity(fused.len()),
            fused,
            by_source,
            shared,
            fires,
            emitted,
        })
    }

    /// How many combinations it runs.
    pub(super) fn len(&self) -> usize {
        self.fused.len()
    }

    /// Whether its firings are worked out in the lanes (see [`Fire`]): every through kept as lanes
    /// that produces events has a plan, and there is one.
    pub(super) fn fires_from_lanes(&self) -> bool {
        let produces = |k: &usize| self.shared[*k].lanes.produces();
        let ks = 0..self.shared.len();
        ks.clone().any(|k| produces(&k)) && ks.filter(produces).all(|k| self.fires[k].is_some())
    }

    /// The shared throughs that can play a tape ([`Tape`]) of their firings: each one produces events
    /// and fires from the lanes, and one source alone feeds it (its tube id and port are given). A
    /// datapoint that ran through a combination's own tubes would need the taped lanes' state as it
    /// stands; none does when every through that produces fires from the lanes (checked here), every
    /// source has a lane (as every [`Together`] does) and the stream holds only plain data (a status
    /// runs through the combinations' own tubes: the caller checks).
    pub(super) fn tapeable(&self) -> Vec<(usize, TubeId, u8)> {
        if !self.fires_from_lanes() {
            return Vec::new();
        }
        let fed = |k: usize| {
            let mut from = (self.by_source.iter().enumerate())
                .filter_map(|(src, s)| s.filter(|s| s.0 == k).map(|s| (src as TubeId, s.1)));
            from.next().filter(|_| from.next().is_none())
        };
        (0..self.shared.len())
            .filter(|&k| self.fires[k].is_some())
            .filter_map(|k| fed(k).map(|(src, port)| (k, src, port)))
            .collect()
    }

    /// Shared through `k`'s lanes.
    pub(super) fn lanes(&self, k: usize) -> &Lanes {
        &self.shared[k].lanes
    }

    /// Shared through `k` plays `tape` (recorded from lanes with its key, over `input`, the stream's
    /// input its source reads) instead of adding its source's datapoints.
    pub(super) fn play(&mut self, k: usize, tape: Arc<Tape>, input: usize) {
        self.playing[k] = Some(Playing {
            tape,
            next: 0,
            input,
        });
    }

    /// Where a pass over the stream starts in each input (see [`Stream::each_from`]): an input a tape
    /// is played over, at its first firing; the datapoints between firings, which the tape has added
    /// already, are passed over. `from` holds one place per input.
    ///
    /// [`Stream::each_from`]: super::merge::Stream::each_from
    pub(super) fn starts(&self, from: &mut [usize]) {
        for p in self.playing.iter().flatten() {
            from[p.input] = p.next_place();
        }
    }

    /// Runs one numbered datapoint of the stream through every combination; `from` is where the
    /// pass goes on in each input (see [`Together::starts`]).
    #[inline]
    pub(super) fn push(&mut self, dp: &Datapoint, from: &mut [usize]) -> Result<(), RunError> {
        let lane = self.by_source.get(dp.source as usize).copied().flatten();
        match lane {
            Some((k, _)) if self.playing[k].is_some() => self.play_one(k, dp, from),
            Some((k, port)) if dp.kind != Kind::Status => {
                let mut fired = std::mem::take(&mut self.fired);
                self.shared[k].lanes.add(port, dp, &mut fired);
                let r = if self.fires[k].is_some() {
                    fired
                        .iter()
                        .try_for_each(|&i| self.fire(k, i as usize, port, dp))
                } else {
                    fired.iter().try_for_each(|&i| self.own(i as usize, dp))
                };
                self.fired = fired;
                r
            }
            _ => (0..self.fused.len()).try_for_each(|i| self.own(i, dp)),
        }
    }

    /// The datapoint of the input shared through `k`'s tape was recorded from at which its next
    /// firing comes: the pass gives no other of that input, as [`Together::starts`] and this move
    /// where it goes on in it (`from`). Fires the lanes that fired at it, with what they emitted
    /// then, and has the pass go on to the next firing's datapoint.
    fn play_one(&mut self, k: usize, dp: &Datapoint, from: &mut [usize]) -> Result<(), RunError> {
        let mut p = self.playing[k].take().expect("a tape is playing");
        let place = p.next_place();
        let mut r = Ok(());
        while let Some(&(_, i)) = p.tape.at.get(p.next).filter(|f| f.0 == place) {
            let w = p.tape.width;
            let values = &p.tape.values[p.next * w..(p.next + 1) * w];
            p.next += 1;
            let event = &mut self.emitted[k][0];
            for (v, written) in event.values.iter_mut().zip(values) {
                *v = written.value();
            }
            event.len = w as u8;
            r = self.deliver(k, i as usize, dp, values);
            if r.is_err() {
                break;
            }
        }
        from[p.input] = p.next_place();
        self.playing[k] = Some(p);
        r
    }

    /// Lane `i` of shared through `k`, whose condition `dp` (on `port`) made hold: the lanes emit and
    /// reset as the through and the throughs consuming its events would, and combination `i`'s own
    /// sinks take what they emit, as the stage would hand it to them (see [`Fire`]).
    #[inline(never)]
    fn fire(&mut self, k: usize, i: usize, port: u8, dp: &Datapoint) -> Result<(), RunError> {
        let event = &mut self.emitted[k][0];
        event.len = self.shared[k].lanes.fire(i, port, dp, &mut event.values) as u8;
        self.deliver(k, i, dp, &[])
    }

    /// Lane `i` of shared through `k` fired at `dp`, and its event holds what it emitted (whose
    /// texts, by slot, `written` may hold: see [`Written`]): the throughs consuming its events emit
    /// and reset, and combination `i`'s sinks take it all.
    fn deliver(
        &mut self,
        k: usize,
        i: usize,
        dp: &Datapoint,
        written: &[Written],
    ) -> Result<(), RunError> {
        let Some(fire) = &self.fires[k] else {
            unreachable!("fire called for a through without a plan")
        };
        // The datapoints emitted are kept from one firing to the next, each always from the same
        // tube with as many values: only what changes is written.
        let shared = &mut self.shared;
        let (event, outs) = (self.emitted[k].split_first_mut()).expect("the event comes first");
        (event.event_time, event.ingest_time, event.seq) = (dp.event_time, dp.ingest_time, dp.seq);
        for (&(c, _), out) in fire.consumers.iter().zip(outs) {
            (out.event_time, out.ingest_time, out.seq) =
                (event.event_time, event.ingest_time, event.seq);
            out.len = shared[c].lanes.take(i, &mut out.values) as u8;
        }
        let emitted = &self.emitted[k];
        for s in &fire.sinks {
            let at = (s.inputs.as_slice(), s.fills.as_deref());
            self.fused[i].sink_firing(s.local, at, emitted, written)?;
        }
        Ok(())
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

    /// Ends the input of every combination, in order (see [`Fused::finish`]); a through that played
    /// a tape ends as the tape's lanes did.
    pub(super) fn finish(self) -> impl Iterator<Item = Result<FusedFinished, RunError>> {
        let mut shared = self.shared;
        for (s, p) in shared.iter_mut().zip(self.playing) {
            if let Some(p) = p {
                assert_eq!(p.next, p.tape.at.len(), "a tape plays every firing");
                s.lanes = p.tape.end.clone();
            }
        }
        (self.fused.into_iter().enumerate()).map(move |(i, mut f)| {
            for s in &shared {
                s.lanes.load(i, f.through_mut(s.local));
            }
            f.finish()
        })
    }
}
