//! Where a Parquet file's row groups are encoded, compressed and written: on a thread of the file's
//! own (`tubes-parquet`) from its first full group, so that the rows' writer fills the next group
//! meanwhile; or, when the process already runs one such thread per core (a sweep writing a Parquet
//! file per value), on the calling thread. With a thread, two sets of column buffers go back and
//! forth: the writer fills one while the thread writes the other, so at most one full group waits.
//! The footer is written when the writer is done with the file (or drops it: a failed run's file
//! stays readable); an error that stopped the thread is the writer's next error, and every later one.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use parquet::data_type::{ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::writer::SerializedFileWriter;

use super::columns::{Buffer, Column};

type Writer = SerializedFileWriter<BufWriter<File>>;

/// When a file's groups get a thread of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Threads {
    /// From the first full group, while the process runs fewer such threads than it has cores.
    OnePerCore,
    /// From the first full group, however many run.
    #[cfg(test)]
    Always,
    /// Never: every group is written on the calling thread.
    #[cfg(test)]
    Never,
}

/// A file's row groups on their way out.
pub(super) struct Encoder {
    at: At,
    threads: Threads,
    /// Why writing stopped, told again to every later call.
    failed: Option<String>,
}

enum At {
    /// Written on the calling thread; `None` once the footer is written (or writing failed).
    Here(Option<Writer>),
    Thread(Thread),
}

impl Encoder {
    pub(super) fn new(writer: Writer, threads: Threads) -> Encoder {
        Encoder {
            at: At::Here(Some(writer)),
            threads,
            failed: None,
        }
    }

    /// Writes `group` (a full row group's buffers), or hands it to the file's thread, starting it
    /// if it may; returns emptied buffers to fill next.
    pub(super) fn hand_over(
        &mut self,
        mut group: Vec<Buffer>,
    ) -> Result<Vec<Buffer>, ParquetError> {
        self.check()?;
        self.start_thread(&group)?;
        match &mut self.at {
            At::Here(Some(w)) => match write_group(w, &mut group) {
                Ok(()) => Ok(group),
                Err(e) => Err(self.fail(e)),
            },
            _ => {
                self.send(group)?;
                self.take_back()
            }
        }
    }

    /// Writes the last group's buffers, if any, and the footer, and waits until they are written
    /// (once: a second call does nothing; after a failure, it is the failure).
    pub(super) fn finish(&mut self, last: Option<Vec<Buffer>>) -> Result<(), ParquetError> {
        if matches!(self.at, At::Here(None)) && self.failed.is_none() {
            return Ok(()); // finished before
        }
        self.check()?;
        let ended = match &mut self.at {
            At::Here(writer) => {
                let mut w = writer.take().expect("checked: not finished");
                (last.map_or(Ok(()), |mut g| write_group(&mut w, &mut g)))
                    .and_then(|()| write_footer(w))
            }
            At::Thread(_) => {
                if let Some(group) = last {
                    self.send(group)?;
                }
                self.end_thread()
            }
        };
        ended.map_err(|e| self.fail(e))
    }

    /// An error when writing has stopped or the file is finished.
    fn check(&self) -> Result<(), ParquetError> {
        match (&self.failed, &self.at) {
            (Some(why), _) => Err(ParquetError::General(why.clone())),
            (None, At::Here(None)) => Err(ParquetError::General(
                "the Parquet file is finished already".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Starts the file's thread when the groups are still written here and a thread is free; its
    /// second set of buffers is made like `group`'s.
    fn start_thread(&mut self, group: &[Buffer]) -> Result<(), ParquetError> {
        let slot = match (&mut self.at, self.threads) {
            (At::Here(Some(_)), Threads::OnePerCore) => Slot::take(),
            #[cfg(test)]
            (At::Here(Some(_)), Threads::Always) => Some(Slot::force()),
            _ => None,
        };
        let (Some(slot), At::Here(writer)) = (slot, &mut self.at) else {
            return Ok(());
        };
        let writer = writer.take().expect("matched above");
        let spare = group.iter().map(Buffer::emptied).collect();
        match Thread::start(writer, spare, slot) {
            Ok(t) => {
                self.at = At::Thread(t);
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Buffers to fill next: the thread's second set, until the first group, then the ones it
    /// emptied (waiting while it writes).
    fn take_back(&mut self) -> Result<Vec<Buffer>, ParquetError> {
        let At::Thread(t) = &mut self.at else {
            return Err(self.stopped());
        };
        if let Some(spare) = t.spare.take() {
            return Ok(spare);
        }
        match t.empty.recv() {
            Ok(emptied) => Ok(emptied),
            Err(_) => Err(self.stopped()),
        }
    }

    /// Hands `group` to the thread; why it stopped, if it has.
    fn send(&mut self, group: Vec<Buffer>) -> Result<(), ParquetError> {
        match &self.at {
            At::Thread(t) if t.send(group) => Ok(()),
            _ => Err(self.stopped()),
        }
    }

    /// Why the thread stopped early.
    fn stopped(&mut self) -> ParquetError {
        let e = self.end_thread().err().unwrap_or_else(|| {
            ParquetError::General("the Parquet file's writer thread had stopped".into())
        });
        self.fail(e)
    }

    /// Lets the thread finish (the footer) and waits for it; how it ended.
    fn end_thread(&mut self) -> Result<(), ParquetError> {
        match std::mem::replace(&mut self.at, At::Here(None)) {
            At::Thread(t) => t.end(),
            At::Here(_) => Ok(()),
        }
    }

    /// Remembers `e` as why writing stopped.
    fn fail(&mut self, e: ParquetError) -> ParquetError {
        self.failed = Some(e.to_string());
        self.at = At::Here(None);
        e
    }
}

impl Drop for Encoder {
    /// The footer is written, and the thread ended, before the file is let go.
    fn drop(&mut self) {
        let _ = match std::mem::replace(&mut self.at, At::Here(None)) {
            At::Thread(t) => t.end(),
            At::Here(Some(w)) => write_footer(w),
            At::Here(None) => Ok(()),
        };
    }
}

/// A file's own thread, and the channels to it.
struct Thread {
    /// Full groups to write; dropped to have the thread write the footer and end.
    full: Option<SyncSender<Vec<Buffer>>>,
    /// Buffers the thread has written and emptied.
    empty: Receiver<Vec<Buffer>>,
    /// The second set of buffers, until the first group is handed over.
    spare: Option<Vec<Buffer>>,
    handle: Option<JoinHandle<Result<(), ParquetError>>>,
    _slot: Slot,
}

impl Thread {
    fn start(writer: Writer, spare: Vec<Buffer>, slot: Slot) -> Result<Thread, ParquetError> {
        let (full, groups) = sync_channel(1);
        // Room for both sets, so that the thread never waits to give one back.
        let (emptied, empty) = sync_channel(2);
        let handle = std::thread::Builder::new()
            .name("tubes-parquet".into())
            .spawn(move || write_groups(writer, groups, emptied))
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        Ok(Thread {
            full: Some(full),
            empty,
            spare: Some(spare),
            handle: Some(handle),
            _slot: slot,
        })
    }

    fn send(&self, group: Vec<Buffer>) -> bool {
        self.full.as_ref().is_some_and(|f| f.send(group).is_ok())
    }

    /// Has the thread write the footer, and waits for it.
    fn end(mut self) -> Result<(), ParquetError> {
        self.full = None;
        match self.handle.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(ended)) => ended,
            Some(Err(_)) => Err(ParquetError::General(
                "the Parquet file's writer thread panicked".into(),
            )),
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        self.full = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Encoder threads running in the process.
static RUNNING: AtomicUsize = AtomicUsize::new(0);

/// One of the process's encoder threads, at most one per core.
struct Slot;

impl Slot {
    fn take() -> Option<Slot> {
        let most = std::thread::available_parallelism().map_or(1, |n| n.get());
        (RUNNING.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < most).then_some(n + 1)
        }))
        .ok()
        .map(|_| Slot)
    }

    #[cfg(test)]
    fn force() -> Slot {
        RUNNING.fetch_add(1, Ordering::AcqRel);
        Slot
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, Ordering::AcqRel);
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
    write_footer(writer)
}

/// Writes the footer and flushes the file.
fn write_footer(writer: Writer) -> Result<(), ParquetError> {
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
