//! The foundation every other layer stands on: the datapoint, time, the sync primitives (rings, doorbells,
//! the atomics loom checks), pinning, the status codes of live feeds, a generator's counters and the errors
//! of a running pipeline. It imports nothing else of the crate.

pub mod counters;
pub mod datapoint;
mod edge;
pub mod error;
pub mod files;
pub mod keys;
pub mod number;
pub mod out;
pub mod pin;
pub mod points;
pub mod ring;
pub mod seqlock;
pub mod status;
pub(crate) mod sync;
pub mod time;
pub mod wait;

pub use counters::GenCounters;
pub use edge::{notify_all, Ctx, Inlet, Outlet, Push};
pub use error::{RunError, SinkError};
