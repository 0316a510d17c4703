//! NDJSON rows: one object per line, `{"timestamp": "...", "<label>.<field>": value|null, ...}`.

use std::io::{self, Write};

use super::{Out, Row, RowWriter};
use crate::base::time::format_rfc3339_millis;

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
    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()> {
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
        self.out.write_all(b"}\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
