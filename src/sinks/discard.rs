//! The `Discard` sink kind: rows are counted and timed, and written nowhere (for benchmarks).

use serde_yaml::Value;

use crate::base::out::Out;
use crate::base::RunError;
use crate::config::Reader;

use crate::plugin::{Destination, OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// The `Discard` sink kind.
pub struct Discard;

impl SinkKind for Discard {
    fn names(&self) -> &'static [&'static str] {
        &["Discard"]
    }

    fn parse(&self, _: &mut Reader<'_>, _: &Value, _: &str) -> Option<Box<dyn SinkOutput>> {
        Some(Box::new(Nowhere))
    }
}

/// An output that writes nothing.
#[derive(Debug)]
pub struct Nowhere;

impl SinkOutput for Nowhere {
    fn target(&self) -> String {
        "nowhere".into()
    }

    fn open(&self, _: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        Ok(None)
    }

    fn can_sweep(&self) -> bool {
        true
    }

    fn destination(&self) -> Option<Result<Destination, RunError>> {
        Some(Ok(Destination::Nowhere))
    }

    fn format(&self, _: Out, _: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
        Ok(Box::new(Nowhere))
    }
}

impl RowWriter for Nowhere {
    fn write_row(&mut self, _: &Row<'_>) -> Result<(), WriteError> {
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}
