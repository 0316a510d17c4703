//! An aligned table for a terminal, flushed row by row so a live run shows each row as it happens.

use std::io::{self, Write};

use super::lead::Lead;
use crate::base::out::Out;
use crate::base::time::{format_rfc3339_millis, RFC3339_MILLIS_LEN};
use crate::plugin::{Row, RowWriter, WriteError};

const MIN_WIDTH: usize = 14;

/// Right-aligned columns under a header.
pub struct TableWriter {
    out: Out,
    widths: Vec<usize>,
    status: bool,
    /// A sweep's parameter cells, aligned under their names, first in every row.
    lead: String,
}

impl TableWriter {
    /// A table whose rows start with `lead`'s cells (a sweep's parameters, left-aligned under their
    /// names; none otherwise); the header is written when `header`. With `status`, a last,
    /// left-aligned column says what a live feed reported.
    pub fn with_lead(
        mut out: Out,
        names: &[&str],
        status: bool,
        lead: Lead,
        header: bool,
    ) -> io::Result<Self> {
        let widths: Vec<usize> = names.iter().map(|n| n.len().max(MIN_WIDTH)).collect();
        let lead_widths: Vec<usize> = lead.names.iter().map(|n| n.len().max(8)).collect();
        if header {
            for (n, w) in lead.names.iter().zip(&lead_widths) {
                write!(out, "{n:<w$}  ")?;
            }
            write!(out, "{:<w$}", "timestamp", w = RFC3339_MILLIS_LEN)?;
            for (n, w) in names.iter().zip(&widths) {
                write!(out, "  {n:>w$}")?;
            }
            if status {
                out.write_all(b"  status")?;
            }
            out.write_all(b"\n")?;
            out.flush()?;
        }
        let lead = lead
            .cells
            .iter()
            .zip(&lead_widths)
            .map(|(c, w)| format!("{c:<w$}  "))
            .collect();
        Ok(TableWriter {
            out,
            widths,
            status,
            lead,
        })
    }
}

impl RowWriter for TableWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.out.write_all(self.lead.as_bytes())?;
        self.out.write_all(&format_rfc3339_millis(row.time))?;
        for (i, w) in self.widths.iter().enumerate() {
            match (row.text(i), row.cell(i)) {
                (Some(t), _) => write!(self.out, "  {t:>w$}")?,
                (None, Some(v)) if !row.is_text(i) => write!(self.out, "  {v:>w$}")?,
                _ => write!(self.out, "  {:>w$}", "")?,
            }
        }
        if let (true, Some(s)) = (self.status, row.status) {
            write!(self.out, "  {s}")?;
        }
        self.out.write_all(b"\n")?;
        Ok(self.out.flush()?)
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}
