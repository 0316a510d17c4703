//! Validation: every label, edge, event, field, file and core is checked, and every problem reported at once.

use std::collections::HashMap;
use std::path::PathBuf;

use super::placement::check_placement;
use super::schema::{output_name, sink_columns, through};
use crate::base::datapoint::{TubeId, MAX_FIELDS};
use crate::config::{
    closest, CmpOp, Config, ConfigErrors, CsvSource, DataSource, Diagnostics, EventDecl,
    ExternalDecl, PipelineType, ReducerDecl, RuntimeConfig, SinkOutput, SyntheticSource, TubeKind,
    WsSource,
};
use crate::generators::csv::{inspect, CsvLayout};

/// A checked graph: every name resolved to a tube id or a field slot.
#[derive(Debug)]
pub struct Graph {
    /// The config file.
    pub file: PathBuf,
    /// Batch or Stream.
    pub pipeline: PipelineType,
    /// The runtime section.
    pub runtime: RuntimeConfig,
    /// Where to record the run's input, if anywhere (`journal:`).
    pub journal: Option<crate::config::JournalDecl>,
    /// Tubes indexed by [`TubeId`] (declaration order).
    pub nodes: Vec<Node>,
    /// Every tube in a topological order (ties by declaration order).
    pub topo: Vec<TubeId>,
}

/// One tube of the checked graph.
#[derive(Debug)]
pub struct Node {
    /// Its label.
    pub label: String,
    /// Its YAML path, e.g. `tubes[2].Through`.
    pub path: String,
    /// The tube itself.
    pub kind: NodeKind,
    /// Names of the fields of what it emits, in slot order.
    pub schema: Vec<String>,
    /// Its input ports, in canonical order: data inputs by tube id, then the consumed event.
    pub ports: Vec<Port>,
    /// Tubes its data goes to (`to_label`).
    pub data_out: Vec<TubeId>,
}

/// An input of a tube.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Port {
    /// Every datapoint the source emits.
    Data(TubeId),
    /// Only the events (fired `Produce`, ticks) of the source.
    Event(TubeId),
}

impl Port {
    /// The upstream tube.
    pub fn source(self) -> TubeId {
        match self {
            Port::Data(t) | Port::Event(t) => t,
        }
    }
}

/// What a checked tube is.
#[derive(Debug)]
pub enum NodeKind {
    /// A CSV file, with its layout read from the file.
    CsvGenerator {
        /// The config.
        source: CsvSource,
        /// Header, columns and order found in the file.
        layout: CsvLayout,
    },
    /// Synthetic trades at a fixed rate.
    Synthetic(SyntheticSource),
    /// Live trades from an exchange WebSocket.
    WebSocket(WsSource),
    /// A reducer tube.
    Through(ThroughSpec),
    /// An output.
    Sink {
        /// Where rows go.
        outputs: Vec<SinkOutput>,
        /// One per output column, after `timestamp`.
        columns: Vec<SinkColumn>,
    },
    /// `StaticTimeTick`.
    Tick(ExternalDecl),
}

/// A through with every field resolved to a slot.
#[derive(Debug, Clone)]
pub struct ThroughSpec {
    /// Reducers with, per data port, the slot of their input fields. Empty for NOP.
    pub ops: Vec<OpSpec>,
    /// Whether it is a NOP (passes its input through).
    pub nop: bool,
    /// What makes it emit.
    pub trigger: TriggerSpec,
}

/// One reducer with its input slots (one entry per data port; two fields for VWAP).
#[derive(Debug, Clone, PartialEq)]
pub struct OpSpec {
    /// The reducer.
    pub reducer: ReducerDecl,
    /// `slots[port]` = slot of the field (price for VWAP) in that port's schema.
    pub slots: Vec<u8>,
    /// For VWAP: the quantity slot per port.
    pub slots2: Vec<u8>,
}

/// When a through emits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TriggerSpec {
    /// After every input.
    Always,
    /// When the condition on output slot `slot` holds; then it resets.
    Produce {
        /// Comparison.
        op: CmpOp,
        /// Output slot compared.
        slot: u8,
        /// Threshold.
        threshold: f64,
    },
    /// When the event port fires; then it resets.
    Consume,
}

/// One sink column: the value of `slot` in datapoints arriving on `port`.
#[derive(Debug, Clone)]
pub struct SinkColumn {
    /// Column name, `<label>.<field>`.
    pub name: String,
    /// Input port of the sink.
    pub port: usize,
    /// Slot in that port's schema.
    pub slot: u8,
}

/// The fields of a trade source (`Synthetic`, `WebSocket`), in slot order.
pub const TRADE_FIELDS: [&str; 4] = ["price", "quantity", "side", "trade_id"];

impl NodeKind {
    /// Whether the tube brings data in (it runs on its own thread and feeds the sequencer).
    pub fn is_generator(&self) -> bool {
        matches!(
            self,
            NodeKind::CsvGenerator { .. } | NodeKind::Synthetic(_) | NodeKind::WebSocket(_)
        )
    }
}

/// Checks what parsing could not: the pipeline type, the URL and the CA file.
fn check_websocket(
    src: &WsSource,
    path: &str,
    pipeline: &PipelineType,
    diag: &mut Diagnostics,
) -> bool {
    let mut ok = true;
    if let PipelineType::Batch { .. } = pipeline {
        diag.error(
            path,
            "a WebSocket source is live and cannot run in a Batch pipeline",
            Some(
                "use pipeline_type: Stream (end the run with --duration, --idle-exit or Ctrl-C)"
                    .into(),
            ),
        );
        ok = false;
    }
    if let Some(url) = &src.url {
        let endpoint = src
            .exchange
            .endpoint(&src.channel, std::slice::from_ref(&src.market));
        if let Err(e) = endpoint.with_base(url) {
            diag.error(&format!("{path}.url"), e, None);
            ok = false;
        }
    }
    if let Some(ca) = &src.ca_file {
        if let Err(e) = crate::generators::ws::tls::load_certs(ca) {
            diag.error(
                &format!("{path}.tls.ca_file"),
                e,
                Some("name a PEM file of CA certificates; relative paths resolve against the current directory".into()),
            );
            ok = false;
        }
    }
    ok
}

fn label_path(decl_path: &str) -> String {
    format!("{decl_path}.label")
}

/// Checks a parsed config. `diag` is the collector from [`crate::config::load`].
pub fn check(config: Config, mut diag: Diagnostics) -> Result<Graph, ConfigErrors> {
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
    // Labels.
    let mut ids: HashMap<&str, TubeId> = HashMap::new();
    for (i, t) in config.tubes.iter().enumerate() {
        if let Some(&first) = ids.get(t.label.as_str()) {
            let first = &config.tubes[first as usize];
            diag.error(
                &label_path(&t.path),
                format!(
                    "duplicate label '{}' (also used by {})",
                    t.label, first.path
                ),
                Some("every tube needs its own label".into()),
            );
        } else {
            ids.insert(&t.label, i as TubeId);
        }
    }
    let labels: Vec<&str> = config.tubes.iter().map(|t| t.label.as_str()).collect();
    let resolve = |diag: &mut Diagnostics, label: &str, path: &str, what: &str| -> Option<TubeId> {
        let id = ids.get(label).copied();
        if id.is_none() {
            let help = match closest(label, labels.iter().copied()) {
                Some(c) => format!("did you mean '{c}'?"),
                None => format!("labels are: {}", labels.join(", ")),
            };
            diag.error(path, format!("{what} '{label}' names no tube"), Some(help));
        }
        id
    };

    // Edges.
    let mut unresolved_to_label = false;
    let mut data_in: Vec<Vec<TubeId>> = vec![Vec::new(); n];
    let mut event_in: Vec<Option<TubeId>> = vec![None; n];
    let mut data_out: Vec<Vec<TubeId>> = vec![Vec::new(); n];
    for (i, t) in config.tubes.iter().enumerate() {
        let to_path = format!("{}.to_label", t.path);
        for (k, target) in t.to.iter().enumerate() {
            let p = if t.to.len() > 1 {
                format!("{to_path}[{k}]")
            } else {
                to_path.clone()
            };
            let Some(j) = resolve(&mut diag, target, &p, "to_label") else {
                unresolved_to_label = true;
                continue;
            };
            match config.tubes[j as usize].kind {
                TubeKind::Generator(_) | TubeKind::ExternalEvent(_) => diag.error(
                    &p,
                    format!(
                        "'{target}' is a {} and takes no input",
                        config.tubes[j as usize].kind.name()
                    ),
                    Some("send data to a Through or a Sink".into()),
                ),
                _ if j as usize == i => diag.error(&p, "a tube cannot send data to itself", None),
                _ if data_in[j as usize].contains(&(i as TubeId)) => {
                    diag.error(&p, format!("'{target}' is listed twice"), None)
                }
                _ => {
                    data_in[j as usize].push(i as TubeId);
                    data_out[i].push(j);
                }
            }
        }
        if let TubeKind::Generator(_) = t.kind {
            if t.to.is_empty() {
                diag.error(
                    &t.path,
                    format!("generator '{}' sends its data nowhere", t.label),
                    Some("add to_label: <the tube that should receive it>".into()),
                );
            }
        }
        if let TubeKind::Through(th) = &t.kind {
            if let Some(EventDecl::Consume(src)) = &th.event {
                let p = format!("{}.event.Consume", t.path);
                if let Some(j) = resolve(&mut diag, src, &p, "Consume") {
                    let produces = match &config.tubes[j as usize].kind {
                        TubeKind::Through(o) => matches!(o.event, Some(EventDecl::Produce(_))),
                        TubeKind::ExternalEvent(_) | TubeKind::Invalid(_) => true,
                        _ => false,
                    };
                    if !produces {
                        diag.error(
                            &p,
                            format!("'{src}' produces no event, so there is nothing to consume"),
                            Some(format!("give '{src}' an event: {{Produce: ...}} rule, or consume an ExternalEvent")),
                        );
                    } else if j as usize == i {
                        diag.error(&p, "a tube cannot consume its own event", None);
                    } else {
                        event_in[i] = Some(j);
                    }
                }
            }
        }
    }
    for ins in &mut data_in {
        ins.sort_unstable();
    }

    // Cycles and topological order (ties broken by declaration order).
    let topo = match topo_order(n, &data_out, &event_in) {
        Ok(t) => t,
        Err(cycle) => {
            let path: Vec<&str> = cycle.iter().map(|&c| labels[c as usize]).collect();
            diag.error(
                &config.tubes[cycle[0] as usize].path,
                format!("the graph has a cycle: {}", path.join(" → ")),
                Some(
                    "a tube's output cannot flow back into itself; remove one of these edges"
                        .into(),
                ),
            );
            return Err(diag.into_errors());
        }
    };

    // Schemas, in topological order.
    let mut nodes: Vec<Option<Node>> = (0..n).map(|_| None).collect();
    let mut schemas: Vec<Option<Vec<String>>> = vec![None; n];
    for &id in &topo {
        let i = id as usize;
        let t = &config.tubes[i];
        let mut ports: Vec<Port> = data_in[i].iter().map(|&s| Port::Data(s)).collect();
        if let Some(e) = event_in[i] {
            ports.push(Port::Event(e));
        }
        let inputs: Vec<(TubeId, Option<&Vec<String>>)> = data_in[i]
            .iter()
            .map(|&s| (s, schemas[s as usize].as_ref()))
            .collect();
        // An input whose schema failed has already been reported.
        let inputs_ok = inputs.iter().all(|(_, s)| s.is_some());
        let built = match &t.kind {
            TubeKind::Generator(DataSource::Csv(src)) => {
                let p = format!("{}.datasource.CSV", t.path);
                match inspect(&src.path, src) {
                    Ok(layout) => Some((
                        layout.field_names(),
                        NodeKind::CsvGenerator {
                            source: src.clone(),
                            layout,
                        },
                    )),
                    Err(e) => {
                        diag.error(&p, e.message, e.help);
                        None
                    }
                }
            }
            TubeKind::Generator(DataSource::Synthetic(src)) => {
                if let PipelineType::Batch { .. } = config.pipeline {
                    diag.error(
                        &format!("{}.datasource.Synthetic", t.path),
                        "a Synthetic source generates live data at a fixed rate and cannot run in a Batch pipeline",
                        Some("use pipeline_type: Stream (and tubes run --duration to end the run)".into()),
                    );
                    None
                } else {
                    Some((
                        TRADE_FIELDS.iter().map(|f| f.to_string()).collect(),
                        NodeKind::Synthetic(src.clone()),
                    ))
                }
            }
            TubeKind::Generator(DataSource::WebSocket(src)) => {
                let p = format!("{}.datasource.WebSocket", t.path);
                check_websocket(src, &p, &config.pipeline, &mut diag).then(|| {
                    (
                        TRADE_FIELDS.iter().map(|f| f.to_string()).collect(),
                        NodeKind::WebSocket(src.clone()),
                    )
                })
            }
            TubeKind::ExternalEvent(x) => Some((Vec::new(), NodeKind::Tick(x.clone()))),
            TubeKind::Invalid(_) => None,
            TubeKind::Through(th) => {
                // With a misspelt to_label already reported, "no input" would only repeat it.
                if inputs.is_empty() && unresolved_to_label {
                    None
                } else if inputs.is_empty() {
                    diag.error(
                        &t.path,
                        format!("no tube sends data to '{}'", t.label),
                        Some(format!(
                            "name '{}' in the to_label of the tube that should feed it",
                            t.label
                        )),
                    );
                    None
                } else if !inputs_ok {
                    None
                } else {
                    let inputs: Vec<(&str, &Vec<String>)> = inputs
                        .iter()
                        .map(|&(s, sch)| (labels[s as usize], sch.unwrap()))
                        .collect();
                    through(
                        &mut diag,
                        t.path.as_str(),
                        &th.reducers,
                        th.event.as_ref(),
                        &inputs,
                    )
                    .map(|(schema, spec)| (schema, NodeKind::Through(spec)))
                }
            }
            TubeKind::Sink(s) => {
                if inputs.is_empty() && unresolved_to_label {
                    None
                } else if inputs.is_empty() {
                    diag.error(
                        &t.path,
                        format!("no tube sends data to sink '{}'", t.label),
                        Some(format!(
                            "name '{}' in the to_label of the tubes it should write",
                            t.label
                        )),
                    );
                    None
                } else {
                    sink_columns(
                        &mut diag, &t.path, &s.fields, &ids, &labels, &data_in, &schemas, i,
                    )
                    .map(|columns| {
                        (
                            Vec::new(),
                            NodeKind::Sink {
                                outputs: s.outputs.clone(),
                                columns,
                            },
                        )
                    })
                }
            }
        };
        if built.is_none() {
            // A reducer's output names do not depend on its inputs: keep them so the tubes downstream
            // are still checked and every error is reported in one go.
            if let TubeKind::Through(th) = &t.kind {
                if th.reducers != [ReducerDecl::Nop] {
                    schemas[i] = Some(th.reducers.iter().map(output_name).collect());
                }
            }
        }
        if let Some((schema, kind)) = built {
            if schema.len() > MAX_FIELDS {
                diag.error(
                    &t.path,
                    format!("'{}' would emit {} fields, more than the {MAX_FIELDS} a datapoint carries", t.label, schema.len()),
                    Some("select fewer fields (CSV: fields: [...]) or split the reducers over two tubes".into()),
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
                data_out: data_out[i].clone(),
            });
        }
    }
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
        &ids,
        &config,
        &data_out,
        &event_in,
    );
    if !diag.is_empty() {
        return Err(diag.into_errors());
    }
    let nodes: Vec<Node> = nodes
        .into_iter()
        .map(|x| x.expect("every node built when no error"))
        .collect();
    Ok(Graph {
        file: config.file,
        pipeline: config.pipeline,
        runtime: config.runtime,
        journal: config.journal,
        nodes,
        topo,
    })
}

/// Kahn's algorithm; on a cycle, returns the cycle as a path that ends where it starts.
fn topo_order(
    n: usize,
    data_out: &[Vec<TubeId>],
    event_in: &[Option<TubeId>],
) -> Result<Vec<TubeId>, Vec<TubeId>> {
    let mut succ: Vec<Vec<TubeId>> = data_out.to_vec();
    for (i, e) in event_in.iter().enumerate() {
        if let Some(src) = e {
            succ[*src as usize].push(i as TubeId);
        }
    }
    let mut indeg = vec![0usize; n];
    for s in &succ {
        for &t in s {
            indeg[t as usize] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<TubeId> = (0..n)
        .filter(|&i| indeg[i] == 0)
        .map(|i| i as TubeId)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(t) = ready.pop_first() {
        order.push(t);
        for &s in &succ[t as usize] {
            indeg[s as usize] -= 1;
            if indeg[s as usize] == 0 {
                ready.insert(s);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left has a predecessor that is also left: walk predecessors until one repeats.
    let left = |i: usize| indeg[i] > 0;
    let mut at = (0..n).find(|&i| left(i)).unwrap();
    let mut seen: Vec<usize> = Vec::new();
    while !seen.contains(&at) {
        seen.push(at);
        at = (0..n)
            .find(|&p| left(p) && succ[p].contains(&(at as TubeId)))
            .expect("a node left by Kahn's algorithm has a predecessor left");
    }
    let start = seen.iter().position(|&s| s == at).unwrap();
    let mut cycle: Vec<TubeId> = seen[start..].iter().rev().map(|&i| i as TubeId).collect();
    // Start at the tube declared first, so the same cycle always prints the same way.
    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap();
    cycle.rotate_left(first);
    cycle.push(cycle[0]);
    Err(cycle)
}
