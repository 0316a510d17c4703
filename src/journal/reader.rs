//! Reading a journal, and following one while it is written ([`Tailer`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::format::{decode, segment_name, Meta};
use super::segment::Segment;
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
    seg: Option<Segment>,
    pos: u64,
}

impl Reader {
    /// Opens the journal in `dir` at its first record.
    pub fn open(dir: &Path) -> Result<Reader, JournalError> {
        Ok(Reader {
            dir: dir.to_path_buf(),
            meta: Meta::load(dir)?,
            seg: None,
            pos: 0,
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
        if self.seg.as_ref().is_none_or(|s| s.number != number) {
            if !self.dir.join(segment_name(number)).exists() {
                return Ok(Next::End);
            }
            self.seg = Some(Segment::open(&self.dir, number, slots, false)?);
        }
        let seg = self.seg.as_ref().expect("opened above");
        match seg.slot(self.pos % slots).read(self.pos) {
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
pub struct Tailer {
    reader: Reader,
    idle: u32,
}

impl Tailer {
    /// Follows the journal in `dir` from record `from`.
    pub fn open(dir: &Path, from: u64) -> Result<Tailer, JournalError> {
        let mut reader = Reader::open(dir)?;
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
                    return Err(JournalError::Torn {
                        path: self.reader.dir.clone(),
                        index: self.reader.position(),
                    })
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
