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
#[derive(Debug, Clone)]
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
        c => simple_decimal(c).or_else(|| {
            std::str::from_utf8(c)
                .ok()?
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
        }),
    }
}

/// Powers of ten that a double holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A plain decimal (`123`, `-0.5`, `4.25000000`) whose digits, read as one integer, are at most 2⁵³,
/// with at most 22 of them after the point. That integer and the power of ten are both exact doubles,
/// so one correctly rounded division gives the double nearest the decimal, as `str::parse` does
/// (Clinger's fast path). Anything else is `None`, and the caller takes the general parser.
fn simple_decimal(c: &[u8]) -> Option<f64> {
    let (neg, body) = match c.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, c),
    };
    if body.is_empty() || body.len() > 19 {
        return None;
    }
    let (mut mant, mut digits, mut point) = (0u64, 0usize, None);
    for (i, &b) in body.iter().enumerate() {
        match b {
            b'0'..=b'9' => {
                mant = mant * 10 + u64::from(b - b'0');
                digits += 1;
            }
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    let after = point.map_or(0, |p| body.len() - p - 1);
    if digits == 0 || mant > 1 << 53 || after >= EXACT_POW10.len() {
        return None;
    }
    let v = mant as f64 / EXACT_POW10[after];
    Some(if neg { -v } else { v })
}

pub(super) fn trim_line(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The cells of a line, split at every comma, as `line.split(|&b| b == b',')` gives them, but found
/// eight bytes at a time.
pub(super) fn cells(line: &[u8]) -> Cells<'_> {
    Cells {
        line,
        start: 0,
        scanned: 0,
        base: 0,
        commas: 0,
    }
}

/// See [`cells`].
pub(super) struct Cells<'a> {
    line: &'a [u8],
    /// Where the next cell starts (past the end once the last cell is out).
    start: usize,
    /// Bytes looked at for commas so far.
    scanned: usize,
    /// Offset of the eight bytes `commas` marks.
    base: usize,
    /// A high bit in each byte of those eight that is a comma not yet handed out.
    commas: u64,
}

/// A high bit in each byte of `word` that is a comma, and in no other (exact: no carry between bytes).
fn comma_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ 0x2c2c_2c2c_2c2c_2c2c;
    !((x & LOW7).wrapping_add(LOW7) | x | LOW7)
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let len = self.line.len();
        loop {
            if self.commas != 0 {
                let end = self.base + (self.commas.trailing_zeros() / 8) as usize;
                self.commas &= self.commas - 1;
                let cell = &self.line[self.start..end];
                self.start = end + 1;
                return Some(cell);
            }
            if let Some(eight) = self.line.get(self.scanned..self.scanned + 8) {
                let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
                (self.base, self.scanned) = (self.scanned, self.scanned + 8);
                self.commas = comma_bytes(word);
                continue;
            }
            if self.scanned < len {
                // The last few bytes, padded with zeros (which are not commas).
                let word = (self.line[self.scanned..].iter().rev())
                    .fold(0u64, |w, &b| (w << 8) | u64::from(b));
                (self.base, self.scanned) = (self.scanned, len);
                self.commas = comma_bytes(word);
                continue;
            }
            if self.start > len {
                return None;
            }
            let cell = &self.line[self.start..];
            self.start = len + 1;
            return Some(cell);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::{cells, parse_number, simple_decimal};

    #[test]
    fn cells_split_as_the_standard_split_does() {
        let mut lines: Vec<Vec<u8>> = [
            "",
            ",",
            ",,",
            "a",
            "a,",
            ",a",
            "a,b",
            "-1,-2,,x",
            "12345678,9",
        ]
        .iter()
        .map(|l| l.as_bytes().to_vec())
        .collect();
        // Every mix of commas and other bytes (a dash and the bytes around a comma's value among them)
        // over lengths that end inside, at and past an eight-byte word.
        let alphabet = [b',', b'-', b'+', b'a', 0x2d, 0xac, 0x00];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..50_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let n = (x % 27) as usize;
            lines.push(
                (0..n)
                    .map(|i| alphabet[((x >> (i * 2)) % 7) as usize])
                    .collect(),
            );
        }
        for line in std::fs::read_to_string("testdata/binance_BTCUSDT_1m.csv")
            .expect("shipped data")
            .lines()
            .take(500)
        {
            lines.push(line.as_bytes().to_vec());
        }
        for line in &lines {
            let ours: Vec<&[u8]> = cells(line).collect();
            let std: Vec<&[u8]> = line.split(|&b| b == b',').collect();
            assert_eq!(ours, std, "line {line:?}");
        }
    }

    /// The fast path must give exactly the double the standard parser gives, or step aside.
    fn agrees(cell: &str) {
        let std = cell.parse::<f64>().ok().filter(|v| v.is_finite());
        if let Some(fast) = simple_decimal(cell.as_bytes()) {
            assert_eq!(Some(fast.to_bits()), std.map(f64::to_bits), "cell {cell:?}");
        }
        // A whole cell: quotes and the spellings of true and false are read first, then as above.
        let whole = match std::str::from_utf8(super::unquote(cell.as_bytes())) {
            Ok("True" | "true" | "TRUE") => Some(1.0),
            Ok("False" | "false" | "FALSE") => Some(0.0),
            Ok(c) => c.parse::<f64>().ok().filter(|v| v.is_finite()),
            Err(_) => None,
        };
        assert_eq!(
            parse_number(cell.as_bytes()).map(f64::to_bits),
            whole.map(f64::to_bits),
            "cell {cell:?}"
        );
    }

    #[test]
    fn simple_decimals_match_the_standard_parser_on_the_shipped_data() {
        let mut cells = 0;
        for entry in std::fs::read_dir("testdata").expect("testdata/ is there") {
            let path = entry.expect("a directory entry").path();
            if path.extension().is_none_or(|e| e != "csv") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("a text file");
            for cell in text.lines().skip(1).flat_map(|l| l.split(',')) {
                agrees(cell);
                cells += 1;
            }
        }
        assert!(cells > 1_000_000, "only {cells} cells read");
    }

    #[test]
    fn simple_decimals_match_the_standard_parser_at_the_edges() {
        for cell in [
            "0",
            "-0",
            "0.0",
            "1.",
            ".5",
            "-.5",
            "-",
            ".",
            "",
            "1.2.3",
            "+1",
            "1e3",
            " 1",
            "00012.500",
            "9007199254740992",
            "9007199254740993",
            "900719925474099.3",
            "0.9007199254740993",
            "1234567890123456789",
            "12345678901234567890",
            "0.0000000000000000000001",
            "0.00000000000000000000001",
            "123.4567890000000000000",
        ] {
            agrees(cell);
        }
        // Pseudo-random digit strings with the point anywhere (a fixed xorshift, so the test repeats).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = format!("{}", x >> (x % 40));
            let at = (x >> 50) as usize % (digits.len() + 1);
            let sign = if x & 1 == 1 { "-" } else { "" };
            agrees(&format!("{sign}{}.{}", &digits[..at], &digits[at..]));
            agrees(&format!("{sign}{digits}"));
        }
    }
}
