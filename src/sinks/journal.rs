//! Rows into a journal, for a trading bot beside the engine to tail ([`crate::journal::Tailer`]).
//!
//! Each row is one record: `source` is the sink's tube id, the values are the row's columns in order
//! (NaN where a column has no value; `meta.json` names them in the sink's `fields`), the event time is the
//! row's timestamp, and the ingest time is the **wall-clock** time the row was written (ns since the
//! epoch), so a reader in another process can measure how long the row took to reach it. A status row is
//! a record of kind `Status` with the status's own values.

use std::io;

use super::{Row, RowWriter};
use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::base::time::wall_ns;
use crate::journal::{Meta, SyncPolicy, Writer};

/// Appends rows to a journal.
pub struct JournalWriter {
    writer: Writer,
    id: TubeId,
}

impl JournalWriter {
    /// Creates the journal in `dir` for sink `id`, described by `meta`.
    pub fn create(dir: &std::path::Path, meta: Meta, id: TubeId) -> io::Result<Self> {
        let writer = Writer::create(dir, meta, SyncPolicy::Never)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(JournalWriter { writer, id })
    }
}

impl RowWriter for JournalWriter {
    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()> {
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
        self.writer
            .append(&dp)
            .map(|_| ())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
