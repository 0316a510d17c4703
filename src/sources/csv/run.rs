//! The CSV run loop: the file is memory-mapped and parsed in place; rows are emitted oldest-first.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::layout::{cells, lines_from, parse_number, trim_line, unquote, CsvLayout};
use super::{CsvSource, OnError};
use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::keys::KeyCache;
use crate::base::points::Points;
use crate::base::time::parse_timestamp;
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, Push, RunError};
use crate::plugin::SourceRun;

/// A CSV generator ready to run.
pub struct CsvGenerator {
    id: TubeId,
    path: PathBuf,
    /// The file's bytes, read when the generator starts ([`CsvGenerator::load`]): a copy, so a file
    /// truncated or rewritten while the run reads it cannot make it fault (a memory map of the file
    /// would, with SIGBUS).
    data: FileBytes,
    layout: CsvLayout,
    names: Vec<String>,
    on_error: OnError,
    range: Option<(i64, i64)>,
    /// Shared counters.
    pub counters: Arc<GenCounters>,
    /// Column → slot, or -1.
    slot_of: Vec<i8>,
    /// By column: whether it holds keys (text).
    is_key: Vec<bool>,
    /// Keys met, by their bytes.
    key_ids: std::cell::RefCell<KeyCache>,
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
        counters: Arc<GenCounters>,
    ) -> Result<Self, RunError> {
        // The file is read on the generator's own thread, when it starts: generators read in parallel.
        let data = FileBytes::default();
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
        let mut is_key = vec![false; layout.ncols];
        for ((col, _), &k) in layout.fields.iter().zip(&layout.keys) {
            is_key[*col] = k;
        }
        Ok(CsvGenerator {
            id,
            path: src.path.clone(),
            data,
            layout: layout.clone(),
            names,
            on_error: src.on_error,
            range,
            counters,
            slot_of,
            is_key,
            key_ids: Default::default(),
        })
    }

    /// Total bytes to process.
    pub fn bytes(&self) -> u64 {
        self.layout.bytes
    }

    fn parse_row(&self, line: &[u8], dp: &mut Datapoint) -> Result<(), Bad> {
        let mut n = 0;
        let mut time = None;
        for (col, cell) in cells(line).enumerate() {
            n += 1;
            if col >= self.layout.ncols {
                continue;
            }
            if col == self.layout.time_col {
                time = Some(parse_timestamp(cell).ok_or(Bad::Cell(col))?);
            } else if self.slot_of[col] >= 0 {
                dp.values[self.slot_of[col] as usize] = if self.is_key[col] {
                    let key = self.key_ids.borrow_mut().id(unquote(cell));
                    key.ok_or(Bad::Cell(col))? as f64
                } else {
                    parse_number(cell).ok_or(Bad::Cell(col))?
                };
            }
        }
        if n != self.layout.ncols {
            return Err(Bad::Columns(n));
        }
        dp.event_time = time.ok_or(Bad::Cell(self.layout.time_col))?;
        Ok(())
    }

    /// Parses a row; past the range's end, only its time (to see that the order holds).
    fn parse(&self, line: &[u8], dp: &mut Datapoint, time_only: bool) -> Result<(), Bad> {
        if time_only {
            dp.event_time = self.parse_time(line)?;
            Ok(())
        } else {
            self.parse_row(line, dp)
        }
    }

    /// A row that cannot be taken: the run's error, or (with `on_error: skip`) nothing, and the caller
    /// counts it.
    fn bad_row(
        &self,
        line_no: usize,
        line: &[u8],
        bad: Bad,
        order: &Order,
    ) -> Result<(), RunError> {
        match self.on_error {
            OnError::Skip => Ok(()),
            OnError::Fail => {
                let msg = self.describe(line_no, line, bad, (order.prev, order.prev_line));
                Err(RunError::Input(format!(
                    "{msg}\n  help: fix the row, or set on_error: skip on this CSV datasource to skip and count bad rows"
                )))
            }
        }
    }

    /// The row at `jump` went past the range's end, but the row at `line_no` after it is back in
    /// order with the rows before it: the run's error, or (with `on_error: skip`) nothing, and the
    /// caller counts it as skipped instead of outside the range.
    fn out_of_order(&self, jump: usize, line_no: usize) -> Result<(), RunError> {
        match self.on_error {
            OnError::Skip => Ok(()),
            OnError::Fail => Err(RunError::Input(format!(
                "{}:{jump}: this row's time is later than the rows around it (line {line_no}, after it, is back in order with the rows before): the row is out of order\n  help: fix the row, or set on_error: skip on this CSV datasource to skip and count bad rows",
                self.path.display()
            ))),
        }
    }

    /// The time of a row, its other cells unread.
    fn parse_time(&self, line: &[u8]) -> Result<i64, Bad> {
        let col = self.layout.time_col;
        cells(line)
            .nth(col)
            .and_then(parse_timestamp)
            .ok_or(Bad::Cell(col))
    }

    /// What is wrong with row `line_no`; `prev` is the time and line of the row before it.
    fn describe(&self, line_no: usize, line: &[u8], bad: Bad, prev: (i64, usize)) -> String {
        let file = self.path.display();
        match bad {
            Bad::Columns(n) => format!("{file}:{line_no}: {n} columns, but the header has {}", self.layout.ncols),
            Bad::Cell(col) => {
                let cell = line.split(|&b| b == b',').nth(col).unwrap_or_default();
                let text = std::str::from_utf8(super::layout::unquote(cell)).unwrap_or("");
                let name = &self.names[col];
                if text.parse::<f64>().is_ok_and(|v| !v.is_finite()) {
                    return format!("{file}:{line_no}: column '{name}': {} is not a finite number", shown(cell));
                }
                let what = if col == self.layout.time_col {
                    "a time"
                } else if self.is_key[col] {
                    "a key: the process holds at most 2^20 distinct keys"
                } else {
                    "a number"
                };
                format!("{file}:{line_no}: column '{name}': cannot read {} as {what}", shown(cell))
            }
            Bad::Backwards => format!(
                "{file}:{line_no}: time goes backwards: this row is older than line {} ({}); one of the two is out of order",
                prev.1,
                crate::base::time::rfc3339(prev.0)
            ),
        }
    }

    /// Reads the file into memory, checking it is the file the config was checked against.
    fn load(&mut self) -> Result<(), RunError> {
        let shown = self.path.display();
        let cannot = |e: std::io::Error| RunError::Input(format!("cannot read '{shown}': {e}"));
        let (mut file, _) = super::layout::regular_file(&self.path).map_err(cannot)?;
        self.data = FileBytes::read(&mut file, self.layout.bytes).map_err(cannot)?;
        if self.data.len() as u64 != self.layout.bytes {
            let now = file.metadata().map_or(self.data.len() as u64, |m| m.len());
            return Err(RunError::Input(format!(
                "'{shown}' changed after the config was checked: it was {} bytes, it is {now}; run again on the file as it is now",
                self.layout.bytes,
            )));
        }
        Ok(())
    }

    /// Parses every row and pushes it to the sequencer, oldest first.
    fn run_rows<P: Push>(&mut self, out: &mut P, ctx: &mut Ctx) -> Result<(), RunError> {
        self.load()?;
        let data: &[u8] = self.data.bytes();
        let start = self.layout.data_start;
        let body = &data[start..];
        let mut fwd;
        let mut bwd;
        let newlines = memchr::memchr_iter(b'\n', body).count();
        out.expect(newlines + 1);
        let lines: &mut dyn Iterator<Item = (usize, usize, &[u8])> = if self.layout.descending {
            let last_line = self.layout.first_data_line + newlines;
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
        let mut order = Order::default();
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
            let mut parsed = self.parse(line, &mut dp, order.past_end);
            if parsed.is_ok() {
                match order.check(dp.event_time) {
                    Verdict::InOrder => {}
                    Verdict::Backwards => parsed = Err(Bad::Backwards),
                    Verdict::JumpedAhead(jump) => {
                        // The one row past the range's end was the row out of order, not the end.
                        self.out_of_order(jump, line_no)?;
                        (outside, skipped) = (outside - 1, skipped + 1);
                        order.retract();
                        parsed = self.parse(line, &mut dp, false);
                    }
                }
            }
            if let Err(bad) = parsed {
                self.bad_row(line_no, line, bad, &order)?;
                skipped += 1;
                continue;
            }
            if let Some((from, to)) = self.range {
                if dp.event_time < from || dp.event_time >= to {
                    order.accept(dp.event_time, line_no, dp.event_time >= to);
                    outside += 1;
                    continue;
                }
            }
            order.accept(dp.event_time, line_no, false);
            dp.ingest_time = out.ingest_now();
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

impl SourceRun for CsvGenerator {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        self.run_rows(out, ctx)
    }

    fn collect(&mut self, into: &mut Points, ctx: &mut Ctx) -> Result<(), RunError> {
        self.run_rows(into, ctx)
    }

    fn bytes(&self) -> u64 {
        self.layout.bytes
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

/// A cell as an error quotes it: at most 80 characters, with its length when it is longer.
fn shown(cell: &[u8]) -> String {
    // Control characters (a terminal's escape sequences among them) are shown, not sent.
    let text: String = String::from_utf8_lossy(cell)
        .chars()
        .flat_map(|c| {
            let shown: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            shown
        })
        .collect();
    if text.chars().count() <= 80 {
        return format!("'{text}'");
    }
    let head: String = text.chars().take(80).collect();
    format!("'{head}…' ({} bytes)", cell.len())
}

/// The order check of a file's rows: each row's time against the rows before it.
struct Order {
    /// The last row taken: its time (`i64::MIN` before the first) and line.
    prev: i64,
    prev_line: usize,
    /// Whether a row has gone past the range's end: later rows are read for their time only.
    past_end: bool,
    /// While the row that went past the end is the last one taken: its line, and the time and line of
    /// the row before it.
    jump: Option<(usize, i64, usize)>,
}

impl Default for Order {
    fn default() -> Self {
        Order {
            prev: i64::MIN,
            prev_line: 0,
            past_end: false,
            jump: None,
        }
    }
}

/// What a row's time says about the order.
enum Verdict {
    InOrder,
    /// Older than the row before it.
    Backwards,
    /// Older than the row before it, which had just jumped past the range's end, but not older than the
    /// row before that one: the jump (at this line) was out of order.
    JumpedAhead(usize),
}

impl Order {
    fn check(&self, t: i64) -> Verdict {
        if t >= self.prev {
            return Verdict::InOrder;
        }
        match self.jump {
            Some((line, before, _)) if t >= before => Verdict::JumpedAhead(line),
            _ => Verdict::Backwards,
        }
    }

    /// Takes a row at time `t`; `past_end` when it is at or after the range's end.
    fn accept(&mut self, t: i64, line: usize, past_end: bool) {
        self.jump = (past_end && !self.past_end).then_some((line, self.prev, self.prev_line));
        self.past_end |= past_end;
        (self.prev, self.prev_line) = (t, line);
    }

    /// Forgets the row that jumped past the end: the rows go on from the one before it.
    fn retract(&mut self) {
        if let Some((_, before, before_line)) = self.jump.take() {
            (self.prev, self.prev_line) = (before, before_line);
            self.past_end = false;
        }
    }
}

/// A file's bytes in memory, in an anonymous mapping advised to use huge pages: reading a file of
/// megabytes then takes a few page faults instead of one per 4 KiB page (about 2,700 for the main
/// job's two files, each charged and zeroed by the kernel).
#[derive(Default)]
struct FileBytes {
    map: Option<memmap2::MmapMut>,
    len: usize,
}

impl FileBytes {
    /// Reads `file` to its end, expecting `expected` bytes: reads at most one byte more, so a file
    /// that grew shows as longer without being read whole.
    fn read(file: &mut std::fs::File, expected: u64) -> std::io::Result<FileBytes> {
        let cap = usize::try_from(expected).map_err(std::io::Error::other)? + 1;
        let mut map = memmap2::MmapOptions::new().len(cap).map_anon()?;
        // A hint: without huge pages the buffer works the same, with more page faults.
        #[cfg(target_os = "linux")]
        map.advise(memmap2::Advice::HugePage).ok();
        let mut len = 0;
        while len < cap {
            match std::io::Read::read(file, &mut map[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(FileBytes {
            map: Some(map),
            len,
        })
    }

    fn len(&self) -> usize {
        self.len
    }

    fn bytes(&self) -> &[u8] {
        self.map.as_ref().map_or(&[], |m| &m[..self.len])
    }
}
