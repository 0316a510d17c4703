//! Where a combination's rows for one output wait until the outputs take them, in combination order:
//! in memory, while the memory of every waiting part together (the chunks they hold, full or not)
//! stays within the sweep's budget; past it, in an unnamed file in the system's temporary directory.
//!
//! Memory comes in chunks of one size. A combination's writer fills a chunk in place (a part is the
//! [`Take`] of its [`Out`]), and the part keeps it whole when it is full and gives a new one; drained
//! chunks go back to the budget, for the next parts. Rows are never moved to make room for more, and
//! the memory a sweep touches is what its waiting parts hold at most, not all it writes.
//!
//! Rows held in memory are written once, straight into their chunk, and appended to the output from
//! there; rows in a file are written twice (into the part, then from it into the output) and cost a
//! file besides, which is why memory comes first.
//!
//! [`Out`]: crate::base::out::Out

use std::fs::File;
use std::io::{self, Seek, Write};

use crate::base::out::{Copying, Take};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Bytes of rows the parts of a sweep hold in memory together, at most, by default.
pub const MEMORY: usize = 256 << 20;

/// The memory the waiting parts share, and where parts past it go.
pub struct Budget {
    /// Bytes the parts may hold in memory together.
    limit: usize,
    /// Bytes they hold now.
    held: AtomicUsize,
    /// Files made so far, to name new ones (and to say how many parts went past the budget).
    made: AtomicU64,
    dir: PathBuf,
    /// Bytes in a chunk.
    chunk: usize,
    /// Chunks of parts already drained, for new parts (pages already mapped cost nothing to fill
    /// again; fresh ones fault in one by one), at most `limit / 4` bytes of them. A chunk is handed
    /// out empty, with room for `chunk` bytes; a new one is not zeroed first.
    free: Mutex<Vec<Vec<u8>>>,
}

/// Bytes in a chunk of a part's memory (less when the budget is small: see [`Budget::in_dir`]).
const CHUNK: usize = 64 << 10;

impl Budget {
    /// A budget of `limit` bytes; parts past it go to files in [`part_dir`].
    pub fn new(limit: usize) -> Arc<Budget> {
        Self::in_dir(limit, part_dir())
    }

    /// [`Self::new`], with files in `dir`.
    fn in_dir(limit: usize, dir: PathBuf) -> Arc<Budget> {
        Arc::new(Budget {
            limit,
            held: AtomicUsize::new(0),
            made: AtomicU64::new(0),
            dir,
            // A small budget (in tests) still holds a few chunks.
            chunk: (limit / 16).clamp(64, CHUNK),
            free: Mutex::new(Vec::new()),
        })
    }

    /// Takes the chunks kept for later parts (the sweep is done with them).
    pub fn take_free(&self) -> Vec<Vec<u8>> {
        std::mem::take(&mut *self.free())
    }

    fn free(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A chunk to fill, counted in the budget, if the budget has room for one: a drained part's, or
    /// a new one.
    fn chunk(&self) -> Option<Vec<u8>> {
        if !self.take(self.chunk) {
            return None;
        }
        let mut c = self.free().pop().unwrap_or_default();
        c.clear();
        c.reserve_exact(self.chunk);
        Some(c)
    }

    /// Gives a drained part's chunks back to the budget, and keeps them for later parts while there
    /// is room.
    fn give_back_chunks(&self, chunks: Vec<Vec<u8>>) {
        self.give_back(chunks.len() * self.chunk);
        let mut free = self.free();
        let room = (self.limit / 4 / self.chunk).saturating_sub(free.len());
        free.extend(chunks.into_iter().take(room));
    }

    /// Takes `n` bytes of the budget, if that many are left.
    fn take(&self, n: usize) -> bool {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            if held + n > self.limit {
                return false;
            }
            match self.held.compare_exchange_weak(
                held,
                held + n,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => held = now,
            }
        }
    }

    fn give_back(&self, n: usize) {
        self.held.fetch_sub(n, Ordering::Relaxed);
    }

    /// A failed write to a part's file, saying where such files go.
    fn file_error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!(
                "rows past the sweep's memory go to files in {}: {e} (set TMPDIR to a directory with room)",
                self.dir.display()
            ),
        )
    }

    /// How many parts went on in a file, past the budget.
    pub fn files(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// How many bytes the parts may hold in memory together.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes the parts hold in memory now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// A new file for a part, unnamed (removed as soon as it is made), so nothing is left behind
    /// whatever happens to the run.
    fn file(&self) -> io::Result<File> {
        let n = self.made.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir
            .join(format!(".tubes-sweep-{}-{n}", std::process::id()));
        let err = |e: io::Error| {
            let hint = if e.raw_os_error() == Some(24) {
                " (a sweep keeps every output file open, and a file for each part past its memory: raise the limit with ulimit -n, or write fewer files)"
            } else {
                ""
            };
            io::Error::new(e.kind(), format!("{}: {e}{hint}", path.display()))
        };
        let f = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(err)?;
        std::fs::remove_file(&path).map_err(err)?;
        Ok(f)
    }
}

/// Where parts past the memory budget go: the system's temporary directory (`$TMPDIR` when set, else
/// `/tmp`). Not `/dev/shm`: that is memory too, and the files are there to keep memory bounded.
fn part_dir() -> PathBuf {
    std::env::temp_dir()
}

/// What a part holds: rows in memory, in chunks (each as long as the rows it holds, and counted in the
/// budget whole, full or not); or a file.
enum Held {
    Memory(Vec<Vec<u8>>),
    File(Copying<File>),
}

/// One combination's rows for one output: what the combination's writer hands its chunks to (see
/// [`Take`]), and what the outputs take once the combination is done. Clones share the rows.
#[derive(Clone)]
pub struct Part {
    held: Arc<Mutex<Held>>,
    budget: Arc<Budget>,
}

impl Part {
    /// An empty part, in memory until `budget` runs out.
    pub fn new(budget: &Arc<Budget>) -> Part {
        Part {
            held: Arc::new(Mutex::new(Held::Memory(Vec::new()))),
            budget: Arc::clone(budget),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether its rows went to a file.
    #[cfg(test)]
    fn in_file(&self) -> bool {
        matches!(*self.lock(), Held::File(_))
    }

    /// Hands the rows to `take`, from the first: in memory, or in a file to read from its start;
    /// then gives its memory back to the budget. Returns what `take` returned.
    pub fn drain<T>(&self, take: impl FnOnce(Rows<'_>) -> io::Result<T>) -> io::Result<T> {
        let mut held = self.lock();
        match &mut *held {
            Held::Memory(chunks) => {
                let r = take(Rows::Memory(chunks));
                self.budget.give_back_chunks(std::mem::take(chunks));
                r
            }
            Held::File(f) => {
                f.get_mut().rewind()?;
                take(Rows::File(f.get_mut()))
            }
        }
    }
}

/// A part's rows, as [`Part::drain`] hands them over.
pub enum Rows<'a> {
    /// Every byte, in memory, in chunks.
    Memory(&'a [Vec<u8>]),
    /// A file to read to its end.
    File(&'a mut File),
}

impl Rows<'_> {
    /// Writes them all into `w`; returns how many bytes that was. From a file into a `File` the kernel
    /// copies (`copy_file_range`); a sweep's file output takes a part in a file through a buffer
    /// instead (see `sweep::pieces`), as it takes it in pieces.
    pub fn write_to<W: Write>(self, w: &mut W) -> io::Result<u64> {
        match self {
            Rows::Memory(chunks) => {
                chunks.iter().try_for_each(|c| w.write_all(c))?;
                Ok(chunks.iter().map(|c| c.len() as u64).sum())
            }
            Rows::File(f) => io::copy(f, w),
        }
    }
}

/// Rows in memory read from the first chunk to the last.
pub struct ChunkReader<'a> {
    chunks: &'a [Vec<u8>],
    /// Bytes of the first chunk already read.
    at: usize,
}

impl<'a> ChunkReader<'a> {
    /// Reads `chunks` from the start.
    pub fn new(chunks: &'a [Vec<u8>]) -> Self {
        ChunkReader { chunks, at: 0 }
    }
}

impl io::Read for ChunkReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some((first, rest)) = self.chunks.split_first() {
            let left = &first[self.at..];
            if left.is_empty() {
                (self.chunks, self.at) = (rest, 0);
                continue;
            }
            let n = left.len().min(buf.len());
            buf[..n].copy_from_slice(&left[..n]);
            self.at += n;
            return Ok(n);
        }
        Ok(0)
    }
}

/// Bytes of the buffer a part past the budget writes its file through (not counted in the budget).
const FILE_BUFFER: usize = 8 << 10;

impl Take for Part {
    fn take(&mut self, full: Vec<u8>) -> io::Result<Vec<u8>> {
        let Part { held, budget } = self;
        let mut held = held.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *held {
            // A chunk with nothing in it: a piece larger than a chunk, which the writer refuses.
            Held::Memory(_) if full.is_empty() && full.capacity() > 0 => Ok(full),
            Held::Memory(chunks) => {
                if !full.is_empty() {
                    chunks.push(full);
                }
                if let Some(next) = budget.chunk() {
                    return Ok(next);
                }
                // Past the budget: this part's rows so far, and all it gets from now on, go to a
                // file.
                let mut f = budget.file()?;
                for c in chunks.iter() {
                    f.write_all(c).map_err(|e| budget.file_error(e))?;
                }
                budget.give_back_chunks(std::mem::take(chunks));
                *held = Held::File(Copying::new(f, FILE_BUFFER));
                Ok(Vec::with_capacity(FILE_BUFFER))
            }
            Held::File(f) => f.take(full).map_err(|e| budget.file_error(e)),
        }
    }

    /// Keeps rows in memory where they are: the outputs read a part only once its combination is
    /// done, and a writer that flushes every row (a table on a terminal) would otherwise take a
    /// chunk a row.
    fn flush(&mut self, last: Vec<u8>) -> io::Result<Vec<u8>> {
        match &mut *self.lock() {
            Held::Memory(_) => Ok(last),
            Held::File(f) => f.flush(last).map_err(|e| self.budget.file_error(e)),
        }
    }

    fn finish(&mut self, last: Vec<u8>) -> io::Result<()> {
        let mut held = self.lock();
        match &mut *held {
            Held::Memory(chunks) if !last.is_empty() => {
                chunks.push(last);
                Ok(())
            }
            Held::Memory(_) => {
                drop(held);
                // An empty chunk from the budget goes back to it.
                if last.capacity() > 0 {
                    self.budget.give_back_chunks(vec![last]);
                }
                Ok(())
            }
            Held::File(f) => f.finish(last).map_err(|e| self.budget.file_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::out::Out;
    use std::io::Read;

    fn drained(p: &Part) -> Vec<u8> {
        p.drain(|rows| match rows {
            Rows::Memory(chunks) => {
                // Read back in odd-sized pieces, across the chunks' ends.
                let mut out = Vec::new();
                let mut r = ChunkReader::new(chunks);
                let mut buf = [0u8; 7];
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 {
                        break Ok(out);
                    }
                    out.extend_from_slice(&buf[..n]);
                }
            }
            Rows::File(f) => {
                let mut out = Vec::new();
                f.read_to_end(&mut out).map(|_| out)
            }
        })
        .unwrap()
    }

    /// `n` bytes counting up from `from`, so that a byte out of place shows.
    fn bytes(from: u8, n: usize) -> Vec<u8> {
        (0..n).map(|i| from.wrapping_add(i as u8)).collect()
    }

    /// A writer into `p`, as a combination's sink has.
    fn out(p: &Part) -> Out {
        Out::new(Box::new(p.clone()))
    }

    #[test]
    fn parts_hold_whole_chunks_within_the_budget_and_give_them_back_when_drained() {
        let budget = Budget::new(1024);
        assert_eq!(budget.chunk, 64);
        let (a, b) = (Part::new(&budget), Part::new(&budget));
        let (mut wa, mut wb) = (out(&a), out(&b));
        assert_eq!(budget.held(), 0, "an empty part holds nothing");
        wa.write_all(&bytes(0, 100)).unwrap();
        wb.write_all(&bytes(100, 40)).unwrap();
        // 100 bytes take two chunks, 40 one: whole chunks count, full or not.
        assert_eq!(budget.held(), 3 * 64);
        wb.write_all(&bytes(140, 24)).unwrap();
        assert_eq!(budget.held(), 3 * 64, "64 bytes fill one chunk exactly");
        wb.write_all(&[7]).unwrap();
        assert_eq!(budget.held(), 4 * 64);
        drop((wa, wb));
        assert!(!a.in_file() && !b.in_file());
        assert_eq!(drained(&a), bytes(0, 100));
        assert_eq!(budget.held(), 2 * 64);
        let mut want = bytes(100, 64);
        want.push(7);
        assert_eq!(drained(&b), want);
        assert_eq!(budget.held(), 0);
        // Drained chunks wait for later parts (up to a quarter of the budget), and are written over.
        assert_eq!(budget.free().len(), 4);
        let c = Part::new(&budget);
        let mut wc = out(&c);
        wc.write_all(&bytes(9, 130)).unwrap();
        assert_eq!((budget.free().len(), budget.held()), (1, 3 * 64));
        drop(wc);
        assert_eq!(drained(&c), bytes(9, 130));
    }

    #[test]
    fn a_part_past_the_budget_moves_to_a_file_with_every_byte_in_order() {
        let budget = Budget::new(256);
        assert_eq!(budget.chunk, 64);
        let (a, b) = (Part::new(&budget), Part::new(&budget));
        let (mut wa, mut wb) = (out(&a), out(&b));
        wa.write_all(&bytes(0, 150)).unwrap();
        wb.write_all(&bytes(150, 60)).unwrap();
        assert_eq!(budget.held(), 256);
        // b's chunk has room for 4 more bytes: the rest of this write needs a chunk the budget does
        // not have, so b's rows so far and all that follows go to a file.
        wb.write_all(&bytes(210, 20)).unwrap();
        wb.write_all(&bytes(230, 5)).unwrap();
        drop(wb);
        assert!(b.in_file() && !a.in_file());
        assert_eq!((budget.held(), budget.files()), (3 * 64, 1));
        assert_eq!(drained(&b), bytes(150, 85));
        drop(wa);
        assert_eq!(drained(&a), bytes(0, 150));
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_part_that_cannot_move_to_a_file_says_where_it_tried_and_keeps_what_it_took() {
        let dir = std::env::temp_dir().join(format!("tubes-no-such-dir-{}", std::process::id()));
        let budget = Budget::in_dir(100, dir.clone());
        let a = Part::new(&budget);
        let mut w = out(&a);
        let e = w.write_all(&bytes(0, 200)).unwrap_err().to_string();
        assert!(e.contains(&dir.display().to_string()), "{e}");
        // The budget held one chunk, of 64 bytes: those stay in the part, in memory.
        assert!(!a.in_file());
        assert_eq!(drained(&a), bytes(0, 64));
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_clone_writes_into_the_same_rows() {
        let budget = Budget::new(1 << 20);
        let a = Part::new(&budget);
        let mut w = out(&a.clone());
        w.write_all(b"x,1\n").unwrap();
        drop(w);
        assert_eq!(drained(&a), b"x,1\n");
    }

    #[test]
    fn a_writer_flushing_every_row_fills_one_chunk_and_hands_it_on_when_done() {
        let budget = Budget::new(1024);
        let a = Part::new(&budget);
        let mut w = out(&a);
        for k in 0..6 {
            w.write_all(&bytes(10 * k, 10)).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(budget.held(), 64, "one chunk, flushed six times");
        drop(w);
        assert_eq!(drained(&a), bytes(0, 60));
        // A chunk handed out and finished with nothing in it goes back to the budget.
        let mut b = Part::new(&budget);
        let chunk = b.take(Vec::new()).unwrap();
        assert_eq!((chunk.len(), chunk.capacity(), budget.held()), (0, 64, 64));
        b.finish(chunk).unwrap();
        assert_eq!(budget.held(), 0);
        assert_eq!(drained(&b), b"");
    }
}
