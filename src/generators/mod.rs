//! Generators: where datapoints come from. Each runs on its own thread and feeds the sequencer through a ring.

pub mod csv;
pub mod synthetic;
pub mod ws;
