//! A sweep's Parquet output: each combination's rows go into its part as records
//! ([`crate::sinks::records`]), and the [`Assembler`] re-encodes the parts into the one file, in
//! combination order.

use std::fs::File;
use std::io::Read;

use super::table::{Table, Value};
use super::{fields, push_row};
use crate::plugin::{Assemble, OpenSink, WriteError};
use crate::sinks::records::{each_row, text_columns, Param};

/// Bytes of a part's room kept for the next part: a larger part (one that waited in a file, past the
/// sweep's memory budget) gives its room back.
const KEEP: usize = 8 << 20;

/// Re-encodes a sweep's parts into one Parquet file.
pub struct Assembler {
    /// The file, until the columns are known.
    file: Option<File>,
    row_group: usize,
    table: Option<Table>,
    /// By column: whether it holds text.
    text: Vec<bool>,
    /// The part being re-encoded, read whole (its room kept for the next).
    bytes: Vec<u8>,
}

impl Assembler {
    /// An assembler writing `file` in row groups of `row_group` rows.
    pub fn new(file: File, row_group: usize) -> Assembler {
        Assembler {
            file: Some(file),
            row_group,
            table: None,
            text: Vec::new(),
            bytes: Vec::new(),
        }
    }

    /// Re-encodes one part's rows, read whole into `bytes`; returns their length.
    fn append_rows(&mut self, bytes: &[u8]) -> Result<u64, WriteError> {
        let table = self
            .table
            .as_mut()
            .ok_or("a part came before the columns")?;
        let leading = table.leading();
        each_row(bytes, leading, &self.text, |params, time, cells| {
            for p in params {
                table.push(match p {
                    Param::Int(i) => Value::Int(*i),
                    Param::Real(x) => Value::Real(*x),
                    Param::Text(s) => Value::Text(s),
                });
            }
            push_row(table, time, cells);
            Ok(table.end_row()?)
        })?;
        Ok(bytes.len() as u64)
    }
}

impl Assemble for Assembler {
    fn start(&mut self, cx: &OpenSink<'_>) -> Result<(), WriteError> {
        let file = self
            .file
            .take()
            .ok_or("the Parquet output was started twice")?;
        self.table = Some(Table::create(file, &fields(cx), self.row_group)?);
        self.text = text_columns(cx);
        Ok(())
    }

    fn append(&mut self, part: &mut dyn Read) -> Result<u64, WriteError> {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        let read = part.read_to_end(&mut bytes);
        let appended = read
            .map_err(WriteError::from)
            .and_then(|_| self.append_rows(&bytes));
        if bytes.capacity() <= KEEP {
            self.bytes = bytes;
        }
        appended
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        match &mut self.table {
            Some(t) => Ok(t.finish()?),
            None => Ok(()),
        }
    }
}

impl Drop for Assembler {
    /// A sweep that failed or was stopped leaves a readable `.partial` file with the combinations
    /// appended so far.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
