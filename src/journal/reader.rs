//! Reading a journal, and following one while it is written ([`Tailer`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::copied::Copied;
use super::format::{decode, segment_name, Meta};
use super::slot::Found;
use super::JournalError;
use crate::base::datapoint::Datapoint;

/// What the next position holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// A whole record.
    Record(Datapoint),
    /// Nothing committed there yet.
    End,
    /// A torn record: the writer died mid-way (and power was lost), or the file was damaged.
    Torn,
}

/// Reads records in order from a position.
pub struct Reader {
    dir: PathBuf,
    meta: Meta,
    /// The segment being read, by copy.
    copy: Option<Copied>,
    /// Following a writer ([`Tailer`]): a slot with no record is looked at again.
    live: bool,
    pos: u64,
}

impl Reader {
    /// Opens the journal in `dir` at its first record. Segments are read by copy: a file truncated or
    /// rewritten meanwhile is an error naming it, never a `SIGBUS`.
    pub fn open(dir: &Path) -> Result<Reader, JournalError> {
        Ok(Reader {
            dir: dir.to_path_buf(),
            meta: Meta::load(dir)?,
            copy: None,
            live: false,
            pos: 0,
        })
    }

    /// Opens the journal in `dir` to follow a writer: the end is looked at again on every call, so
    /// records appear as they are committed.
    fn open_live(dir: &Path) -> Result<Reader, JournalError> {
        Ok(Reader {
            live: true,
            ..Reader::open(dir)?
        })
    }

    /// The journal's description.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The index of the next record to read.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Moves to record `pos`.
    pub fn seek(&mut self, pos: u64) {
        self.pos = pos;
    }

    /// Reads the whole journal for damage ([`super::survey`]).
    pub fn survey(&self) -> Result<super::Survey, JournalError> {
        super::survey(&self.dir)
    }

    /// The journal's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segment files present.
    pub fn segments(&self) -> u64 {
        (0..)
            .take_while(|n| self.dir.join(segment_name(*n)).exists())
            .count() as u64
    }

    /// What is at the current position; moves past it when it is a record.
    pub fn next_record(&mut self) -> Result<Next, JournalError> {
        let slots = self.meta.segment_records;
        let number = self.pos / slots;
        if self.copy.as_ref().map(|s| s.number) != Some(number) {
            if !self.dir.join(segment_name(number)).exists() {
                if self.live && self.dir.join(segment_name(number + 1)).exists() {
                    return Err(JournalError::Format {
                        path: self.dir.join(segment_name(number)),
                        what: format!(
                            "is missing though {} exists: the journal is damaged",
                            segment_name(number + 1)
                        ),
                    });
                }
                return Ok(Next::End);
            }
            self.copy = Some(Copied::open(&self.dir, number, slots, self.meta.id)?);
        }
        let copy = self.copy.as_mut().expect("a segment was opened above");
        let found = if self.live {
            copy.read_live(self.pos % slots, self.pos)?
        } else {
            copy.read(self.pos % slots, self.pos)?
        };
        match found {
            Found::Empty => Ok(Next::End),
            Found::Torn => Ok(Next::Torn),
            Found::Record(bytes) => match decode(&bytes) {
                Some(dp) => {
                    self.pos += 1;
                    Ok(Next::Record(dp))
                }
                None => Ok(Next::Torn),
            },
        }
    }
}

/// Follows a journal while it is written: spins briefly, then yields, then sleeps up to 1 ms between looks.
/// Its position can be saved and given back after a restart, so a reader resumes where it stopped.
///
/// Segments are read by copy (`pread`), not mapped: a segment truncated under a tailer ends it with an
/// error naming the file, never a `SIGBUS`.
pub struct Tailer {
    reader: Reader,
    idle: u32,
}

impl Tailer {
    /// Follows the journal in `dir` from record `from`.
    pub fn open(dir: &Path, from: u64) -> Result<Tailer, JournalError> {
        let mut reader = Reader::open_live(dir)?;
        reader.seek(from);
        Ok(Tailer { reader, idle: 0 })
    }

    /// The journal's description.
    pub fn meta(&self) -> &Meta {
        self.reader.meta()
    }

    /// The index of the next record: save it to resume from there.
    pub fn position(&self) -> u64 {
        self.reader.position()
    }

    /// The next record, waiting for it at most `timeout`; `None` if none came. A torn record is an error:
    /// the journal is damaged where a live writer would still be writing.
    pub fn next(&mut self, timeout: Duration) -> Result<Option<Datapoint>, JournalError> {
        let start = Instant::now();
        loop {
            match self.reader.next_record()? {
                Next::Record(dp) => {
                    self.idle = 0;
                    return Ok(Some(dp));
                }
                Next::Torn => {
                    let at = self.reader.position() / self.reader.meta.segment_records;
                    return Err(JournalError::Torn {
                        path: self.reader.dir.join(segment_name(at)),
                        index: self.reader.position(),
                    });
                }
                Next::End => {
                    if start.elapsed() >= timeout {
                        return Ok(None);
                    }
                    self.idle = self.idle.saturating_add(1);
                    match self.idle {
                        0..=64 => std::hint::spin_loop(),
                        65..=80 => std::thread::yield_now(),
                        n => {
                            std::thread::sleep(Duration::from_micros(u64::from((n - 80).min(1000))))
                        }
                    }
                }
            }
        }
    }
}
