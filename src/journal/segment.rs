//! A segment file: a 64-byte header and a fixed number of slots, memory-mapped by the journal's writer.
//! Readers copy segments instead ([`super::copied`]).
//!
//! A segment is created whole before it is used: written out as zeros under a temporary name (so its disk
//! blocks really exist, and a full disk is an error here rather than a `SIGBUS` later), mapped, its pages
//! faulted in, and only then renamed, so a reader never maps a half-made segment. A writer prepares its
//! next segment ahead, on another thread ([`super::ahead`]), and renames it into place when it rolls.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use memmap2::{MmapOptions, MmapRaw};

use super::format::{header, segment_name, HEADER, MAGIC, SLOT, VERSION};
use super::slot::Slot;
use super::JournalError;

/// A mapped segment.
///
/// The mapping is an [`MmapRaw`]: only raw pointers into it are ever made, never a `&[u8]` or `&mut [u8]`
/// over the slots, because other threads and processes change slot memory while this one holds it.
/// Slots are reached as `&Slot`, every word of which is an atomic, so writing through them is interior
/// mutability rather than a write through a shared byte slice.
pub struct Segment {
    map: MmapRaw,
    slots: u64,
    /// Its number (its first record's index is `number * slots`).
    pub number: u64,
    path: PathBuf,
}

/// Checks that a segment file is as long as a segment of `slots` records.
pub(super) fn check_len(file: &File, slots: u64, path: &Path) -> Result<(), JournalError> {
    let len = file
        .metadata()
        .map_err(|e| JournalError::io(path, "read", e))?
        .len();
    if len != bytes(slots) {
        return Err(JournalError::Format {
            path: path.to_path_buf(),
            what: format!(
                "{len} bytes, where a segment of {slots} records has {}",
                bytes(slots)
            ),
        });
    }
    Ok(())
}

/// Checks a segment's header: this journal's magic, version, slot size, slots and number.
pub(super) fn check_header(
    h: &[u8],
    slots: u64,
    number: u64,
    id: u64,
    path: &Path,
) -> Result<(), JournalError> {
    let u32_at = |i: usize| u32::from_le_bytes(h[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
    if &h[0..8] != MAGIC
        || u32_at(8) != VERSION
        || u32_at(12) as usize != SLOT
        || u64_at(16) != slots
        || u64_at(24) != number
    {
        return Err(JournalError::Format {
            path: path.to_path_buf(),
            what: "not a segment of this journal (bad magic, version, slot size or number)".into(),
        });
    }
    if id != 0 && u64_at(40) != id {
        return Err(JournalError::Format {
            path: path.to_path_buf(),
            what: "a segment of another journal (its header's journal id is not meta.json's): a journal's files must not be replaced".into(),
        });
    }
    Ok(())
}

fn bytes(slots: u64) -> u64 {
    HEADER as u64 + slots * SLOT as u64
}

impl Segment {
    /// Creates segment `number` with `slots` slots in `dir`.
    pub fn create(dir: &Path, number: u64, slots: u64, id: u64) -> Result<Segment, JournalError> {
        Self::prepare(dir, number, slots, id)?.install(dir)
    }

    /// Makes segment `number` under its temporary name, maps it and faults every page of the mapping in
    /// for writing, so that its first records cost no page fault; [`Segment::install`] names it.
    pub fn prepare(dir: &Path, number: u64, slots: u64, id: u64) -> Result<Segment, JournalError> {
        let path = dir.join(segment_name(number));
        let tmp = dir.join(format!("{}.tmp", segment_name(number)));
        let fill = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&header(slots, number, id))?;
            let zeros = vec![0u8; 1 << 20];
            let mut left = bytes(slots) - HEADER as u64;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                f.write_all(&zeros[..n])?;
                left -= n as u64;
            }
            // Writing reserves the blocks (a full disk fails here); the sync policy decides about fsync.
            f.flush()
        };
        if let Err(e) = fill() {
            let _ = std::fs::remove_file(&tmp);
            return Err(JournalError::Segment {
                path,
                bytes: bytes(slots),
                source: e,
            });
        }
        let seg = Self::open_path(tmp.clone(), number, slots, id).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })?;
        // Best effort (Linux 5.14 and later): without it the first write to each page faults instead.
        #[cfg(target_os = "linux")]
        let _ = seg.map.advise(memmap2::Advice::PopulateWrite);
        Ok(seg)
    }

    /// Gives a prepared segment its name in `dir`: from now on readers see it. If it cannot, the
    /// prepared file is removed.
    pub fn install(mut self, dir: &Path) -> Result<Segment, JournalError> {
        let path = dir.join(segment_name(self.number));
        if let Err(e) = std::fs::rename(&self.path, &path) {
            self.discard();
            return Err(JournalError::io(&path, "create", e));
        }
        self.path = path;
        Ok(self)
    }

    /// Removes a prepared segment that was never installed.
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.path);
    }

    /// Maps an existing segment for writing, checking its header.
    pub fn open(dir: &Path, number: u64, slots: u64, id: u64) -> Result<Segment, JournalError> {
        Self::open_path(dir.join(segment_name(number)), number, slots, id)
    }

    fn open_path(path: PathBuf, number: u64, slots: u64, id: u64) -> Result<Segment, JournalError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "open", e))?;
        check_len(&file, slots, &path)?;
        let map = MmapOptions::new()
            .map_raw(&file)
            .map_err(|e| JournalError::io(&path, "map", e))?;
        let seg = Segment {
            map,
            slots,
            number,
            path,
        };
        check_header(seg.header(), slots, number, id, &seg.path)?;
        Ok(seg)
    }

    /// The segment's header: written once, before the segment is renamed into place, and never again.
    fn header(&self) -> &[u8] {
        // SAFETY: the map is at least `HEADER` bytes long (its length was checked on open) and lives as
        // long as `self`; the header is written whole, through the file, before the segment is mapped
        // (under its `.tmp` name, by the journal's one writer or that writer's helper thread, which the
        // writer ends before it lets go of the journal's lock) and never again, so a shared slice over
        // it aliases no write. The file is not truncated while mapped: segments are never shrunk, a
        // `.tmp` is made only by the lock holder, and the README says a journal must not be edited in
        // place.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr(), HEADER) }
    }

    /// Slot `i` of this segment.
    pub fn slot(&self, i: u64) -> &Slot {
        assert!(i < self.slots, "slot {i} of a {}-slot segment", self.slots);
        let base = self.map.as_mut_ptr();
        // SAFETY: `HEADER + i * SLOT + SLOT <= len` (checked: `i < slots`, and the length was checked on
        // open); the map is page-aligned and HEADER and SLOT are multiples of 8, so the slot is 8-aligned;
        // `Slot` is `repr(C)` of 18 `AtomicU64`s, valid for any bit pattern, and all its mutation goes
        // through them (interior mutability), so a shared `&Slot` is sound while other threads or
        // processes write the same memory; the pointer comes from a raw mapping, not from a reference to
        // its bytes, and the map lives as long as `self`.
        unsafe { &*(base.add(HEADER + i as usize * SLOT) as *const Slot) }
    }

    /// Slots in the segment.
    pub fn slots(&self) -> u64 {
        self.slots
    }

    /// Writes the segment's dirty pages to disk (`msync`).
    pub fn sync(&self) -> Result<(), JournalError> {
        self.map
            .flush()
            .map_err(|e| JournalError::io(&self.path, "sync", e))
    }
}
