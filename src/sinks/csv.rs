//! CSV rows: `timestamp` (RFC 3339, ms) then one column per field, empty when there is no value, and a
//! `status` column when a live feed is upstream.

use std::io::{self, Write};

use std::path::Path;

use super::lead::Lead;
use super::{any_rows, open_file, PathKind};
use crate::base::out::Out;
use crate::base::time::Rfc3339Millis;
use crate::base::{RunError, SinkError};
use crate::plugin::{OpenSink, Row, RowWriter, WriteError};

/// The `CSV` sink kind: `{CSV: out/rows.csv}`, a file with a header row.
pub const CSV: PathKind = PathKind {
    names: &["CSV"],
    accepts: any_rows,
    open: open_csv,
    format: Some(csv_rows),
    file: true,
    check: super::file_check,
};

fn open_csv(path: &Path, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
    let err = |e: io::Error| SinkError::new(path.display().to_string(), e);
    let out = open_file(path).map_err(err)?;
    csv_rows(out, cx).map_err(|e| err(e).into())
}

fn csv_rows(out: Out, cx: &OpenSink<'_>) -> io::Result<Box<dyn RowWriter>> {
    let w = CsvWriter::with_lead(out, cx.columns, cx.with_status, Lead::of(cx), cx.header)?;
    Ok(Box::new(w))
}

/// Writes a header, then comma-separated rows.
pub struct CsvWriter {
    out: Out,
    status: bool,
    /// A sweep's parameter cells, first in every row.
    lead: Vec<u8>,
    time: Rfc3339Millis,
}

impl CsvWriter {
    /// A writer whose rows start with `lead`'s cells (a sweep's parameters; none otherwise); the header
    /// (with the parameters' names first) is written when `header`. With `status`, a last column says
    /// what a live feed reported (empty in ordinary rows).
    pub fn with_lead(
        mut out: Out,
        names: &[&str],
        status: bool,
        lead: Lead,
        header: bool,
    ) -> io::Result<Self> {
        if header {
            out.write_all(lead.csv_header().as_bytes())?;
            out.write_all(b"timestamp")?;
            for n in names {
                write!(out, ",{}", super::lead::csv_cell(n))?;
            }
            if status {
                out.write_all(b",status")?;
            }
            out.write_all(b"\n")?;
        }
        Ok(CsvWriter {
            out,
            status,
            lead: lead.csv,
            time: Rfc3339Millis::default(),
        })
    }
}

impl RowWriter for CsvWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        let line = &mut self.out;
        line.put(&self.lead)?;
        self.time.write(row.time, line.slot()?);
        for i in 0..row.values.len() {
            line.byte(b',')?;
            let Some(v) = row.cell(i) else { continue };
            match row.texts.get(i) {
                Some(Some(t)) => super::lead::write_csv_cell(line, t)?,
                _ => row.put_number(i, v, line)?,
            }
        }
        if self.status {
            line.byte(b',')?;
            line.put(row.status.unwrap_or("").as_bytes())?;
        }
        line.byte(b'\n')?;
        line.prefetch();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}
