//! The parsed config: plain data, every name still a string, every node with its YAML path.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::base::wait::WaitStrategy;

/// `{Kind: payload}` naming a plug-in (a generator's `datasource`, one of a sink's `datasink` outputs),
/// kept as written: the config layer knows no kinds, and the graph resolves the tag through the registry
/// of kinds and has that kind read the payload.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginDecl {
    /// The YAML as written.
    pub value: serde_yaml::Value,
    /// Its YAML path (`tubes[0].Generator.datasource`).
    pub path: String,
}

/// A whole pipeline config.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// The text read from it (a journal records it: the file itself may be a pipe, read once).
    pub text: std::sync::Arc<str>,
    /// Batch over a time range, or live.
    pub pipeline: PipelineType,
    /// The tubes, in declaration order (the order that breaks event-time ties).
    pub tubes: Vec<TubeDecl>,
    /// Threads, placement, waiting.
    pub runtime: RuntimeConfig,
    /// Record the sequenced input stream (`journal:`).
    pub journal: Option<JournalDecl>,
    /// Plug-in entries of tubes dropped or left placeholders while parsing (no label, a sink without
    /// fields): their kinds still read them when the graph is checked, so their mistakes are reported.
    pub unchecked: Vec<(PluginRole, PluginDecl)>,
}

/// What a plug-in entry names: a generator's source or a sink's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginRole {
    /// `datasource:`.
    Source,
    /// One entry of `datasink:`.
    Sink,
}

/// `journal: {dir: out/journal, sync: segment, segment_records: 65536}`.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalDecl {
    /// The journal's directory (it must not hold a journal yet).
    pub dir: PathBuf,
    /// When written records are forced to disk.
    pub sync: crate::journal::SyncPolicy,
    /// Records per segment file.
    pub segment_records: u64,
}

/// Records per segment file unless configured: 65,536 × 144 bytes ≈ 9.4 MB.
pub const SEGMENT_RECORDS: u64 = 1 << 16;

/// How the pipeline runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PipelineType {
    /// Every datapoint with event time in `[from, to)` (ns since the epoch), merged by event time, as fast as possible.
    Batch {
        /// Inclusive start.
        from: i64,
        /// Exclusive end.
        to: i64,
    },
    /// Live: datapoints merged in arrival order, ticks on the wall clock.
    Stream,
}

/// One entry of `tubes:`.
#[derive(Clone, Debug)]
pub struct TubeDecl {
    /// The tube's label.
    pub label: String,
    /// Labels its output goes to (`to_label`).
    pub to: Vec<String>,
    /// What kind of tube it is.
    pub kind: TubeKind,
    /// YAML path of the tube's body, e.g. `tubes[2].Through`.
    pub path: String,
}

/// The four tube families.
#[derive(Clone, Debug)]
pub enum TubeKind {
    /// Brings datapoints in: its `datasource`, read by its source kind when the graph is checked.
    Generator(PluginDecl),
    /// Reduces and emits.
    Through(ThroughDecl),
    /// Writes rows out.
    Sink(SinkDecl),
    /// Events not caused by data.
    ExternalEvent(ExternalDecl),
    /// A tube whose body had errors (already reported). It keeps its label so that references to it
    /// resolve and the rest of the graph is still checked.
    Invalid(&'static str),
}

impl TubeKind {
    /// The YAML tag of the kind.
    pub fn name(&self) -> &'static str {
        match self {
            TubeKind::Generator(_) => "Generator",
            TubeKind::Through(_) => "Through",
            TubeKind::Sink(_) => "Sink",
            TubeKind::ExternalEvent(_) => "ExternalEvent",
            TubeKind::Invalid(name) => name,
        }
    }
}

/// A `Through` tube: reducers plus an optional event rule.
#[derive(Clone, Debug)]
pub struct ThroughDecl {
    /// The reducers, in output order (one unless `MULTI`).
    pub reducers: Vec<ReducerDecl>,
    /// The YAML path of each reducer (`tubes[2].Through.reducer.SUM`), so an error about one of its
    /// fields points at that field.
    pub reducer_paths: Vec<String>,
    /// `Produce` or `Consume`.
    pub event: Option<EventDecl>,
    /// `window:`: the time window the reducers run over, if any.
    pub window: Option<WindowDecl>,
    /// `key:` and its options: state per value of a field, if any.
    pub key: Option<KeyDecl>,
}

/// `window: {sliding: 10m}`, `{tumbling: 1m}` or `{hopping: {size: 10m, every: 1m}}`, with options.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowDecl {
    /// Which window, and its lengths.
    pub kind: WindowKind,
    /// Sliding: the datapoints a key's window is sized to hold before the run (`max_items`).
    pub max_items: u64,
    /// Tumbling and hopping, Stream: how long past a window's end a wall-clock tick waits before
    /// closing it (`allowed_lateness`).
    pub allowed_lateness: std::time::Duration,
    /// The YAML path of `window:`.
    pub path: String,
}

/// The kinds of window; lengths in nanoseconds of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// The aggregate over `(t - size, t]`, at every datapoint.
    Sliding {
        /// Its length.
        size: i64,
    },
    /// Epoch-aligned windows `[k·size, (k+1)·size)`.
    Tumbling {
        /// Their length.
        size: i64,
    },
    /// Epoch-aligned windows of length `size` starting every `every`.
    Hopping {
        /// Their length.
        size: i64,
        /// How often one starts.
        every: i64,
    },
}

/// `key: symbol`, with `keys: [BTCUSDT, ETHUSDT]` and `max_keys: 64` beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyDecl {
    /// The field whose value keys the state.
    pub field: String,
    /// Keys named before the run, in the order their state is laid out.
    pub keys: Vec<String>,
    /// How many keys get state; a datapoint of a further key is counted, not kept.
    pub max_keys: usize,
    /// The YAML path of `key:`.
    pub path: String,
}

/// One reducer.
#[derive(Clone, Debug, PartialEq)]
pub enum ReducerDecl {
    /// Pass datapoints through (with `Consume`: hold the last one).
    Nop,
    /// Number of datapoints: `count`.
    Count,
    /// `sum_<field>`.
    Sum(String),
    /// `first_<field>`.
    First(String),
    /// `last_<field>`.
    Last(String),
    /// `min_<field>`.
    Min(String),
    /// `max_<field>`.
    Max(String),
    /// `mean_<field>`.
    Mean(String),
    /// Volume-weighted average price: `vwap`.
    Vwap {
        /// Price field.
        price: String,
        /// Quantity field.
        quantity: String,
    },
}

/// The event rule of a through.
#[derive(Clone, Debug, PartialEq)]
pub enum EventDecl {
    /// Emit and reset when the condition holds on the tube's state.
    Produce(ConditionDecl),
    /// Emit and reset when the named tube's event fires.
    Consume(String),
}

/// Comparison of a `Produce` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// value > threshold
    Greater,
    /// value ≥ threshold
    GreaterEqual,
    /// value < threshold
    Less,
    /// value ≤ threshold
    LessEqual,
    /// value moved from one side of the threshold to the other (either direction)
    Crosses,
    /// value moved from strictly below the threshold to at or above it
    CrossesAbove,
    /// value moved from strictly above the threshold to at or below it
    CrossesBelow,
}

/// `GREATER: {field: sum_Volume, threshold: 1000}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionDecl {
    /// The comparison.
    pub op: CmpOp,
    /// A field of the tube's own output.
    pub field: String,
    /// The threshold.
    pub threshold: f64,
}

/// A `Sink` tube.
#[derive(Clone, Debug)]
pub struct SinkDecl {
    /// One or more outputs, each receiving the same rows, read by their sink kinds when the graph is
    /// checked.
    pub outputs: Vec<PluginDecl>,
    /// Columns: (tube label, fields of that tube), in order.
    pub fields: Vec<(String, Vec<String>)>,
}

/// An `ExternalEvent` tube.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternalDecl {
    /// A tick every `interval` in `[from, to)`.
    StaticTimeTick {
        /// First tick (ns since the epoch).
        from: i64,
        /// Ticks stop before this time.
        to: i64,
        /// Time between ticks.
        interval: Duration,
    },
}

/// How tubes are grouped into threads.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// As many stages as there are spare cores; `Inline` when there is none.
    Auto,
    /// Every tube in one stage.
    Single,
    /// Every tube on the sequencer's thread: no stage threads, no ring between merging and the tubes.
    Inline,
    /// One stage per tube.
    PerTube,
    /// Stages as listed.
    Explicit(Vec<StageDecl>),
}

/// One explicit stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageDecl {
    /// Labels of the throughs and sinks it runs.
    pub tubes: Vec<String>,
    /// The core it is pinned to.
    pub core: Option<usize>,
    /// YAML path, for errors.
    pub path: String,
}

/// The `runtime:` section.
#[derive(Clone, Debug, PartialEq)]
pub struct RuntimeConfig {
    /// How idle stages wait.
    pub wait: WaitStrategy,
    /// How tubes are grouped into stages.
    pub placement: Placement,
    /// Capacity of every ring, a power of two.
    pub ring_capacity: usize,
    /// Record per-tube latency histograms.
    pub metrics: bool,
    /// Drop the newest datapoint when a ring is full instead of blocking (counted and reported).
    pub drop_newest: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            wait: WaitStrategy::Adaptive,
            placement: Placement::Auto,
            ring_capacity: 1024,
            metrics: true,
            drop_newest: false,
        }
    }
}
