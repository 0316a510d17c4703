//! The thread that encodes, compresses and writes a Parquet file's row groups (`tubes-parquet`), so
//! that the rows' writer fills the next group meanwhile. Two sets of column buffers go back and
//! forth: the writer fills one while the thread writes the other, so at most one full group waits
//! and the memory held is two groups' worth. The thread writes the footer when the writer is done
//! with it (or is dropped: a failed run's file stays readable), and its error, if it stops, is the
//! writer's next error.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use parquet::data_type::{ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedFileWriter;

use super::columns::{Buffer, Column};

type Writer = SerializedFileWriter<BufWriter<File>>;

/// The handing end of the thread.
pub(super) struct Encoder {
    /// Full groups to write; `None` once the thread is told to finish.
    full: Option<SyncSender<Vec<Buffer>>>,
    /// Buffers the thread has written and emptied.
    empty: Receiver<Vec<Buffer>>,
    /// The second set, until the first group is handed over.
    spare: Option<Vec<Buffer>>,
    thread: Option<JoinHandle<Result<(), ParquetError>>>,
}

impl Encoder {
    /// Starts the thread writing `writer`'s groups; `spare` is the second set of buffers.
    pub(super) fn start(writer: Writer, spare: Vec<Buffer>) -> Result<Encoder, ParquetError> {
        let (full, groups) = sync_channel(1);
        // Room for every set, so that the thread never waits to give one back.
        let (emptied, empty) = sync_channel(2);
        let thread = std::thread::Builder::new()
            .name("tubes-parquet".into())
            .spawn(move || write_groups(writer, groups, emptied))
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(Encoder {
            full: Some(full),
            empty,
            spare: Some(spare),
            thread: Some(thread),
        })
    }

    /// Hands over `group`'s buffers, full, and returns an emptied set to fill next (waiting while
    /// the thread still writes the group before).
    pub(super) fn hand_over(&mut self, group: Vec<Buffer>) -> Result<Vec<Buffer>, ParquetError> {
        self.send(group)?;
        match self.spare.take() {
            Some(spare) => Ok(spare),
            None => self.empty.recv().map_err(|_| self.stopped()),
        }
    }

    /// Hands over the last group's buffers, if any, and waits until the thread has written them and
    /// the footer.
    pub(super) fn finish(&mut self, last: Option<Vec<Buffer>>) -> Result<(), ParquetError> {
        if let Some(group) = last {
            self.send(group)?;
        }
        self.full = None;
        self.join()
    }

    /// Hands `group` to the thread; why it stopped, if it has.
    fn send(&mut self, group: Vec<Buffer>) -> Result<(), ParquetError> {
        match &self.full {
            Some(full) if full.send(group).is_ok() => Ok(()),
            _ => Err(self.stopped()),
        }
    }

    /// Why the thread stopped early.
    fn stopped(&mut self) -> ParquetError {
        self.full = None;
        match self.join() {
            Err(e) => e,
            Ok(()) => ParquetError::General("the Parquet file's writer thread had stopped".into()),
        }
    }

    /// Waits for the thread (once) and returns how it ended.
    fn join(&mut self) -> Result<(), ParquetError> {
        match self.thread.take() {
            None => Ok(()),
            Some(t) => t.join().unwrap_or_else(|_| {
                Err(ParquetError::General(
                    "the Parquet file's writer thread panicked".into(),
                ))
            }),
        }
    }
}

impl Drop for Encoder {
    /// The thread writes the footer and ends before the file is let go.
    fn drop(&mut self) {
        self.full = None;
        let _ = self.join();
    }
}

/// The thread: writes each group that comes, gives its buffers back emptied, then writes the footer.
fn write_groups(
    mut writer: Writer,
    groups: Receiver<Vec<Buffer>>,
    emptied: SyncSender<Vec<Buffer>>,
) -> Result<(), ParquetError> {
    for mut group in groups {
        write_group(&mut writer, &mut group)?;
        let _ = emptied.try_send(group);
    }
    let mut out = writer.into_inner()?;
    out.flush()?;
    Ok(())
}

/// Writes one row group from `buffers` (one per column, in order), emptying them.
fn write_group(writer: &mut Writer, buffers: &mut [Buffer]) -> Result<(), ParquetError> {
    let mut group = writer.next_row_group()?;
    for b in buffers {
        let mut col = group
            .next_column()?
            .ok_or_else(|| ParquetError::General("fewer columns than buffers".into()))?;
        let defs = b.defs.as_deref();
        match &b.values {
            Column::Int(v) => col.typed::<Int64Type>().write_batch(v, defs, None)?,
            Column::Real(v) => col.typed::<DoubleType>().write_batch(v, defs, None)?,
            Column::Text(v) => col.typed::<ByteArrayType>().write_batch(v, defs, None)?,
        };
        col.close()?;
        b.clear();
    }
    group.close()?;
    Ok(())
}
