//! What a CSV file looks like: its header, time column, fields and row order, read before the run
//! ([`inspect`]), and the cell and line helpers the run loop shares.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::CsvSource;
use crate::base::datapoint::MAX_FIELDS;
use crate::base::time::parse_timestamp;
use crate::config::closest;

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
    /// By exposed field: whether it holds text (read as a key: see [`crate::base::keys`]).
    pub keys: Vec<bool>,
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

/// Bytes read from the start of a file to find its header and first row.
const HEAD: u64 = 1 << 20;
/// Bytes read from the end of a file to find its last row.
const TAIL: u64 = 1 << 16;

/// The length of the regular file at `path`. A FIFO, a device or a directory is refused: tubes reads
/// an input whole, and would wait forever on a FIFO without a writer or read a device without end.
pub(super) fn regular_file(path: &Path) -> io::Result<(File, u64)> {
    use std::os::unix::fs::FileTypeExt;
    let kind = std::fs::metadata(path)?.file_type();
    let what = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        return Ok((file, len));
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("it is {what}, not a regular file; copy the data into a file first"),
    ))
}

/// The first [`HEAD`] bytes of a file, cut after their last whole line when the file goes on, and its
/// last [`TAIL`] bytes with their offset; read, not mapped, so a file that changes meanwhile cannot
/// fault the process.
struct Ends {
    head: Vec<u8>,
    tail: Vec<u8>,
    tail_at: u64,
    len: u64,
}

fn read_ends(path: &Path) -> io::Result<Ends> {
    let (mut file, len) = regular_file(path)?;
    let mut head = Vec::new();
    (&mut file).take(HEAD).read_to_end(&mut head)?;
    if (head.len() as u64) < len {
        let Some(end) = memchr::memrchr(b'\n', &head) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "its first {} KiB hold no line break: lines must end with \\n (or \\r\\n)",
                    HEAD >> 10
                ),
            ));
        };
        head.truncate(end + 1);
    }
    let tail_at = len.saturating_sub(TAIL);
    file.seek(SeekFrom::Start(tail_at))?;
    let mut tail = Vec::new();
    file.take(TAIL).read_to_end(&mut tail)?;
    Ok(Ends {
        head,
        tail,
        tail_at,
        len,
    })
}

pub(super) fn unquote(cell: &[u8]) -> &[u8] {
    let c = cell.trim_ascii();
    c.strip_prefix(b"\"")
        .and_then(|t| t.strip_suffix(b"\""))
        .unwrap_or(c)
}

pub(super) fn parse_number(cell: &[u8]) -> Option<f64> {
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

pub(super) fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Lines of `data` from `start` as (1-based line number, byte offset, text).
pub(super) fn lines_from(
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

/// The column holding the time: the configured one, or the first of [`TIME_COLUMNS`] found, or an
/// unnamed first column.
fn time_column(names: &[String], src: &CsvSource, shown: &str) -> Result<usize, InspectError> {
    match &src.time_column {
        Some(t) => match names.iter().position(|n| n == t) {
            Some(i) => Ok(i),
            None => {
                let help = match closest(t, names.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean '{c}'? columns: {}", names.join(", ")),
                    None => format!("columns: {}", names.join(", ")),
                };
                fail(format!("'{shown}' has no column '{t}'"), Some(&help))
            }
        },
        None => {
            let found = TIME_COLUMNS
                .iter()
                .find_map(|want| names.iter().position(|n| n.eq_ignore_ascii_case(want)));
            match found {
                Some(i) => Ok(i),
                None if names[0].is_empty() => Ok(0),
                None => fail(
                    format!(
                        "'{shown}' has no time column (looked for {})",
                        TIME_COLUMNS.join(", ")
                    ),
                    Some("name it with time_column: <column>"),
                ),
            }
        }
    }
}

/// The columns exposed as fields, in slot order: the configured ones, or every column of the first
/// row but the time (text columns only while the fields fit in a datapoint).
fn exposed_fields(
    names: &[String],
    cells: &[&[u8]],
    time_col: usize,
    src: &CsvSource,
    shown: &str,
) -> Result<Vec<(usize, String)>, InspectError> {
    match &src.fields {
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
            Ok(out)
        }
        None => {
            let all = (0..names.len()).filter(|&i| i != time_col);
            let numeric = all.clone().filter(|&i| parse_number(cells[i]).is_some());
            let chosen: Vec<usize> = if all.clone().count() <= MAX_FIELDS {
                all.collect()
            } else {
                numeric.collect()
            };
            Ok(chosen.into_iter().map(|i| (i, names[i].clone())).collect())
        }
    }
}

/// The head and tail of the CSV file at `path` (shown in messages as `shown`).
fn ends_of(path: &Path, shown: &str) -> Result<Ends, InspectError> {
    match read_ends(path) {
        Ok(m) => Ok(m),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData
            ) =>
        {
            fail(format!("cannot read '{shown}': {e}"), None)
        }
        Err(e) => {
            let cwd = std::env::current_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            fail(
                format!("cannot read '{shown}': {e}"),
                Some(&format!(
                    "relative paths resolve against the directory tubes runs in ({cwd})"
                )),
            )
        }
    }
}

/// Whether a column whose first cell is `cell` holds text: something that is not a number (an empty
/// cell says nothing: a numeric column may start without a value).
fn is_text(cell: &[u8]) -> bool {
    !unquote(cell).trim_ascii().is_empty() && parse_number(cell).is_none()
}

/// Reads the header and the first and last rows: time column, fields, order. Used by `tubes check`.
pub fn inspect(path: &Path, src: &CsvSource) -> Result<CsvLayout, InspectError> {
    let shown = path.display().to_string();
    let ends = ends_of(path, &shown)?;
    let data: &[u8] = &ends.head;
    if memchr::memchr(b'\r', data).is_some() && memchr::memchr(b'\n', data).is_none() {
        return fail(
            format!(
                "'{shown}' ends its lines with a lone CR (\\r): lines must end with \\n or \\r\\n"
            ),
            Some("convert the line ends, e.g. tr '\\r' '\\n'"),
        );
    }
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
    let mut names: Vec<String> = header
        .2
        .split(|&b| b == b',')
        .map(|c| String::from_utf8_lossy(unquote(c)).into_owned())
        .collect();
    // A byte-order mark (spreadsheets write one) is not part of the first column's name.
    if let Some(first) = names.first_mut() {
        if let Some(rest) = first.strip_prefix('\u{feff}') {
            *first = String::from_utf8_lossy(unquote(rest.as_bytes())).into_owned();
        }
    }
    let time_col = time_column(&names, src, &shown)?;
    let Some((first_line, first_off, first)) = lines.next() else {
        if ends.len > data.len() as u64 {
            return fail(
                format!(
                    "'{shown}' has no whole data row in its first {} KiB",
                    HEAD >> 10
                ),
                Some("is a line that long? rows must be lines of cells"),
            );
        }
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
    let fields = exposed_fields(&names, &cells, time_col, src, &shown)?;
    // Two columns with one name: which one a field means would be a guess.
    for (col, name) in &fields {
        if let Some(other) = names
            .iter()
            .enumerate()
            .position(|(i, n)| n == name && i != *col)
        {
            let (a, b) = (*col.min(&other) + 1, *col.max(&other) + 1);
            return fail(
                format!("'{shown}' has two columns named '{name}' (columns {a} and {b})"),
                Some("rename one of them in the header"),
            );
        }
    }
    let keys = fields.iter().map(|&(col, _)| is_text(cells[col])).collect();
    if fields.len() > MAX_FIELDS {
        return fail(
            format!(
                "'{shown}' has {} numeric columns; a datapoint carries at most {MAX_FIELDS}",
                fields.len()
            ),
            Some("choose the columns you need with fields: [a, b, ...]"),
        );
    }
    // The last non-empty row decides the order (a last row longer than the tail read decides nothing).
    let tail = ends.tail.trim_ascii_end();
    let last_start = memchr::memrchr(b'\n', tail)
        .map(|i| i + 1)
        .or((ends.tail_at == 0).then_some(0))
        .unwrap_or(tail.len());
    let last = trim_line(&tail[last_start..]);
    let last_start = ends.tail_at as usize + last_start;
    let t_last = last
        .split(|&b| b == b',')
        .nth(time_col)
        .and_then(parse_timestamp)
        .unwrap_or(t_first);
    Ok(CsvLayout {
        time_col,
        ncols: names.len(),
        fields,
        keys,
        data_start: first_off,
        first_data_line: first_line,
        descending: last_start > first_off && t_last < t_first,
        bytes: ends.len,
    })
}
