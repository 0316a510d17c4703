//! The sink tube: collects the columns of one sequence number into a row and hands it to every output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::base::datapoint::{Datapoint, Kind, TubeId};
use crate::base::keys::KeyNames;
use crate::base::number::Written;
use crate::base::status;
use crate::base::time::format_rfc3339_millis;
use crate::base::{RunError, SinkError};
use crate::graph::{SinkColumn, TextOf};
use crate::journal::Meta;
use crate::metrics::live::Board;
use crate::plugin::{Cell, OpenSink, Row, RowWriter, SinkOutput};

/// How long after a flush an idle sink flushes again (the stage looks at least every millisecond).
pub const IDLE_FLUSH: std::time::Duration = std::time::Duration::from_millis(50);

/// A running sink.
pub struct Sink {
    values: Vec<f64>,
    /// By column: whether it holds a value for the current row (padded: see [`flags`]).
    present: Vec<bool>,
    /// By input port: the columns it fills, and the slot of the datapoint each takes.
    by_port: Vec<Vec<(usize, usize)>>,
    /// By input port: whether it filled its columns for the current row (padded: see [`flags`]).
    port_filled: Vec<bool>,
    /// Whether any column holds a value for the current row.
    filled: bool,
    any: bool,
    time: i64,
    writers: Vec<Output>,
    rows: u64,
    /// `rows`, for the live view (stored by this thread only).
    live_rows: Arc<AtomicU64>,
    /// Feed names by tube id, when a live feed is upstream (the sink then has a `status` column).
    feeds: Option<Vec<String>>,
    /// The status received for the current sequence number, if any.
    status: Option<Datapoint>,
    /// Where its sentence is formatted (reused, so writing a row does not allocate).
    status_text: String,
    /// Rows written when the outputs were last flushed, and when.
    flushed: (u64, std::time::Instant),
    /// A flush while idle failed: the error the next row or the end reports.
    failed: Option<SinkError>,
    /// Every output it had is gone (its stdout was closed by its reader): the run should stop.
    gone: bool,
    /// By column: the text of a column whose number stands for text (reused row after row).
    texts: Vec<Option<String>>,
    /// What each text column's number stands for.
    text_of: Vec<Option<TextOf>>,
    /// Whether it has a text column at all (without one, rows carry no texts).
    any_text: bool,
    /// Key names met so far.
    names: KeyNames,
    /// By column: the text of a value that came with one (see [`Row::written`]); empty until one does.
    written: Vec<Written>,
}

/// How many flags to keep for `n` columns or ports: a multiple of 16, so that [`unset`] clears them
/// with stores of a fixed size (a row ends with it; a fill of unknown length would be a call).
fn flags(n: usize) -> usize {
    n.div_ceil(16).max(1) * 16
}

/// Clears flags kept as [`flags`] says.
#[inline]
fn unset(v: &mut [bool]) {
    let (head, rest) = v.split_at_mut(16);
    head.fill(false);
    if !rest.is_empty() {
        rest.fill(false);
    }
}

/// Where one value of a firing goes ([`Sink::fills`]): the column, which of the firing's
/// datapoints holds it, and its slot there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    column: usize,
    input: u8,
    slot: usize,
}

struct Output {
    target: String,
    writer: Box<dyn RowWriter>,
    stdout: bool,
}

impl Sink {
    /// Opens every output (creating files, writing headers). With `feeds` (feed names by tube id, given
    /// when a live feed is upstream) the rows end with a `status` column.
    pub fn open(
        id: TubeId,
        label: &str,
        outputs: &[Box<dyn SinkOutput>],
        columns: (&[SinkColumn], &[Cell]),
        feeds: Option<Vec<String>>,
        meta: &dyn Fn() -> Meta,
        board: &Arc<Board>,
    ) -> Result<Sink, RunError> {
        let (columns, kinds) = columns;
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let cx = OpenSink {
            id,
            label,
            columns: &names,
            kinds,
            param_kinds: &[],
            with_status: feeds.is_some(),
            meta,
            params: &[],
            values: &[],
            header: true,
            board: Some(board),
        };
        for o in outputs {
            o.accepts(&cx)?;
        }
        let mut writers = Vec::new();
        for o in outputs {
            if let Some(writer) = o.open(&cx)? {
                writers.push((o.as_ref(), writer));
            }
        }
        Ok(Self::with_writers(columns, feeds, writers))
    }

    /// A sink writing through writers already opened, one per output (a sweep opens them per
    /// combination).
    pub fn with_writers(
        columns: &[SinkColumn],
        feeds: Option<Vec<String>>,
        writers: Vec<(&dyn SinkOutput, Box<dyn RowWriter>)>,
    ) -> Sink {
        let writers = writers
            .into_iter()
            .map(|(o, writer)| Output {
                target: o.target(),
                writer,
                stdout: o.is_stdout(),
            })
            .collect();
        let mut by_port = vec![Vec::new(); columns.iter().map(|c| c.port + 1).max().unwrap_or(0)];
        for (i, c) in columns.iter().enumerate() {
            by_port[c.port].push((i, c.slot as usize));
        }
        Sink {
            values: vec![f64::NAN; columns.len()],
            present: vec![false; flags(columns.len())],
            port_filled: vec![false; flags(by_port.len())],
            by_port,
            filled: false,
            any: false,
            time: 0,
            writers,
            rows: 0,
            live_rows: Arc::new(AtomicU64::new(0)),
            feeds,
            status: None,
            status_text: String::with_capacity(128),
            flushed: (0, std::time::Instant::now()),
            failed: None,
            gone: false,
            texts: columns
                .iter()
                .map(|c| c.text.map(|_| String::with_capacity(32)))
                .collect(),
            text_of: columns.iter().map(|c| c.text).collect(),
            any_text: columns.iter().any(|c| c.text.is_some()),
            names: KeyNames::default(),
            written: Vec::new(),
        }
    }

    /// Rows written so far, readable while the run goes on.
    pub fn rows_counter(&self) -> Arc<AtomicU64> {
        self.live_rows.clone()
    }

    /// Takes a datapoint that arrived on `port` for the current sequence number. A second datapoint
    /// from the same input in one sequence number (a keyed tube's rows, windows closing together), or
    /// one of another event time (windows of different lengths closing together), starts a new row:
    /// the row so far is written first. Returns whether it wrote one. `written` holds the texts of
    /// some of `dp`'s values, by slot, when they were worked out already (see [`Written`]).
    #[inline(always)]
    pub fn on_input(
        &mut self,
        port: u8,
        dp: &Datapoint,
        written: &[Written],
    ) -> Result<bool, SinkError> {
        if dp.kind == Kind::Status {
            if self.feeds.is_some() {
                self.status = Some(*dp);
                self.any = true;
                self.time = dp.event_time;
            }
            return Ok(false);
        }
        // A second value from one input, or a value of another time (a window's row), starts a row.
        let port = port as usize;
        let again = self.filled
            && (self.port_filled.get(port).copied().unwrap_or(false) || dp.event_time != self.time);
        let wrote = if again { self.end_seq()? } else { false };
        let Some(columns) = self.by_port.get(port).filter(|c| !c.is_empty()) else {
            return Ok(wrote);
        };
        for &(i, slot) in columns {
            self.values[i] = dp.values[slot];
            self.present[i] = true;
        }
        if !written.is_empty() {
            self.written.resize(self.values.len(), Written::default());
            for &(i, slot) in columns {
                if let Some(w) = written.get(slot) {
                    self.written[i] = *w;
                }
            }
        }
        (self.any, self.filled, self.port_filled[port]) = (true, true, true);
        self.time = dp.event_time;
        Ok(wrote)
    }

    /// Takes what one sequence number brings it, `inputs` (port, datapoint, texts of its values, if
    /// any) in the order of its inbox, and ends the number (see [`Self::on_input`], [`Self::end_seq`]);
    /// returns whether it wrote a row.
    #[inline]
    pub fn take_seq<'a>(
        &mut self,
        inputs: impl IntoIterator<Item = (u8, &'a Datapoint, &'a [Written])>,
    ) -> Result<bool, SinkError> {
        let mut wrote = false;
        for (port, dp, written) in inputs {
            wrote |= self.on_input(port, dp, written)?;
        }
        Ok(self.end_seq()? | wrote)
    }

    /// How the datapoints a firing brings fill its columns ([`Self::take_firing`]), when they come
    /// on `inputs` (port, which datapoint): `None` when two come on one port, which would start a row
    /// of their own (see [`Self::on_input`]).
    pub fn fills(&self, inputs: &[(u8, u8)]) -> Option<Vec<Fill>> {
        let mut ports: Vec<u8> = inputs.iter().map(|i| i.0).collect();
        ports.sort_unstable();
        ports.dedup();
        if ports.len() != inputs.len() {
            return None;
        }
        let fills = (inputs.iter())
            .flat_map(|&(port, input)| {
                (self.by_port.get(port as usize).into_iter().flatten()).map(
                    move |&(column, slot)| Fill {
                        column,
                        input,
                        slot,
                    },
                )
            })
            .collect();
        Some(fills)
    }

    /// What [`Self::take_seq`] does with datapoints of one event time, `time`, that come one per
    /// port (a sweep's firing, worked out in its lanes), with their columns' places worked out
    /// before ([`Self::fills`]): `emitted` holds the datapoints, and `texts` the texts of the first
    /// one's values by slot (see [`Written`]). `None`, doing nothing, when a row is begun already.
    /// After an error the sink is not taken again: the unit that runs it stops.
    #[inline]
    pub fn take_firing(
        &mut self,
        time: i64,
        fills: &[Fill],
        emitted: &[Datapoint],
        texts: &[Written],
    ) -> Option<Result<bool, SinkError>> {
        if self.filled || self.any {
            return None;
        }
        if !texts.is_empty() {
            self.written.resize(self.values.len(), Written::default());
        }
        for f in fills {
            self.values[f.column] = emitted[f.input as usize].values[f.slot];
            self.present[f.column] = true;
            if let Some(t) = texts.get(f.slot).filter(|_| f.input == 0) {
                self.written[f.column] = *t;
            }
        }
        (self.any, self.time) = (!fills.is_empty(), time);
        Some(self.end_seq())
    }

    /// Writes each text column's text for the row's values.
    fn render_texts(&mut self) {
        for (i, t) in self.texts.iter_mut().enumerate() {
            let (Some(t), Some(of)) = (t, self.text_of[i]) else {
                continue;
            };
            t.clear();
            let v = self.values[i];
            if !self.present[i] || !v.is_finite() {
                continue;
            }
            match of {
                TextOf::Key => t.push_str(self.names.name(v as u32)),
                TextOf::Millis => {
                    // Whole milliseconds exactly, then the fraction.
                    let whole = v.floor();
                    let ns = whole as i64 * 1_000_000 + ((v - whole) * 1e6).round() as i64;
                    let b = format_rfc3339_millis(ns);
                    t.push_str(std::str::from_utf8(&b).unwrap_or(""));
                }
            }
        }
    }

    /// Ends the current sequence number: writes its row if any column received a value; returns whether it did.
    ///
    /// When stdout is closed by its reader (`tubes run … | head`), the stdout output stops quietly and the
    /// other outputs go on.
    pub fn end_seq(&mut self) -> Result<bool, SinkError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if !self.any {
            return Ok(false);
        }
        if let (Some(dp), Some(feeds)) = (&self.status, &self.feeds) {
            use std::fmt::Write as _;
            self.status_text.clear();
            let _ = write!(self.status_text, "{}", status::Text { dp, feeds });
        }
        let texts: &[Option<String>] = if self.any_text {
            self.render_texts();
            &self.texts
        } else {
            &[]
        };
        let row = Row {
            texts,
            time: self.time,
            values: &self.values,
            present: &self.present[..self.values.len()],
            status: self.status.is_some().then_some(self.status_text.as_str()),
            status_dp: self.status.as_ref(),
            written: &self.written,
        };
        let mut closed = None;
        for (i, o) in self.writers.iter_mut().enumerate() {
            if let Err(e) = o.writer.write_row(&row) {
                let e = SinkError::new(o.target.clone(), e);
                if o.stdout && e.is_broken_pipe() {
                    closed = Some(i);
                } else {
                    return Err(e);
                }
            }
        }
        if let Some(i) = closed {
            self.close_output(i);
        }
        self.rows += 1;
        self.live_rows.store(self.rows, Ordering::Relaxed);
        self.any = false;
        self.status = None;
        unset(&mut self.present);
        unset(&mut self.port_filled);
        self.filled = false;
        Ok(true)
    }

    /// While the pipeline waits for input: flushes the rows written since the last flush, at most every
    /// [`IDLE_FLUSH`], so a run killed later loses none of them (a live run may write a row a minute)
    /// and a Batch run that waits briefly for its files does not write row by row. A failure is
    /// reported by the next row or the end.
    pub fn flush_idle(&mut self) {
        let (rows, at) = self.flushed;
        if self.rows == rows || self.failed.is_some() || at.elapsed() < IDLE_FLUSH {
            return;
        }
        self.flushed = (self.rows, std::time::Instant::now());
        if let Err(e) = self.flush_all() {
            self.failed = Some(e);
        }
    }

    /// Flushes every output; returns the number of rows written.
    pub fn finish(&mut self) -> Result<u64, SinkError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        for o in &mut self.writers {
            if let Err(e) = o.writer.finish() {
                let e = SinkError::new(o.target.clone(), e);
                if !(o.stdout && e.is_broken_pipe()) {
                    return Err(e);
                }
            }
        }
        Ok(self.rows)
    }

    fn flush_all(&mut self) -> Result<(), SinkError> {
        let mut i = 0;
        while i < self.writers.len() {
            let o = &mut self.writers[i];
            match o.writer.flush() {
                Ok(()) => i += 1,
                Err(e) => {
                    let e = SinkError::new(o.target.clone(), e);
                    if !(o.stdout && e.is_broken_pipe()) {
                        return Err(e);
                    }
                    self.close_output(i);
                }
            }
        }
        Ok(())
    }

    /// Drops output `i`, whose reader closed stdout (`| head`). When it was the sink's last output, the
    /// sink is gone: the run stops as on Ctrl-C, since nothing would take its rows.
    fn close_output(&mut self, i: usize) {
        self.writers.remove(i);
        if self.writers.is_empty() {
            self.gone = true;
            eprintln!("note: stdout was closed by its reader, and it was the sink's only output: the run stops");
        }
    }

    /// Whether every output it had is gone (see [`Self::close_output`]).
    pub fn gone(&self) -> bool {
        self.gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::WriteError;
    use std::sync::Mutex;

    /// The output the test's writer stands for.
    #[derive(Debug)]
    struct Here;

    impl SinkOutput for Here {
        fn target(&self) -> String {
            "here".into()
        }
        fn open(&self, _: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
            Ok(None)
        }
    }

    /// Rows as their cells' texts, kept where the test reads them.
    #[derive(Clone, Default)]
    struct Rows(Arc<Mutex<Vec<String>>>);

    impl RowWriter for Rows {
        fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
            let mut text = row.time.to_string();
            for i in 0..row.values.len() {
                text.push(',');
                if let Some(v) = row.cell(i) {
                    let mut cell = Vec::new();
                    row.write_number(i, v, &mut cell)?;
                    text.push_str(std::str::from_utf8(&cell)?);
                }
            }
            self.0.lock().unwrap().push(text);
            Ok(())
        }
        fn flush(&mut self) -> Result<(), WriteError> {
            Ok(())
        }
    }

    /// A sink of four columns: port 0 slots 0 and 2, port 1 slot 1, port 2 slot 0; and its rows.
    fn sink() -> (Sink, Rows) {
        let column = |port, slot| SinkColumn {
            name: format!("p{port}.s{slot}"),
            port,
            slot,
            text: None,
        };
        let columns = [column(0, 0), column(0, 2), column(1, 1), column(2, 0)];
        let rows = Rows::default();
        let writer: Box<dyn RowWriter> = Box::new(rows.clone());
        (
            Sink::with_writers(&columns, None, vec![(&Here, writer)]),
            rows,
        )
    }

    fn datapoint(time: i64, values: &[f64]) -> Datapoint {
        let mut dp = Datapoint::new(Kind::Event, 0, time, 0);
        dp.values[..values.len()].copy_from_slice(values);
        dp.len = values.len() as u8;
        dp
    }

    /// A firing taken with its columns worked out before writes the row the stage's way writes,
    /// texts that came with the first datapoint included; it declines when a row is begun, and
    /// inputs that repeat a port get no plan.
    #[test]
    fn a_firing_writes_what_the_stage_way_writes() {
        let emitted = [
            datapoint(7, &[1.5, 2.0, 0.1 + 0.2]),
            datapoint(7, &[9.0, 4.25]),
        ];
        let texts = [Written::of(1.5), Written::default(), Written::of(0.1 + 0.2)];
        let inputs = [(0u8, 0u8), (1, 1)];
        let (mut by_seq, seq_rows) = sink();
        let seq = inputs.map(|(p, w)| {
            let t: &[Written] = if w == 0 { &texts } else { &[] };
            (p, &emitted[w as usize], t)
        });
        assert!(by_seq.take_seq(seq).unwrap());
        let (mut by_firing, firing_rows) = sink();
        let fills = by_firing.fills(&inputs).unwrap();
        assert_eq!(fills.len(), 3, "two columns on port 0, one on port 1");
        let wrote = by_firing.take_firing(7, &fills, &emitted, &texts);
        assert!(wrote.unwrap().unwrap());
        let want = ["7,1.5,0.30000000000000004,4.25,".to_string()];
        assert_eq!(*seq_rows.0.lock().unwrap(), want);
        assert_eq!(*firing_rows.0.lock().unwrap(), want);
        // The texts went to the columns of the values they are the texts of, both ways.
        let kept = |s: &Sink| -> Vec<Option<Vec<u8>>> {
            (s.written.iter().zip(&s.values))
                .map(|(w, &v)| w.text_of(v).map(<[u8]>::to_vec))
                .collect()
        };
        let texts_of = vec![
            Some(b"1.5".to_vec()),
            Some(b"0.30000000000000004".to_vec()),
            None,
            None,
        ];
        assert_eq!(kept(&by_seq), texts_of);
        assert_eq!(kept(&by_firing), texts_of);
        // A row begun: the firing is left to the stage's way.
        by_firing.on_input(2, &emitted[0], &[]).unwrap();
        assert!(by_firing.take_firing(7, &fills, &emitted, &texts).is_none());
        assert!(by_firing.fills(&[(0, 0), (0, 1)]).is_none());
    }
}
