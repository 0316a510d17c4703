//! The `Parquet` sink kind: rows into a Parquet file (zstd), which pandas, polars, DuckDB and Spark open
//! typed and fast: `{Parquet: out/rows.parquet}` or `{Parquet: {path: …, row_group: 65536}}`.
//!
//! Columns: a sweep's parameters (INT64, DOUBLE or UTF-8 text, as their values are), `timestamp` (a
//! timestamp in ms, UTC), one column per field (INT64 for a COUNT's count, DOUBLE otherwise; null where a
//! row has no value), and `status` (text) when a live feed is upstream. Row groups are written as they
//! fill, the footer at the end; like every file output the file is written as `NAME.partial` and put in
//! `NAME`'s place at a clean end. A sweep's combinations reach the file through [`part`]: each worker writes its rows in
//! a compact form, and they are re-encoded into the one file in combination order.

mod columns;
mod encoder;
mod part;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_yaml::Value as Yaml;

use self::table::{Field, Kind, Table, Value};
use crate::base::{RunError, SinkError};
use crate::config::{field, Reader};
use crate::plugin::{
    Cell, Commit, Destination, OpenSink, Row, RowWriter, SinkKind, SinkOutput, Staged, WriteError,
};
use crate::sinks::records::RecordCell;

/// Rows per row group unless the config says otherwise.
pub const ROW_GROUP: usize = 65_536;

/// The `Parquet` sink kind.
pub struct Parquet;

impl SinkKind for Parquet {
    fn names(&self) -> &'static [&'static str] {
        &["Parquet"]
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Yaml, path: &str) -> Option<Box<dyn SinkOutput>> {
        let (file, row_group) = match v {
            Yaml::Mapping(_) => {
                let example = "{Parquet: {path: out/rows.parquet, row_group: 65536}}";
                let m = r.mapping(v, path, &["path", "row_group"], &["path"], example)?;
                let file = r.string(m.get("path")?, &field(path, "path"))?;
                let row_group = match m.get("row_group") {
                    None => ROW_GROUP,
                    Some(n) => {
                        let at = field(path, "row_group");
                        match r.uint(n, &at)? {
                            0 => {
                                r.diag.error(
                                    &at,
                                    "must be at least 1",
                                    Some("65536 rows is a usual size".into()),
                                );
                                return None;
                            }
                            n => usize::try_from(n).unwrap_or(usize::MAX),
                        }
                    }
                };
                (file, row_group)
            }
            _ => (r.string(v, path)?, ROW_GROUP),
        };
        Some(Box::new(ParquetOutput {
            path: PathBuf::from(file),
            row_group,
        }))
    }
}

/// A Parquet file.
#[derive(Debug)]
struct ParquetOutput {
    path: PathBuf,
    row_group: usize,
}

/// The file's columns for a sink opened with `cx`.
fn fields<'a>(cx: &'a OpenSink<'a>) -> Vec<Field<'a>> {
    let mut fields: Vec<Field<'a>> = cx
        .params
        .iter()
        .zip(cx.param_kinds)
        .map(|(name, &kind)| Field {
            name,
            kind: Kind::Of(kind),
            optional: false,
        })
        .collect();
    fields.push(Field {
        name: "timestamp",
        kind: Kind::Time,
        optional: false,
    });
    for (i, name) in cx.columns.iter().enumerate() {
        let kind = cx.kinds.get(i).copied().unwrap_or(Cell::Real);
        fields.push(Field {
            name,
            kind: Kind::Of(kind),
            optional: true,
        });
    }
    if cx.with_status {
        fields.push(Field {
            name: "status",
            kind: Kind::Of(Cell::Text),
            optional: true,
        });
    }
    fields
}

/// Adds a row's timestamp and cells (after its parameters, pushed by the caller).
fn push_row(t: &mut Table, time: i64, cells: &[RecordCell<'_>]) {
    t.push(Value::Int(time.div_euclid(1_000_000)));
    for c in cells {
        t.push(match *c {
            RecordCell::None => Value::Null,
            RecordCell::Number(x) => Value::Real(x),
            RecordCell::Text(s) => Value::Text(s),
        });
    }
}

impl ParquetOutput {
    fn err(&self, e: impl Into<WriteError>) -> RunError {
        RunError::Sink(SinkError::new(self.target(), e))
    }
}

impl SinkOutput for ParquetOutput {
    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn writes(&self) -> Option<&Path> {
        Some(&self.path)
    }

    fn staged(&self) -> Option<Box<dyn Commit>> {
        let staged = Staged::of(&self.path).ok().flatten()?;
        Some(Box::new(staged))
    }

    fn check(&self, columns: &[&str]) -> Result<(), String> {
        super::file_check(&self.path, columns)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let file = super::create_file(&self.path).map_err(|e| self.err(e))?;
        let table = Table::create(file, &fields(cx), self.row_group).map_err(|e| self.err(e))?;
        Ok(Some(Box::new(ParquetWriter {
            table,
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
        let file = match super::create_file(&self.path) {
            Ok(f) => f,
            Err(e) => return Some(Err(self.err(e))),
        };
        let a = part::Assembler::new(file, self.row_group);
        Some(Ok(Destination::Assembled(Mutex::new(Box::new(a)))))
    }

    fn format(
        &self,
        out: crate::base::out::Out,
        cx: &OpenSink<'_>,
    ) -> Result<Box<dyn RowWriter>, RunError> {
        crate::sinks::records::format(self, out, cx)
    }
}

/// Writes a run's rows into the file.
struct ParquetWriter {
    table: Table,
    status: bool,
}

impl RowWriter for ParquetWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.table.push(Value::Int(row.time.div_euclid(1_000_000)));
        for i in 0..row.values.len() {
            self.table.push(match (row.text(i), row.cell(i)) {
                (Some(t), _) => Value::Text(t),
                (None, Some(v)) if !row.is_text(i) => Value::Real(v),
                _ => Value::Null,
            });
        }
        if self.status {
            self.table.push(row.status.map_or(Value::Null, Value::Text));
        }
        Ok(self.table.end_row()?)
    }

    /// Row groups are written as they fill: a file is readable only once its footer is written.
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        Ok(self.table.finish()?)
    }
}

impl Drop for ParquetWriter {
    /// A run that failed or was stopped leaves a readable `.partial` file with the rows it wrote.
    fn drop(&mut self) {
        let _ = self.table.finish();
    }
}
