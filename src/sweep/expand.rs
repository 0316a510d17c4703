//! A sweep's template → one checked graph per combination, the distinct inputs they read, and the
//! distinct merged streams they run over.
//!
//! Two generators read the same input when their datasource (after substitution), the Batch range and the
//! fields the graph reads of them are the same: that input is opened and parsed once and feeds every
//! combination that reads it. Combinations whose generators and ticks are all the same run over the
//! same merged stream, which is merged once.

use std::collections::{HashMap, HashSet};

use super::collected::Collected;
use super::Checking;
use crate::base::datapoint::TubeId;
use crate::config::{ConfigErrors, Filled, PipelineType, Template, TubeKind};
use crate::graph::{self, Graph, NodeKind};
use crate::plugin::{CheckMemo, Kinds};

/// One input a sweep opens: a generator of the template with one substituted datasource.
pub struct Input {
    /// The first combination that reads it, counted from the shard's first (its graph opens the
    /// source).
    pub combo: usize,
    /// The generator's tube id.
    pub id: TubeId,
}

/// The combinations of a sweep (or a shard of it), checked and grouped.
pub struct Expansion {
    /// The first combination of the shard (0 unless sharded).
    pub first: usize,
    /// Each combination's checked graph, for combinations `first..first + graphs.len()`.
    pub graphs: Vec<Graph>,
    /// The distinct inputs, in the order they are first read.
    pub inputs: Vec<Input>,
    /// The distinct merged streams: for each, the inputs it merges (in declaration order of their
    /// generators).
    pub streams: Vec<Vec<usize>>,
    /// Each combination's stream.
    pub stream_of: Vec<usize>,
    /// Each stream's first combination (its graph says which ticks the stream holds).
    pub stream_first: Vec<usize>,
}

impl Expansion {
    /// How many tubes all the combinations hold together.
    pub fn tubes(&self) -> usize {
        self.graphs.iter().map(|g| g.nodes.len()).sum()
    }
}

/// The identity of generator `id`'s input in `g`, whose datasource is `datasource` (as `Debug` writes
/// it).
fn input_key(g: &Graph, id: TubeId, datasource: &str) -> String {
    let range = match g.pipeline {
        PipelineType::Batch { from, to } => format!("{from}..{to}"),
        PipelineType::Stream => "stream".into(),
    };
    format!("{id}|{range}|{:?}|{datasource}", g.used_fields(id))
}

/// The identity of the ticks of `g`.
fn ticks_key(g: &Graph) -> String {
    let ticks: Vec<String> = g
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Tick(t) => Some(format!("{t:?}")),
            _ => None,
        })
        .collect();
    format!("{:?}|{}", g.pipeline, ticks.join(","))
}

/// A combination's checked graph, and what identifies its inputs (one key per generator) and its
/// ticks (the last key).
type Checked = (Graph, Vec<String>);

/// Checks combination `k`, looking up what sources learned in `memo`.
fn check_one(
    t: &Template,
    kinds: &Kinds,
    k: usize,
    memo: &CheckMemo,
    filled: &mut Option<Filled>,
) -> Result<Checked, ConfigErrors> {
    let (config, diag) = t.config_in(Some(k), filled)?;
    let datasources: Vec<(TubeId, String)> = (config.tubes.iter().enumerate())
        .filter_map(|(i, d)| match &d.kind {
            // `Debug` tags every scalar of the value by its type (strings quoted and escaped), and
            // costs far less than writing YAML.
            TubeKind::Generator(p) => Some((i as TubeId, format!("{:?}", p.value))),
            _ => None,
        })
        .collect();
    let g = graph::check_with(config, diag, kinds, memo)?;
    let mut key: Vec<String> = datasources
        .iter()
        .map(|(id, d)| input_key(&g, *id, d))
        .collect();
    key.push(ticks_key(&g));
    Ok((g, key))
}

/// Combinations per checking thread, at least: fewer are checked on one.
const PER_THREAD: usize = 64;

/// Checks combinations `range`, in order, on up to `threads` threads (consecutive slices, each thread
/// with its own memo). A source's check may open a connection: at most `threads` are open at once.
fn check_all(
    t: &Template,
    kinds: &Kinds,
    range: std::ops::Range<usize>,
    threads: usize,
    checking: &Checking<'_>,
) -> Vec<Result<Checked, ConfigErrors>> {
    super::in_slices(range, threads, PER_THREAD, |slice| {
        let memo = CheckMemo::default();
        let mut filled = None;
        (slice.map(|k| {
            let checked = check_one(t, kinds, k, &memo, &mut filled);
            checking.checked();
            checked
        }))
        .collect()
    })
}

/// Checks combinations `range` of the template's sweep against `kinds`, on up to `threads` threads.
/// Every error of every combination is reported once, with the parameter values that produced it.
pub fn expand(
    t: &Template,
    kinds: &Kinds,
    range: std::ops::Range<usize>,
    threads: usize,
    checking: &Checking<'_>,
) -> Result<Expansion, ConfigErrors> {
    let mut errors = Collected::default();
    let mut outputs = super::rules::Outputs::default();
    let mut graphs = Vec::new();
    let mut keys: Vec<Vec<String>> = Vec::new();
    for (k, checked) in range
        .clone()
        .zip(check_all(t, kinds, range.clone(), threads, checking))
    {
        match checked {
            Ok((g, key)) => {
                let rules = super::rules::combination(t, k, &g, &mut outputs);
                if !rules.0.is_empty() {
                    errors.add(t, k, rules);
                }
                keys.push(key);
                graphs.push(g);
            }
            Err(e) => errors.add(t, k, e),
        }
    }
    if let Some(e) = errors.into_errors(t, range.len()) {
        return Err(e);
    }
    Ok(group(range.start, graphs, &keys))
}

/// Groups checked combinations by the inputs and streams they share.
fn group(first: usize, graphs: Vec<Graph>, keys: &[Vec<String>]) -> Expansion {
    let mut inputs = Vec::new();
    let mut input_of: HashMap<&str, usize> = HashMap::new();
    let mut streams: Vec<Vec<usize>> = Vec::new();
    let mut stream_index: HashMap<(Vec<usize>, &str), usize> = HashMap::new();
    let mut stream_of = Vec::new();
    let mut stream_first = Vec::new();
    for (c, (g, key)) in graphs.iter().zip(keys).enumerate() {
        let (gens, ticks) = key.split_at(key.len() - 1);
        let generators: Vec<TubeId> = (0..g.nodes.len() as TubeId)
            .filter(|&id| g.nodes[id as usize].kind.is_generator())
            .collect();
        let used: Vec<usize> = gens
            .iter()
            .zip(&generators)
            .map(|(k, &id)| {
                *input_of.entry(k.as_str()).or_insert_with(|| {
                    inputs.push(Input { combo: c, id });
                    inputs.len() - 1
                })
            })
            .collect();
        let n = streams.len();
        let s = *stream_index
            .entry((used.clone(), ticks[0].as_str()))
            .or_insert(n);
        if s == n {
            streams.push(used);
            stream_first.push(c);
        }
        stream_of.push(s);
    }
    Expansion {
        first,
        graphs,
        inputs,
        streams,
        stream_of,
        stream_first,
    }
}

/// The outputs (normalised targets) that combinations `0..first` write, each checked again for this,
/// on up to `threads` threads.
pub fn targets_before(
    t: &Template,
    kinds: &Kinds,
    first: usize,
    threads: usize,
    checking: &Checking<'_>,
) -> Result<HashSet<String>, ConfigErrors> {
    let found = super::in_slices(0..first, threads, PER_THREAD, |slice| {
        let memo = CheckMemo::default();
        let mut filled = None;
        (slice.map(|k| {
            let (config, diag) = t.config_in(Some(k), &mut filled)?;
            let g = graph::check_with(config, diag, kinds, &memo)?;
            checking.checked();
            Ok(g.sink_outputs()
                .map(|(_, _, o)| super::rules::target_key(o))
                .collect::<Vec<_>>())
        }))
        .collect::<Vec<Result<Vec<String>, ConfigErrors>>>()
    });
    let mut targets = HashSet::new();
    for written in found {
        targets.extend(written?);
    }
    Ok(targets)
}
