//! Source kinds: where datapoints come from. Each implements [`crate::plugin::SourceKind`] in its own
//! module and is listed once in [`KINDS`]; its run loop feeds the sequencer through a ring.

pub mod csv;
#[cfg(not(loom))]
mod postgres;
#[cfg(not(loom))]
mod queue;
pub mod replay;
pub mod synthetic;
pub mod ws;

use crate::plugin::SourceKind;

/// Every source kind a config may name (`datasource: {Tag: ...}`), in the order errors list them.
pub static KINDS: &[&dyn SourceKind] = &[
    &csv::Csv,
    &synthetic::Synthetic,
    &ws::WebSocket,
    #[cfg(not(loom))]
    &postgres::Postgres,
    #[cfg(not(loom))]
    &queue::Kafka,
    #[cfg(not(loom))]
    &queue::Redis,
];

/// The fields of a trade source (`Synthetic`, `WebSocket`, `Kafka`, `Redis`), in slot order. `side` is
/// +1 when the taker bought, −1 when it sold; `maker` is the buyer-is-maker flag (1 when the taker sold).
pub const TRADE_FIELDS: [&str; 5] = ["price", "quantity", "side", "trade_id", "maker"];
