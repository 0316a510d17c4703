//! The library's entry points: what `tubes`, the tests, the benches and the tools all call.
//!
//! [`load`] reads and checks a config against the kinds this build ships ([`KINDS`]); [`run`] builds
//! and runs a checked graph to its end. [`load_config`] and [`check`] are the two halves of [`load`], for
//! callers that edit a config before checking it (`tubes bench` sets the rate of its synthetic sources).

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::base::{GenCounters, RunError};
use crate::config::{Config, ConfigErrors, Diagnostics, Template};
use crate::graph::{self, Graph};
use crate::journal::{JournalError, Reader};
use crate::plugin::{Kinds, SourceRun};
use crate::runtime::{Engine, Observer, OnProgress, Progressing, Report};
use crate::sources::replay::{NoMatch, Replay, ReplayStats};
use crate::sweep::{Checking, Expansion, Prepared, Shard, SweepError};

/// Every source and sink kind of this build.
pub static KINDS: Kinds = Kinds {
    sources: crate::sources::KINDS,
    sinks: crate::sinks::KINDS,
};

/// Reads a config file (its YAML; no kind is resolved yet). The diagnostics may already hold errors:
/// [`check`] reports them with its own.
pub fn load_config(path: &Path) -> Result<(Config, Diagnostics), ConfigErrors> {
    crate::config::load(path)
}

/// Checks a parsed config against [`KINDS`].
pub fn check(config: Config, diag: Diagnostics) -> Result<Graph, ConfigErrors> {
    graph::check(config, diag, &KINDS)
}

/// Parses and checks a config file.
pub fn load(path: &Path) -> Result<Graph, ConfigErrors> {
    let (config, diag) = load_config(path)?;
    check(config, diag)
}

/// Reads a config file as written: its YAML and, if it has one, its sweep. A config with a sweep runs
/// through [`sweep`]; one without, through [`check`] of [`crate::config::Template::single`].
pub fn load_template(path: &Path) -> Result<Template, ConfigErrors> {
    crate::config::load_template(path)
}

/// Checks a sweep's combinations (those of `shard`, or all) against [`KINDS`], on one thread per core.
pub fn expand(t: &Template, shard: Option<Shard>) -> Result<Expansion, ConfigErrors> {
    expand_counted(t, shard, &Checking::unwatched())
}

/// [`expand`], counting the combinations checked in `checking` (for a progress bar).
pub fn expand_counted(
    t: &Template,
    shard: Option<Shard>,
    checking: &Checking<'_>,
) -> Result<Expansion, ConfigErrors> {
    crate::sweep::expand(t, &KINDS, shard, crate::base::pin::core_count(), checking)
}

/// Checks a sweep, reads its inputs once each and merges its streams, ready to run
/// ([`Prepared::run`]); `stop` (set by a signal) ends the reading early, with an error.
pub fn sweep(
    t: Template,
    shard: Option<Shard>,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> Result<Prepared, SweepError> {
    sweep_counted(t, shard, threads, stop, &Checking::unwatched())
}

/// [`sweep`], counting the combinations checked in `checking` (for a progress bar).
pub fn sweep_counted(
    t: Template,
    shard: Option<Shard>,
    threads: usize,
    stop: &Arc<AtomicBool>,
    checking: &Checking<'_>,
) -> Result<Prepared, SweepError> {
    crate::sweep::prepare(t, &KINDS, shard, threads, stop, checking)
}

/// Parses and checks config text; `file` names it in diagnostics.
pub fn load_str(text: &str, file: &Path) -> Result<Graph, ConfigErrors> {
    let (config, diag) = crate::config::parse_str(text, file)?;
    check(config, diag)
}

/// Builds and runs a checked graph to its end, calling `on_progress` about every 200 ms.
pub fn run(g: &Graph, on_progress: impl FnMut(Progressing)) -> Result<Report, RunError> {
    run_observed(g, &mut OnProgress(on_progress))
}

/// Builds and runs a checked graph, reporting progress and latency intervals to `obs`.
pub fn run_observed(g: &Graph, obs: &mut dyn Observer) -> Result<Report, RunError> {
    let plan = graph::plan(g);
    Engine::build(g, &plan)?.start()?.finish_observed(obs)
}

/// A journal ready to replay through `g`, with the numbers it keeps while it runs. A journal with
/// damage (whole records after unreadable ones) is refused unless `skip_damaged`, which steps over
/// each damaged stretch and counts its records.
pub fn replay(
    reader: Reader,
    g: &Graph,
    speed: Option<f64>,
    skip_damaged: bool,
) -> Result<(Engine, Arc<ReplayStats>), ReplayError> {
    let survey = reader
        .survey()
        .map_err(|e| RunError::Journal(Box::new(e)))?;
    if let (Some(first), false) = (survey.damage.first(), skip_damaged) {
        let damaged = JournalError::Damaged {
            path: reader.dir().to_path_buf(),
            first: first.clone(),
            stretches: survey.damage.len(),
        };
        return Err(RunError::Journal(Box::new(damaged)).into());
    }
    let mut replay = Replay::new(reader, g, speed, survey.damage)?;
    let stats = replay.stats.clone();
    // One thread, the journal reader, replaces every generator.
    let plan = graph::plan_with_sources(g, 1);
    let engine = Engine::build_replay(
        g,
        &plan,
        Box::new(move |counters: Vec<Option<Arc<GenCounters>>>| {
            replay.counters = counters;
            Box::new(replay) as Box<dyn SourceRun>
        }),
    )?;
    Ok((engine, stats))
}

/// Why a replay could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The config does not fit the journal (exit code 2).
    #[error(transparent)]
    Config(#[from] NoMatch),
    /// Building the run failed (exit code 1).
    #[error(transparent)]
    Run(#[from] RunError),
}
