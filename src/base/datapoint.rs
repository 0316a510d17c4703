//! The fixed-size datapoint that flows through every ring (DESIGN §3).

/// How many `f64` values a datapoint carries. A tube's output schema may hold at most this many fields.
pub const MAX_FIELDS: usize = 12;

/// Index of a tube in the config (its declaration order). Every datapoint names the tube that produced it.
pub type TubeId = u16;

/// What a datapoint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A row from a generator, or a value a through emitted.
    Data = 0,
    /// A value a through emitted because its `Produce` condition fired.
    Event = 1,
    /// A tick of an external event such as `StaticTimeTick`.
    Tick = 2,
    /// A live feed's status (up, down, a gap): it passes through throughs unchanged and sinks write it
    /// in their `status` column. See [`crate::base::status`].
    Status = 3,
}

impl Kind {
    /// Whether a `Consume` port takes it: fired events and ticks, not data or statuses.
    pub fn is_event(self) -> bool {
        matches!(self, Kind::Event | Kind::Tick)
    }
}

/// One datapoint: 128 bytes, `Copy`, no pointers, so rings move it by value.
///
/// Field names exist only in the config: the planner resolves each name to an index into `values`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct Datapoint {
    /// Global sequence number stamped by the sequencer; everything a tube emits inherits the number of its cause.
    pub seq: u64,
    /// Event time in nanoseconds since the Unix epoch (from the exchange or the file).
    pub event_time: i64,
    /// Monotonic nanoseconds (see [`crate::base::time::monotonic_ns`]) when the datapoint entered the engine.
    pub ingest_time: u64,
    /// The tube that produced this datapoint.
    pub source: TubeId,
    /// What the datapoint is.
    pub kind: Kind,
    /// How many of `values` are meaningful.
    pub len: u8,
    /// Nanoseconds after `ingest_time` at which the datapoint was pushed into the ring it is in (saturating
    /// at about 4.3 s; 0 when latency recording is off). The consumer's pop time minus this is its queue wait.
    pub hop_ns: u32,
    /// The field values, in the order of the producing tube's output schema.
    pub values: [f64; MAX_FIELDS],
}

const _: () = assert!(std::mem::size_of::<Datapoint>() == 128);
const _: () = assert!(std::mem::size_of::<Datapoint>().is_power_of_two());

impl Datapoint {
    /// A datapoint with no values and sequence number 0 (the sequencer stamps the number).
    pub const fn new(kind: Kind, source: TubeId, event_time: i64, ingest_time: u64) -> Self {
        Datapoint {
            seq: 0,
            event_time,
            ingest_time,
            source,
            kind,
            len: 0,
            hop_ns: 0,
            values: [0.0; MAX_FIELDS],
        }
    }

    /// The meaningful values.
    pub fn fields(&self) -> &[f64] {
        &self.values[..self.len as usize]
    }
}
