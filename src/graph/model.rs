//! The checked graph's types: tubes by id, their ports, schemas and resolved specs.

use std::path::PathBuf;

use crate::base::datapoint::TubeId;
use crate::config::{CmpOp, ExternalDecl, JournalDecl, PipelineType, ReducerDecl, RuntimeConfig};
use crate::plugin::{SinkOutput, Source, Thread};

/// A checked graph: every name resolved to a tube id or a field slot.
#[derive(Debug)]
pub struct Graph {
    /// The config file.
    pub file: PathBuf,
    /// The config's text, as read.
    pub text: std::sync::Arc<str>,
    /// Batch or Stream.
    pub pipeline: PipelineType,
    /// The runtime section.
    pub runtime: RuntimeConfig,
    /// Where to record the run's input, if anywhere (`journal:`).
    pub journal: Option<JournalDecl>,
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
    /// By field: what a value means when it is not a plain number.
    pub texts: Vec<Option<TextOf>>,
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
    /// A generator: its source, checked by its kind.
    Source(Box<dyn Source>),
    /// A reducer tube.
    Through(ThroughSpec),
    /// An output.
    Sink {
        /// Where rows go.
        outputs: Vec<Box<dyn SinkOutput>>,
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
    /// Its window, if any.
    pub window: Option<WindowSpec>,
    /// Its key, if any.
    pub key: Option<KeySpec>,
}

impl ThroughSpec {
    /// The most datapoints one input can make it emit: every key's row when it consumes an event or
    /// when windows close (`size/every` windows each, at most, when one datapoint jumps past them).
    pub fn fanout(&self) -> usize {
        let keys = self.key.as_ref().map_or(1, |k| k.max_keys);
        match (self.window.map(|w| w.kind), self.trigger) {
            (Some(crate::config::WindowKind::Hopping { size, every }), _) => {
                keys.saturating_mul((size / every) as usize)
            }
            (Some(crate::config::WindowKind::Tumbling { .. }), _) | (_, TriggerSpec::Consume) => {
                keys
            }
            _ => 1,
        }
    }
}

/// By field: what each stands for when it is not a plain number.
pub type Texts = Vec<Option<TextOf>>;

/// A field whose number stands for text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOf {
    /// A key's number in [`crate::base::keys`]: written as its name.
    Key,
    /// Milliseconds since the Unix epoch: written as `timestamp` is (RFC 3339, ms).
    Millis,
}

/// A through's window, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowSpec {
    /// Which window, with its lengths (ns).
    pub kind: crate::config::WindowKind,
    /// Sliding: datapoints a key's buffer holds before it grows.
    pub max_items: usize,
    /// Whether the end of the input closes the windows still open (Batch).
    pub flush_at_end: bool,
    /// With a clock (`event: {Consume: tick}`): how long past a window's end (ns) a tick waits before
    /// closing it.
    pub lateness: i64,
}

/// A through's key, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpec {
    /// Slot of the key field per data port.
    pub slots: Vec<u8>,
    /// Keys whose state is laid out before the run, as values of the key field.
    pub known: Vec<f64>,
    /// How many keys get state.
    pub max_keys: usize,
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
    /// What the value stands for, when it is not a plain number.
    pub text: Option<TextOf>,
}

impl NodeKind {
    /// Whether the tube brings data in (it runs on its own thread and feeds the sequencer).
    pub fn is_generator(&self) -> bool {
        matches!(self, NodeKind::Source(_))
    }
}

impl Graph {
    /// Every sink output: (sink id, index among the sink's outputs, output), in declaration order.
    pub fn sink_outputs(&self) -> impl Iterator<Item = (TubeId, usize, &dyn SinkOutput)> {
        self.nodes.iter().enumerate().flat_map(|(id, n)| {
            let outputs: &[Box<dyn SinkOutput>] = match &n.kind {
                NodeKind::Sink { outputs, .. } => outputs,
                _ => &[],
            };
            outputs
                .iter()
                .enumerate()
                .map(move |(j, o)| (id as TubeId, j, o.as_ref()))
        })
    }

    /// The threads that feed the sequencer, each with the generators it runs: one per [`Thread::Own`]
    /// source in declaration order, then one per [`Thread::Shared`] name (the live feeds' I/O thread).
    pub fn source_threads(&self) -> Vec<(Thread, Vec<TubeId>)> {
        let mut own = Vec::new();
        let mut shared: Vec<(Thread, Vec<TubeId>)> = Vec::new();
        for (id, n) in self.nodes.iter().enumerate() {
            let NodeKind::Source(s) = &n.kind else {
                continue;
            };
            match s.thread() {
                Thread::Own => own.push((Thread::Own, vec![id as TubeId])),
                t => match shared.iter_mut().find(|(x, _)| *x == t) {
                    Some((_, ids)) => ids.push(id as TubeId),
                    None => shared.push((t, vec![id as TubeId])),
                },
            }
        }
        own.extend(shared);
        own
    }

    /// The throughs and sinks, in topological order: what stages run.
    pub fn placeable(&self) -> Vec<TubeId> {
        self.topo
            .iter()
            .copied()
            .filter(|&t| {
                matches!(
                    self.nodes[t as usize].kind,
                    NodeKind::Through(_) | NodeKind::Sink { .. }
                )
            })
            .collect()
    }

    /// The live feed behind generator `id`, if it is one.
    pub fn feed(&self, id: TubeId) -> Option<String> {
        match &self.nodes[id as usize].kind {
            NodeKind::Source(s) => s.feed(),
            _ => None,
        }
    }
}
