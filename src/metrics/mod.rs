//! Run metrics: per-tube latency histograms, their tables and logs (DESIGN §8).

mod latency;
mod log;
mod table;

pub use latency::{histogram, Recorder, Series, SeriesKind, Shared, MAX_NS};
pub use log::{HdrLog, LogError};
pub use table::{duration_ns, human, latency_table};
