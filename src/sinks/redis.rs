//! The `Redis` sink kind: every row appended to a Redis stream as an entry with one field, `row`,
//! holding the row as a JSON object with the NDJSON output's keys. `{Redis: {url:
//! "redis://127.0.0.1:6379", stream: btc_eth_windows}}`.
//!
//! The sink thread formats rows into batches (1,000 rows, or what a flush holds); a writer thread of
//! its own (`tubes-redis-<stream>`) owns the connection and appends each batch as one MULTI/EXEC
//! transaction, so a batch is added whole or not at all; the transaction also sets
//! `<stream>:tubes-last-batch` to the batch's mark, so that a retry after a lost reply first asks
//! whether the batch was added, and adds no batch twice. A batch that fails is retried, reconnecting
//! with a back-off from 100 ms to 2 s, for up to `retry_for` (default 30 s); a batch still not added
//! then is counted as lost, and the run ends with an error that says how many rows were lost. A batch
//! waits in a channel of [`QUEUED`], so a slow server slows the pipeline rather than losing rows.

use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_yaml::Value;

use super::ndjson::JsonRow;
use crate::base::{RunError, SinkError};
use crate::config::{field, Reader};
use crate::connect::redis::{append_marked, marked, Server};
use crate::plugin::{OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// Rows per batch.
const BATCH: usize = 1_000;
/// Batches waiting for the writer thread.
const QUEUED: usize = 4;
/// How long one command may wait on the server.
const IO: Duration = Duration::from_secs(2);

/// The `Redis` sink kind.
pub struct Redis;

/// A stream to append rows to.
#[derive(Debug)]
struct StreamOutput {
    server: Server,
    stream: String,
    retry_for: Duration,
}

impl SinkKind for Redis {
    fn names(&self) -> &'static [&'static str] {
        &["Redis"]
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn SinkOutput>> {
        let example = "{Redis: {url: \"redis://127.0.0.1:6379\", stream: rows}}";
        let m = r.mapping(
            v,
            path,
            &["url", "stream", "retry_for"],
            &["stream"],
            example,
        )?;
        let server = match m.get("url") {
            None => Server::parse(None).ok(),
            Some(u) => {
                let p = field(path, "url");
                let url = r.string(u, &p)?;
                Server::parse(Some(&url))
                    .map_err(|why| r.diag.error(&p, why, None))
                    .ok()
            }
        };
        let stream = m
            .get("stream")
            .and_then(|s| r.string(s, &field(path, "stream")));
        let retry_for = r.positive_duration(m, path, "retry_for", Duration::from_secs(30));
        Some(Box::new(StreamOutput {
            server: server?,
            stream: stream?,
            retry_for: retry_for?,
        }))
    }
}

/// Rows formatted for one transaction: their bytes, and where each ends.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    fn rows(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, &b)| &self.bytes[a..b])
    }
}

/// What the writer thread did: rows added, rows lost, and why the first were lost.
type Outcome = (u64, u64, Option<String>);

impl SinkOutput for StreamOutput {
    fn target(&self) -> String {
        format!("Redis stream {} on {}", self.stream, self.server)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let err = |e: String| RunError::Sink(SinkError::new(self.target(), e));
        let mut conn = self.server.connect(IO).map_err(err)?;
        let kind: String = redis::cmd("TYPE")
            .arg(&self.stream)
            .query(&mut conn)
            .map_err(|e| err(self.server.say(&e)))?;
        if kind != "stream" && kind != "none" {
            return Err(err(format!(
                "key '{}' is a {kind}, not a stream: name another stream",
                self.stream
            )));
        }
        let (tx, rx) = sync_channel::<Batch>(QUEUED);
        let (server, stream, retry_for) =
            (self.server.clone(), self.stream.clone(), self.retry_for);
        let thread = std::thread::Builder::new()
            .name(format!("tubes-redis-{}", self.stream))
            .spawn(move || {
                let mut w = Appender {
                    server,
                    stream,
                    conn: Some(conn),
                    retry_for,
                };
                let (mut added, mut lost, mut why) = (0u64, 0u64, None);
                // Marks no other run's batch shares: the process, the time it opened, a number.
                let run = format!("{}-{}", std::process::id(), crate::base::time::wall_ns());
                for (n, batch) in rx.into_iter().enumerate() {
                    match w.add(&batch, &format!("{run}-{n}")) {
                        Ok(()) => added += batch.ends.len() as u64,
                        Err(e) => {
                            lost += batch.ends.len() as u64;
                            why.get_or_insert(e);
                        }
                    }
                }
                (added, lost, why)
            })
            .map_err(|e| err(e.to_string()))?;
        Ok(Some(Box::new(StreamWriter {
            row: JsonRow::new(cx.columns, cx.with_status),
            batch: Batch::default(),
            tx: Some(tx),
            thread: Some(thread),
            target: self.target(),
        })))
    }
}

/// The writer thread's connection.
struct Appender {
    server: Server,
    stream: String,
    conn: Option<redis::Connection>,
    retry_for: Duration,
}

impl Appender {
    /// Adds one batch, marked `mark` (unique to the batch), reconnecting and retrying for up to
    /// `retry_for`. A retry first asks whether the server added the batch before the connection
    /// broke (the reply lost with it), so no batch is added twice.
    fn add(&mut self, batch: &Batch, mark: &str) -> Result<(), String> {
        let first = Instant::now();
        let mut delay = Duration::from_millis(100);
        let mut retry = false;
        loop {
            let tried = match self.conn.take() {
                Some(c) => Ok(c),
                None => self.server.connect(IO),
            }
            .and_then(|mut c| {
                let done =
                    retry && marked(&mut c, &self.stream, mark).map_err(|e| self.server.say(&e))?;
                let r = match done {
                    true => Ok(()),
                    false => append_marked(&mut c, &self.stream, "row", batch.rows(), mark),
                };
                r.map(|()| c).map_err(|e| self.server.say(&e))
            });
            retry = true;
            match tried {
                Ok(c) => {
                    self.conn = Some(c);
                    return Ok(());
                }
                Err(e) if first.elapsed() >= self.retry_for => return Err(e),
                Err(_) => {}
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }
}

/// Formats rows and hands batches to the writer thread.
struct StreamWriter {
    row: JsonRow,
    batch: Batch,
    tx: Option<SyncSender<Batch>>,
    thread: Option<JoinHandle<Outcome>>,
    target: String,
}

impl StreamWriter {
    fn send(&mut self) -> Result<(), WriteError> {
        if self.batch.ends.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        match self.tx.as_ref().map(|tx| tx.send(batch)) {
            Some(Ok(())) => Ok(()),
            _ => Err("the writer thread stopped".into()),
        }
    }

    fn join(&mut self) -> Result<(), WriteError> {
        self.tx = None;
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        let (added, lost, why) = t.join().map_err(|_| "the writer thread panicked")?;
        if lost > 0 {
            return Err(format!(
                "{lost} rows could not be added to {} ({added} were): {}",
                self.target,
                why.unwrap_or_default()
            )
            .into());
        }
        Ok(())
    }
}

impl RowWriter for StreamWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.row.write(row, &mut self.batch.bytes)?;
        self.batch.ends.push(self.batch.bytes.len());
        if self.batch.ends.len() >= BATCH {
            self.send()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        self.send()
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.send()?;
        self.join()
    }
}

impl Drop for StreamWriter {
    /// A run that failed or was stopped still adds the rows it wrote, as a file keeps them.
    fn drop(&mut self) {
        if self.thread.is_some() {
            let _ = self.send();
            let _ = self.join();
        }
    }
}
