//! A sweep's rows for outputs that re-encode them (Parquet, SQLite, Postgres): each combination's part holds a
//! `P` record with the combination's parameter values, then an `R` record per row: the time and a
//! cell per column. A number column's cell is a double, NaN where there is no value; a text column's
//! (a key, a window's time) starts with a tag: none, a double, or text after its length, so each
//! row keeps what the output's own writer would have been given. The output's assembler reads them
//! back with [`each_row`], in combination order.

use std::io::{self, Write};

use crate::base::out::Out;
use crate::base::{RunError, SinkError};
use crate::config::ParamValue;
use crate::plugin::{Cell, OpenSink, Row, RowWriter, SinkOutput, WriteError};

/// Writes one combination's rows into its part.
pub struct RecordWriter {
    out: Out,
    /// By column: whether it holds text.
    text: Vec<bool>,
}

/// Tags of a text column's cell, and of a parameter's value (a whole number, a double, text).
const NONE: u8 = 0;
const NUMBER: u8 = 1;
const TEXT: u8 = 2;
const INT: u8 = 0;
const REAL: u8 = 1;

/// Writes `s` tagged as text, after its length (read back by `Cursor::text`).
fn put_text(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(&[TEXT])?;
    out.write_all(&(s.len() as u32).to_le_bytes())?;
    out.write_all(s.as_bytes())
}

/// One cell of a row read back by [`each_row`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordCell<'a> {
    /// No value.
    None,
    /// A number.
    Number(f64),
    /// Text (in a text column).
    Text(&'a str),
}

/// Whether each column of the rows `cx` opens holds text: what [`each_row`] is told.
pub fn text_columns(cx: &OpenSink<'_>) -> Vec<bool> {
    (0..cx.columns.len())
        .map(|i| cx.kinds.get(i) == Some(&Cell::Text))
        .collect()
}

/// [`SinkOutput::format`] for an output that re-encodes its parts: a [`RecordWriter`] into `out`,
/// a failure named after `output`.
pub fn format(
    output: &dyn SinkOutput,
    out: Out,
    cx: &OpenSink<'_>,
) -> Result<Box<dyn RowWriter>, RunError> {
    let w = RecordWriter::new(out, cx)
        .map_err(|e| RunError::Sink(SinkError::new(output.target(), e)))?;
    Ok(Box::new(w))
}

impl RecordWriter {
    /// Starts the combination's rows with its parameter values.
    pub fn new(mut out: Out, cx: &OpenSink<'_>) -> io::Result<RecordWriter> {
        out.write_all(b"P")?;
        for v in cx.values {
            match v {
                ParamValue::Int(i) => {
                    out.write_all(&[INT])?;
                    out.write_all(&i.to_le_bytes())?;
                }
                ParamValue::Float(x) => {
                    out.write_all(&[REAL])?;
                    out.write_all(&x.to_le_bytes())?;
                }
                ParamValue::Text(s) => put_text(&mut out, s)?,
            }
        }
        Ok(RecordWriter {
            out,
            text: text_columns(cx),
        })
    }

    /// Column `i` of `row`, in a text column: its text when it is text, else its number.
    fn text_cell(&mut self, row: &Row<'_>, i: usize) -> io::Result<()> {
        match (row.text(i), row.cell(i)) {
            (Some(t), _) => put_text(&mut self.out, t),
            (None, Some(v)) if !row.is_text(i) => {
                self.out.write_all(&[NUMBER])?;
                self.out.write_all(&v.to_le_bytes())
            }
            _ => self.out.write_all(&[NONE]),
        }
    }
}

impl RowWriter for RecordWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.out.write_all(b"R")?;
        self.out.write_all(&row.time.to_le_bytes())?;
        for i in 0..row.values.len() {
            if self.text.get(i) == Some(&true) {
                self.text_cell(row, i)?;
            } else {
                let v = row.cell(i).unwrap_or(f64::NAN);
                self.out.write_all(&v.to_le_bytes())?;
            }
        }
        self.out.prefetch();
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(self.out.flush()?)
    }
}

/// A parameter value read back from a part.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    Real(f64),
    Text(String),
}

/// Reads records from `bytes`.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], WriteError> {
        let b = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or("a sweep's part ends inside a record")?;
        self.at += N;
        Ok(b.try_into().expect("N bytes"))
    }

    fn param(&mut self) -> Result<Param, WriteError> {
        Ok(match self.take::<1>()?[0] {
            INT => Param::Int(i64::from_le_bytes(self.take()?)),
            REAL => Param::Real(f64::from_le_bytes(self.take()?)),
            TEXT => Param::Text(self.text()?.to_string()),
            other => return Err(format!("a sweep's part holds a parameter of kind {other}").into()),
        })
    }

    /// Text after its length.
    fn text(&mut self) -> Result<&'a str, WriteError> {
        let n = u32::from_le_bytes(self.take()?) as usize;
        let s = (self.bytes)
            .get(self.at..self.at + n)
            .ok_or("a sweep's part ends inside a value")?;
        self.at += n;
        std::str::from_utf8(s)
            .map_err(|e| format!("a sweep's part holds text that is not UTF-8: {e}").into())
    }

    /// A cell of a text column.
    fn text_cell(&mut self) -> Result<RecordCell<'a>, WriteError> {
        Ok(match self.take::<1>()?[0] {
            NONE => RecordCell::None,
            NUMBER => RecordCell::Number(f64::from_le_bytes(self.take()?)),
            TEXT => RecordCell::Text(self.text()?),
            other => return Err(format!("a sweep's part holds a cell of kind {other}").into()),
        })
    }
}

/// Calls `row(params, time, cells)` for every row in `bytes` (records of one or more parts), with the
/// `leading` parameter values of its combination and a cell per column (`text`: whether each column
/// holds text, as [`text_columns`] says).
pub fn each_row<'a>(
    bytes: &'a [u8],
    leading: usize,
    text: &[bool],
    mut row: impl FnMut(&[Param], i64, &[RecordCell<'a>]) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let mut c = Cursor { bytes, at: 0 };
    let mut params: Vec<Param> = Vec::new();
    // One row's cells, reused from row to row.
    let mut cells: Vec<RecordCell<'a>> = Vec::with_capacity(text.len());
    while c.at < bytes.len() {
        match c.take::<1>()?[0] {
            b'P' => params = (0..leading).map(|_| c.param()).collect::<Result<_, _>>()?,
            b'R' => {
                let time = i64::from_le_bytes(c.take()?);
                cells.clear();
                for &is_text in text {
                    cells.push(if is_text {
                        c.text_cell()?
                    } else {
                        match f64::from_le_bytes(c.take()?) {
                            v if v.is_nan() => RecordCell::None,
                            v => RecordCell::Number(v),
                        }
                    });
                }
                row(&params, time, &cells)?;
            }
            other => return Err(format!("a sweep's part holds a record of kind {other}").into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Cell;
    use crate::sinks::tests::Shared;

    /// A writer of one combination's records into `into`.
    fn writer(values: &[&ParamValue], into: &Shared) -> RecordWriter {
        let meta = || unreachable!("records need no meta");
        let cx = OpenSink {
            id: 0,
            label: "sink",
            columns: &["a", "b", "k"],
            kinds: &[Cell::Real, Cell::Real, Cell::Text],
            with_status: false,
            meta: &meta,
            params: &["N", "coin"],
            param_kinds: &[Cell::Int, Cell::Text],
            values,
            header: false,
            board: None,
        };
        RecordWriter::new(Out::copying(into.clone(), crate::base::out::BUFFER), &cx).unwrap()
    }

    #[test]
    fn rows_read_back_with_their_combinations_values_text_and_missing_cells() {
        let bytes = Shared::default();
        let (n50, eth, n70, xtz) = (
            ParamValue::Int(50),
            ParamValue::Text("ETH".into()),
            ParamValue::Int(70),
            ParamValue::Text("XTZ".into()),
        );
        // The third column holds text: a key's name, no value, and a number with no text.
        let name = || Some("BTCUSDT".to_string());
        let rows = [
            (5, [1.5, 2.0, 7.0], [true, true, true], [None, None, name()]),
            (
                9,
                [0.0, -3.25, 7.0],
                [false, true, false],
                [None, None, name()],
            ),
            (11, [4.0, 0.5, 3.0], [true, true, true], [None, None, None]),
        ];
        for values in [[&n50, &eth], [&n70, &xtz]] {
            let mut w = writer(&values, &bytes);
            for (time, v, present, texts) in &rows {
                let row = Row {
                    time: *time,
                    values: v,
                    present,
                    status: None,
                    status_dp: None,
                    texts,
                    written: &[],
                };
                w.write_row(&row).unwrap();
            }
            w.flush().unwrap();
        }
        let mut got = Vec::new();
        let bytes = bytes.0.lock().unwrap();
        let text_columns = [false, false, true];
        each_row(&bytes, 2, &text_columns, |p, t, c| {
            let cells: Vec<String> = c.iter().map(|c| format!("{c:?}")).collect();
            got.push((p.to_vec(), t, cells.join(" ")));
            Ok(())
        })
        .unwrap();
        let int = |i| Param::Int(i);
        let text = |s: &str| Param::Text(s.into());
        let want = |n, coin| {
            [
                (5, "Number(1.5) Number(2.0) Text(\"BTCUSDT\")"),
                (9, "None Number(-3.25) None"),
                (11, "Number(4.0) Number(0.5) Number(3.0)"),
            ]
            .map(|(t, c)| (vec![int(n), text(coin)], t, c.to_string()))
        };
        let mut all = want(50, "ETH").to_vec();
        all.extend(want(70, "XTZ"));
        assert_eq!(got, all);
        let cut = &bytes[..bytes.len() - 3];
        let err = each_row(cut, 2, &text_columns, |_, _, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("ends inside a record"), "{err}");
    }
}
