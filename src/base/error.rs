//! Errors of a running pipeline (exit code 1).

use std::error::Error;
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
    /// A journal could not be read or written (recording, replaying, a Journal sink).
    #[error("{0}")]
    Journal(#[source] Box<dyn Error + Send + Sync>),
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
    /// The output's own error, with its type (an `io::Error`, a journal's error).
    #[source]
    pub source: Box<dyn Error + Send + Sync>,
}

impl SinkError {
    /// `target` failed with `source`.
    pub fn new(target: String, source: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        SinkError {
            target,
            source: source.into(),
        }
    }

    /// Whether the output's reader went away (`tubes run … | head` closing stdout).
    pub fn is_broken_pipe(&self) -> bool {
        self.source
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }
}
