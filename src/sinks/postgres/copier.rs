//! The thread that talks to PostgreSQL for a Postgres output: it connects, readies the table, then
//! sends each batch of rows (COPY's text format, about [`BATCH`] bytes, or what a flush holds) as one
//! `COPY … FROM STDIN`, which is one transaction. The calling thread only formats rows and hands
//! batches over a channel of [`QUEUED`]: a slow database slows the rows' writer rather than losing
//! rows, and the client library (which drives an async client on a runtime of its own) runs on this
//! thread only.

use std::io::Write as _;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use postgres::Client;

use crate::connect::postgres::Target;
use crate::plugin::WriteError;

/// Bytes of rows per COPY.
const BATCH: usize = 1 << 20;

/// Batches waiting for the writer thread.
const QUEUED: usize = 4;

/// Rows on their way to a table, through a writer thread of its own (`tubes-pg-<table>`).
pub(super) struct Copier {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    thread: Option<JoinHandle<Result<u64, String>>>,
}

impl Copier {
    /// Starts the writer thread for `table` at `target`: it connects, runs `prepare` (checking or
    /// making the table), then sends each batch with `copy`. Returns once the table is ready, or with
    /// why connecting or preparing failed.
    pub(super) fn start(
        target: &Target,
        table: &str,
        copy: String,
        prepare: impl FnOnce(&mut Client) -> Result<(), String> + Send + 'static,
    ) -> Result<Copier, String> {
        let (ready_tx, ready) = sync_channel::<Result<(), String>>(1);
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
        let (target, table) = (target.clone(), table.to_string());
        let thread = std::thread::Builder::new()
            .name(format!("tubes-pg-{table}"))
            .spawn(move || -> Result<u64, String> {
                let client = target.connect().and_then(|mut c| prepare(&mut c).map(|()| c));
                let mut client = match client {
                    Ok(c) => {
                        let _ = ready_tx.send(Ok(()));
                        c
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(0);
                    }
                };
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
            .map_err(|e| e.to_string())?;
        let mut copier = Copier {
            buf: Vec::with_capacity(BATCH + 4096),
            tx: Some(tx),
            thread: Some(thread),
        };
        match ready.recv() {
            Ok(Ok(())) => Ok(copier),
            Ok(Err(e)) => {
                let _ = copier.join();
                Err(e)
            }
            Err(_) => Err(copier
                .join()
                .err()
                .map_or("the writer thread stopped".into(), |e| e.to_string())),
        }
    }

    /// Adds one row (a line of COPY's text format, newline included); hands the batch over once it
    /// holds [`BATCH`] bytes.
    pub(super) fn push(&mut self, line: &[u8]) -> Result<(), WriteError> {
        self.buf.extend_from_slice(line);
        if self.buf.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    /// Hands the rows added so far to the writer thread; its error if it has stopped.
    pub(super) fn send(&mut self) -> Result<(), WriteError> {
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

    /// Hands over the last rows and waits until every batch is committed: how many rows were.
    pub(super) fn finish(&mut self) -> Result<u64, WriteError> {
        self.send()?;
        self.join()
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

impl Drop for Copier {
    /// A run that failed or was stopped still commits the rows it wrote, as a file keeps them. A
    /// failed COPY that nothing reported yet (the run failed for another reason first) is told here.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let sent = self.send();
            if let Err(e) = sent.and_then(|()| self.join().map(|_| ())) {
                eprintln!("error: {e}");
            }
        }
    }
}
