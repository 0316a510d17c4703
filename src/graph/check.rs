//! Validation: every label, edge, event, field, file and core is checked, and every problem reported at once.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::config::{
    closest, suggest, CmpOp, Config, ConfigErrors, CsvSource, DataSource, Diagnostics, EventDecl,
    ExternalDecl, PipelineType, Placement, ReducerDecl, RuntimeConfig, SinkOutput, SyntheticSource,
    TubeKind,
};
use crate::datapoint::{TubeId, MAX_FIELDS};
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

impl Graph {
    /// Which fields of tube `id`'s output some consumer reads: a reducer's input, a sink column, or anything
    /// that passes through a NOP (which is treated as reading every field). Generators parse only these.
    pub fn used_fields(&self, id: TubeId) -> Vec<bool> {
        let n = self.nodes[id as usize].schema.len();
        let mut used = vec![false; n];
        for node in &self.nodes {
            for (p, port) in node.ports.iter().enumerate() {
                if *port != Port::Data(id) {
                    continue;
                }
                match &node.kind {
                    NodeKind::Through(t) if t.nop => return vec![true; n],
                    NodeKind::Through(t) => {
                        for op in &t.ops {
                            for slot in [op.slots.get(p), op.slots2.get(p)].into_iter().flatten() {
                                used[*slot as usize] = true;
                            }
                        }
                    }
                    NodeKind::Sink { columns, .. } => {
                        for c in columns.iter().filter(|c| c.port == p) {
                            used[c.slot as usize] = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        used
    }
}

/// The fields of a `Synthetic` source, in slot order.
pub const SYNTHETIC_FIELDS: [&str; 4] = ["price", "quantity", "side", "trade_id"];

impl NodeKind {
    /// Whether the tube brings data in (it runs on its own thread and feeds the sequencer).
    pub fn is_generator(&self) -> bool {
        matches!(self, NodeKind::CsvGenerator { .. } | NodeKind::Synthetic(_))
    }
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
                        SYNTHETIC_FIELDS.iter().map(|f| f.to_string()).collect(),
                        NodeKind::Synthetic(src.clone()),
                    ))
                }
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

fn output_name(r: &ReducerDecl) -> String {
    match r {
        ReducerDecl::Nop => String::new(),
        ReducerDecl::Count => "count".into(),
        ReducerDecl::Sum(f) => format!("sum_{f}"),
        ReducerDecl::First(f) => format!("first_{f}"),
        ReducerDecl::Last(f) => format!("last_{f}"),
        ReducerDecl::Min(f) => format!("min_{f}"),
        ReducerDecl::Max(f) => format!("max_{f}"),
        ReducerDecl::Mean(f) => format!("mean_{f}"),
        ReducerDecl::Vwap { .. } => "vwap".into(),
    }
}

fn input_fields(r: &ReducerDecl) -> Vec<&str> {
    match r {
        ReducerDecl::Nop | ReducerDecl::Count => vec![],
        ReducerDecl::Vwap { price, quantity } => vec![price, quantity],
        ReducerDecl::Sum(f)
        | ReducerDecl::First(f)
        | ReducerDecl::Last(f)
        | ReducerDecl::Min(f)
        | ReducerDecl::Max(f)
        | ReducerDecl::Mean(f) => vec![f],
    }
}

fn missing_field(
    diag: &mut Diagnostics,
    path: &str,
    field: &str,
    from: &str,
    available: &[String],
) {
    let names: Vec<&str> = available.iter().map(String::as_str).collect();
    let help = match closest(field, names.iter().copied()) {
        Some(c) => format!(
            "did you mean '{c}'? '{from}' provides: {}",
            names.join(", ")
        ),
        None if names.is_empty() => format!("'{from}' provides no fields"),
        None => format!("'{from}' provides: {}", names.join(", ")),
    };
    diag.error(
        path,
        format!("field '{field}' is not provided by '{from}'"),
        Some(help),
    );
}

fn through(
    diag: &mut Diagnostics,
    path: &str,
    reducers: &[ReducerDecl],
    event: Option<&EventDecl>,
    inputs: &[(&str, &Vec<String>)],
) -> Option<(Vec<String>, ThroughSpec)> {
    let rpath = format!("{path}.reducer");
    let nop = reducers == [ReducerDecl::Nop];
    let mut ok = true;
    let mut ops = Vec::new();
    let schema: Vec<String> = if nop {
        let first = inputs[0].1;
        for (label, s) in &inputs[1..] {
            if *s != first {
                diag.error(
                    &rpath,
                    format!("NOP passes its input through, but '{}' and '{label}' emit different fields", inputs[0].0),
                    Some("feed a NOP from tubes with the same fields, or use one NOP per input".into()),
                );
                ok = false;
            }
        }
        first.clone()
    } else {
        for r in reducers {
            let mut slots = [Vec::new(), Vec::new()];
            for (k, f) in input_fields(r).into_iter().enumerate() {
                for (label, s) in inputs {
                    match s.iter().position(|x| x == f) {
                        Some(slot) => slots[k].push(slot as u8),
                        None => {
                            missing_field(diag, &rpath, f, label, s);
                            ok = false;
                        }
                    }
                }
            }
            let [slots, slots2] = slots;
            ops.push(OpSpec {
                reducer: r.clone(),
                slots,
                slots2,
            });
        }
        let names: Vec<String> = reducers.iter().map(output_name).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                diag.error(
                    &rpath,
                    format!("two reducers both emit '{name}'"),
                    Some("list each reducer once".into()),
                );
                ok = false;
            }
        }
        names
    };
    let trigger = match event {
        None => TriggerSpec::Always,
        Some(EventDecl::Consume(_)) => TriggerSpec::Consume,
        Some(EventDecl::Produce(c)) => match schema.iter().position(|x| *x == c.field) {
            Some(slot) => TriggerSpec::Produce {
                op: c.op,
                slot: slot as u8,
                threshold: c.threshold,
            },
            None => {
                let names: Vec<&str> = schema.iter().map(String::as_str).collect();
                diag.error(
                    &format!("{path}.event.Produce"),
                    format!("field '{}' is not emitted by this tube", c.field),
                    Some(match closest(&c.field, names.iter().copied()) {
                        Some(s) => format!("did you mean '{s}'? it emits: {}", names.join(", ")),
                        None => format!(
                            "a Produce condition tests the tube's own output: {}",
                            names.join(", ")
                        ),
                    }),
                );
                ok = false;
                TriggerSpec::Always
            }
        },
    };
    ok.then_some((schema, ThroughSpec { ops, nop, trigger }))
}

#[allow(clippy::too_many_arguments)]
fn sink_columns(
    diag: &mut Diagnostics,
    path: &str,
    fields: &[(String, Vec<String>)],
    ids: &HashMap<&str, TubeId>,
    labels: &[&str],
    data_in: &[Vec<TubeId>],
    schemas: &[Option<Vec<String>>],
    me: usize,
) -> Option<Vec<SinkColumn>> {
    let mut ok = true;
    let mut columns = Vec::new();
    let inputs = &data_in[me];
    for (label, names) in fields {
        let fpath = format!("{path}.fields.{label}");
        let Some(&id) = ids.get(label.as_str()) else {
            diag.error(
                &fpath,
                format!("'{label}' names no tube"),
                Some(suggest(label, labels)),
            );
            ok = false;
            continue;
        };
        // The sink inputs through which `id`'s data reaches the sink.
        let via: Vec<usize> = inputs
            .iter()
            .enumerate()
            .filter(|&(_, &inp)| inp == id || reaches(data_in, id, inp))
            .map(|(p, _)| p)
            .collect();
        let input_names: Vec<&str> = inputs.iter().map(|&i| labels[i as usize]).collect();
        let port = match via.as_slice() {
            [p] => *p,
            [] => {
                diag.error(
                    &fpath,
                    format!("'{label}' does not send data to this sink"),
                    Some(format!(
                        "name one of its inputs ({}) or a tube upstream of them",
                        input_names.join(", ")
                    )),
                );
                ok = false;
                continue;
            }
            many => {
                let names: Vec<&str> = many.iter().map(|&p| input_names[p]).collect();
                diag.error(
                    &fpath,
                    format!(
                        "'{label}' reaches this sink through several inputs: {}",
                        names.join(", ")
                    ),
                    Some("name the input tube itself instead".into()),
                );
                ok = false;
                continue;
            }
        };
        let src = inputs[port] as usize;
        let Some(schema) = schemas[src].as_ref() else {
            // That input had errors of its own, already reported.
            ok = false;
            continue;
        };
        for f in names {
            match schema.iter().position(|x| x == f) {
                Some(slot) => columns.push(SinkColumn {
                    name: format!("{label}.{f}"),
                    port,
                    slot: slot as u8,
                }),
                None => {
                    missing_field(diag, &fpath, f, labels[src], schema);
                    ok = false;
                }
            }
        }
    }
    ok.then_some(columns)
}

/// Whether data flows from `from` to `to` (following data edges backwards from `to`).
fn reaches(data_in: &[Vec<TubeId>], from: TubeId, to: TubeId) -> bool {
    let mut stack = vec![to];
    let mut seen = vec![false; data_in.len()];
    while let Some(t) = stack.pop() {
        for &s in &data_in[t as usize] {
            if s == from {
                return true;
            }
            if !seen[s as usize] {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
    }
    false
}

fn check_placement(
    diag: &mut Diagnostics,
    placement: &Placement,
    ids: &HashMap<&str, TubeId>,
    config: &Config,
    data_out: &[Vec<TubeId>],
    event_in: &[Option<TubeId>],
) {
    let cores = crate::runtime::pin::core_count();
    let Placement::Explicit(stages) = placement else {
        return;
    };
    let mut placed: Vec<Option<usize>> = vec![None; config.tubes.len()];
    for (s, stage) in stages.iter().enumerate() {
        if let Some(core) = stage.core {
            if core >= cores {
                diag.error(
                    &format!("{}.core", stage.path),
                    format!(
                        "core {core} does not exist: this machine has {cores} core{} (0–{})",
                        if cores == 1 { "" } else { "s" },
                        cores.saturating_sub(1)
                    ),
                    Some(
                        "pick an existing core, or leave core out to let the OS schedule the stage"
                            .into(),
                    ),
                );
            }
        }
        if stage.tubes.is_empty() {
            diag.error(&stage.path, "a stage must run at least one tube", None);
        }
        for (k, label) in stage.tubes.iter().enumerate() {
            let p = format!("{}.tubes[{k}]", stage.path);
            match ids.get(label.as_str()) {
                None => diag.error(&p, format!("'{label}' names no tube"), None),
                Some(&id) => match config.tubes[id as usize].kind {
                    TubeKind::Through(_) | TubeKind::Sink(_) | TubeKind::Invalid(_) => {
                        if let Some(prev) = placed[id as usize] {
                            diag.error(&p, format!("'{label}' is already placed in stage {prev}"), None);
                        }
                        placed[id as usize] = Some(s);
                    }
                    _ => diag.error(
                        &p,
                        format!("'{label}' is a {}: generators and external events run on their own threads", config.tubes[id as usize].kind.name()),
                        Some("list only Throughs and Sinks in stages".into()),
                    ),
                },
            }
        }
    }
    let missing: Vec<&str> = config
        .tubes
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            matches!(
                t.kind,
                TubeKind::Through(_) | TubeKind::Sink(_) | TubeKind::Invalid("Through" | "Sink")
            ) && placed[*i].is_none()
        })
        .map(|(_, t)| t.label.as_str())
        .collect();
    if !missing.is_empty() {
        diag.error(
            "runtime.placement",
            format!("these tubes are in no stage: {}", missing.join(", ")),
            Some("list every Through and Sink in exactly one stage".into()),
        );
    }
    // Stages must not feed each other in a loop: each would wait for the other's progress forever.
    let stage_count = stages.len();
    let mut edges = vec![vec![false; stage_count]; stage_count];
    let mut example = vec![vec![(0, 0); stage_count]; stage_count];
    for (src, outs) in data_out.iter().enumerate() {
        let consumers = outs.iter().copied().chain(
            event_in
                .iter()
                .enumerate()
                .filter(|(_, e)| **e == Some(src as TubeId))
                .map(|(c, _)| c as TubeId),
        );
        for dst in consumers {
            if let (Some(a), Some(b)) = (placed[src], placed[dst as usize]) {
                if a != b {
                    edges[a][b] = true;
                    example[a][b] = (src, dst as usize);
                }
            }
        }
    }
    // Floyd–Warshall reachability is plenty for a handful of stages.
    let mut reach = edges.clone();
    for k in 0..stage_count {
        for a in 0..stage_count {
            for b in 0..stage_count {
                reach[a][b] |= reach[a][k] && reach[k][b];
            }
        }
    }
    if let Some(a) = (0..stage_count).find(|&a| reach[a][a]) {
        let b = (0..stage_count)
            .find(|&b| b != a && edges[a][b] && reach[b][a])
            .unwrap_or(a);
        let (x, y) = example[a][b];
        let back = (0..stage_count)
            .flat_map(|c| (0..stage_count).map(move |d| (c, d)))
            .find(|&(c, d)| edges[c][d] && d == a && (c == b || reach[b][c]))
            .map(|(c, d)| example[c][d])
            .unwrap_or((y, x));
        diag.error(
            "runtime.placement",
            format!(
                "stages {a} and {b} feed each other: {} → {} goes from stage {a} to stage {b}, and {} → {} comes back",
                config.tubes[x].label, config.tubes[y].label, config.tubes[back.0].label, config.tubes[back.1].label
            ),
            Some("each stage waits for the other's progress; put these tubes in one stage, or split stages along the graph's order".into()),
        );
    }
}
