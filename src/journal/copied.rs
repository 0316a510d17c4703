//! A segment read through copies rather than a map, for readers of a journal that is not being written
//! (`replay`, `info`, `dump`): a segment file truncated or rewritten under them is an error naming it,
//! never a `SIGBUS`. Slots are read [`CHUNK`] at a time.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::format::{segment_name, HEADER, SLOT};
use super::segment::{check_header, check_len};
use super::slot::{read_copy, Found};
use super::JournalError;

/// Slots copied per read (about 1.2 MB).
const CHUNK: u64 = 8192;

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
        })
    }

    /// What slot `i` holds for record `index`.
    pub fn read(&mut self, i: u64, index: u64) -> Result<Found, JournalError> {
        let held = self.buf.len() as u64 / SLOT as u64;
        if i < self.first || i >= self.first + held {
            let n = CHUNK.min(self.slots - i);
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
        }
        let at = ((i - self.first) as usize) * SLOT;
        Ok(read_copy(&self.buf[at..at + SLOT], index))
    }
}
