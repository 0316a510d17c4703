//! A segment read through copies (`pread`) rather than a map: a segment file truncated or rewritten under
//! its reader is an error naming it, never a `SIGBUS`. `replay`, `info` and `dump` read [`CHUNK`] slots
//! at a time ([`Copied::read`]); a [`super::Tailer`] following a writer in another process copies again
//! where its copy showed no record yet ([`Copied::read_live`]).

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::format::{segment_name, HEADER, SLOT};
use super::segment::{check_header, check_len};
use super::slot::{read_copy, Found};
use super::JournalError;

/// Slots copied per read (about 1.2 MB).
const CHUNK: u64 = 8192;

/// Slots a tailer copies after it found the end (about 2 KiB); each copy that it reads through whole
/// doubles the next, up to [`CHUNK`].
const LIVE_FIRST: u64 = 16;

/// Copies of a slot that fails its checksum a tailer makes before it calls the record torn. A copy is
/// not atomic: it can take a marker the writer has just stored with body words from before it, or the
/// words of a torn tail that the writer is clearing; the next copy sees the writer's finished stores.
const LOOKS: u32 = 4;

/// A segment whose slots are read by copy.
pub struct Copied {
    file: File,
    path: PathBuf,
    slots: u64,
    /// Its number (its first record's index is `number * slots`).
    pub number: u64,
    /// Copied slots, from slot `first`.
    buf: Vec<u8>,
    first: u64,
    /// Slots the next live copy takes.
    want: u64,
    /// The file's device and inode, to tell when its name comes to mean another file.
    identity: (u64, u64),
}

impl Copied {
    /// Opens segment `number` of the journal in `dir`, checking its length and header.
    pub fn open(dir: &Path, number: u64, slots: u64, id: u64) -> Result<Copied, JournalError> {
        let path = dir.join(segment_name(number));
        // Without blocking: a FIFO put in a segment's place must not hold the reader.
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "open", e))?;
        let m = file
            .metadata()
            .map_err(|e| JournalError::io(&path, "read", e))?;
        if !m.is_file() {
            return Err(JournalError::Format {
                path,
                what: "is not a regular file, as a segment is".into(),
            });
        }
        check_len(&file, slots, &path)?;
        let mut header = [0u8; HEADER];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| JournalError::io(&path, "read", e))?;
        check_header(&header, slots, number, id, &path)?;
        Ok(Copied {
            file,
            path,
            slots,
            number,
            buf: Vec::new(),
            first: 0,
            want: LIVE_FIRST,
            identity: (m.dev(), m.ino()),
        })
    }

    /// What slot `i` holds for record `index`, in a segment that is not being written.
    pub fn read(&mut self, i: u64, index: u64) -> Result<Found, JournalError> {
        if !self.holds(i) {
            self.copy(i, CHUNK)?;
        }
        Ok(self.found(i, index))
    }

    /// What slot `i` holds for record `index`, in a segment a writer may be appending to: a slot whose
    /// copy shows no record is copied again, since the writer may have committed it since.
    pub fn read_live(&mut self, i: u64, index: u64) -> Result<Found, JournalError> {
        if self.holds(i) {
            if let found @ Found::Record(_) = self.found(i, index) {
                return Ok(found);
            }
            self.want = LIVE_FIRST;
        } else {
            self.want = (self.want * 2).clamp(LIVE_FIRST, CHUNK);
        }
        let mut look = 1;
        loop {
            self.copy(i, self.want)?;
            match self.found(i, index) {
                Found::Torn if look < LOOKS => std::thread::yield_now(),
                Found::Empty => return self.at_end(i, index),
                found => return Ok(found),
            }
            look += 1;
        }
    }

    /// At what looks like the end of the journal: the end, unless the file was removed or replaced
    /// under the reader, or a later segment exists (then the slot is a hole: damage).
    fn at_end(&mut self, i: u64, index: u64) -> Result<Found, JournalError> {
        let changed = |what: &str| JournalError::Format {
            path: self.path.clone(),
            what: format!("{what} while it was followed: a journal's files must not be replaced"),
        };
        match std::fs::metadata(&self.path) {
            Ok(m) if (m.dev(), m.ino()) == self.identity => {}
            Ok(_) => return Err(changed("was replaced")),
            Err(_) => return Err(changed("was removed")),
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.join(segment_name(self.number + 1)).exists() {
            return Ok(Found::Empty);
        }
        // The writer fills a segment before it makes the next: look once more, after seeing it.
        self.copy(i, 1)?;
        match self.found(i, index) {
            Found::Empty => Err(JournalError::Format {
                path: self.path.clone(),
                what: format!(
                    "record {index} is missing (its slot is empty) though segment {} exists: the journal is damaged; `tubes journal info` describes it",
                    segment_name(self.number + 1)
                ),
            }),
            found => Ok(found),
        }
    }

    fn holds(&self, i: u64) -> bool {
        i >= self.first && i < self.first + self.buf.len() as u64 / SLOT as u64
    }

    fn found(&self, i: u64, index: u64) -> Found {
        let at = ((i - self.first) as usize) * SLOT;
        read_copy(&self.buf[at..at + SLOT], index)
    }

    /// Copies up to `n` slots from slot `i`.
    fn copy(&mut self, i: u64, n: u64) -> Result<(), JournalError> {
        let n = n.min(self.slots - i);
        self.buf.resize((n as usize) * SLOT, 0);
        let at = HEADER as u64 + i * SLOT as u64;
        self.file
            .read_exact_at(&mut self.buf, at)
            .map_err(|e| JournalError::Format {
                path: self.path.clone(),
                what: if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    "was cut while it was read: a journal must not be edited in place".into()
                } else {
                    format!(
                        "changed while it was read ({e}): a journal must not be edited in place"
                    )
                },
            })?;
        self.first = i;
        Ok(())
    }
}
