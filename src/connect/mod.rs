//! Clients of the systems a pipeline reads from and writes to (databases), shared by the source and sink
//! kinds that talk to them. Their libraries run only on a generator's own thread or on a sink's writer
//! thread, never on an engine thread.

#[cfg(not(loom))]
pub mod postgres;

/// An SQL identifier (a table or column name), quoted: `"btc_vol_sum.sum_Volume"`.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
