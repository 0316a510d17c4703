//! A whole graph's throughs and sinks on the calling thread, fed a stream that is already merged and
//! numbered: what a sweep runs for each combination. The tubes are the engine's own (a [`Stage`] with
//! no rings), so each combination's rows are exactly those of a run of its config. A sweep firing
//! from its lanes hands a sink directly what the stage would have ([`Fused::sink_step`]).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::sink::{Fill, Sink};
use super::stage::{Stage, Tube};
use super::wiring::{feed_names, inbox_bounds, stage_tubes};
use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::number::Written;
use crate::base::ring::Progress;
use crate::base::{Ctx, RunError};
use crate::graph::{Graph, NodeKind, StagePlan};
use crate::metrics::{Recorder, Shared};
use crate::plugin::RowWriter;
use crate::throughs::Through;

/// Opens the writers of the sink with this tube id, one per output.
pub type OpenWriters<'a> = dyn FnMut(TubeId) -> Result<Vec<Box<dyn RowWriter>>, RunError> + 'a;

/// Rows per sink, and what throughs lost, by tube id (see [`Fused::finish`]).
pub type Finished = (Vec<(TubeId, u64)>, Vec<(TubeId, String)>);

/// Every through and sink of a graph, fused on one thread.
pub struct Fused {
    stage: Stage,
    ctx: Ctx,
}

impl Fused {
    /// Builds `g`'s throughs and sinks in topological order; `open` gives each sink its writers.
    pub fn new(g: &Graph, open: &mut OpenWriters<'_>) -> Result<Fused, RunError> {
        let plan = StagePlan {
            tubes: g.placeable(),
            core: None,
        };
        let bound = inbox_bounds(g);
        let (tubes, routes, scratch) = stage_tubes(g, &plan, &bound, &mut |t| {
            let node = &g.nodes[t as usize];
            let NodeKind::Sink { outputs, columns } = &node.kind else {
                unreachable!("only sinks are opened")
            };
            let writers = open(t)?;
            let pairs = outputs.iter().map(|o| o.as_ref()).zip(writers).collect();
            Ok(Sink::with_writers(columns, feed_names(g, t), pairs))
        })?;
        let st_len = tubes.len();
        let stage = Stage {
            inlets: Vec::new(),
            outlets: Vec::new(),
            tubes,
            filled: vec![false; st_len],
            routes: routes.into(),
            out_routes: vec![Vec::new(); g.nodes.len()],
            progress: Arc::new(Progress::new()),
            published: 0,
            scratch: Vec::with_capacity(scratch),
            emitted: Vec::with_capacity(scratch),
            rec: Recorder::off(&Shared::new(Vec::new())),
            e2e: vec![None; plan.tubes.len()],
        };
        let ctx = Ctx::detached(Arc::new(AtomicBool::new(false)));
        Ok(Fused { stage, ctx })
    }

    /// Runs one numbered datapoint (a generator's row or a tick) through the tubes.
    #[inline(always)]
    pub fn push(&mut self, dp: &Datapoint) -> Result<(), RunError> {
        self.stage.step(dp, 0, &mut self.ctx)
    }

    /// The through that alone takes what `source` sends, by its index among the tubes, and the data
    /// port it takes it on, when that through adds plain data to its reducers and nothing else.
    pub fn sole_through(&self, source: TubeId) -> Option<(usize, u8)> {
        let routes = self.stage.routes.of(source);
        let [r] = routes else { return None };
        match &self.stage.tubes[r.local as usize].tube {
            Tube::Through(th) if !r.events_only && th.adds_on(r.port) => {
                Some((r.local as usize, r.port))
            }
            _ => None,
        }
    }

    /// The through at index `local` among the tubes (see [`Self::sole_through`]).
    pub fn through(&self, local: usize) -> &Through {
        match &self.stage.tubes[local].tube {
            Tube::Through(th) => th,
            Tube::Sink(_) => panic!("tube {local} is a sink"),
        }
    }

    /// [`Self::through`], to change.
    pub fn through_mut(&mut self, local: usize) -> &mut Through {
        match &mut self.stage.tubes[local].tube {
            Tube::Through(th) => th,
            Tube::Sink(_) => panic!("tube {local} is a sink"),
        }
    }

    /// Where what the tube at index `local` emits goes: (index of the receiving tube, its port, whether
    /// the port takes only events), in the order the stage delivers it.
    pub fn routes_from(&self, local: usize) -> Vec<(usize, u8, bool)> {
        let id = self.stage.tubes[local].id;
        (self.stage.routes.of(id).iter())
            .map(|r| (r.local as usize, r.port, r.events_only))
            .collect()
    }

    /// The tube id of the tube at index `local`.
    pub fn tube_id(&self, local: usize) -> TubeId {
        self.stage.tubes[local].id
    }

    /// Whether the tube at index `local` is a sink.
    pub fn is_sink(&self, local: usize) -> bool {
        matches!(self.stage.tubes[local].tube, Tube::Sink(_))
    }

    /// Gives the sink at index `local` what one sequence number brings it, `inputs` (port, datapoint,
    /// the texts of its values when they were worked out already: see [`Written`]) in the order its
    /// inbox would hold them, and ends the number, as the stage runs a sink; returns whether it wrote
    /// a row.
    pub fn sink_step<'a>(
        &mut self,
        local: usize,
        inputs: impl IntoIterator<Item = (u8, &'a Datapoint, &'a [Written])>,
    ) -> Result<bool, RunError> {
        let Tube::Sink(s) = &mut self.stage.tubes[local].tube else {
            panic!("tube {local} is not a sink")
        };
        let wrote = s.take_seq(inputs)?;
        stop_if_gone(&self.ctx, s, wrote);
        Ok(wrote)
    }

    /// The sink at index `local`.
    pub fn sink(&self, local: usize) -> &Sink {
        match &self.stage.tubes[local].tube {
            Tube::Sink(s) => s,
            Tube::Through(_) => panic!("tube {local} is not a sink"),
        }
    }

    /// [`Self::sink_step`] for a firing worked out in a sweep's lanes, the datapoints coming on
    /// `inputs` (port, which of `emitted`; `texts` are the first one's values' texts): into the
    /// columns `fills` says ([`Sink::fills`], [`Sink::take_firing`]) when there is a plan and the
    /// sink has no row begun, else the stage's way.
    #[inline]
    pub fn sink_firing(
        &mut self,
        local: usize,
        (inputs, fills): (&[(u8, u8)], Option<&[Fill]>),
        emitted: &[Datapoint],
        texts: &[Written],
    ) -> Result<bool, RunError> {
        let Tube::Sink(s) = &mut self.stage.tubes[local].tube else {
            panic!("tube {local} is not a sink")
        };
        let time = emitted[0].event_time;
        let firing = fills.and_then(|fills| s.take_firing(time, fills, emitted, texts));
        let wrote = match firing {
            Some(wrote) => wrote?,
            None => s.take_seq((inputs.iter()).map(|&(p, w)| {
                let t = if w == 0 { texts } else { &[] };
                (p, &emitted[w as usize], t)
            }))?,
        };
        stop_if_gone(&self.ctx, s, wrote);
        Ok(wrote)
    }

    /// Closes the windows still open and flushes the sinks; returns the rows each wrote, and what
    /// its throughs lost or had to grow (late datapoints, keys past `max_keys`), by tube id.
    pub fn finish(mut self) -> Result<Finished, RunError> {
        let rows = self.stage.end_input(&mut self.ctx)?;
        Ok((rows, self.stage.losses()))
    }
}

/// Has the run stop once a sink that wrote a row has no output left (its stdout was closed).
fn stop_if_gone(ctx: &Ctx, s: &Sink, wrote: bool) {
    if wrote && s.gone() {
        ctx.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
