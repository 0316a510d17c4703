//! The parsed config: plain data, every name still a string, every node with its YAML path.

use std::path::PathBuf;

pub use crate::base::wait::WaitStrategy;

/// A whole pipeline config.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub file: PathBuf,
    /// Batch over a time range, or live.
    pub pipeline: PipelineType,
    /// The tubes, in declaration order (the order that breaks event-time ties).
    pub tubes: Vec<TubeDecl>,
    /// Threads, placement, waiting.
    pub runtime: RuntimeConfig,
    /// Record the sequenced input stream (`journal:`).
    pub journal: Option<JournalDecl>,
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
    /// Brings datapoints in.
    Generator(DataSource),
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

/// Where a generator's data comes from.
#[derive(Clone, Debug)]
pub enum DataSource {
    /// A CSV file.
    Csv(CsvSource),
    /// Synthetic trades at a fixed rate (Stream only), for benchmarks.
    Synthetic(SyntheticSource),
    /// Live trades from an exchange WebSocket (Stream only).
    WebSocket(WsSource),
}

/// `WebSocket: {exchange: Binance, market: btcusdt, channel: trade, url: ws://127.0.0.1:9001, ...}`.
///
/// Emits trades with fields `price`, `quantity`, `side` (+1 taker buy, −1 taker sell), `trade_id`; the
/// exchange's trade time is the event time and the receive time the ingest time.
#[derive(Clone, Debug, PartialEq)]
pub struct WsSource {
    /// The exchange.
    pub exchange: crate::generators::ws::Exchange,
    /// The market, spelt as the exchange spells it (`btcusdt`, `BTC-USD`, `XBT/USD`).
    pub market: String,
    /// The exchange's channel (Binance: `trade` or `aggTrade`); the exchange's default when not given.
    pub channel: String,
    /// Replaces the scheme, host and port of the exchange's endpoint (`ws://127.0.0.1:9001`).
    pub url: Option<String>,
    /// A PEM file of CA certificates to trust instead of the built-in roots (for a private CA).
    pub ca_file: Option<PathBuf>,
    /// Reconnect when nothing has arrived for this long (ns).
    pub stale_after: i64,
    /// Send a WebSocket ping this often (ns).
    pub ping_every: i64,
    /// Reconnect back-off: first delay and cap (ns); each failure doubles the delay, with jitter.
    pub backoff: (i64, i64),
    /// Take each datapoint's ingest time from the `mock_sent_ns` stamp the mock exchange adds to every
    /// frame, so latency figures run from the exchange's send (`tubes bench --feed`). Not settable in YAML.
    pub sent_stamps: bool,
}

impl WsSource {
    /// How statuses and the summary name this feed: `binance btcusdt`.
    pub fn feed_name(&self) -> String {
        format!("{} {}", self.exchange.name(), self.market)
    }
}

/// `Synthetic: {rate: 50000, price: 60000, seed: 1, stall: {after: 500ms, for: 100ms}}`.
///
/// Emits trades with fields `price`, `quantity`, `side`, `trade_id`. Each datapoint's ingest time is its
/// *intended* send time, so a sender that falls behind (a stall, backpressure) shows up in latency instead
/// of hiding it (coordinated-omission correction).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSource {
    /// Datapoints per second.
    pub rate: f64,
    /// Starting price of the random walk.
    pub price: f64,
    /// Seed of the random walk.
    pub seed: u64,
    /// Simulated sender stall: (after, for) in ns since the generator started.
    pub stall: Option<(i64, i64)>,
}

/// What to do with a malformed CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Stop the run with an error naming file, line and column.
    Fail,
    /// Skip the row, count it and report the count at the end.
    Skip,
}

/// `CSV: path` or `CSV: {path, time_column, fields, on_error}`.
#[derive(Clone, Debug)]
pub struct CsvSource {
    /// The file, relative to the directory the command runs in.
    pub path: PathBuf,
    /// The column holding the time; detected when absent.
    pub time_column: Option<String>,
    /// Columns to expose; every numeric column when absent.
    pub fields: Option<Vec<String>>,
    /// What to do with a malformed row.
    pub on_error: OnError,
}

/// A `Through` tube: reducers plus an optional event rule.
#[derive(Clone, Debug)]
pub struct ThroughDecl {
    /// The reducers, in output order (one unless `MULTI`).
    pub reducers: Vec<ReducerDecl>,
    /// `Produce` or `Consume`.
    pub event: Option<EventDecl>,
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

/// Where a sink writes.
#[derive(Clone, Debug, PartialEq)]
pub enum SinkOutput {
    /// An aligned table on a terminal, CSV otherwise.
    Stdout,
    /// A CSV file with a header row.
    Csv(PathBuf),
    /// Nothing is written (rows are still counted and timed): for benchmarks.
    Discard,
    /// NDJSON: one JSON object per row.
    Json(PathBuf),
    /// A journal directory that a bot tails (`tubes::journal::Tailer`).
    Journal(PathBuf),
}

/// A `Sink` tube.
#[derive(Clone, Debug)]
pub struct SinkDecl {
    /// One or more outputs, each receiving the same rows.
    pub outputs: Vec<SinkOutput>,
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
        /// Nanoseconds between ticks.
        interval: i64,
    },
}

/// How tubes are grouped into threads.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// As many stages as there are spare cores.
    Auto,
    /// Every tube in one stage.
    Single,
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
