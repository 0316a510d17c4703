//! CSV rows: `timestamp` (RFC 3339, ms) then one column per field, empty when there is no value, and a
//! `status` column when a live feed is upstream.

use std::io::{self, Write};

use std::path::PathBuf;

use serde_yaml::Value;

use super::{open_file, path_payload, Out};
use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::config::Reader;
use crate::plugin::{OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// The `CSV` sink kind: `{CSV: out/rows.csv}`, a file with a header row.
pub struct Csv;

impl SinkKind for Csv {
    fn names(&self) -> &'static [&'static str] {
        &["CSV"]
    }

    fn parse(
        &self,
        r: &mut Reader<'_>,
        _tag: &str,
        payload: &Value,
        path: &str,
    ) -> Option<Box<dyn SinkOutput>> {
        Some(Box::new(CsvFile(path_payload(r, payload, path)?)))
    }
}

/// A CSV file output.
#[derive(Debug)]
pub struct CsvFile(pub PathBuf);

impl SinkOutput for CsvFile {
    fn target(&self) -> String {
        self.0.display().to_string()
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let err = |e: io::Error| SinkError::new(self.target(), e);
        let w = CsvWriter::new(open_file(&self.0).map_err(err)?, cx.columns, cx.with_status)
            .map_err(err)?;
        Ok(Some(Box::new(w)))
    }
}

/// Writes a header, then comma-separated rows.
pub struct CsvWriter {
    out: Out,
    status: bool,
}

impl CsvWriter {
    /// Writes the header row.
    /// With `status`, a last column says what a live feed reported (empty in ordinary rows).
    pub fn new(mut out: Out, names: &[&str], status: bool) -> io::Result<Self> {
        out.write_all(b"timestamp")?;
        for n in names {
            write!(out, ",{n}")?;
        }
        if status {
            out.write_all(b",status")?;
        }
        out.write_all(b"\n")?;
        Ok(CsvWriter { out, status })
    }
}

impl RowWriter for CsvWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.out.write_all(&format_rfc3339_millis(row.time))?;
        for i in 0..row.values.len() {
            match row.cell(i) {
                Some(v) => write!(self.out, ",{v}")?,
                None => self.out.write_all(b",")?,
            }
        }
        if self.status {
            self.out.write_all(b",")?;
            self.out.write_all(row.status.unwrap_or("").as_bytes())?;
        }
        Ok(self.out.write_all(b"\n")?)
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}
