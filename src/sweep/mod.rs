//! Parameter sweeps (DESIGN §9): one config with a `sweep:` section runs every combination of its axes
//! in one pass.
//!
//! The steps: [`expand`] checks each combination's config (the template with its `${name}`s replaced)
//! and groups the combinations by the inputs they read; [`prepare`] reads every distinct input once,
//! into memory, and merges each distinct set of inputs into one numbered stream, by the sequencer's
//! rule; [`run`] runs each combination's throughs and sinks (the engine's own tubes, fused on one
//! thread) over its stream, on several worker threads, and writes the rows grouped by combination, in
//! order, parameter columns first.

mod collected;
mod expand;
mod inputs;
mod lanes;
mod merge;
mod output;
mod part;
mod pieces;
mod report;
mod rules;
mod run;
mod tape;

pub use expand::Expansion;
pub use report::{summary, SweepReport};
pub use run::SweepProgress;

use std::ops::Range;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::base::points::Points;
use crate::base::RunError;
use crate::config::{ConfigErrors, ParamValue, Template};
use crate::plugin::{Cell, Kinds};

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
        let at = |i: usize| (i as u128 * total as u128 / self.count as u128) as usize;
        at(self.index - 1)..at(self.index)
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

/// How far checking has got, for a progress bar: `tick(done, total)` is called, from the checking
/// threads, after each combination is checked (a shard after the first also checks the combinations
/// before it, for the outputs they start: `total` counts those too).
pub struct Checking<'a> {
    done: std::sync::atomic::AtomicUsize,
    total: usize,
    tick: &'a (dyn Fn(usize, usize) + Sync),
}

impl<'a> Checking<'a> {
    /// Counts `total` combinations, calling `tick` after each.
    pub fn new(total: usize, tick: &'a (dyn Fn(usize, usize) + Sync)) -> Self {
        Checking {
            done: Default::default(),
            total,
            tick,
        }
    }

    /// Counts nothing.
    pub fn unwatched() -> Checking<'static> {
        Checking::new(0, &|_, _| {})
    }

    /// One more combination checked.
    fn checked(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        (self.tick)(done, self.total);
    }
}

/// How many combinations a sweep of `total` checks for `shard` (see [`Checking`]): the shard's own
/// and, for a later shard, every one before it.
pub fn checked_count(total: usize, shard: Option<Shard>) -> usize {
    shard.map_or(total, |s| s.range(total).end)
}

/// Checks the combinations of `t`'s sweep (those of `shard`, or all) against `kinds`, on up to
/// `threads` threads, counting them in `checking`.
pub fn expand(
    t: &Template,
    kinds: &Kinds,
    shard: Option<Shard>,
    threads: usize,
    checking: &Checking<'_>,
) -> Result<Expansion, ConfigErrors> {
    let total = t.sweep.as_ref().map_or(1, |s| s.len());
    if let Some(s) = shard.filter(|s| s.count > total) {
        let mut diag = t.diagnostics();
        diag.error(
            "sweep",
            format!("--shard {}/{}: {total} combinations cannot be split into {} shards", s.index, s.count, s.count),
            Some(format!("split it into at most {total} shards, so that every shard has a combination to write")),
        );
        return Err(diag.into_errors());
    }
    let range = shard.map_or(0..total, |s| s.range(total));
    expand::expand(t, kinds, range, threads, checking)
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
    streams: Vec<merge::Stream>,
    /// How long checking, reading and merging took.
    prepared_in: std::time::Duration,
    /// Outputs that combinations before this shard write (they have their header already).
    written_before: std::collections::HashSet<String>,
    /// Bytes of rows the parts waiting to be appended may hold in memory together.
    memory: usize,
    /// The memory kept for rows is left for the system to take back when the process exits
    /// ([`Prepared::leave_memory_to_exit`]).
    leave_to_exit: bool,
}

/// Checks the sweep (counting in `checking`), then reads its inputs (on up to `threads` threads) and
/// merges its streams; `stop` (a signal) ends the reading early, with an error.
pub fn prepare(
    t: Template,
    kinds: &Kinds,
    shard: Option<Shard>,
    threads: usize,
    stop: &std::sync::Arc<AtomicBool>,
    checking: &Checking<'_>,
) -> Result<Prepared, SweepError> {
    let t0 = Instant::now();
    if t.sweep.is_none() {
        return Err(RunError::Input("the config has no sweep: section".into()).into());
    }
    let x = expand(&t, kinds, shard, threads, checking)?;
    // A file gets its header from the first combination of the whole sweep that writes it: in a
    // later shard, only files no earlier combination writes.
    let before = expand::targets_before(&t, kinds, x.first, threads, checking)?;
    let (reads, streams) = inputs::read_and_merge(&x, threads, stop, |s, times| {
        merge::merge(times, crate::runtime::ticks(&x.graphs[x.stream_first[s]]))
    })?;
    Ok(Prepared {
        template: t,
        x,
        reads,
        streams,
        prepared_in: t0.elapsed(),
        written_before: before,
        memory: part::MEMORY,
        leave_to_exit: false,
    })
}

/// The datapoints of each input stream `s` merges, in its order.
fn inputs_of<'r>(x: &Expansion, reads: &'r [inputs::Read], s: usize) -> Vec<&'r Points> {
    (x.streams[s].iter()).map(|&i| &reads[i].points).collect()
}

/// `work` over consecutive slices of `range`, one slice per thread (at most `threads`, and at least
/// `per_thread` items each), the results concatenated in order.
fn in_slices<T: Send>(
    range: Range<usize>,
    threads: usize,
    per_thread: usize,
    work: impl Fn(Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let (start, len) = (range.start, range.len());
    let threads = threads.min(len.div_ceil(per_thread.max(1))).max(1);
    let slice = |i: usize| start + i * len / threads..start + (i + 1) * len / threads;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let work = &work;
                s.spawn(move || work(slice(i)))
            })
            .collect();
        (handles.into_iter())
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

impl Prepared {
    /// Lets the parts waiting to be appended hold `bytes` of rows in memory together (256 MiB unless
    /// set); parts past that go on in files.
    pub fn set_memory(&mut self, bytes: usize) {
        self.memory = bytes;
    }

    /// The datapoints of each input stream `s` merges, in its order.
    fn inputs_of(&self, s: usize) -> Vec<&Points> {
        inputs_of(&self.x, &self.reads, s)
    }

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

    /// What each parameter's values are over the whole sweep (every shard agrees): whole numbers,
    /// numbers, or text as soon as one value is text.
    pub fn param_kinds(&self) -> Vec<Cell> {
        let Some(s) = self.template.sweep.as_ref() else {
            return Vec::new();
        };
        let mut kinds = vec![Cell::Int; s.params().len()];
        for k in 0..s.len() {
            for (kind, v) in kinds.iter_mut().zip(s.values(k)) {
                *kind = match (*kind, v) {
                    (Cell::Text, _) | (_, ParamValue::Text(_)) => Cell::Text,
                    (Cell::Real, _) | (_, ParamValue::Float(_)) => Cell::Real,
                    (Cell::Int, ParamValue::Int(_)) => Cell::Int,
                };
            }
        }
        kinds
    }

    /// Has [`Self::run`] leave the memory it kept for rows (up to a quarter of the memory budget) to the
    /// process's exit instead of freeing it: for a process that exits when the sweep is done.
    pub fn leave_memory_to_exit(&mut self) {
        self.leave_to_exit = true;
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
        let outputs = output::Outputs::open(
            &self.x.graphs,
            &self.params(),
            self.param_kinds(),
            &self.written_before,
            self.memory,
        )?;
        let threads = threads.clamp(1, self.x.graphs.len().max(1));
        let ran = run::run(self, &outputs, threads, stop, on_progress)?;
        outputs.commit()?;
        if self.leave_to_exit {
            // Freeing them one by one took 1 to 5 ms after the outputs were in place.
            std::mem::forget(outputs.take_free());
        }
        let mut report = SweepReport::new(self, ran.rows, threads, t0.elapsed());
        (report.lanes, report.from_lanes) = ran.lanes;
        report.tapes = ran.tapes;
        report.spilled = outputs.spilled();
        report.lost = (ran.lost.into_iter())
            .map(|(c, note)| format!("{}: {note}", report.labels[c]))
            .collect();
        Ok(report)
    }
}
