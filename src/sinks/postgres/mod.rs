//! The `Postgres` sink kind: rows into a PostgreSQL (or TimescaleDB) table, with `COPY … FROM STDIN`.
//!
//! `{Postgres: {url: "postgresql://user@host:5432/db", table: btc_eth_volume, create: true}}`. The
//! table's columns follow the sink's: `timestamp` (timestamptz), one per field (bigint for a COUNT's
//! count, double precision otherwise, NULL where a row has no value), and `status` (text) when a live
//! feed is upstream. Rows are appended. At start the table is checked (its columns must be the sink's,
//! in order) or, with `create: true`, created when missing.
//!
//! The sink thread only formats rows into COPY's text format; a writer thread of its own
//! (`tubes-pg-<table>`, see [`copier`]) owns the connection and sends each batch as one COPY, which
//! is one transaction. The run's end waits until every batch is committed.
//!
//! A sweep writes one table: its parameter columns first (`bigint`, `double precision` or `text`, as
//! the parameter's values are), then the sink's; each combination's rows are appended in combination
//! order (see [`sweep`]).

mod copier;
mod sweep;

use std::fmt::Write as _;

use serde_yaml::Value;

use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::config::{field, Reader};
use crate::connect::postgres::Target;
use crate::connect::quote;
use crate::plugin::{
    Cell, Destination, OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError,
};
use crate::sinks::records::RecordCell;
use copier::Copier;

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
#[derive(Debug, Clone)]
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
    /// Starts the writer thread for rows of `columns` (name and kind, in order; the first `params` a
    /// sweep's parameters), once the table is checked or made.
    fn copier(&self, columns: Vec<(String, Cell)>, params: usize) -> Result<Copier, String> {
        let quoted: Vec<String> = columns.iter().map(|(n, _)| quote(n)).collect();
        let copy = format!(
            "copy {} ({}) from stdin",
            quote(&self.table),
            quoted.join(", ")
        );
        let me = self.clone();
        Copier::start(&self.target, &self.table, copy, move |client| {
            me.prepare(client, &columns, params)
        })
    }

    /// Checks the table's columns against the sink's (and the types of the first `params`, a sweep's
    /// parameters), creating it when missing and asked to.
    fn prepare(
        &self,
        client: &mut postgres::Client,
        columns: &[(String, Cell)],
        params: usize,
    ) -> Result<(), String> {
        let sql = "select column_name, data_type from information_schema.columns \
                   where table_name = $1 and table_schema = current_schema() order by ordinal_position";
        let rows = (client.query(sql, &[&self.table])).map_err(|e| self.target.scrub(&e))?;
        let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
        let types: Vec<String> = rows.iter().map(|r| r.get(1)).collect();
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
        for ((name, kind), found) in columns.iter().zip(&types).take(params) {
            if let Some(values) = param_misfit(*kind, found) {
                return Err(format!(
                    "table '{}' has the column '{name}' of type {found}, and the sweep's values of {name} are {values}: write to a new table",
                    self.table
                ));
            }
        }
        Ok(())
    }
}

/// What a sweep's parameter values are, when a column of SQL type `found` cannot hold them (a
/// fraction in a whole-number column, text in any but a text column).
fn param_misfit(kind: Cell, found: &str) -> Option<&'static str> {
    let whole = matches!(found, "bigint" | "integer" | "smallint");
    let text = matches!(found, "text" | "character varying" | "character");
    match kind {
        Cell::Real if whole => Some("fractions"),
        Cell::Text if !text => Some("text"),
        _ => None,
    }
}

impl SinkOutput for PgOutput {
    fn target(&self) -> String {
        format!("table {} at {}", self.table, self.target)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let mut columns = vec![("timestamp".to_string(), Cell::Real)];
        columns.extend(sink_columns(cx));
        if cx.with_status {
            columns.push(("status".into(), Cell::Text));
        }
        let copier = (self.copier(columns, 0))
            .map_err(|e| RunError::Sink(SinkError::new(self.target(), e)))?;
        Ok(Some(Box::new(PgWriter {
            copier,
            line: String::new(),
            status: cx.with_status,
        })))
    }

    fn can_sweep(&self) -> bool {
        true
    }

    fn typed_columns(&self) -> bool {
        true
    }

    fn destination(&self) -> Option<Result<Destination, RunError>> {
        Some(Ok(sweep::destination(self.clone())))
    }

    fn format(
        &self,
        out: crate::base::out::Out,
        cx: &OpenSink<'_>,
    ) -> Result<Box<dyn RowWriter>, RunError> {
        crate::sinks::records::format(self, out, cx)
    }
}

/// The sink's columns after `timestamp`, with what each holds.
fn sink_columns<'a>(cx: &'a OpenSink<'_>) -> impl Iterator<Item = (String, Cell)> + 'a {
    (cx.columns.iter().enumerate()).map(|(i, c)| {
        (
            c.to_string(),
            cx.kinds.get(i).copied().unwrap_or(Cell::Real),
        )
    })
}

/// Formats rows for COPY and hands them to the writer thread.
struct PgWriter {
    copier: Copier,
    line: String,
    status: bool,
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

/// Appends one cell to a COPY line, after its tab: `\N` for no value.
fn push_cell(line: &mut String, cell: RecordCell<'_>) -> Result<(), WriteError> {
    line.push('\t');
    match cell {
        RecordCell::None => line.push_str("\\N"),
        RecordCell::Number(v) => write!(line, "{v}")?,
        RecordCell::Text(t) => copy_text(line, t),
    }
    Ok(())
}

/// Appends a time to a COPY line: RFC 3339, in milliseconds.
fn push_time(line: &mut String, ns: i64) {
    let time = format_rfc3339_millis(ns);
    line.push_str(std::str::from_utf8(&time).unwrap_or(""));
}

impl RowWriter for PgWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.line.clear();
        push_time(&mut self.line, row.time);
        for i in 0..row.values.len() {
            let cell = match (row.text(i), row.cell(i)) {
                (Some(t), _) => RecordCell::Text(t),
                (None, Some(v)) if !row.is_text(i) => RecordCell::Number(v),
                _ => RecordCell::None,
            };
            push_cell(&mut self.line, cell)?;
        }
        if self.status {
            push_cell(
                &mut self.line,
                row.status.map_or(RecordCell::None, RecordCell::Text),
            )?;
        }
        self.line.push('\n');
        self.copier.push(self.line.as_bytes())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.copier.send()
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.copier.finish().map(|_| ())
    }
}
