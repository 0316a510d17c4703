//! The journal (DESIGN §7): a directory of memory-mapped, pre-allocated segment files holding a sequenced
//! stream of datapoints, with a `meta.json` that makes it self-describing.
//!
//! It serves three uses: recording the input of a run (`tubes run --journal DIR`) for exact replay
//! (`tubes replay DIR`), inspecting it (`tubes journal info|dump|tail`), and handing results to a trading
//! bot beside the engine (a `Journal` sink, read with [`Tailer`]). Each record is committed last-write-wins:
//! body first, then a commit marker with release ordering ([`slot`]), so no reader ever sees half a record
//! and a writer killed at any instant leaves every committed record readable.
//!
//! The layout, for readers in other languages, is in the README ("The journal's layout").

mod ahead;
mod copied;
pub mod format;
mod reader;
mod segment;
pub mod slot;
mod survey;
mod writer;

use std::path::{Path, PathBuf};

pub use format::{Meta, TubeMeta};
pub use reader::{Next, Reader, Tailer};
pub use survey::{survey, Damage, Survey};
pub use writer::{Recovery, SyncPolicy, Writer};

/// Why a journal could not be written or read. Each message says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file operation failed.
    #[error("journal: cannot {op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A new segment could not be allocated (a full disk, a file-size limit). The journal up to the
    /// previous segment is intact and opens.
    #[error("journal: cannot allocate segment {path} ({bytes} bytes): {source}; free disk space or choose a directory on another disk. Every record written so far is intact")]
    Segment {
        /// The segment file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what this build reads.
    #[error("journal: {path}: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// `create` on a directory that holds a journal.
    #[error(
        "journal: {0} already holds a journal; choose a new directory, or remove this one first"
    )]
    Exists(PathBuf),
    /// `create` on a directory that holds other files.
    #[error("journal: {0} is not empty; a new journal needs a new or empty directory")]
    NotEmpty(PathBuf),
    /// Another process is writing the journal.
    #[error("journal: {0} is being written by another process (its lock file is held); one writer at a time")]
    Busy(PathBuf),
    /// Whole records follow unreadable ones or a missing segment: not a crash's torn tail.
    #[error("journal: {path} is damaged: {first}{more}; `tubes journal info {path}` describes the damage, and `tubes replay --skip-damaged` replays around it, counting what it skips", path = .path.display(), more = if *.stretches > 1 { format!(" (and {} more damaged stretches)", .stretches - 1) } else { String::new() })]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// The first damaged stretch.
        first: Damage,
        /// How many there are.
        stretches: usize,
    },
    /// A torn record where a reader expected the next one.
    #[error("journal: {path}: record {index} is torn (the journal was damaged, e.g. by a power loss); `tubes journal info` counts such records")]
    Torn {
        /// The journal.
        path: PathBuf,
        /// The record.
        index: u64,
    },
}

impl JournalError {
    fn io(path: &Path, op: &'static str, source: std::io::Error) -> Self {
        JournalError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}
