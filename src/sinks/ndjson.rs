//! NDJSON rows: one object per line, `{"timestamp": "...", "<label>.<field>": value|null, ...}`.

use std::io::Write;

use std::path::Path;

use super::{any_rows, open_file, Out, PathKind};
use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::plugin::{OpenSink, Row, RowWriter, WriteError};

/// The `NDJSON` sink kind (also spelt `JSON`): `{NDJSON: out/rows.json}`, one JSON object per row.
pub const NDJSON: PathKind = PathKind {
    names: &["JSON", "NDJSON"],
    accepts: any_rows,
    open: open_ndjson,
};

fn open_ndjson(path: &Path, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
    let out = open_file(path).map_err(|e| SinkError::new(path.display().to_string(), e))?;
    Ok(Box::new(NdjsonWriter::new(out, cx.columns, cx.with_status)))
}

/// Writes one JSON object per row.
pub struct NdjsonWriter {
    out: Out,
    /// Each column's key, already quoted and followed by a colon.
    keys: Vec<String>,
    status: bool,
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if (c as u32) < 0x20 => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl NdjsonWriter {
    /// A writer for columns named `names`.
    /// With `status`, every object ends with `"status"`: what a live feed reported, or null.
    pub fn new(out: Out, names: &[&str], status: bool) -> Self {
        NdjsonWriter {
            out,
            keys: names.iter().map(|n| format!("{}:", quote(n))).collect(),
            status,
        }
    }
}

impl RowWriter for NdjsonWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.out.write_all(b"{\"timestamp\":\"")?;
        self.out.write_all(&format_rfc3339_millis(row.time))?;
        self.out.write_all(b"\"")?;
        for (i, key) in self.keys.iter().enumerate() {
            self.out.write_all(b",")?;
            self.out.write_all(key.as_bytes())?;
            match row.cell(i) {
                Some(v) => write!(self.out, "{v}")?,
                None => self.out.write_all(b"null")?,
            }
        }
        if self.status {
            match row.status {
                // Status sentences hold no quotes, backslashes or control characters.
                Some(s) => write!(self.out, ",\"status\":\"{s}\"")?,
                None => self.out.write_all(b",\"status\":null")?,
            }
        }
        Ok(self.out.write_all(b"}\n")?)
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}
