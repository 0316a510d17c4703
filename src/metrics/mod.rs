//! Run metrics: per-tube latency histograms, their tables and logs (DESIGN §8), and the live figures of
//! a running pipeline with the stats file that publishes them.

mod latency;
pub mod live;
mod log;
pub mod rss;
pub mod stats_file;
mod table;

pub use latency::{histogram, move_into, Recorder, Series, SeriesKind, Shared, MAX_NS};
pub use log::{HdrLog, LogError};
pub use table::{duration_ns, human, latency_table};
