//! Errors of a running pipeline (exit code 1).

use std::io;

/// Why a run failed after it started.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input data, e.g. a malformed CSV row (the message names file:line and column).
    #[error("{0}")]
    Input(String),
    /// A sink could not be opened or written.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A live feed cannot go on (e.g. the exchange's certificate is not trusted).
    #[error("feed {0}")]
    Feed(String),
    /// Another thread failed and the run is being stopped.
    #[error("stopped because another part of the pipeline failed")]
    Stopped,
    /// A thread could not be started or panicked.
    #[error("engine thread {0}")]
    Thread(String),
}

/// A sink output that could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("sink output {target}: {source}")]
pub struct SinkError {
    /// The file, or `stdout`.
    pub target: String,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}
