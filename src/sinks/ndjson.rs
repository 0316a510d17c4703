//! NDJSON rows: one object per line, `{"timestamp": "...", "<label>.<field>": value|null, ...}`.

use std::io::Write;

use std::path::Path;

use super::lead::{json_string, Lead};
use super::{any_rows, open_file, PathKind};
use crate::base::out::Out;
use crate::base::time::Rfc3339Millis;
use crate::base::{RunError, SinkError};
use crate::plugin::{OpenSink, Row, RowWriter, WriteError};

/// The `NDJSON` sink kind (also spelt `JSON`): `{NDJSON: out/rows.json}`, one JSON object per row.
pub const NDJSON: PathKind = PathKind {
    names: &["JSON", "NDJSON"],
    accepts: any_rows,
    open: open_ndjson,
    format: Some(ndjson_rows),
    file: true,
    check: super::file_check,
};

fn open_ndjson(path: &Path, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
    let err = |e| SinkError::new(path.display().to_string(), e);
    let out = open_file(path).map_err(err)?;
    Ok(ndjson_rows(out, cx).map_err(err)?)
}

fn ndjson_rows(out: Out, cx: &OpenSink<'_>) -> std::io::Result<Box<dyn RowWriter>> {
    let mut w = NdjsonWriter::new(out, cx.columns, cx.with_status);
    w.row.lead = Lead::of(cx).json;
    Ok(Box::new(w))
}

/// One row as a JSON object, `{"timestamp":"…","<label>.<field>":value|null,…}`: the NDJSON output's
/// lines, and the messages of the message-queue outputs.
pub struct JsonRow {
    /// Each column's key, already quoted and followed by a colon.
    keys: Vec<String>,
    status: bool,
    /// A sweep's parameter members, first in every object.
    lead: Vec<u8>,
    /// The timestamp's text (its date worked out once per day).
    time: Rfc3339Millis,
}

impl JsonRow {
    /// Objects for columns named `names`. With `status`, every object ends with `"status"`: what a
    /// live feed reported, or null.
    pub fn new(names: &[&str], status: bool) -> Self {
        JsonRow {
            keys: names
                .iter()
                .map(|n| format!("{}:", json_string(n)))
                .collect(),
            status,
            lead: Vec::new(),
            time: Rfc3339Millis::default(),
        }
    }

    /// Writes `row` as one object, with no line break.
    pub fn write(&mut self, row: &Row<'_>, out: &mut impl Write) -> std::io::Result<()> {
        out.write_all(b"{")?;
        out.write_all(&self.lead)?;
        out.write_all(b"\"timestamp\":\"")?;
        out.write_all(&self.time.format(row.time))?;
        out.write_all(b"\"")?;
        for (i, key) in self.keys.iter().enumerate() {
            out.write_all(b",")?;
            out.write_all(key.as_bytes())?;
            match (row.text(i), row.cell(i)) {
                (Some(t), _) => super::lead::write_json_string(out, t)?,
                (None, Some(v)) if !row.is_text(i) => row.write_number(i, v, out)?,
                _ => out.write_all(b"null")?,
            }
        }
        if self.status {
            match row.status {
                // Status sentences hold no quotes, backslashes or control characters.
                Some(s) => write!(out, ",\"status\":\"{s}\"")?,
                None => out.write_all(b",\"status\":null")?,
            }
        }
        out.write_all(b"}")
    }
}

/// Writes one JSON object per row.
pub struct NdjsonWriter {
    out: Out,
    row: JsonRow,
}

impl NdjsonWriter {
    /// A writer for columns named `names`.
    /// With `status`, every object ends with `"status"`: what a live feed reported, or null.
    pub fn new(out: Out, names: &[&str], status: bool) -> Self {
        NdjsonWriter {
            out,
            row: JsonRow::new(names, status),
        }
    }
}

impl RowWriter for NdjsonWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.row.write(row, &mut self.out)?;
        self.out.byte(b'\n')?;
        self.out.prefetch();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}
