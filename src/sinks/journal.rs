//! Rows into a journal, for a trading bot beside the engine to tail ([`crate::journal::Tailer`]).
//!
//! Each row is one record: `source` is the sink's tube id, the values are the row's columns in order
//! (NaN where a column has no value; `meta.json` names them in the sink's `fields`), the event time is the
//! row's timestamp, and the ingest time is the **wall-clock** time the row was written (ns since the
//! epoch), so a reader in another process can measure how long the row took to reach it. A status row is
//! a record of kind `Status` with the status's own values.

use std::path::Path;

use super::PathKind;
use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::base::time::wall_ns;
use crate::base::{RunError, SinkError};
use crate::journal::{JournalError, Meta, SyncPolicy, Writer};
use crate::plugin::{OpenSink, Row, RowWriter, WriteError};

/// The `Journal` sink kind: `{Journal: out/rows}`, a journal directory a bot tails.
pub const JOURNAL: PathKind = PathKind {
    names: &["Journal"],
    accepts: one_record_per_row,
    open: open_journal,
    format: None,
    file: false,
    check: journal_check,
};

/// A row must fit one record, and the directory must be new or empty (a journal's files are created
/// by name).
fn journal_check(dir: &Path, columns: &[&str]) -> Result<(), String> {
    if columns.len() > MAX_FIELDS {
        return Err(format!(
            "{} columns; a Journal output holds at most {MAX_FIELDS} (one record per row): split the columns over two sinks",
            columns.len()
        ));
    }
    match std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()) {
        Ok(true) => Err(format!(
            "'{}' is not empty; a Journal output needs a new or empty directory",
            dir.display()
        )),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!(
            "cannot use '{}' as a journal directory: {e}",
            dir.display()
        )),
        _ => Ok(()),
    }
}

/// A row must fit one record.
fn one_record_per_row(cx: &OpenSink<'_>) -> Result<(), RunError> {
    if cx.columns.len() > MAX_FIELDS {
        return Err(RunError::Input(format!(
            "sink '{}' has {} columns; a Journal output holds at most {} (one record per row): split the columns over two sinks",
            cx.label,
            cx.columns.len(),
            MAX_FIELDS
        )));
    }
    Ok(())
}

fn open_journal(dir: &Path, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
    let mut meta = (cx.meta)();
    meta.tubes[cx.id as usize].fields = cx.columns.iter().map(|c| c.to_string()).collect();
    let w = JournalWriter::create(dir, meta, cx.id)
        .map_err(|e| SinkError::new(dir.display().to_string(), e))?;
    Ok(Box::new(w))
}

/// Appends rows to a journal.
pub struct JournalWriter {
    writer: Writer,
    id: TubeId,
}

impl JournalWriter {
    /// Creates the journal in `dir` for sink `id`, described by `meta`.
    pub fn create(dir: &Path, meta: Meta, id: TubeId) -> Result<Self, JournalError> {
        let writer = Writer::create(dir, meta, SyncPolicy::Never)?;
        Ok(JournalWriter { writer, id })
    }
}

impl RowWriter for JournalWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        let mut dp = match row.status_dp {
            Some(s) => *s,
            None => {
                let mut d = Datapoint::new(Kind::Data, self.id, row.time, 0);
                d.len = row.values.len().min(MAX_FIELDS) as u8;
                for (i, v) in d.values.iter_mut().take(d.len as usize).enumerate() {
                    *v = row.cell(i).unwrap_or(f64::NAN);
                }
                d
            }
        };
        (dp.source, dp.event_time, dp.ingest_time) = (self.id, row.time, wall_ns() as u64);
        self.writer.append(&dp)?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }
}
