//! Tubes: a declarative, low-latency stream processor for market data.
//!
//! A run goes through five steps, each in its own module with its own types:
//! [`config`] parses the YAML (every error at once, with file, line and YAML path),
//! [`graph`] checks the graph and plans stages, rings and field slots,
//! [`runtime`] spawns pinned threads joined by lock-free SPSC rings and runs them.
//! Tube implementations live in [`generators`], [`throughs`], [`events`] and [`sinks`].
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod api;
pub mod base;
pub mod cli;
pub mod config;
pub mod events;
pub mod graph;
pub mod journal;
pub mod metrics;
pub mod plugin;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod throughs;
