//! Where a combination's rows for one output wait until the outputs take them, in combination order:
//! in memory, while the memory of every waiting part together (what their vectors hold room for, not
//! only what they hold) stays within the sweep's budget; past it, in an unnamed file in the system's
//! temporary directory.
//!
//! Rows held in memory are written out once, straight from memory; rows in a file are written twice
//! (into the part, then from it into the output) and cost a file besides, which is why memory comes
//! first.

use std::fs::File;
use std::io::{self, Seek, Write};
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
    /// Memory of parts already drained, for new parts (pages already mapped cost nothing to fill
    /// again; fresh ones fault in one by one). Their capacity together stays within `limit / 4`.
    free: Mutex<(Vec<Vec<u8>>, usize)>,
}

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
            free: Mutex::new((Vec::new(), 0)),
        })
    }

    fn free(&self) -> MutexGuard<'_, (Vec<Vec<u8>>, usize)> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Memory for a new part: a drained part's, or none yet.
    fn reuse(&self) -> Vec<u8> {
        let mut free = self.free();
        let v = free.0.pop().unwrap_or_default();
        free.1 -= v.capacity();
        v
    }

    /// Keeps a drained part's memory for a later part, while there is room.
    fn keep(&self, mut v: Vec<u8>) {
        v.clear();
        let mut free = self.free();
        if free.1 + v.capacity() <= self.limit / 4 {
            free.1 += v.capacity();
            free.0.push(v);
        }
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

    /// Counts the bytes by which `capacity` (what the allocator gave) exceeds `counted`, so that
    /// what is given back is exactly what was taken.
    fn take_more(&self, capacity: usize, counted: &mut usize) {
        if capacity > *counted {
            self.held.fetch_add(capacity - *counted, Ordering::Relaxed);
            *counted = capacity;
        }
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

/// What a part holds: rows in memory, and the bytes of the budget they count for (the vector's
/// capacity, not just its length); or a file.
enum Held {
    Memory { rows: Vec<u8>, counted: usize },
    File(File),
}

/// One combination's rows for one output: a writer the combination's sink writes into, and what the
/// outputs take once the combination is done. Clones share the rows.
#[derive(Clone)]
pub struct Part {
    held: Arc<Mutex<Held>>,
    budget: Arc<Budget>,
}

impl Part {
    /// An empty part, in memory until `budget` runs out.
    pub fn new(budget: &Arc<Budget>) -> Part {
        let mut rows = budget.reuse();
        if !budget.take(rows.capacity()) {
            budget.keep(rows);
            rows = Vec::new();
        }
        let counted = rows.capacity();
        Part {
            held: Arc::new(Mutex::new(Held::Memory { rows, counted })),
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
            Held::Memory { rows, counted } => {
                let r = take(Rows::Memory(rows));
                self.budget.give_back(std::mem::take(counted));
                self.budget.keep(std::mem::take(rows));
                r
            }
            Held::File(f) => {
                f.rewind()?;
                take(Rows::File(f))
            }
        }
    }
}

/// A part's rows, as [`Part::drain`] hands them over.
pub enum Rows<'a> {
    /// Every byte, in memory.
    Memory(&'a [u8]),
    /// A file to read to its end.
    File(&'a mut File),
}

impl Rows<'_> {
    /// Writes them all into `w`; returns how many bytes that was. From a file into a file the kernel
    /// copies (`copy_file_range`): no bytes pass through here.
    pub fn write_to<W: Write>(self, w: &mut W) -> io::Result<u64> {
        match self {
            Rows::Memory(bytes) => w.write_all(bytes).map(|()| bytes.len() as u64),
            Rows::File(f) => io::copy(f, w),
        }
    }
}

impl Write for Part {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Part { held, budget } = self;
        let mut held = held.lock().unwrap_or_else(|e| e.into_inner());
        if let Held::Memory { rows, counted } = &mut *held {
            let need = rows.len() + buf.len();
            if need <= rows.capacity() {
                rows.extend_from_slice(buf);
                return Ok(buf.len());
            }
            // Room for this and as much again, counted before it is taken.
            let grow_to = need.max(2 * rows.capacity());
            if budget.take(grow_to - *counted) {
                rows.reserve_exact(grow_to - rows.len());
                *counted = grow_to;
                budget.take_more(rows.capacity(), counted);
                rows.extend_from_slice(buf);
                return Ok(buf.len());
            }
            // Past the budget: this part's rows so far, and all it gets from now on, go to a file.
            let mut f = budget.file()?;
            f.write_all(rows).map_err(|e| budget.file_error(e))?;
            budget.give_back(std::mem::take(counted));
            budget.keep(std::mem::take(rows));
            *held = Held::File(f);
        }
        match &mut *held {
            Held::File(f) => f.write(buf).map_err(|e| budget.file_error(e)),
            Held::Memory { .. } => unreachable!("a part past the budget is a file"),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut *self.lock() {
            Held::File(f) => f.flush().map_err(|e| self.budget.file_error(e)),
            Held::Memory { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn drained(p: &Part) -> Vec<u8> {
        p.drain(|rows| match rows {
            Rows::Memory(bytes) => Ok(bytes.to_vec()),
            Rows::File(f) => {
                let mut out = Vec::new();
                f.read_to_end(&mut out).map(|_| out)
            }
        })
        .unwrap()
    }

    #[test]
    fn parts_stay_in_memory_within_the_budget_and_give_it_back_when_drained() {
        let budget = Budget::new(100);
        let (mut a, mut b) = (Part::new(&budget), Part::new(&budget));
        a.write_all(&[1; 60]).unwrap();
        b.write_all(&[2; 40]).unwrap();
        assert_eq!(budget.held(), 100);
        assert!(!a.in_file() && !b.in_file());
        assert_eq!(drained(&a), vec![1; 60]);
        assert_eq!(budget.held(), 40);
        assert_eq!(drained(&b), vec![2; 40]);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_part_past_the_budget_moves_to_a_file_with_every_byte_in_order() {
        let budget = Budget::new(100);
        let (mut a, mut b) = (Part::new(&budget), Part::new(&budget));
        a.write_all(&[1; 70]).unwrap();
        b.write_all(&[2; 20]).unwrap();
        // 90 held: b's next 20 bytes do not fit, so b's 20 and all that follows go to a file.
        b.write_all(&[3; 20]).unwrap();
        b.write_all(&[4; 5]).unwrap();
        assert!(b.in_file() && !a.in_file());
        assert_eq!((budget.held(), budget.files()), (70, 1));
        let mut want = vec![2; 20];
        want.extend([3; 20]);
        want.extend([4; 5]);
        assert_eq!(drained(&b), want);
        assert_eq!(drained(&a), vec![1; 70]);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_part_counts_the_room_it_holds_not_only_its_bytes() {
        let budget = Budget::new(100);
        let mut a = Part::new(&budget);
        a.write_all(&[1; 30]).unwrap();
        a.write_all(&[2; 30]).unwrap();
        assert_eq!(budget.held(), 60);
        // 61 bytes need room for 120 (doubling), which the budget does not have: to a file.
        a.write_all(&[3; 1]).unwrap();
        assert!(a.in_file());
        assert_eq!(budget.held(), 0);
        let mut want = vec![1; 30];
        want.extend([2; 30]);
        want.push(3);
        assert_eq!(drained(&a), want);
    }

    #[test]
    fn a_part_that_cannot_move_to_a_file_says_where_it_tried() {
        let dir = std::env::temp_dir().join(format!("tubes-no-such-dir-{}", std::process::id()));
        let budget = Budget::in_dir(10, dir.clone());
        let mut a = Part::new(&budget);
        let e = a.write_all(&[1; 20]).unwrap_err().to_string();
        assert!(e.contains(&dir.display().to_string()), "{e}");
    }

    #[test]
    fn a_clone_writes_into_the_same_rows() {
        let budget = Budget::new(1 << 20);
        let a = Part::new(&budget);
        let mut w = a.clone();
        w.write_all(b"x,1\n").unwrap();
        drop(w);
        assert_eq!(drained(&a), b"x,1\n");
    }
}
