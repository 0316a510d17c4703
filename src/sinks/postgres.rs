//! The `Postgres` sink kind: rows into a PostgreSQL (or TimescaleDB) table, with `COPY … FROM STDIN`.
//!
//! `{Postgres: {url: "postgresql://user@host:5432/db", table: btc_eth_volume, create: true}}`. The
//! table's columns follow the sink's: `timestamp` (timestamptz), one per field (bigint for a COUNT's
//! count, double precision otherwise, NULL where a row has no value), and `status` (text) when a live
//! feed is upstream. Rows are appended. At start the table is checked (its columns must be the sink's,
//! in order) or, with `create: true`, created when missing.
//!
//! The sink thread only formats rows into COPY's text format; a writer thread of its own
//! (`tubes-pg-<table>`) owns the connection and sends each batch (1 MiB, or what a flush holds) as one
//! COPY, which is one transaction. A batch waits in a channel of [`QUEUED`]; a slow database slows the
//! pipeline rather than losing rows. The run's end waits until every batch is committed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::thread::JoinHandle;

use serde_yaml::Value;
use std::sync::mpsc::{sync_channel, SyncSender};

use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::config::{field, Reader};
use crate::connect::postgres::Target;
use crate::connect::quote;
use crate::plugin::{Cell, OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// Bytes of rows per COPY.
const BATCH: usize = 1 << 20;

/// Batches waiting for the writer thread.
const QUEUED: usize = 4;

/// The `Postgres` sink kind.
pub struct Postgres;

impl SinkKind for Postgres {
    fn names(&self) -> &'static [&'static str] {
        &["Postgres"]
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn SinkOutput>> {
        let example =
            "{Postgres: {url: \"postgresql://user@127.0.0.1:5432/db\", table: rows, create: true}}";
        let m = r.mapping(v, path, &["url", "table", "create"], &["table"], example)?;
        let url = match m.get("url") {
            Some(u) => Some(r.string(u, &field(path, "url"))?),
            None => None,
        };
        let table = r.string(m.get("table")?, &field(path, "table"))?;
        let create = match m.get("create") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                r.wrong_type(other, &field(path, "create"), "true or false", None);
                return None;
            }
        };
        match Target::parse(url.as_deref()) {
            Ok(target) => Some(Box::new(PgOutput {
                target,
                table,
                create,
            })),
            Err(why) => {
                r.diag.error(&field(path, "url"), why, None);
                None
            }
        }
    }
}

/// A PostgreSQL table.
#[derive(Debug)]
struct PgOutput {
    target: Target,
    table: String,
    create: bool,
}

/// A column's SQL type.
fn sql_type(name: &str, kind: Cell) -> &'static str {
    match (name, kind) {
        ("timestamp", _) => "timestamptz",
        ("status", _) | (_, Cell::Text) => "text",
        (_, Cell::Int) => "bigint",
        (_, Cell::Real) => "double precision",
    }
}

impl PgOutput {
    /// Checks the table's columns against the sink's, creating it when missing and asked to.
    fn prepare(
        &self,
        client: &mut postgres::Client,
        columns: &[(String, Cell)],
    ) -> Result<(), String> {
        let sql = "select column_name from information_schema.columns \
                   where table_name = $1 and table_schema = current_schema() order by ordinal_position";
        let found: Vec<String> = client
            .query(sql, &[&self.table])
            .map_err(|e| self.target.scrub(&e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        if found.is_empty() {
            if !self.create {
                return Err(format!(
                    "table '{}' does not exist; create it, or add create: true to the output",
                    self.table
                ));
            }
            let defs: Vec<String> = columns
                .iter()
                .map(|(n, k)| format!("{} {}", quote(n), sql_type(n, *k)))
                .collect();
            let sql = format!("create table {} ({})", quote(&self.table), defs.join(", "));
            client
                .batch_execute(&sql)
                .map_err(|e| self.target.scrub(&e))?;
        } else if found != names {
            return Err(format!(
                "table '{}' has the columns ({}), and the sink writes ({}): write to a new table, or change the sink's fields",
                self.table,
                found.join(", "),
                names.join(", ")
            ));
        }
        Ok(())
    }
}

impl SinkOutput for PgOutput {
    fn target(&self) -> String {
        format!("table {} at {}", self.table, self.target)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let err = |e: String| RunError::Sink(SinkError::new(self.target(), e));
        let mut columns = vec![("timestamp".to_string(), Cell::Real)];
        for (i, c) in cx.columns.iter().enumerate() {
            columns.push((
                c.to_string(),
                cx.kinds.get(i).copied().unwrap_or(Cell::Real),
            ));
        }
        if cx.with_status {
            columns.push(("status".into(), Cell::Text));
        }
        let mut client = self.target.connect().map_err(err)?;
        self.prepare(&mut client, &columns).map_err(err)?;
        let quoted: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
        let copy = format!(
            "copy {} ({}) from stdin",
            quote(&self.table),
            quoted.join(", ")
        );
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
        let (target, table) = (self.target.clone(), self.table.clone());
        let thread = std::thread::Builder::new()
            .name(format!("tubes-pg-{}", self.table))
            .spawn(move || -> Result<u64, String> {
                let mut committed = 0u64;
                for batch in rx {
                    let rows = batch.iter().filter(|&&b| b == b'\n').count() as u64;
                    let mut copy_batch = || -> Result<(), String> {
                        let mut w = client.copy_in(copy.as_str()).map_err(|e| target.scrub(&e))?;
                        w.write_all(&batch).map_err(|e| target.scrub(&e))?;
                        w.finish().map_err(|e| target.scrub(&e))?;
                        Ok(())
                    };
                    if let Err(e) = copy_batch() {
                        return Err(format!(
                            "COPY into table '{table}' failed: {e}; {committed} rows had been committed before it"
                        ));
                    }
                    committed += rows;
                }
                Ok(committed)
            })
            .map_err(|e| err(e.to_string()))?;
        Ok(Some(Box::new(PgWriter {
            buf: Vec::with_capacity(BATCH + 4096),
            line: String::new(),
            status: cx.with_status,
            tx: Some(tx),
            thread: Some(thread),
        })))
    }
}

/// Formats rows for COPY and hands them to the writer thread.
struct PgWriter {
    buf: Vec<u8>,
    line: String,
    status: bool,
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<Result<u64, String>>>,
}

/// Text for COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_text(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

impl PgWriter {
    /// Hands the rows formatted so far to the writer thread; its error if it has stopped.
    fn send(&mut self) -> Result<(), WriteError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.buf, Vec::with_capacity(BATCH + 4096));
        let sent = self.tx.as_ref().map(|tx| tx.send(batch).is_ok());
        if sent != Some(true) {
            return Err(self
                .join()
                .err()
                .unwrap_or_else(|| "the writer thread stopped".into()));
        }
        Ok(())
    }

    /// Waits for the writer thread: the rows it committed, or why it stopped.
    fn join(&mut self) -> Result<u64, WriteError> {
        self.tx = None;
        let Some(t) = self.thread.take() else {
            return Err("the writer thread already ended".into());
        };
        match t.join() {
            Ok(r) => r.map_err(Into::into),
            Err(_) => Err("the writer thread panicked".into()),
        }
    }
}

impl RowWriter for PgWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.line.clear();
        let time = format_rfc3339_millis(row.time);
        self.line.push_str(std::str::from_utf8(&time).unwrap_or(""));
        for i in 0..row.values.len() {
            match (row.text(i), row.cell(i)) {
                (Some(t), _) => {
                    self.line.push('\t');
                    copy_text(&mut self.line, t);
                }
                (None, Some(v)) if !row.is_text(i) => write!(self.line, "\t{v}")?,
                _ => self.line.push_str("\t\\N"),
            }
        }
        if self.status {
            self.line.push('\t');
            match row.status {
                Some(s) => copy_text(&mut self.line, s),
                None => self.line.push_str("\\N"),
            }
        }
        self.line.push('\n');
        self.buf.extend_from_slice(self.line.as_bytes());
        if self.buf.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.send()
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.send()?;
        self.join().map(|_| ())
    }
}

impl Drop for PgWriter {
    /// A run that failed or was stopped still commits the rows it wrote, as a file keeps them.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.send();
            let _ = self.join();
        }
    }
}
