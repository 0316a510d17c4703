//! A segment read through copies (`pread`) rather than a map: a segment file truncated or rewritten under
//! its reader is an error naming it, never a `SIGBUS`. `replay`, `info` and `dump` read [`CHUNK`] slots
//! at a time ([`Copied::read`]); a [`super::Tailer`] following a writer in another process copies again
//! where its copy showed no record yet ([`Copied::read_live`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
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
}

impl Copied {
    /// Opens segment `number` of the journal in `dir`, checking its length and header.
    pub fn open(dir: &Path, number: u64, slots: u64) -> Result<Copied, JournalError> {
        let path = dir.join(segment_name(number));
        let file = File::open(&path).map_err(|e| JournalError::io(&path, "open", e))?;
        check_len(&file, slots, &path)?;
        let mut header = [0u8; HEADER];
        file.read_exact_at(&mut header, 0)
            .map_err(|e| JournalError::io(&path, "read", e))?;
        check_header(&header, slots, number, &path)?;
        Ok(Copied {
            file,
            path,
            slots,
            number,
            buf: Vec::new(),
            first: 0,
            want: LIVE_FIRST,
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
                found => return Ok(found),
            }
            look += 1;
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
                what: format!(
                    "changed while it was read ({e}): a journal must not be edited in place"
                ),
            })?;
        self.first = i;
        Ok(())
    }
}
