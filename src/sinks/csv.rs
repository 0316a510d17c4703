//! CSV rows: `timestamp` (RFC 3339, ms) then one column per field, empty when there is no value.

use std::io::{self, Write};

use super::{Out, Row, RowWriter};
use crate::time::format_rfc3339_millis;

/// Writes a header, then comma-separated rows.
pub struct CsvWriter {
    out: Out,
}

impl CsvWriter {
    /// Writes the header row.
    pub fn new(mut out: Out, names: &[&str]) -> io::Result<Self> {
        out.write_all(b"timestamp")?;
        for n in names {
            write!(out, ",{n}")?;
        }
        out.write_all(b"\n")?;
        Ok(CsvWriter { out })
    }
}

impl RowWriter for CsvWriter {
    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()> {
        self.out.write_all(&format_rfc3339_millis(row.time))?;
        for i in 0..row.values.len() {
            match row.cell(i) {
                Some(v) => write!(self.out, ",{v}")?,
                None => self.out.write_all(b",")?,
            }
        }
        self.out.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
