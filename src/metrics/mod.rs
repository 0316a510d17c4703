//! Run metrics: per-tube latency histograms, their tables and logs, and the end-of-run summary (DESIGN §8).

mod latency;
mod log;
mod summary;
mod table;

pub use latency::{histogram, Recorder, Series, SeriesKind, Shared, MAX_NS};
pub use log::HdrLog;
pub use summary::{human, summary};
pub use table::{duration_ns, latency_table};
