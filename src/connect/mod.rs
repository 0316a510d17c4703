//! Clients of the systems a pipeline reads from and writes to (databases, message queues), shared by
//! the source and sink kinds that talk to them. Their libraries run only on a generator's own thread,
//! the message-queue thread or a sink's writer thread, never on an engine thread.

#[cfg(not(loom))]
pub mod kafka;
#[cfg(not(loom))]
pub mod postgres;
#[cfg(not(loom))]
pub mod redis;

/// An SQL identifier (a table or column name), quoted: `"btc_vol_sum.sum_Volume"`.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
