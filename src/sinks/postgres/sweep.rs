//! A sweep's PostgreSQL table: its parameter columns first, then `timestamp` and the sink's columns.
//! Each combination's rows reach it as records (`sinks::records`), part by part in combination
//! order, and go out as COPY lines through one writer thread ([`Copier`]), a batch at a time, each
//! batch committed as it goes, as a single run's rows are. A sweep that fails or is stopped leaves the
//! table with the rows of the combinations appended before it (a table is only ever appended to).

use std::fmt::Write as _;
use std::sync::Mutex;

use super::{copy_text, push_cell, push_time, sink_columns, Copier, PgOutput};
use crate::plugin::{Assemble, Cell, Destination, OpenSink, WriteError};
use crate::sinks::records::{each_row, text_columns, Param};

/// The sweep's table, made (or checked) when the sweep starts.
pub(super) fn destination(output: PgOutput) -> Destination {
    Destination::Assembled(Mutex::new(Box::new(SweepTable {
        output,
        copier: None,
        leading: 0,
        text: Vec::new(),
        line: String::new(),
    })))
}

struct SweepTable {
    output: PgOutput,
    copier: Option<Copier>,
    /// How many parameters lead each row.
    leading: usize,
    /// By column after `timestamp`: whether it holds text.
    text: Vec<bool>,
    /// One row's COPY line, reused.
    line: String,
}

impl Assemble for SweepTable {
    fn start(&mut self, cx: &OpenSink<'_>) -> Result<(), WriteError> {
        let mut columns: Vec<(String, Cell)> = (cx.params.iter().zip(cx.param_kinds))
            .map(|(p, k)| (p.to_string(), *k))
            .collect();
        (self.leading, self.text) = (columns.len(), text_columns(cx));
        columns.push(("timestamp".into(), Cell::Real));
        columns.extend(sink_columns(cx));
        self.copier = Some(self.output.copier(columns, self.leading)?);
        Ok(())
    }

    fn append(&mut self, part: &mut dyn std::io::Read) -> Result<u64, WriteError> {
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes)?;
        let copier = (self.copier.as_mut()).ok_or("a part came before the columns")?;
        let line = &mut self.line;
        each_row(&bytes, self.leading, &self.text, |params, time, cells| {
            line.clear();
            for (i, p) in params.iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                match p {
                    Param::Int(v) => write!(line, "{v}")?,
                    Param::Real(v) => write!(line, "{v}")?,
                    Param::Text(v) => copy_text(line, v),
                }
            }
            if !params.is_empty() {
                line.push('\t');
            }
            push_time(line, time);
            for &c in cells {
                push_cell(line, c)?;
            }
            line.push('\n');
            copier.push(line.as_bytes())
        })?;
        Ok(bytes.len() as u64)
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        match &mut self.copier {
            Some(c) => c.finish().map(|_| ()),
            None => Ok(()),
        }
    }
}
