//! The `SQLite` sink kind: rows into a table of an SQLite database file, with no server to run.
//!
//! `{SQLite: {path: out/tubes.sqlite, table: btc_eth_volume}}`. The table's columns follow the sink's:
//! `timestamp` (TEXT, RFC 3339 in ms, as the CSV sink writes it, which SQLite's date functions read),
//! one REAL column per field (NULL where a row has no value), and `status` (TEXT) when a live feed is
//! upstream. Rows are inserted through one prepared statement, in one transaction per [`BATCH`] rows
//! and whenever the sink flushes (at most 50 ms after a row, when the pipeline waits for input).
//!
//! `mode: replace` (the default) writes into `<table>__partial` and swaps it in for `<table>` in one
//! transaction at the run's clean end ([`TableSwap`]), so readers see the previous table whole until
//! then, as a file output's previous file stays whole. `mode: append` inserts into `<table>`, creating
//! it if missing; an existing table whose columns are not the sink's is refused at start, naming both.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde_yaml::Value;

use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::config::Reader;
use crate::connect::quote;
use crate::plugin::{
    Assemble, Cell, Commit, Destination, OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError,
};
use crate::sinks::records::{each_row, text_columns, Param, RecordCell};

/// Rows per transaction.
pub const BATCH: u64 = 10_000;

/// How long a write waits for another connection's lock before it is an error.
const BUSY: Duration = Duration::from_secs(5);

/// The `SQLite` sink kind.
pub struct Sqlite;

/// Whether a run replaces the table or adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Replace,
    Append,
}

impl SinkKind for Sqlite {
    fn names(&self) -> &'static [&'static str] {
        &["SQLite"]
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn SinkOutput>> {
        let example = "{SQLite: {path: out/tubes.sqlite, table: rows}}";
        let m = r.mapping(
            v,
            path,
            &["path", "table", "mode"],
            &["path", "table"],
            example,
        )?;
        let file = PathBuf::from(r.string(m.get("path")?, &crate::config::field(path, "path"))?);
        let at = crate::config::field(path, "table");
        let table = r.string(m.get("table")?, &at)?;
        if let Err(why) = table_name(&table) {
            r.diag.error(
                &at,
                why,
                Some("name the table with letters, digits and underscores".into()),
            );
            return None;
        }
        let mode = match m.get("mode") {
            None => Mode::Replace,
            Some(v) => {
                let at = crate::config::field(path, "mode");
                match r.string(v, &at)?.as_str() {
                    "replace" => Mode::Replace,
                    "append" => Mode::Append,
                    other => {
                        r.diag.error(
                            &at,
                            format!("unknown mode '{other}'"),
                            Some(
                                "choose replace (the table is swapped in at a clean end) or append"
                                    .into(),
                            ),
                        );
                        return None;
                    }
                }
            }
        };
        Some(Box::new(SqliteOutput { file, table, mode }))
    }
}

/// Refuses table names SQLite reserves, and names that clash with a replace's partial table.
fn table_name(t: &str) -> Result<(), String> {
    if t.to_ascii_lowercase().starts_with("sqlite_") {
        return Err(format!(
            "'{t}': names starting with sqlite_ are SQLite's own"
        ));
    }
    if t.ends_with(PARTIAL) {
        return Err(format!(
            "'{t}': the {PARTIAL} suffix names the table a run writes before its clean end"
        ));
    }
    Ok(())
}

/// The suffix of the table a replacing run writes.
const PARTIAL: &str = "__partial";

/// A table of an SQLite file.
#[derive(Debug, Clone)]
struct SqliteOutput {
    file: PathBuf,
    table: String,
    mode: Mode,
}

impl SqliteOutput {
    /// The table rows go to while the run goes on.
    fn writing(&self) -> String {
        match self.mode {
            Mode::Replace => format!("{}{PARTIAL}", self.table),
            Mode::Append => self.table.clone(),
        }
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.file)?;
        conn.busy_timeout(BUSY)?;
        // Readers (a dashboard, `sqlite3`) go on reading while the run writes.
        conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))?;
        Ok(conn)
    }

    /// Creates the table rows go to (emptied when replacing), or checks the one that is there.
    fn prepare(
        &self,
        conn: &Connection,
        columns: &[String],
        text: &[bool],
    ) -> Result<(), WriteError> {
        let table = self.writing();
        if self.mode == Mode::Replace {
            conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(&table)))?;
        }
        let found = table_columns(conn, &table)?;
        if found.is_empty() {
            let defs: Vec<String> = (columns.iter().enumerate())
                .map(|(i, c)| column_def(c, text.get(i).copied().unwrap_or(false)))
                .collect();
            conn.execute_batch(&format!(
                "CREATE TABLE {} ({})",
                quote(&table),
                defs.join(", ")
            ))?;
        } else if found != columns {
            return Err(format!(
                "table '{table}' has the columns ({}), and the sink writes ({}): write to a new table, or use mode: replace",
                found.join(", "),
                columns.join(", ")
            )
            .into());
        }
        Ok(())
    }
}

/// A column's definition: its name and type (`text`: it holds keys or times, which SQLite must not
/// read as numbers: `007` stays `007`).
fn column_def(name: &str, text: bool) -> String {
    let kind = match name {
        _ if text => "TEXT",
        "timestamp" | "status" => "TEXT",
        _ => "NUMERIC",
    };
    format!("{} {kind}", quote(name))
}

/// The names of the columns of `table`, in order; empty when there is no such table.
fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut q = conn.prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?;
    let names = q.query_map([table], |r| r.get::<_, String>(0))?;
    names.collect()
}

impl SinkOutput for SqliteOutput {
    fn target(&self) -> String {
        format!("{} (table {})", self.file.display(), self.table)
    }

    fn writes(&self) -> Option<&Path> {
        Some(&self.file)
    }

    fn staged(&self) -> Option<Box<dyn Commit>> {
        (self.mode == Mode::Replace).then(|| {
            Box::new(TableSwap {
                file: self.file.clone(),
                table: self.table.clone(),
            }) as Box<dyn Commit>
        })
    }

    fn check(&self, _: &[&str]) -> Result<(), String> {
        match std::fs::metadata(&self.file) {
            Ok(m) if !m.is_file() => Err(format!(
                "cannot write rows to '{}': it is not a file, and an SQLite database is one",
                self.file.display()
            )),
            _ => Ok(()),
        }
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let err = |e: WriteError| SinkError::new(self.target(), e);
        let mut columns = vec!["timestamp".to_string()];
        columns.extend(cx.columns.iter().map(|c| c.to_string()));
        if cx.with_status {
            columns.push("status".into());
        }
        // By column (`timestamp` first): whether it holds text.
        let mut text = vec![true];
        text.extend(cx.kinds.iter().map(|k| *k == Cell::Text));
        let w = self.writer(&columns, &text, cx.with_status).map_err(err)?;
        Ok(Some(Box::new(w)))
    }

    fn can_sweep(&self) -> bool {
        true
    }

    fn typed_columns(&self) -> bool {
        true
    }

    fn destination(&self) -> Option<Result<Destination, RunError>> {
        let table = SweepTable {
            output: self.clone(),
            writer: None,
            leading: 0,
            text: Vec::new(),
        };
        Some(Ok(Destination::Assembled(Mutex::new(Box::new(table)))))
    }

    fn format(
        &self,
        out: crate::base::out::Out,
        cx: &OpenSink<'_>,
    ) -> Result<Box<dyn RowWriter>, RunError> {
        crate::sinks::records::format(self, out, cx)
    }
}

impl SqliteOutput {
    /// Connects, makes the table `columns` go to (`text`: by column, whether it holds text), and
    /// readies the insert (`status`: rows end with a status).
    fn writer(
        &self,
        columns: &[String],
        text: &[bool],
        status: bool,
    ) -> Result<SqliteWriter, WriteError> {
        if let Some(dir) = self.file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let conn = self.connect()?;
        self.prepare(&conn, columns, text)?;
        let marks = vec!["?"; columns.len()].join(", ");
        let quoted: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        Ok(SqliteWriter {
            conn,
            insert: format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                quote(&self.writing()),
                quoted.join(", ")
            ),
            table: self.writing(),
            status,
            pending: 0,
            committed: 0,
        })
    }
}

/// Inserts rows, a transaction per batch.
struct SqliteWriter {
    conn: Connection,
    insert: String,
    table: String,
    status: bool,
    /// Rows in the open transaction (none is open when 0).
    pending: u64,
    committed: u64,
}

impl SqliteWriter {
    /// Inserts one row, whose values `bind` binds, in the open transaction (beginning one when none is
    /// open, and committing it every [`BATCH`] rows).
    fn insert_with(
        &mut self,
        bind: impl FnOnce(&mut rusqlite::Statement<'_>) -> rusqlite::Result<()>,
    ) -> Result<(), WriteError> {
        let inserted = (|| {
            if self.pending == 0 {
                self.conn.execute_batch("BEGIN")?;
            }
            let mut q = self.conn.prepare_cached(&self.insert)?;
            bind(&mut q)?;
            q.raw_execute()?;
            self.pending += 1;
            Ok(())
        })();
        if let Err(e) = inserted {
            if self.pending == 0 {
                // The transaction this insert began holds nothing: end it, so it is not left open.
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(self.failed(e));
        }
        if self.pending >= BATCH {
            self.commit().map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    fn commit(&mut self) -> rusqlite::Result<()> {
        if self.pending > 0 {
            self.conn.execute_batch("COMMIT")?;
            self.committed += std::mem::take(&mut self.pending);
        }
        Ok(())
    }

    /// The error, with what had been committed before it.
    fn failed(&self, e: rusqlite::Error) -> WriteError {
        format!(
            "{e}; {} rows had been committed to table '{}' before it",
            self.committed, self.table
        )
        .into()
    }
}

impl RowWriter for SqliteWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        let status = self.status;
        self.insert_with(|q| {
            bind_time(q, 1, row.time)?;
            for i in 0..row.values.len() {
                if row.is_text(i) {
                    q.raw_bind_parameter(i + 2, row.text(i))?;
                } else {
                    q.raw_bind_parameter(i + 2, row.cell(i))?;
                }
            }
            if status {
                q.raw_bind_parameter(row.values.len() + 2, row.status)?;
            }
            Ok(())
        })
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.commit().map_err(|e| self.failed(e))
    }
}

impl Drop for SqliteWriter {
    /// A run that failed or was stopped keeps the rows it wrote, as a file output's buffered rows reach
    /// its partial file: committed to the table being written.
    fn drop(&mut self) {
        let _ = self.commit();
    }
}

/// Binds a row's time as its `timestamp` cell, parameter `i`: RFC 3339 in ms.
fn bind_time(q: &mut rusqlite::Statement<'_>, i: usize, ns: i64) -> rusqlite::Result<()> {
    let text = format_rfc3339_millis(ns);
    q.raw_bind_parameter(i, std::str::from_utf8(&text).unwrap_or(""))
}

/// A sweep's table: every combination's rows, its parameter columns first, inserted part by part in
/// combination order.
struct SweepTable {
    output: SqliteOutput,
    writer: Option<SqliteWriter>,
    /// How many parameters lead each row.
    leading: usize,
    /// By column after `timestamp`: whether it holds text.
    text: Vec<bool>,
}

impl Assemble for SweepTable {
    fn start(&mut self, cx: &OpenSink<'_>) -> Result<(), WriteError> {
        let mut columns: Vec<String> = cx.params.iter().map(|p| p.to_string()).collect();
        let mut text: Vec<bool> = cx.param_kinds.iter().map(|k| *k == Cell::Text).collect();
        (self.leading, self.text) = (columns.len(), text_columns(cx));
        columns.push("timestamp".into());
        text.push(true);
        columns.extend(cx.columns.iter().map(|c| c.to_string()));
        text.extend(cx.kinds.iter().map(|k| *k == Cell::Text));
        self.writer = Some(self.output.writer(&columns, &text, false)?);
        Ok(())
    }

    fn append(&mut self, part: &mut dyn std::io::Read) -> Result<u64, WriteError> {
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes)?;
        let w = self
            .writer
            .as_mut()
            .ok_or("a part came before the columns")?;
        let leading = self.leading;
        each_row(&bytes, leading, &self.text, |params, time, cells| {
            w.insert_with(|q| {
                for (i, p) in params.iter().enumerate() {
                    match p {
                        Param::Int(v) => q.raw_bind_parameter(i + 1, v)?,
                        Param::Real(v) => q.raw_bind_parameter(i + 1, v)?,
                        Param::Text(v) => q.raw_bind_parameter(i + 1, v)?,
                    }
                }
                bind_time(q, leading + 1, time)?;
                for (i, c) in cells.iter().enumerate() {
                    let at = leading + 2 + i;
                    match *c {
                        RecordCell::None => q.raw_bind_parameter(at, None::<f64>)?,
                        RecordCell::Number(v) => q.raw_bind_parameter(at, v)?,
                        RecordCell::Text(t) => q.raw_bind_parameter(at, t)?,
                    }
                }
                Ok(())
            })
        })?;
        Ok(bytes.len() as u64)
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

/// A replacing run's table, swapped in for the output's at a clean end.
#[derive(Debug)]
struct TableSwap {
    file: PathBuf,
    table: String,
}

impl TableSwap {
    fn partial(&self) -> String {
        format!("{}{PARTIAL}", self.table)
    }

    /// The database, if it exists (never created here).
    fn existing(&self) -> Option<Connection> {
        let conn =
            Connection::open_with_flags(&self.file, OpenFlags::SQLITE_OPEN_READ_WRITE).ok()?;
        conn.busy_timeout(BUSY).ok()?;
        Some(conn)
    }

    fn has_partial(&self) -> bool {
        self.existing()
            .and_then(|c| table_columns(&c, &self.partial()).ok())
            .is_some_and(|cols| !cols.is_empty())
    }
}

impl Commit for TableSwap {
    fn commit(&self) -> Result<(), WriteError> {
        let conn = self
            .existing()
            .ok_or_else(|| format!("{} is gone", self.file.display()))?;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; DROP TABLE IF EXISTS {t}; ALTER TABLE {p} RENAME TO {t}; COMMIT",
            t = quote(&self.table),
            p = quote(&self.partial())
        ))?;
        Ok(())
    }

    fn discard(&self) {
        if let Some(conn) = self.existing() {
            let _ = conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(&self.partial())));
        }
    }

    fn left(&self) -> Option<String> {
        self.has_partial().then(|| {
            format!(
                "table '{}' of {} was not replaced; the rows this run wrote are in table '{}'",
                self.table,
                self.file.display(),
                self.partial()
            )
        })
    }

    fn target(&self) -> String {
        format!("{} (table {})", self.file.display(), self.table)
    }
}
