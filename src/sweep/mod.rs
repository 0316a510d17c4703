//! Parameter sweeps (DESIGN §9): one config with a `sweep:` section runs every combination of its axes
//! in one pass.
//!
//! The steps: [`expand`] checks each combination's config (the template with its `${name}`s replaced)
//! and groups the combinations by the inputs they read; [`prepare`] reads every distinct input once,
//! into memory, and merges each distinct set of inputs into one numbered stream, by the sequencer's
//! rule; [`run`] runs each combination's throughs and sinks (the engine's own tubes, fused on one
//! thread) over its stream, on several worker threads, and writes the rows grouped by combination, in
//! order, parameter columns first.

mod expand;
mod inputs;
mod merge;
mod output;
mod report;
mod run;

pub use expand::Expansion;
pub use report::{summary, SweepReport};
pub use run::SweepProgress;

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::base::datapoint::Datapoint;
use crate::base::RunError;
use crate::config::{ConfigErrors, ExternalDecl, ParamValue, PipelineType, Template};
use crate::events::tick::TickSchedule;
use crate::graph::{Graph, NodeKind};
use crate::plugin::Kinds;

/// The `I`-th of `N` slices of a sweep's combinations (`--shard I/N`, `I` from 1): consecutive
/// combinations, so the shards' outputs concatenated in order are the whole sweep's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, from 1.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl Shard {
    /// Reads `I/N`.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("'{s}' is not a shard: write I/N with 1 ≤ I ≤ N, e.g. --shard 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Its combinations, out of `total`.
    pub fn range(&self, total: usize) -> Range<usize> {
        (self.index - 1) * total / self.count..self.index * total / self.count
    }
}

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The template or a combination's config is wrong (exit code 2).
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// Reading or writing failed (exit code 1).
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Checks the combinations of `t`'s sweep (those of `shard`, or all) against `kinds`.
pub fn expand(
    t: &Template,
    kinds: &Kinds,
    shard: Option<Shard>,
) -> Result<Expansion, ConfigErrors> {
    let total = t.sweep.as_ref().map_or(1, |s| s.len());
    let range = shard.map_or(0..total, |s| s.range(total));
    expand::expand(t, kinds, range)
}

/// A sweep with its inputs read and its streams merged, ready to run.
pub struct Prepared {
    /// The config as written.
    pub template: Template,
    /// Its checked combinations.
    pub x: Expansion,
    /// Each distinct input, read.
    reads: Vec<inputs::Read>,
    /// Each distinct merged stream.
    streams: Vec<Vec<Datapoint>>,
    /// How long checking, reading and merging took.
    prepared_in: std::time::Duration,
}

/// Checks the sweep, then reads its inputs (on up to `threads` threads) and merges its streams.
pub fn prepare(
    t: Template,
    kinds: &Kinds,
    shard: Option<Shard>,
    threads: usize,
) -> Result<Prepared, SweepError> {
    let t0 = Instant::now();
    if t.sweep.is_none() {
        return Err(RunError::Input("the config has no sweep: section".into()).into());
    }
    let x = expand(&t, kinds, shard)?;
    if let Some(g) = x.graphs.first() {
        if g.pipeline == PipelineType::Stream || g.journal.is_some() {
            return Err(RunError::Input(
                "a sweep runs over history: use pipeline_type: {Batch: [from, to]} and no journal:"
                    .into(),
            )
            .into());
        }
    }
    let reads = inputs::read_all(&x, threads)?;
    let streams = x
        .streams
        .iter()
        .zip(&x.stream_first)
        .map(|(ids, &first)| {
            let g = &x.graphs[first];
            let points: Vec<&[Datapoint]> =
                ids.iter().map(|&i| reads[i].points.as_slice()).collect();
            merge::merge(&points, ticks(g))
        })
        .collect();
    Ok(Prepared {
        template: t,
        x,
        reads,
        streams,
        prepared_in: t0.elapsed(),
    })
}

/// The tick schedules of `g` (as the engine makes them).
fn ticks(g: &Graph) -> Vec<TickSchedule> {
    let (lo, hi) = match g.pipeline {
        PipelineType::Batch { from, to } => (from, to),
        PipelineType::Stream => (i64::MIN, i64::MAX),
    };
    g.nodes
        .iter()
        .enumerate()
        .filter_map(|(id, n)| match &n.kind {
            NodeKind::Tick(ExternalDecl::StaticTimeTick { from, to, interval }) => Some(
                TickSchedule::new(id as _, *from, *to, interval.as_nanos() as i64, lo, hi),
            ),
            _ => None,
        })
        .collect()
}

impl Prepared {
    /// The parameters, in column order.
    pub fn params(&self) -> Vec<&str> {
        self.template
            .sweep
            .as_ref()
            .map_or(Vec::new(), |s| s.params())
    }

    /// The parameter values of combination `c` (counted from the shard's first).
    pub fn values(&self, c: usize) -> Vec<&ParamValue> {
        self.template
            .sweep
            .as_ref()
            .map_or(Vec::new(), |s| s.values(self.x.first + c))
    }

    /// Runs every combination on `threads` worker threads, writing the outputs (the header only when
    /// this is the first shard); `stop` ends it early. Calls `on_progress` about every 200 ms.
    pub fn run(
        &self,
        threads: usize,
        stop: &AtomicBool,
        on_progress: &mut dyn FnMut(SweepProgress),
    ) -> Result<SweepReport, RunError> {
        let t0 = Instant::now();
        let outputs = output::Outputs::open(&self.x.graphs, &self.params(), self.x.first == 0)?;
        let rows = run::run(self, &outputs, threads, stop, on_progress)?;
        Ok(SweepReport::new(self, rows, threads, t0.elapsed()))
    }
}
