//! The schema pass: in topological order, each tube's output fields, and its spec with every field
//! resolved to a slot.

use super::edges::Edges;
use super::fields::Input;
use super::model::{Node, NodeKind, Port, TextOf};
use super::resolve::Plugins;
use super::schema::{output_name, sink_columns, through};
use crate::base::datapoint::{TubeId, MAX_FIELDS};
use crate::config::{
    Config, Diagnostics, EventDecl, PipelineType, ReducerDecl, TubeDecl, TubeKind,
};
use crate::plugin::{CheckMemo, CheckSource};

/// Builds the node of every tube whose definition holds; `None` where it does not (reported).
pub(super) fn build(
    config: &Config,
    edges: &Edges<'_>,
    topo: &[TubeId],
    mut plugins: Plugins,
    memo: &CheckMemo,
    diag: &mut Diagnostics,
) -> Vec<Option<Node>> {
    let n = config.tubes.len();
    let mut nodes: Vec<Option<Node>> = (0..n).map(|_| None).collect();
    let mut schemas: Vec<Option<Vec<String>>> = vec![None; n];
    // By tube and field: what a value stands for when it is not a plain number.
    let mut texts: Vec<Vec<Option<TextOf>>> = vec![Vec::new(); n];
    // By tube: outputs that stand on a misspelt field (reported once, where it is misspelt).
    let mut unsure: Vec<Vec<String>> = vec![Vec::new(); n];
    // The market each generator streams, for sink fields keyed by symbol (all of them, whatever the
    // order tubes are met in).
    let symbols: Vec<(String, TubeId)> = (plugins.sources.iter().enumerate())
        .filter_map(|(i, s)| Some((s.as_ref()?.0.symbol()?, i as TubeId)))
        .collect();
    let ticks: Vec<bool> = (config.tubes.iter())
        .map(|t| matches!(t.kind, TubeKind::ExternalEvent(_)))
        .collect();
    for &id in topo {
        let i = id as usize;
        let t = &config.tubes[i];
        let mut ports: Vec<Port> = edges.data_in[i].iter().map(|&s| Port::Data(s)).collect();
        if let Some(e) = edges.event_in[i] {
            ports.push(Port::Event(e));
        }
        let built = match &t.kind {
            TubeKind::Generator(_) => {
                let (mut src, path) = plugins.sources[i]
                    .take()
                    .expect("a generator's source is resolved before its schema");
                let cx = CheckSource {
                    pipeline: &config.pipeline,
                    path: &path,
                    memo,
                };
                src.check(&cx, diag).map(|s| {
                    let keys = src.key_fields();
                    let t = s.iter().map(|f| keys.contains(f).then_some(TextOf::Key));
                    (s.clone(), t.collect(), NodeKind::Source(src))
                })
            }
            TubeKind::ExternalEvent(x) => Some((Vec::new(), Vec::new(), NodeKind::Tick(x.clone()))),
            TubeKind::Invalid(_) => None,
            TubeKind::Through(_) | TubeKind::Sink(_) => {
                let known = Known {
                    schemas: &schemas,
                    texts: &texts,
                    unsure: &unsure,
                    symbols: &symbols,
                    batch: matches!(config.pipeline, PipelineType::Batch { .. }),
                    ticks: &ticks,
                    memo,
                };
                match consumer(t, i, edges, &known, &mut plugins, diag) {
                    Ok(built) => Some(built),
                    Err(u) => {
                        unsure[i] = u;
                        None
                    }
                }
            }
        };
        let Some((schema, field_texts, kind)) = built else {
            // A reducer's output names do not depend on its inputs: keep them so the tubes downstream
            // are still checked and every error is reported in one go.
            if let TubeKind::Through(th) = &t.kind {
                if th.reducers != [ReducerDecl::Nop] {
                    schemas[i] = Some(th.reducers.iter().map(output_name).collect());
                }
            }
            continue;
        };
        if let (NodeKind::Through(spec), true) = (&kind, unsure[i].is_empty()) {
            // A NOP passes on what it receives, unsure names included.
            if spec.nop {
                unsure[i] = edges.data_in[i]
                    .iter()
                    .flat_map(|&s| unsure[s as usize].clone())
                    .collect();
            }
        }
        if schema.len() > MAX_FIELDS {
            diag.error(
                &t.path,
                format!(
                    "'{}' would emit {} fields, more than the {MAX_FIELDS} a datapoint carries",
                    t.label,
                    schema.len()
                ),
                Some(
                    "select fewer fields (CSV: fields: [...]) or split the reducers over two tubes"
                        .into(),
                ),
            );
            continue;
        }
        schemas[i] = Some(schema.clone());
        texts[i] = field_texts.clone();
        nodes[i] = Some(Node {
            label: t.label.clone(),
            path: t.path.clone(),
            kind,
            schema,
            texts: field_texts,
            ports,
            data_out: edges.data_out[i].clone(),
        });
    }
    nodes
}

/// What reads tube `i`: its own event, the tubes it sends data to, the tubes that consume its event.
fn dependents(t: &TubeDecl, i: usize, edges: &Edges<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if let TubeKind::Through(th) = &t.kind {
        if matches!(th.event, Some(EventDecl::Produce(_))) {
            out.push(format!("the event of '{}'", t.label));
        }
    }
    out.extend(
        edges.data_out[i]
            .iter()
            .map(|&j| format!("'{}'", edges.labels[j as usize])),
    );
    for (j, e) in edges.event_in.iter().enumerate() {
        if *e == Some(i as TubeId) {
            out.push(format!("'{}'", edges.labels[j]));
        }
    }
    out
}

/// A tube's output fields, what each stands for, and the tube.
type Built = (Vec<String>, Vec<Option<TextOf>>, NodeKind);

/// What the tubes before a consumer (in topological order) left known.
struct Known<'a> {
    /// Each tube's output fields, where they hold.
    schemas: &'a [Option<Vec<String>>],
    /// By tube and field: what a value stands for.
    texts: &'a [Vec<Option<TextOf>>],
    /// Whether the input ends (Batch).
    batch: bool,
    /// By tube: whether it is an `ExternalEvent` tick.
    ticks: &'a [bool],
    /// By tube: outputs that stand on a misspelt field.
    unsure: &'a [Vec<String>],
    /// The market each generator streams.
    symbols: &'a [(String, TubeId)],
    /// Where what an output's check found is looked up (see [`CheckMemo`]).
    memo: &'a CheckMemo,
}

/// A through or a sink: its inputs' schemas must be known, then its fields resolve against them.
/// `Err` holds the outputs that stand on a misspelt field (see [`super::schema::through`]).
fn consumer(
    t: &TubeDecl,
    i: usize,
    edges: &Edges<'_>,
    known: &Known<'_>,
    plugins: &mut Plugins,
    diag: &mut Diagnostics,
) -> Result<Built, Vec<String>> {
    let (schemas, unsure) = (known.schemas, known.unsure);
    let is_sink = matches!(t.kind, TubeKind::Sink(_));
    if edges.data_in[i].is_empty() {
        // With a misspelt to_label already reported, "no input" would only repeat it.
        if !edges.unresolved_to_label {
            let (what, whose) = if is_sink {
                ("sink ", "tubes it should write")
            } else {
                ("", "tube that should feed it")
            };
            diag.error(
                &t.path,
                format!("no tube sends data to {what}'{}'", t.label),
                Some(format!("name '{}' in the to_label of the {whose}", t.label)),
            );
        }
        return Err(Vec::new());
    }
    match &t.kind {
        TubeKind::Through(th) => {
            let mut inputs = Vec::new();
            for &s in &edges.data_in[i] {
                // An input whose schema failed has already been reported.
                let Some(schema) = schemas[s as usize].as_ref() else {
                    return Err(Vec::new());
                };
                inputs.push(Input {
                    label: edges.labels[s as usize],
                    schema,
                    texts: &known.texts[s as usize],
                    unsure: &unsure[s as usize],
                });
            }
            let deps = dependents(t, i, edges);
            let tick = edges.event_in[i].is_some_and(|e| known.ticks[e as usize]);
            through(diag, &t.path, (th, known.batch, tick), &inputs, &deps)
                .map(|(schema, texts, spec)| (schema, texts, NodeKind::Through(spec)))
        }
        TubeKind::Sink(s) => {
            let columns = sink_columns(
                diag,
                &t.path,
                &s.fields,
                (&edges.ids, known.symbols),
                &edges.labels,
                &edges.data_in,
                (schemas, known.texts),
                unsure,
                i,
            )
            .ok_or_else(Vec::new)?;
            let outputs = plugins.sinks[i]
                .take()
                .expect("a sink's outputs are resolved before its columns");
            let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            for (decl, o) in s.outputs.iter().zip(&outputs) {
                // The output as written (after substitution) and the columns: all its check reads.
                let key = format!("output check|{:?}|{names:?}", decl.value);
                if let Err(why) = known.memo.get_or(key, || o.check(&names)) {
                    diag.error(&decl.path, why, None);
                }
            }
            Ok((Vec::new(), Vec::new(), NodeKind::Sink { outputs, columns }))
        }
        _ => unreachable!("only throughs and sinks consume"),
    }
}
