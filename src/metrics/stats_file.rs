//! The live stats file: a running pipeline's latest [`Snapshot`] in a small memory-mapped file, which
//! `tubes top` maps read-only from another process. No socket is opened; the run never waits for a
//! reader (a sequence lock, [`SeqWords`]).
//!
//! Layout (little-endian 64-bit words; the README's "Live view" section documents it too):
//!
//! | bytes | word |
//! | --- | --- |
//! | 0..8 | magic `TUBESTAT` |
//! | 8..16 | layout version, 1 |
//! | 16..24 | the run's process id |
//! | 24..32 | sequence: odd while a snapshot is being written, even (and above 0) once one is whole |
//! | 32..40 | length of the snapshot in bytes |
//! | 40..64 | zero |
//! | 64.. | the snapshot: JSON (UTF-8), packed 8 bytes to a word |
//!
//! The file is `<pid>.stats` in the run directory ([`run_dir`]). It is rewritten about five times a
//! second, holds the last snapshot (with `"ended": true`) when the run ends, and is removed after it.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Mmap, MmapRaw};

use super::live::Snapshot;
use crate::base::seqlock::{SeqWords, Torn};

const MAGIC: &[u8; 8] = b"TUBESTAT";
const VERSION: u64 = 1;
/// The file's size: a 64-byte header and room for a snapshot of about 256 KiB.
pub const FILE_SIZE: usize = 256 * 1024 + HEADER;
const HEADER: usize = 64;
const WORDS: usize = FILE_SIZE / 8;

/// Where runs put their stats files: `$TUBES_RUN_DIR`, else `$XDG_RUNTIME_DIR/tubes`, else
/// `/tmp/tubes-<uid>`.
pub fn run_dir() -> PathBuf {
    let set = |name: &str| std::env::var_os(name).filter(|d| !d.is_empty());
    if let Some(d) = set("TUBES_RUN_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = set("XDG_RUNTIME_DIR") {
        return Path::new(&d).join("tubes");
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/tmp/tubes-{uid}"))
}

/// Refuses a run directory another user could write into (planted in `/tmp` before us): it must be
/// ours and writable by nobody else, as `XDG_RUNTIME_DIR` is.
fn owned(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir)?;
    // SAFETY: getuid has no preconditions and cannot fail.
    let me = unsafe { libc::getuid() };
    if m.uid() != me || m.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user or others may write to it",
                dir.display()
            ),
        ));
    }
    Ok(())
}

/// The words of a mapping of [`FILE_SIZE`] bytes.
///
/// # Safety
/// `ptr` must be 8-byte aligned, point at [`FILE_SIZE`] mapped bytes that stay mapped for `'a`, and
/// every access to those bytes, from any thread or process, must be atomic.
unsafe fn words<'a>(ptr: *const u8) -> &'a [AtomicU64] {
    // SAFETY: the caller guarantees alignment, size, lifetime and that all access is atomic, so the
    // bytes can be viewed as atomics (AtomicU64 has the size and alignment of u64).
    unsafe { std::slice::from_raw_parts(ptr.cast::<AtomicU64>(), WORDS) }
}

fn lock(w: &[AtomicU64]) -> SeqWords<'_, AtomicU64> {
    SeqWords::new(&w[3], &w[4], &w[HEADER / 8..])
}

/// The writing side, owned by the run.
pub struct StatsWriter {
    map: MmapRaw,
    path: PathBuf,
    bytes: Vec<u8>,
    /// The sequence last stored (this is the file's only writer).
    seq: u64,
}

impl StatsWriter {
    /// Creates `<pid>.stats` in `dir` (made if missing), replacing a file a dead run left there.
    pub fn create(dir: &Path) -> io::Result<StatsWriter> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        owned(dir)?;
        let path = dir.join(format!("{}.stats", std::process::id()));
        // A dead run's file with our process id may still be mapped by a `tubes top`: it is replaced
        // by a new file, never truncated under that reader.
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        file.set_len(FILE_SIZE as u64)?;
        let map = MmapRaw::map_raw(&file)?;
        let w = StatsWriter {
            map,
            path,
            bytes: Vec::with_capacity(FILE_SIZE),
            seq: 0,
        };
        let ws = w.words();
        ws[0].store(u64::from_le_bytes(*MAGIC), Ordering::Relaxed);
        ws[1].store(VERSION, Ordering::Relaxed);
        ws[2].store(u64::from(std::process::id()), Ordering::Relaxed);
        Ok(w)
    }

    fn words(&self) -> &[AtomicU64] {
        // SAFETY: the map is FILE_SIZE bytes (set_len above), page-aligned, lives as long as `self`, and
        // this process and every reader only touch it through these atomics.
        unsafe { words(self.map.as_ptr()) }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Publishes a snapshot. One larger than the file keeps only its run-wide figures.
    pub fn publish(&mut self, s: &Snapshot) {
        self.bytes.clear();
        if serde_json::to_writer(&mut self.bytes, s).is_err()
            || self.bytes.len() > FILE_SIZE - HEADER
        {
            let brief = Snapshot {
                generators: Vec::new(),
                sinks: Vec::new(),
                rings: Vec::new(),
                latency: Vec::new(),
                ..s.clone()
            };
            self.bytes.clear();
            let _ = serde_json::to_writer(&mut self.bytes, &brief);
        }
        let (bytes, mut seq) = (std::mem::take(&mut self.bytes), self.seq);
        lock(self.words()).publish(&mut seq, &bytes);
        (self.bytes, self.seq) = (bytes, seq);
    }
}

impl Drop for StatsWriter {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The reading side: a run's stats file mapped read-only.
pub struct StatsReader {
    map: Mmap,
    /// Its process id.
    pub pid: u32,
    bytes: Vec<u8>,
}

impl StatsReader {
    /// Maps a stats file; an error says what is wrong with it.
    pub fn open(path: &Path) -> io::Result<StatsReader> {
        let file = File::open(path)?;
        let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, why.to_string());
        if file.metadata()?.len() != FILE_SIZE as u64 {
            return Err(bad("not a tubes stats file (wrong size)"));
        }
        // SAFETY: the mapping is read-only here; the writing run only stores through atomics, which
        // is how `words` reads it (see `words`). A file truncated under us would fault; runs never
        // truncate theirs after creating it.
        let map = unsafe { Mmap::map(&file)? };
        let r = StatsReader {
            map,
            pid: 0,
            bytes: Vec::with_capacity(FILE_SIZE),
        };
        let ws = r.words();
        if ws[0].load(Ordering::Relaxed) != u64::from_le_bytes(*MAGIC) {
            return Err(bad("not a tubes stats file (no TUBESTAT magic)"));
        }
        if ws[1].load(Ordering::Relaxed) != VERSION {
            return Err(bad("a stats file of another tubes version"));
        }
        let pid = ws[2].load(Ordering::Relaxed) as u32;
        Ok(StatsReader { pid, ..r })
    }

    fn words(&self) -> &[AtomicU64] {
        // SAFETY: checked FILE_SIZE long at open, page-aligned, mapped while `self` lives, and only
        // read through atomics here; the writer only stores through atomics.
        unsafe { words(self.map.as_ptr()) }
    }

    /// The latest whole snapshot (None before the run published one). Retries a copy torn by a
    /// concurrent write a few times.
    pub fn read(&mut self) -> Option<Snapshot> {
        for _ in 0..100 {
            let mut bytes = std::mem::take(&mut self.bytes);
            let got = lock(self.words()).read(&mut bytes);
            self.bytes = bytes;
            match got {
                Ok(_) => return serde_json::from_slice(&self.bytes).ok(),
                Err(Torn::Empty) => return None,
                Err(Torn::Busy) => std::thread::yield_now(),
            }
        }
        None
    }
}

/// Whether a process is alive.
pub fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The stats files of live runs in `dir`, newest first.
pub fn live_runs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let pid: u32 = path
                .file_name()?
                .to_str()?
                .strip_suffix(".stats")?
                .parse()
                .ok()?;
            let m = e.metadata().ok()?;
            let created = m.created().or_else(|_| m.modified()).ok()?;
            alive(pid).then_some((created, path))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_snapshot_is_read_back_by_another_mapping_and_the_file_goes_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = StatsWriter::create(dir.path()).unwrap();
        let path = w.path().to_path_buf();
        let mut r = StatsReader::open(&path).unwrap();
        assert_eq!(r.pid, std::process::id());
        assert_eq!(r.read(), None);
        let s = Snapshot {
            config: "configs/x.yaml".into(),
            elapsed_ms: 42,
            ..Snapshot::default()
        };
        w.publish(&s);
        assert_eq!(r.read(), Some(s));
        assert_eq!(live_runs(dir.path()), vec![path.clone()]);
        drop(w);
        assert!(!path.exists());
    }
}
