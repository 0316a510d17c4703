//! An aligned table for a terminal, flushed row by row so a live run shows each row as it happens.

use std::io::{self, Write};

use super::{Out, Row, RowWriter};
use crate::time::{format_rfc3339_millis, RFC3339_MILLIS_LEN};

const MIN_WIDTH: usize = 14;

/// Right-aligned columns under a header.
pub struct TableWriter {
    out: Out,
    widths: Vec<usize>,
}

impl TableWriter {
    /// Writes the header.
    pub fn new(mut out: Out, names: &[&str]) -> io::Result<Self> {
        let widths: Vec<usize> = names.iter().map(|n| n.len().max(MIN_WIDTH)).collect();
        write!(out, "{:<w$}", "timestamp", w = RFC3339_MILLIS_LEN)?;
        for (n, w) in names.iter().zip(&widths) {
            write!(out, "  {n:>w$}")?;
        }
        out.write_all(b"\n")?;
        out.flush()?;
        Ok(TableWriter { out, widths })
    }
}

impl RowWriter for TableWriter {
    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()> {
        self.out.write_all(&format_rfc3339_millis(row.time))?;
        for (i, w) in self.widths.iter().enumerate() {
            match row.cell(i) {
                Some(v) => write!(self.out, "  {v:>w$}")?,
                None => write!(self.out, "  {:>w$}", "")?,
            }
        }
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
