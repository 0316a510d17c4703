//! Appending to a journal: one writer at a time (a lock file says so), segments rolled when full, torn
//! records from a crash found and discarded when the journal is reopened.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use super::ahead::Ahead;
use super::format::{encode_words, segment_name, Meta};
use super::segment::Segment;
use super::slot::Found;
use super::JournalError;
use crate::base::datapoint::Datapoint;

/// When the writer forces what it wrote to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Never: a process crash loses nothing committed (the page cache holds it); a power loss loses what
    /// the OS had not yet written back (usually up to about 30 s).
    Never,
    /// When a segment is full and when the journal is closed: a power loss loses at most the current segment.
    Segment,
    /// At most this long after a record is committed (checked on each append and when idle).
    Every(Duration),
}

/// What reopening found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Whole records in the journal.
    pub records: u64,
    /// Slots after the last whole record that held a torn or partial record, now discarded.
    pub torn: u64,
}

/// Appends records.
pub struct Writer {
    meta: Meta,
    seg: Segment,
    next: u64,
    sync: SyncPolicy,
    last_sync: Instant,
    dirty: bool,
    /// Makes the next segment while this one fills. Declared before the lock, so it is dropped (its
    /// thread ended, its unused segment removed) while this writer still holds the journal.
    ahead: Ahead,
    _lock: File,
    /// What opening found.
    pub recovered: Recovery,
}

fn lock(dir: &Path) -> Result<File, JournalError> {
    let p = dir.join("lock");
    let f = File::create(&p).map_err(|e| JournalError::io(&p, "create", e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Busy(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(e)) => Err(JournalError::io(&p, "lock", e)),
    }
}

/// A journal id unlikely to repeat: the wall clock, the process and an address, mixed (splitmix64).
fn fresh_id() -> u64 {
    let here = &0u8 as *const u8 as u64;
    let mut z = crate::base::time::wall_ns() as u64 ^ (u64::from(std::process::id()) << 32) ^ here;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).max(1)
}

fn write_meta(dir: &Path, meta: &Meta) -> Result<(), JournalError> {
    let p = dir.join("meta.json");
    let tmp = dir.join("meta.json.tmp");
    let text = serde_json::to_string_pretty(meta).expect("meta serialises");
    std::fs::write(&tmp, text).map_err(|e| JournalError::io(&tmp, "write", e))?;
    std::fs::rename(&tmp, &p).map_err(|e| JournalError::io(&p, "write", e))
}

impl Writer {
    /// Creates a journal in `dir` (made if needed; it must not hold a journal already).
    pub fn create(dir: &Path, mut meta: Meta, sync: SyncPolicy) -> Result<Writer, JournalError> {
        std::fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, "create", e))?;
        if dir.join("meta.json").exists() {
            return Err(JournalError::Exists(dir.to_path_buf()));
        }
        // Segment files are created by name: anything already there could be overwritten.
        let mut entries = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "list", e))?;
        if entries.next().is_some() {
            return Err(JournalError::NotEmpty(dir.to_path_buf()));
        }
        let lock = lock(dir)?;
        if meta.segment_records == 0 {
            return Err(JournalError::Format {
                path: dir.to_path_buf(),
                what: "segments must hold at least one record".into(),
            });
        }
        if meta.id == 0 {
            meta.id = fresh_id();
        }
        let seg = Segment::create(dir, 0, meta.segment_records, meta.id)?;
        write_meta(dir, &meta)?;
        let mut ahead = Ahead::start(dir.to_path_buf(), meta.segment_records, meta.id);
        ahead.ask(1);
        Ok(Writer {
            ahead,
            meta,
            seg,
            next: 0,
            sync,
            last_sync: Instant::now(),
            dirty: false,
            _lock: lock,
            recovered: Recovery::default(),
        })
    }

    /// Opens an existing journal to append to it. A torn tail (a record cut by a crash or power loss) is
    /// discarded and counted in [`Writer::recovered`].
    pub fn open(dir: &Path, sync: SyncPolicy) -> Result<Writer, JournalError> {
        let meta = Meta::load(dir)?;
        let lock = lock(dir)?;
        let slots = meta.segment_records;
        let last = (0..)
            .take_while(|n| dir.join(segment_name(*n)).exists())
            .last()
            .ok_or_else(|| JournalError::Format {
                path: dir.to_path_buf(),
                what: "no segment files".into(),
            })?;
        let seg = Segment::open(dir, last, slots, meta.id)?;
        let mut i = 0;
        while i < slots {
            match seg.slot(i).read(last * slots + i) {
                Found::Record(_) => i += 1,
                _ => break,
            }
        }
        let mut torn = 0;
        for k in i..slots {
            if seg.slot(k).is_marked() {
                torn += 1;
                // This process holds the journal's lock, so it is the only writer.
                seg.slot(k).clear();
            }
        }
        let next = last * slots + i;
        let mut ahead = Ahead::start(dir.to_path_buf(), slots, meta.id);
        ahead.ask(last + 1);
        Ok(Writer {
            ahead,
            meta,
            seg,
            next,
            sync,
            last_sync: Instant::now(),
            dirty: false,
            _lock: lock,
            recovered: Recovery {
                records: next,
                torn,
            },
        })
    }

    /// The journal's description.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// Records written in all (the index the next one gets).
    pub fn records(&self) -> u64 {
        self.next
    }

    /// Appends a datapoint and commits it; returns its index.
    pub fn append(&mut self, dp: &Datapoint) -> Result<u64, JournalError> {
        let slots = self.seg.slots();
        let mut at = self.next - self.seg.number * slots;
        if at == slots {
            if self.sync == SyncPolicy::Segment {
                self.seg.sync()?;
            }
            let number = self.seg.number + 1;
            self.seg = self.ahead.take(number)?;
            self.ahead.ask(number + 1);
            at = 0;
        }
        // `Writer` holds the journal's lock, so this is the only writer, and `at` is past every committed
        // slot.
        self.seg.slot(at).write_words(self.next, &encode_words(dp));
        self.next += 1;
        self.dirty = true;
        self.maybe_sync()?;
        Ok(self.next - 1)
    }

    /// Under `SyncPolicy::Every`, syncs when the interval has passed; call it when idle too.
    pub fn maybe_sync(&mut self) -> Result<(), JournalError> {
        if let SyncPolicy::Every(d) = self.sync {
            if self.dirty && self.last_sync.elapsed() >= d {
                self.seg.sync()?;
                self.last_sync = Instant::now();
                self.dirty = false;
            }
        }
        Ok(())
    }

    /// Syncs everything written (under any policy but `Never`) and closes.
    pub fn close(self) -> Result<u64, JournalError> {
        if self.sync != SyncPolicy::Never {
            self.seg.sync()?;
        }
        Ok(self.next)
    }
}
