//! The traits the engine knows, and nothing of the kinds behind them.
//!
//! A *source kind* (CSV, Synthetic, WebSocket, …) turns the payload of `datasource: {Kind: payload}` into a
//! [`Source`]; the graph asks it for its schema (probing files and certificates as it needs), and the
//! engine has it open one run loop ([`SourceRun`]) per thread before the first datapoint flows. A *sink
//! kind* (Stdout, CSV, NDJSON, Journal, Discard, …) turns one entry of `datasink:` into a [`SinkOutput`],
//! which opens a [`RowWriter`]. [`Kinds`] is the registry the layers above hand down: the graph resolves
//! every tag through it, so no layer below the kinds names one.

mod kinds;
mod sink;
mod source;

pub use kinds::Kinds;
pub use sink::{
    find_column, Assemble, Cell, Commit, Destination, OpenSink, Row, RowWriter, SinkKind,
    SinkOutput, Staged, WriteError,
};
pub use source::{
    CheckMemo, CheckSource, Limits, OpenSource, Source, SourceKind, SourceRun, Thread,
};
