//! The schema pass: in topological order, each tube's output fields, and its spec with every field
//! resolved to a slot.

use super::edges::Edges;
use super::model::{Node, NodeKind, Port};
use super::resolve::Plugins;
use super::schema::{output_name, sink_columns, through};
use crate::base::datapoint::{TubeId, MAX_FIELDS};
use crate::config::{Config, Diagnostics, ReducerDecl, TubeDecl, TubeKind};
use crate::plugin::CheckSource;

/// Builds the node of every tube whose definition holds; `None` where it does not (reported).
pub(super) fn build(
    config: &Config,
    edges: &Edges<'_>,
    topo: &[TubeId],
    mut plugins: Plugins,
    diag: &mut Diagnostics,
) -> Vec<Option<Node>> {
    let n = config.tubes.len();
    let mut nodes: Vec<Option<Node>> = (0..n).map(|_| None).collect();
    let mut schemas: Vec<Option<Vec<String>>> = vec![None; n];
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
                    file: &config.file,
                };
                src.check(&cx, diag).map(|s| (s, NodeKind::Source(src)))
            }
            TubeKind::ExternalEvent(x) => Some((Vec::new(), NodeKind::Tick(x.clone()))),
            TubeKind::Invalid(_) => None,
            TubeKind::Through(_) | TubeKind::Sink(_) => {
                consumer(t, i, edges, &schemas, &mut plugins, diag)
            }
        };
        let Some((schema, kind)) = built else {
            // A reducer's output names do not depend on its inputs: keep them so the tubes downstream
            // are still checked and every error is reported in one go.
            if let TubeKind::Through(th) = &t.kind {
                if th.reducers != [ReducerDecl::Nop] {
                    schemas[i] = Some(th.reducers.iter().map(output_name).collect());
                }
            }
            continue;
        };
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
        nodes[i] = Some(Node {
            label: t.label.clone(),
            path: t.path.clone(),
            kind,
            schema,
            ports,
            data_out: edges.data_out[i].clone(),
        });
    }
    nodes
}

/// A through or a sink: its inputs' schemas must be known, then its fields resolve against them.
fn consumer(
    t: &TubeDecl,
    i: usize,
    edges: &Edges<'_>,
    schemas: &[Option<Vec<String>>],
    plugins: &mut Plugins,
    diag: &mut Diagnostics,
) -> Option<(Vec<String>, NodeKind)> {
    let inputs: Vec<(TubeId, Option<&Vec<String>>)> = edges.data_in[i]
        .iter()
        .map(|&s| (s, schemas[s as usize].as_ref()))
        .collect();
    let is_sink = matches!(t.kind, TubeKind::Sink(_));
    if inputs.is_empty() {
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
        return None;
    }
    match &t.kind {
        TubeKind::Through(th) => {
            // An input whose schema failed has already been reported.
            if inputs.iter().any(|(_, s)| s.is_none()) {
                return None;
            }
            let inputs: Vec<(&str, &Vec<String>)> = inputs
                .iter()
                .map(|&(s, sch)| (edges.labels[s as usize], sch.expect("checked above")))
                .collect();
            through(diag, &t.path, &th.reducers, th.event.as_ref(), &inputs)
                .map(|(schema, spec)| (schema, NodeKind::Through(spec)))
        }
        TubeKind::Sink(s) => {
            let columns = sink_columns(
                diag,
                &t.path,
                &s.fields,
                &edges.ids,
                &edges.labels,
                &edges.data_in,
                schemas,
                i,
            )?;
            let outputs = plugins.sinks[i]
                .take()
                .expect("a sink's outputs are resolved before its columns");
            Some((Vec::new(), NodeKind::Sink { outputs, columns }))
        }
        _ => unreachable!("only throughs and sinks consume"),
    }
}
