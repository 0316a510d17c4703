//! Tubes: a declarative, low-latency stream processor for market data.
//!
//! The modules are layers, lowest first; each imports only those below it (`tools/check_layers.py`
//! checks this): [`base`] (datapoint, time, rings, doorbells), [`journal`], [`metrics`], [`config`]
//! (YAML → model, every error at once with file, line and YAML path), [`plugin`] (the traits of source
//! and sink kinds), [`graph`] (checked graph and plan), [`events`] and [`throughs`] (what stages run),
//! [`runtime`] (pinned threads joined by lock-free SPSC rings), [`connect`] (clients of databases),
//! [`view`] (the terminal views of a running pipeline), the kinds in [`sources`] and [`sinks`],
//! then [`api`] (`load`, `check`, `run`: what every caller uses) and [`cli`].
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod api;
pub mod base;
pub mod cli;
pub mod config;
pub mod connect;
pub mod events;
pub mod graph;
pub mod journal;
pub mod metrics;
pub mod plugin;
pub mod runtime;
pub mod sinks;
pub mod sources;
pub mod sweep;
pub mod throughs;
pub mod view;
