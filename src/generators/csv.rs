//! The CSV generator: CryptoDataDownload files (optional URL banner, newest-first rows) and plain CSV with a
//! time column. The file is memory-mapped and parsed in place; rows are emitted oldest-first.
//!
//! Cells are split on commas; a cell wrapped in double quotes has them removed (quoted commas are not
//! supported). `True`/`False` read as 1/0. Times: unix s/ms/µs/ns (by magnitude), RFC 3339 or
//! `YYYY-MM-DD HH:MM:SS` (UTC).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use memmap2::Mmap;

use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::base::time::{monotonic_ns, parse_timestamp};
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, RunError};
use crate::config::{closest, CsvSource, OnError};

/// Header names tried, in order, when no `time_column` is given.
const TIME_COLUMNS: &[&str] = &[
    "unix timestamp",
    "unix",
    "timestamp",
    "time",
    "datetime",
    "date",
    "open_time",
    "ts",
];

/// What [`inspect`] learned about a file.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    /// Column holding the time.
    pub time_col: usize,
    /// Number of columns in the header.
    pub ncols: usize,
    /// Exposed fields: (column, name), in slot order.
    pub fields: Vec<(usize, String)>,
    /// Byte offset of the first data line.
    pub data_start: usize,
    /// 1-based line number of the first data line.
    pub first_data_line: usize,
    /// Rows run newest-first (emitted in reverse).
    pub descending: bool,
    /// File size in bytes.
    pub bytes: u64,
}

impl CsvLayout {
    /// Names of the exposed fields, in slot order.
    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|(_, n)| n.clone()).collect()
    }
}

/// Why a file cannot be used.
#[derive(Debug)]
pub struct InspectError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

fn fail<T>(message: String, help: Option<&str>) -> Result<T, InspectError> {
    Err(InspectError {
        message,
        help: help.map(str::to_string),
    })
}

fn map_file(path: &Path) -> Result<Mmap, std::io::Error> {
    let file = File::open(path)?;
    // SAFETY: the map is read-only and private to this process. If another process truncates the file while
    // we run, reads past the new end fault (SIGBUS); the README documents that input files must not be
    // modified during a run, which is the usual contract for memory-mapped inputs.
    unsafe { Mmap::map(&file) }
}

fn unquote(cell: &[u8]) -> &[u8] {
    let c = cell.trim_ascii();
    c.strip_prefix(b"\"")
        .and_then(|t| t.strip_suffix(b"\""))
        .unwrap_or(c)
}

fn parse_number(cell: &[u8]) -> Option<f64> {
    match unquote(cell) {
        b"True" | b"true" | b"TRUE" => Some(1.0),
        b"False" | b"false" | b"FALSE" => Some(0.0),
        c => std::str::from_utf8(c)
            .ok()?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite()),
    }
}

fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Lines of `data` from `start` as (1-based line number, byte offset, text).
fn lines_from(
    data: &[u8],
    start: usize,
    first_line: usize,
) -> impl Iterator<Item = (usize, usize, &[u8])> {
    let mut pos = start;
    let mut n = first_line;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
        let item = (n, pos, trim_line(&data[pos..end]));
        pos = end + 1;
        n += 1;
        Some(item)
    })
}

/// Reads the header and the first and last rows: time column, fields, order. Used by `tubes check`.
pub fn inspect(path: &Path, src: &CsvSource) -> Result<CsvLayout, InspectError> {
    let shown = path.display();
    let map = match map_file(path) {
        Ok(m) => m,
        Err(e) => {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            return fail(
                format!("cannot read '{shown}': {e}"),
                Some(&format!(
                    "relative paths resolve against the directory tubes runs in ({cwd})"
                )),
            );
        }
    };
    let data: &[u8] = &map;
    let mut lines = lines_from(data, 0, 1).filter(|(_, _, l)| !l.is_empty());
    let Some(mut header) = lines.next() else {
        return fail(format!("'{shown}' is empty"), None);
    };
    if !header.2.contains(&b',') {
        // A banner line such as CryptoDataDownload's URL.
        match lines.next() {
            Some(h) => header = h,
            None => return fail(format!("'{shown}' has no header row"), None),
        }
    }
    let names: Vec<String> = header
        .2
        .split(|&b| b == b',')
        .map(|c| String::from_utf8_lossy(unquote(c)).into_owned())
        .collect();
    let time_col = match &src.time_column {
        Some(t) => match names.iter().position(|n| n == t) {
            Some(i) => i,
            None => {
                let help = match closest(t, names.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean '{c}'? columns: {}", names.join(", ")),
                    None => format!("columns: {}", names.join(", ")),
                };
                return fail(format!("'{shown}' has no column '{t}'"), Some(&help));
            }
        },
        None => {
            let found = TIME_COLUMNS
                .iter()
                .find_map(|want| names.iter().position(|n| n.eq_ignore_ascii_case(want)));
            match found {
                Some(i) => i,
                None if names[0].is_empty() => 0,
                None => {
                    return fail(
                        format!(
                            "'{shown}' has no time column (looked for {})",
                            TIME_COLUMNS.join(", ")
                        ),
                        Some("name it with time_column: <column>"),
                    )
                }
            }
        }
    };
    let Some((first_line, first_off, first)) = lines.next() else {
        return fail(format!("'{shown}' has no data rows"), None);
    };
    let cells: Vec<&[u8]> = first.split(|&b| b == b',').collect();
    if cells.len() != names.len() {
        return fail(
            format!(
                "'{shown}' line {first_line}: {} columns, but the header has {}",
                cells.len(),
                names.len()
            ),
            None,
        );
    }
    let Some(t_first) = parse_timestamp(cells[time_col]) else {
        return fail(
            format!(
                "'{shown}' line {first_line}, column '{}': cannot read '{}' as a time",
                names[time_col],
                String::from_utf8_lossy(cells[time_col])
            ),
            Some("use unix s/ms/µs/ns, RFC 3339 or YYYY-MM-DD HH:MM:SS, or pick another column with time_column"),
        );
    };
    let fields: Vec<(usize, String)> = match &src.fields {
        Some(want) => {
            let mut out = Vec::new();
            for w in want {
                match names.iter().position(|n| n == w) {
                    Some(i) if i != time_col => out.push((i, w.clone())),
                    Some(_) => {
                        return fail(
                            format!("'{w}' is the time column of '{shown}'"),
                            Some("list value columns only"),
                        )
                    }
                    None => {
                        let help = match closest(w, names.iter().map(String::as_str)) {
                            Some(c) => format!("did you mean '{c}'? columns: {}", names.join(", ")),
                            None => format!("columns: {}", names.join(", ")),
                        };
                        return fail(format!("'{shown}' has no column '{w}'"), Some(&help));
                    }
                }
            }
            out
        }
        None => (0..names.len())
            .filter(|&i| i != time_col && parse_number(cells[i]).is_some())
            .map(|i| (i, names[i].clone()))
            .collect(),
    };
    if fields.len() > MAX_FIELDS {
        return fail(
            format!(
                "'{shown}' has {} numeric columns; a datapoint carries at most {MAX_FIELDS}",
                fields.len()
            ),
            Some("choose the columns you need with fields: [a, b, ...]"),
        );
    }
    // The last non-empty row decides the order.
    let tail = data[..data.len()].trim_ascii_end();
    let last_start = memchr::memrchr(b'\n', tail).map_or(0, |i| i + 1);
    let last = trim_line(&tail[last_start..]);
    let t_last = last
        .split(|&b| b == b',')
        .nth(time_col)
        .and_then(parse_timestamp)
        .unwrap_or(t_first);
    Ok(CsvLayout {
        time_col,
        ncols: names.len(),
        fields,
        data_start: first_off,
        first_data_line: first_line,
        descending: last_start > first_off && t_last < t_first,
        bytes: data.len() as u64,
    })
}

/// A CSV generator ready to run.
pub struct CsvGenerator {
    id: TubeId,
    path: PathBuf,
    map: Mmap,
    layout: CsvLayout,
    names: Vec<String>,
    on_error: OnError,
    range: Option<(i64, i64)>,
    /// Shared counters.
    pub counters: Arc<GenCounters>,
    /// Column → slot, or -1.
    slot_of: Vec<i8>,
}

enum Bad {
    Columns(usize),
    Cell(usize),
    Backwards,
}

impl CsvGenerator {
    /// Maps the file. `range` is the Batch range `[from, to)`; `used[slot]` says whether any tube reads that
    /// field: only those columns are parsed (and checked), the others stay 0.
    pub fn open(
        id: TubeId,
        src: &CsvSource,
        layout: &CsvLayout,
        range: Option<(i64, i64)>,
        used: &[bool],
    ) -> Result<Self, RunError> {
        let map = map_file(&src.path)
            .map_err(|e| RunError::Input(format!("cannot read '{}': {e}", src.path.display())))?;
        let mut slot_of = vec![-1i8; layout.ncols];
        for (slot, (col, _)) in layout.fields.iter().enumerate() {
            if used.get(slot).copied().unwrap_or(true) {
                slot_of[*col] = slot as i8;
            }
        }
        let mut names = vec![String::new(); layout.ncols];
        for (col, name) in &layout.fields {
            names[*col] = name.clone();
        }
        names[layout.time_col] = "time".into();
        Ok(CsvGenerator {
            id,
            path: src.path.clone(),
            map,
            layout: layout.clone(),
            names,
            on_error: src.on_error,
            range,
            counters: Arc::new(GenCounters::default()),
            slot_of,
        })
    }

    /// Total bytes to process.
    pub fn bytes(&self) -> u64 {
        self.layout.bytes
    }

    fn parse_row(&self, line: &[u8], dp: &mut Datapoint) -> Result<(), Bad> {
        let mut n = 0;
        let mut time = None;
        for (col, cell) in line.split(|&b| b == b',').enumerate() {
            n += 1;
            if col >= self.layout.ncols {
                continue;
            }
            if col == self.layout.time_col {
                time = Some(parse_timestamp(cell).ok_or(Bad::Cell(col))?);
            } else if self.slot_of[col] >= 0 {
                dp.values[self.slot_of[col] as usize] = parse_number(cell).ok_or(Bad::Cell(col))?;
            }
        }
        if n != self.layout.ncols {
            return Err(Bad::Columns(n));
        }
        dp.event_time = time.ok_or(Bad::Cell(self.layout.time_col))?;
        Ok(())
    }

    fn describe(&self, line_no: usize, line: &[u8], bad: Bad, prev: i64) -> String {
        let file = self.path.display();
        match bad {
            Bad::Columns(n) => format!("{file}:{line_no}: {n} columns, but the header has {}", self.layout.ncols),
            Bad::Cell(col) => {
                let cell = line.split(|&b| b == b',').nth(col).unwrap_or_default();
                let what = if col == self.layout.time_col { "a time" } else { "a number" };
                format!(
                    "{file}:{line_no}: column '{}': cannot read '{}' as {what}",
                    self.names[col],
                    String::from_utf8_lossy(cell)
                )
            }
            Bad::Backwards => format!(
                "{file}:{line_no}: time goes backwards (this row is older than the previous one, {})",
                crate::base::time::rfc3339(prev)
            ),
        }
    }

    /// Parses every row and pushes it to the sequencer, oldest first.
    pub fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let data: &[u8] = &self.map;
        let start = self.layout.data_start;
        let body = &data[start..];
        let mut fwd;
        let mut bwd;
        let lines: &mut dyn Iterator<Item = (usize, usize, &[u8])> = if self.layout.descending {
            let last_line = self.layout.first_data_line + memchr::memchr_iter(b'\n', body).count();
            bwd = reverse_lines(body, last_line);
            &mut bwd
        } else {
            fwd = lines_from(body, 0, self.layout.first_data_line);
            &mut fwd
        };
        let mut template = Datapoint::new(Kind::Data, self.id, 0, 0);
        template.len = self.layout.fields.len() as u8;
        // Fields no tube reads are not parsed: NaN says "no value" (to a journal reader, for one).
        template.values = [f64::NAN; crate::base::datapoint::MAX_FIELDS];
        let mut prev = i64::MIN;
        let (mut rows, mut skipped, mut outside, mut done) = (0u64, 0u64, 0u64, 0u64);
        let mut unread = 0u64;
        while let Some((line_no, _, line)) = lines.next() {
            done += line.len() as u64 + 1;
            if line.is_empty() {
                continue;
            }
            if ctx.stop_requested() {
                // Stopped early: this row and every later one are counted as unread.
                unread = 1 + (&mut *lines).filter(|(_, _, l)| !l.is_empty()).count() as u64;
                break;
            }
            let mut dp = template;
            let mut parsed = self.parse_row(line, &mut dp);
            if parsed.is_ok() && dp.event_time < prev {
                parsed = Err(Bad::Backwards);
            }
            if let Err(bad) = parsed {
                match self.on_error {
                    OnError::Skip => {
                        skipped += 1;
                        continue;
                    }
                    OnError::Fail => {
                        let msg = self.describe(line_no, line, bad, prev);
                        return Err(RunError::Input(format!(
                            "{msg}\n  help: fix the row, or set on_error: skip on this CSV datasource to skip and count bad rows"
                        )));
                    }
                }
            }
            prev = dp.event_time;
            if let Some((from, to)) = self.range {
                if dp.event_time < from {
                    outside += 1;
                    continue;
                }
                if dp.event_time >= to {
                    // Rows are in time order: this and every later row are past the range.
                    outside += 1 + (&mut *lines).filter(|(_, _, l)| !l.is_empty()).count() as u64;
                    break;
                }
            }
            dp.ingest_time = monotonic_ns();
            out.push(dp, dp.ingest_time, ctx)?;
            rows += 1;
            if rows.is_multiple_of(64) {
                out.notify();
            }
            if rows.is_multiple_of(4096) {
                self.counters.rows.store(rows, Ordering::Relaxed);
                self.counters.bytes_done.store(done, Ordering::Relaxed);
            }
        }
        self.counters.rows.store(rows, Ordering::Relaxed);
        self.counters.skipped.store(skipped, Ordering::Relaxed);
        self.counters.outside.store(outside, Ordering::Relaxed);
        self.counters.unread.store(unread, Ordering::Relaxed);
        self.counters
            .bytes_done
            .store(self.layout.bytes, Ordering::Relaxed);
        Ok(())
    }
}

/// Lines of `body` from the last to the first, numbered downwards from `last_line`.
fn reverse_lines(body: &[u8], last_line: usize) -> impl Iterator<Item = (usize, usize, &[u8])> {
    let mut end = Some(body.len());
    let mut n = last_line;
    std::iter::from_fn(move || {
        let e = end?;
        let start = memchr::memrchr(b'\n', &body[..e]).map_or(0, |i| i + 1);
        let item = (n, start, trim_line(&body[start..e]));
        end = start.checked_sub(1);
        n = n.saturating_sub(1);
        Some(item)
    })
}
