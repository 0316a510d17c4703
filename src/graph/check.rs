//! Validation: every label, edge, event, field, file and core is checked, and every problem reported at
//! once. The passes, in order: plug-ins ([`super::resolve`]), labels and edges ([`super::edges`]),
//! topology ([`super::topo`]), schemas and fields ([`super::nodes`]), then the runtime section and
//! placement ([`super::placement`]).

use super::edges::Edges;
use super::model::{Graph, Node};
use super::nodes;
use super::placement::check_placement;
use super::resolve::resolve;
use super::topo::topo_order;
use crate::base::datapoint::TubeId;
use crate::config::{Config, ConfigErrors, Diagnostics, PipelineType};
use crate::plugin::{CheckMemo, Kinds};

/// The YAML path of the edge that closes `cycle` (a path that ends where it starts): the `to_label`
/// entry of its last data edge, or the `Consume` of its last event edge.
fn closing_edge(config: &Config, edges: &Edges<'_>, cycle: &[TubeId]) -> String {
    let (a, b) = (
        cycle[cycle.len() - 2] as usize,
        cycle[cycle.len() - 1] as usize,
    );
    if edges.data_out[a].contains(&(b as TubeId)) {
        let k = config.tubes[a]
            .to
            .iter()
            .position(|l| l == edges.labels[b])
            .unwrap_or(0);
        Edges::to_label_path(config, a, k)
    } else {
        format!("{}.event.Consume", config.tubes[b].path)
    }
}

/// Checks a parsed config, resolving its sources and sinks through `kinds`. `diag` is the collector from
/// [`crate::config::load`].
pub fn check(config: Config, diag: Diagnostics, kinds: &Kinds) -> Result<Graph, ConfigErrors> {
    check_with(config, diag, kinds, &CheckMemo::default())
}

/// [`check`], looking up and storing what sources learn in `memo` (a sweep checks many configs that
/// read the same files).
pub fn check_with(
    mut config: Config,
    mut diag: Diagnostics,
    kinds: &Kinds,
    memo: &CheckMemo,
) -> Result<Graph, ConfigErrors> {
    let n = config.tubes.len();
    if n > TubeId::MAX as usize {
        diag.error(
            "tubes",
            format!("{n} tubes is more than the {} supported", TubeId::MAX),
            None,
        );
        return Err(diag.into_errors());
    }
    if n == 0 {
        diag.error(
            "tubes",
            "the pipeline has no tubes",
            Some("add a Generator, a Through and a Sink".into()),
        );
        return Err(diag.into_errors());
    }
    let plugins = resolve(&mut config, kinds, &mut diag, memo);
    let edges = Edges::of(&config, &mut diag);
    let topo = match topo_order(n, &edges.data_out, &edges.event_in) {
        Ok(t) => t,
        Err(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|&c| edges.labels[c as usize]).collect();
            diag.error(
                &closing_edge(&config, &edges, &cycle),
                format!("the graph has a cycle: {}", path.join(" → ")),
                Some(
                    "a tube's output cannot flow back into itself; remove one of these edges"
                        .into(),
                ),
            );
            return Err(diag.into_errors());
        }
    };
    let nodes = nodes::build(&config, &edges, &topo, plugins, memo, &mut diag);
    if config.runtime.drop_newest && config.pipeline != PipelineType::Stream {
        diag.error(
            "runtime.backpressure",
            "drop_newest only applies to Stream pipelines: a Batch run reads ahead as fast as the pipeline takes data, so it would drop most of its input",
            Some("remove backpressure: drop_newest, or use pipeline_type: Stream".into()),
        );
    }
    check_placement(
        &mut diag,
        &config.runtime.placement,
        &edges.ids,
        &config,
        &edges.data_out,
        &edges.event_in,
    );
    if !diag.is_empty() {
        return Err(diag.into_errors());
    }
    let nodes: Vec<Node> = nodes
        .into_iter()
        .map(|x| x.expect("every node built when no error"))
        .collect();
    drop(edges);
    Ok(Graph {
        file: config.file,
        text: config.text,
        pipeline: config.pipeline,
        runtime: config.runtime,
        journal: config.journal,
        nodes,
        topo,
    })
}
