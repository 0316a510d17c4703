//! A sink kind: how one entry of a sink's `datasink:` is read and opened, and the rows it writes.

use std::error::Error;
use std::fmt::Debug;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::number::{put_f64, write_f64, Written};
use crate::base::out::Out;
use crate::base::RunError;
use crate::config::{ParamValue, Reader};
use crate::journal::Meta;

/// One finished row: its time and one cell per column (`None` when no value arrived for it).
pub struct Row<'a> {
    /// Event time of the cause (ns since the epoch).
    pub time: i64,
    /// Values, one per column.
    pub values: &'a [f64],
    /// Whether each column received a value.
    pub present: &'a [bool],
    /// What a live feed said in this row (`gap 100 trades on binance btcusdt`), for sinks with a
    /// `status` column.
    pub status: Option<&'a str>,
    /// The status datapoint behind `status`, for outputs that keep its values.
    pub status_dp: Option<&'a Datapoint>,
    /// By column: `Some` for a column whose number stands for text (a key's name, a window's start as
    /// RFC 3339), holding that text; `None` for a plain number. May be shorter than `values` (no text
    /// columns after its end).
    pub texts: &'a [Option<String>],
    /// By column: the text [`write_f64`] writes for a value, when it came worked out with the value
    /// (see [`Written`]; a text for other bits is not the value's, and is not used). May be shorter than
    /// `values`; empty but in a sweep whose units play tapes.
    ///
    /// [`write_f64`]: crate::base::number::write_f64
    pub written: &'a [Written],
}

impl Row<'_> {
    /// Writes value `v` of column `i` as [`write_f64`] does: from its text when it came with one
    /// ([`Row::written`]).
    ///
    /// [`write_f64`]: crate::base::number::write_f64
    #[inline]
    pub fn write_number(&self, i: usize, v: f64, out: &mut impl Write) -> io::Result<()> {
        match self.written.get(i).and_then(|w| w.text_of(v)) {
            Some(text) => out.write_all(text),
            None => write_f64(out, v),
        }
    }

    /// [`Row::write_number`] into an [`Out`]: a text that came with the value is copied whole.
    #[inline]
    pub fn put_number(&self, i: usize, v: f64, out: &mut Out) -> io::Result<()> {
        match self.written.get(i).and_then(|w| w.padded_text_of(v)) {
            Some((text, len)) => out.put_first(text, len),
            None => put_f64(out, v),
        }
    }

    /// The value of column `i`, when it has a finite one.
    pub fn cell(&self, i: usize) -> Option<f64> {
        (self.present[i] && self.values[i].is_finite()).then_some(self.values[i])
    }

    /// Whether column `i` holds text (see [`Row::text`]).
    pub fn is_text(&self, i: usize) -> bool {
        self.texts.get(i).is_some_and(Option::is_some)
    }

    /// The text of column `i`, when it is a text column with a value.
    pub fn text(&self, i: usize) -> Option<&str> {
        self.cell(i)?;
        self.texts.get(i)?.as_deref()
    }
}

/// The index of the column `want` names among `columns` (`<label>.<field>`): its full name, ignoring
/// case, or its field alone when only one column has that field. The error says which.
pub fn find_column(columns: &[&str], want: &str) -> Result<usize, String> {
    if let Some(i) = columns.iter().position(|c| c.eq_ignore_ascii_case(want)) {
        return Ok(i);
    }
    let by_field: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].rsplit_once('.').is_some_and(|(_, f)| f == want))
        .collect();
    match by_field.as_slice() {
        [i] => Ok(*i),
        [] => Err(format!(
            "'{want}' is none of the columns ({})",
            columns.join(", ")
        )),
        _ => Err(format!(
            "'{want}' ends several columns; name one in full ({})",
            columns.join(", ")
        )),
    }
}

/// Why a row could not be written: the output's own error, kept with its type (an `io::Error`, a
/// journal's error).
pub type WriteError = Box<dyn Error + Send + Sync>;

/// Writes rows in one format.
pub trait RowWriter: Send {
    /// Writes one row.
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError>;
    /// Flushes everything written so far.
    fn flush(&mut self) -> Result<(), WriteError>;
    /// Ends the output after its last row, at a clean end (a Parquet file writes its footer); the
    /// flush, for outputs that need no more.
    fn finish(&mut self) -> Result<(), WriteError> {
        self.flush()
    }
}

/// What a column holds, for outputs whose columns have types (a Parquet file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cell {
    /// Whole numbers: a COUNT's count, a sweep parameter whose values are all whole.
    Int,
    /// Doubles.
    Real,
    /// Text: a sweep parameter with a text value.
    Text,
}

/// One kind of sink output, registered in [`super::Kinds`].
pub trait SinkKind: Sync {
    /// Its tags in `datasink:` (`NDJSON` and `JSON` name one kind).
    fn names(&self) -> &'static [&'static str];
    /// Reads the payload (at YAML path `path`), recording every problem in `r`.
    fn parse(&self, r: &mut Reader<'_>, payload: &Value, path: &str)
        -> Option<Box<dyn SinkOutput>>;
}

/// What the engine gives an output when it opens it.
pub struct OpenSink<'a> {
    /// The sink's tube id.
    pub id: TubeId,
    /// The sink's label.
    pub label: &'a str,
    /// Column names after `timestamp`, `<label>.<field>`.
    pub columns: &'a [&'a str],
    /// What each column holds.
    pub kinds: &'a [Cell],
    /// Whether rows end with a `status` column (a live feed is upstream).
    pub with_status: bool,
    /// Describes the run for outputs that record it (a journal's `meta.json`).
    pub meta: &'a dyn Fn() -> Meta,
    /// A sweep's parameters, whose columns lead every row (empty outside a sweep).
    pub params: &'a [&'a str],
    /// What each parameter's values are, over every combination.
    pub param_kinds: &'a [Cell],
    /// This combination's value of each parameter (empty when only the header is written).
    pub values: &'a [&'a ParamValue],
    /// Whether the writer starts with a header (a sweep writes it once, before the first combination).
    pub header: bool,
    /// The run's live figures, for outputs that show them (`Visual`); `None` in a sweep.
    pub board: Option<&'a std::sync::Arc<crate::metrics::live::Board>>,
}

/// Where a sweep writes one output's bytes. The output is created once; each combination's rows are
/// then written through a writer of their own ([`SinkOutput::format`]), one after the other, in
/// combination order.
pub enum Destination {
    /// A file, created (truncated) before the first combination.
    File(File),
    /// The process's standard output.
    Stdout,
    /// Nowhere (`Discard`).
    Nowhere,
    /// An output whose bytes are not a concatenation of its parts' (a Parquet file): each part is
    /// handed to it, in combination order, to re-encode.
    Assembled(std::sync::Mutex<Box<dyn Assemble>>),
}

/// A sweep's output that takes its parts in order and re-encodes them ([`Destination::Assembled`]).
pub trait Assemble: Send {
    /// Takes the header's context (the columns and parameters) before the first part.
    fn start(&mut self, cx: &OpenSink<'_>) -> Result<(), WriteError>;
    /// Takes one part, as written by the output's [`SinkOutput::format`]; returns the bytes it read.
    fn append(&mut self, part: &mut dyn std::io::Read) -> Result<u64, WriteError>;
    /// Ends the output after the last part (before it is committed).
    fn finish(&mut self) -> Result<(), WriteError>;
}

impl Destination {
    /// A new handle on it; bytes written through any handle follow those written before.
    pub fn handle(&self) -> io::Result<Box<dyn Write + Send>> {
        Ok(match self {
            Destination::File(f) => Box::new(f.try_clone()?),
            Destination::Stdout => Box::new(io::stdout()),
            Destination::Nowhere | Destination::Assembled(_) => Box::new(io::sink()),
        })
    }
}

/// A file output written under a temporary name beside its own (`rows.csv.partial` for `rows.csv`) and
/// put in its place only when the run ends cleanly (completed, or stopped by a signal or `--duration`), so
/// the previous run's file stays whole until then, and stays whole after a run that failed or was
/// killed (which leave their rows in the `.partial` file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// Where the rows are written while the run goes on.
    pub partial: PathBuf,
    /// The output's own path.
    pub path: PathBuf,
}

impl Staged {
    /// How an output at `path` is written: through a partial file (`Some`) when `path` is a regular file
    /// or does not exist yet; in place (`None`) when it is a device such as `/dev/null`. A FIFO (which
    /// would block the run until a reader came) and a directory are refused.
    pub fn of(path: &Path) -> io::Result<Option<Staged>> {
        use std::os::unix::fs::FileTypeExt;
        let kind = match std::fs::metadata(path) {
            Ok(m) => m.file_type(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let staged = Self::beside(path);
                staged.usable()?;
                return Ok(Some(staged));
            }
            Err(e) => return Err(e),
        };
        let refuse = |why: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, why.to_string()));
        if kind.is_file() {
            let staged = Self::beside(path);
            staged.usable()?;
            Ok(Some(staged))
        } else if kind.is_dir() {
            refuse("it is a directory, not a file")
        } else if kind.is_fifo() || kind.is_socket() {
            refuse("it is a FIFO or a socket, which would hold the run until a reader came; write to Stdout and pipe it instead")
        } else {
            Ok(None)
        }
    }

    /// The names of the output at `path`: its partial file beside it (`rows.csv.partial`).
    pub fn beside(path: &Path) -> Staged {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".partial");
        Staged {
            partial: path.with_file_name(name),
            path: path.to_path_buf(),
        }
    }

    /// Whether a partial file left where this one goes can be replaced: a FIFO, a socket, a device or a
    /// directory there is refused (opening a FIFO would wait for a reader).
    fn usable(&self) -> io::Result<()> {
        use std::os::unix::fs::FileTypeExt;
        let Ok(m) = std::fs::symlink_metadata(&self.partial) else {
            return Ok(());
        };
        let kind = m.file_type();
        if kind.is_dir()
            || kind.is_fifo()
            || kind.is_socket()
            || kind.is_block_device()
            || kind.is_char_device()
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "'{}' is in the way of its partial file, and is not a file: remove it",
                    self.partial.display()
                ),
            ));
        }
        Ok(())
    }

    /// Creates (or empties) the partial file, locked for this run: a second run writing the same
    /// output at the same time is refused instead of mixing its rows in.
    pub fn create(&self) -> io::Result<File> {
        use std::os::unix::fs::MetadataExt;
        self.usable()?;
        // A link left in its place (symbolic, or a second name of another file) is unlinked, never
        // written through: its target keeps its bytes.
        if let Ok(m) = std::fs::symlink_metadata(&self.partial) {
            if m.file_type().is_symlink() || m.nlink() > 1 {
                std::fs::remove_file(&self.partial)?;
            }
        }
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.partial)?;
        if let Err(e) = f.try_lock() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "another run is writing it ({e}); wait for it to end or choose another file"
                ),
            ));
        }
        // Only a file left with rows is emptied: on ext4, emptying a file, even an empty one, has it
        // written to disk when it is closed (as a file truncated and rewritten in place), and closing
        // a sweep's 100 MB output then took 32 ms after the run. A new file needs no emptying.
        if f.metadata()?.len() > 0 {
            f.set_len(0)?;
        }
        Ok(f)
    }
}

impl Staged {
    /// After the swap: removes the previous output, now under the partial name, while that name is
    /// still its (a run starting on the same output may have put its own partial file there, if the
    /// previous output had a second name). The output is this run's already, so a failure to remove
    /// is said, and is not the run's.
    fn remove_previous(&self, previous: &File) {
        use std::os::unix::fs::MetadataExt;
        let there = std::fs::symlink_metadata(&self.partial);
        let same = (previous.metadata().ok().zip(there.ok()))
            .is_some_and(|(was, is)| (was.dev(), was.ino()) == (is.dev(), is.ino()));
        if !same {
            return;
        }
        if let Err(e) = std::fs::remove_file(&self.partial) {
            eprintln!(
                "warning: {} holds this run's rows; the file it replaced, now {}, could not be removed: {e}",
                self.path.display(),
                self.partial.display()
            );
        }
    }

    /// The previous output, opened and locked, when it is a regular file the commit may swap out.
    fn previous(&self) -> Option<File> {
        let m = std::fs::symlink_metadata(&self.path).ok()?;
        if !m.file_type().is_file() {
            return None;
        }
        let f = File::open(&self.path).ok()?;
        f.try_lock().ok()?;
        Some(f)
    }
}

impl Commit for Staged {
    /// Makes the partial file the output in one step within one directory: whoever opens `NAME` finds
    /// the previous file or the new one. A previous regular file is swapped with the partial file and
    /// then removed, not renamed over: ext4 starts writing a file renamed over another to disk before
    /// the rename returns (tens of milliseconds for a sweep's 100 MB), which a swap does not ask. The
    /// previous file stays locked while it has the partial file's name, so a run that starts on the
    /// same output just then is refused, as while this one wrote.
    fn commit(&self) -> Result<(), WriteError> {
        if let Some(previous) = self.previous() {
            if crate::base::files::exchange(&self.partial, &self.path)? {
                self.remove_previous(&previous);
                return Ok(());
            }
        }
        Ok(std::fs::rename(&self.partial, &self.path)?)
    }

    fn discard(&self) {
        // Only a partial file no other run holds: a run refused because another writes the same output
        // must not remove that run's rows.
        // The file is removed while this run holds its lock, so no other run can take it between.
        let Ok(f) = std::fs::OpenOptions::new().write(true).open(&self.partial) else {
            return;
        };
        if f.try_lock().is_ok() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }

    fn left(&self) -> Option<String> {
        // Not a partial file another run holds (this run may have been refused because of it).
        let ours = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.partial)
            .is_ok_and(|f| f.try_lock().is_ok());
        ours.then(|| {
            format!(
                "{} was not replaced; the rows this run wrote are in {}",
                self.path.display(),
                self.partial.display()
            )
        })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn partial(&self) -> Option<PathBuf> {
        Some(self.partial.clone())
    }
}

/// How an output written under a temporary name (a `.partial` file, a `__partial` table) becomes the
/// output, once the whole run has ended cleanly; until then the previous run's output stays whole.
pub trait Commit: Debug + Send + Sync {
    /// Makes what this run wrote the output.
    fn commit(&self) -> Result<(), WriteError>;
    /// Removes what a run that never started made.
    fn discard(&self);
    /// After a run that failed: where the rows it wrote are, if it wrote any.
    fn left(&self) -> Option<String>;
    /// How errors name the output.
    fn target(&self) -> String;
    /// The file its rows go to until the run ends, when that is a file.
    fn partial(&self) -> Option<PathBuf> {
        None
    }
}

/// A sink output of a checked config.
pub trait SinkOutput: Debug + Send + Sync {
    /// How errors name it: `stdout` or its path.
    fn target(&self) -> String;
    /// The file or directory it writes, if any, so that it may not be an input of the same run.
    fn writes(&self) -> Option<&Path> {
        None
    }
    /// Whether it is the process's stdout, which may be closed by its reader (`| head`) without failing
    /// the run.
    fn is_stdout(&self) -> bool {
        false
    }
    /// Whether it takes the terminal over while the run goes on (`Visual`), so nothing else may draw
    /// on it (the progress bar).
    fn takes_terminal(&self) -> bool {
        false
    }
    /// When it writes under a temporary name ([`Staged`] for a file), how that becomes the output: the
    /// engine commits it only after a clean end. Asked before and after opening.
    fn staged(&self) -> Option<Box<dyn Commit>> {
        None
    }
    /// What makes it unable to take rows of these columns, found when the config is checked (a
    /// directory where a file would be written, more columns than a journal record holds), so that
    /// `tubes check` reports it at the output's line.
    fn check(&self, columns: &[&str]) -> Result<(), String> {
        let _ = columns;
        Ok(())
    }
    /// Whether it can take the sink's rows (a Journal output holds at most 12 columns). Called for every
    /// output of a sink before any is opened, so a refusal leaves no half-made outputs behind.
    fn accepts(&self, cx: &OpenSink<'_>) -> Result<(), RunError> {
        let _ = cx;
        Ok(())
    }
    /// Opens it (creating files, writing headers) before the run; `None` for an output that writes
    /// nothing.
    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError>;
    /// Whether a sweep can write it ([`SinkOutput::destination`] and [`SinkOutput::format`]); a
    /// journal's records, for one, have no room for parameter columns.
    fn can_sweep(&self) -> bool {
        false
    }
    /// Whether each of its columns holds one type (Parquet, SQLite, Postgres): then combinations of a sweep that
    /// write it must agree on which columns hold text. Asked when the sweep is checked.
    fn typed_columns(&self) -> bool {
        false
    }
    /// For a sweep: creates the output once. `None` when it cannot take a sweep's rows.
    fn destination(&self) -> Option<Result<Destination, RunError>> {
        None
    }
    /// For a sweep: a writer of rows in this output's format into `out`, with a header when
    /// `cx.header`, every row led by `cx.values`. Called only when [`SinkOutput::destination`] gave one.
    fn format(&self, out: Out, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
        let _ = (out, cx);
        Err(RunError::Input(format!(
            "{} cannot be written by a sweep",
            self.target()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Writes `rows` through a staged output at `path`, and commits it.
    fn write_and_commit(path: &Path, rows: &[u8]) {
        let staged = Staged::beside(path);
        staged.create().unwrap().write_all(rows).unwrap();
        staged.commit().unwrap();
        assert!(!staged.partial.exists(), "no partial file is left");
    }

    #[test]
    fn a_commit_replaces_the_previous_output_whole_and_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        // No previous output.
        write_and_commit(&path, b"first\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"first\n");
        // A reader that opened the previous output keeps reading it whole.
        let mut reader = File::open(&path).unwrap();
        write_and_commit(&path, b"second\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"second\n");
        let mut seen = String::new();
        reader.read_to_string(&mut seen).unwrap();
        assert_eq!(seen, "first\n");
        // The previous file is gone: only the output is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn rows_left_in_a_partial_file_by_a_failed_run_are_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.csv");
        std::fs::write(Staged::beside(&path).partial, b"a failed run's many rows\n").unwrap();
        write_and_commit(&path, b"new\n");
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    }

    #[test]
    fn a_symbolic_link_in_the_outputs_place_is_replaced_and_its_target_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (path, target) = (dir.path().join("rows.csv"), dir.path().join("kept.csv"));
        std::fs::write(&target, b"kept\n").unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        write_and_commit(&path, b"new\n");
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_file());
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        assert_eq!(std::fs::read(&target).unwrap(), b"kept\n");
    }
}
