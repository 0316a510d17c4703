//! The `Stdout` sink kind: an aligned table on a terminal, CSV when piped.

use std::io::{self, BufWriter, IsTerminal};

use serde_yaml::Value;

use super::csv::CsvWriter;
use super::table::TableWriter;
use super::Out;
use crate::base::{RunError, SinkError};
use crate::config::Reader;
use crate::plugin::{OpenSink, RowWriter, SinkKind, SinkOutput};

/// The `Stdout` sink kind.
pub struct Stdout;

impl SinkKind for Stdout {
    fn names(&self) -> &'static [&'static str] {
        &["Stdout"]
    }

    fn parse(&self, _: &mut Reader<'_>, _: &Value, _: &str) -> Option<Box<dyn SinkOutput>> {
        Some(Box::new(StdoutOutput))
    }
}

/// The process's standard output.
#[derive(Debug)]
pub struct StdoutOutput;

impl SinkOutput for StdoutOutput {
    fn target(&self) -> String {
        "stdout".into()
    }

    fn is_stdout(&self) -> bool {
        true
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let err = |e| SinkError::new(self.target(), e);
        let stdout: Out = BufWriter::with_capacity(1 << 16, Box::new(io::stdout()));
        let w: Box<dyn RowWriter> = if io::stdout().is_terminal() {
            Box::new(TableWriter::new(stdout, cx.columns, cx.with_status).map_err(err)?)
        } else {
            Box::new(CsvWriter::new(stdout, cx.columns, cx.with_status).map_err(err)?)
        };
        Ok(Some(w))
    }
}
