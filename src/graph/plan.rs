//! Planning: which tubes share a thread (a stage) and which core each stage is pinned to.

use super::model::Graph;
use crate::base::datapoint::TubeId;
use crate::base::pin::core_count;
use crate::config::Placement;

/// The threads of a run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stages, each a list of throughs and sinks in topological order.
    pub stages: Vec<StagePlan>,
    /// One line describing the placement, for the run summary.
    pub note: String,
    /// The sequencer's thread runs the one stage itself (`placement: inline`, or `auto` when no core is
    /// left for a stage thread): no ring between merging and the tubes.
    pub inline: bool,
}

/// One stage.
#[derive(Debug, Clone)]
pub struct StagePlan {
    /// Its tubes, in topological order.
    pub tubes: Vec<TubeId>,
    /// The core it is pinned to, if any.
    pub core: Option<usize>,
}

/// Plans the stages of a checked graph.
pub fn plan(g: &Graph) -> Plan {
    plan_with_sources(g, g.source_threads().len())
}

/// Plans the stages of `g` when `generators` threads feed the sequencer (a replay has one: the journal).
pub fn plan_with_sources(g: &Graph, generators: usize) -> Plan {
    let cores = core_count();
    let placeable = g.placeable();
    let chunked = |k: usize| -> Vec<Vec<TubeId>> {
        let k = k.clamp(1, placeable.len().max(1));
        let per = placeable.len().div_ceil(k).max(1);
        placeable.chunks(per).map(<[TubeId]>::to_vec).collect()
    };
    // Without a core for a stage thread after the generators and the sequencer, a stage thread would
    // only take turns with them: `auto` runs the tubes on the sequencer's thread instead.
    let inline = match g.runtime.placement {
        Placement::Inline => true,
        Placement::Auto => cores < generators + 2,
        _ => false,
    };
    let (groups, explicit_cores): (Vec<Vec<TubeId>>, Option<Vec<Option<usize>>>) =
        match &g.runtime.placement {
            Placement::Single | Placement::Inline => (chunked(1), None),
            Placement::PerTube => (chunked(placeable.len()), None),
            // No core left (the `inline` case) gives 0 stages, which `chunked` makes one.
            Placement::Auto => (chunked(cores.saturating_sub(1 + generators)), None),
            Placement::Explicit(stages) => {
                let index =
                    |label: &str| g.nodes.iter().position(|n| n.label == label).unwrap() as TubeId;
                let groups = stages
                    .iter()
                    .map(|s| {
                        let mine: Vec<TubeId> = s.tubes.iter().map(|l| index(l)).collect();
                        placeable
                            .iter()
                            .copied()
                            .filter(|t| mine.contains(t))
                            .collect()
                    })
                    .collect();
                (groups, Some(stages.iter().map(|s| s.core).collect()))
            }
        };
    let threads = generators + 1 + if inline { 0 } else { groups.len() };
    let (cores_of, pin_note): (Vec<Option<usize>>, String) = match explicit_cores {
        Some(c) => (c, "pinned as configured".into()),
        None if inline => (vec![None], "not pinned".into()),
        None if threads <= cores => (
            (0..groups.len())
                .map(|s| Some(cores - groups.len() + s))
                .collect(),
            "pinned one per core".into(),
        ),
        None => (
            vec![None; groups.len()],
            format!("not pinned: {threads} threads on {cores} cores"),
        ),
    };
    let spin_note = if g.runtime.wait == crate::config::WaitStrategy::Spin && threads > cores {
        format!("; warning: wait: spin with {threads} threads on {cores} cores makes spinning threads compete for cores (use adaptive, or give each thread a core)")
    } else {
        String::new()
    };
    let names: Vec<String> = groups
        .iter()
        .map(|s| {
            let labels: Vec<&str> = s
                .iter()
                .map(|&t| g.nodes[t as usize].label.as_str())
                .collect();
            format!("[{}]", labels.join(", "))
        })
        .collect();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let stages = if inline {
        format!(" running every tube inline {}", names.join(" "))
    } else {
        format!(
            ", {} stage{} {}",
            groups.len(),
            plural(groups.len()),
            names.join(" ")
        )
    };
    Plan {
        note: format!(
            "{generators} generator thread{}, 1 sequencer{stages}; {pin_note}{spin_note}",
            plural(generators),
        ),
        inline,
        stages: groups
            .into_iter()
            .zip(cores_of)
            .map(|(tubes, core)| StagePlan { tubes, core })
            .collect(),
    }
}
