//! The `Stdout` sink kind: an aligned table on a terminal, CSV when piped.

use std::io::{self, IsTerminal};

use serde_yaml::Value;

use super::csv::CsvWriter;
use super::lead::Lead;
use super::table::TableWriter;
use crate::base::out::{Out, BUFFER};
use crate::base::{RunError, SinkError};
use crate::config::Reader;
use crate::plugin::{Destination, OpenSink, RowWriter, SinkKind, SinkOutput};

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
        self.format(Out::copying_lines(io::stdout(), BUFFER), cx)
            .map(Some)
    }

    fn can_sweep(&self) -> bool {
        true
    }

    fn destination(&self) -> Option<Result<Destination, RunError>> {
        Some(Ok(Destination::Stdout))
    }

    /// A table on a terminal, CSV when piped.
    fn format(&self, out: Out, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
        let err = |e| SinkError::new(self.target(), e);
        let (lead, header) = (Lead::of(cx), cx.header);
        let w: Box<dyn RowWriter> = if io::stdout().is_terminal() {
            Box::new(
                TableWriter::with_lead(out, cx.columns, cx.with_status, lead, header)
                    .map_err(err)?,
            )
        } else {
            Box::new(
                CsvWriter::with_lead(out, cx.columns, cx.with_status, lead, header).map_err(err)?,
            )
        };
        Ok(w)
    }
}
