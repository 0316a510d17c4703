//! A sweep's rows for outputs that re-encode them (Parquet, SQLite): each combination's part holds a
//! `P` record with the combination's parameter values, then an `R` record per row: the time and a
//! double per column, NaN where there is no value. The output's assembler reads them back with
//! [`each_row`], in combination order.

use std::io::{self, BufWriter, Write};

use crate::config::ParamValue;
use crate::plugin::{OpenSink, Row, RowWriter, WriteError};

/// Writes one combination's rows into its part.
pub struct RecordWriter {
    out: BufWriter<Box<dyn Write + Send>>,
}

impl RecordWriter {
    /// Starts the combination's rows with its parameter values.
    pub fn new(out: Box<dyn Write + Send>, cx: &OpenSink<'_>) -> io::Result<RecordWriter> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        out.write_all(b"P")?;
        for v in cx.values {
            match v {
                ParamValue::Int(i) => {
                    out.write_all(&[0])?;
                    out.write_all(&i.to_le_bytes())?;
                }
                ParamValue::Float(x) => {
                    out.write_all(&[1])?;
                    out.write_all(&x.to_le_bytes())?;
                }
                ParamValue::Text(s) => {
                    out.write_all(&[2])?;
                    out.write_all(&(s.len() as u32).to_le_bytes())?;
                    out.write_all(s.as_bytes())?;
                }
            }
        }
        Ok(RecordWriter { out })
    }
}

impl RowWriter for RecordWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.out.write_all(b"R")?;
        self.out.write_all(&row.time.to_le_bytes())?;
        for i in 0..row.values.len() {
            let v = row.cell(i).unwrap_or(f64::NAN);
            self.out.write_all(&v.to_le_bytes())?;
        }
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

impl Cursor<'_> {
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
            0 => Param::Int(i64::from_le_bytes(self.take()?)),
            1 => Param::Real(f64::from_le_bytes(self.take()?)),
            _ => {
                let n = u32::from_le_bytes(self.take()?) as usize;
                let s = self
                    .bytes
                    .get(self.at..self.at + n)
                    .ok_or("a sweep's part ends inside a value")?;
                self.at += n;
                Param::Text(String::from_utf8_lossy(s).into_owned())
            }
        })
    }
}

/// Calls `row(params, time, cells)` for every row in `bytes` (records of one or more parts), with the
/// `leading` parameter values of its combination and one cell per each of its `columns` columns.
pub fn each_row(
    bytes: &[u8],
    leading: usize,
    columns: usize,
    mut row: impl FnMut(&[Param], i64, &[Option<f64>]) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let mut c = Cursor { bytes, at: 0 };
    let mut params: Vec<Param> = Vec::new();
    // One row's cells, reused from row to row.
    let mut cells: Vec<Option<f64>> = Vec::with_capacity(columns);
    while c.at < bytes.len() {
        match c.take::<1>()?[0] {
            b'P' => params = (0..leading).map(|_| c.param()).collect::<Result<_, _>>()?,
            b'R' => {
                let time = i64::from_le_bytes(c.take()?);
                cells.clear();
                for _ in 0..columns {
                    let v = f64::from_le_bytes(c.take()?);
                    cells.push((!v.is_nan()).then_some(v));
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
            columns: &["a", "b"],
            kinds: &[Cell::Real, Cell::Real],
            with_status: false,
            meta: &meta,
            params: &["N", "coin"],
            param_kinds: &[Cell::Int, Cell::Text],
            values,
            header: false,
            board: None,
        };
        RecordWriter::new(Box::new(into.clone()), &cx).unwrap()
    }

    #[test]
    fn rows_read_back_with_their_combinations_values_and_missing_cells() {
        let bytes = Shared::default();
        let (n50, eth, n70, xtz) = (
            ParamValue::Int(50),
            ParamValue::Text("ETH".into()),
            ParamValue::Int(70),
            ParamValue::Text("XTZ".into()),
        );
        let rows = [
            (5, [1.5, 2.0], [true, true]),
            (9, [0.0, -3.25], [false, true]),
        ];
        for values in [[&n50, &eth], [&n70, &xtz]] {
            let mut w = writer(&values, &bytes);
            for (time, v, present) in &rows {
                let texts = [None, None];
                let row = Row {
                    time: *time,
                    values: v,
                    present,
                    status: None,
                    status_dp: None,
                    texts: &texts,
                };
                w.write_row(&row).unwrap();
            }
            w.flush().unwrap();
        }
        let mut got = Vec::new();
        let bytes = bytes.0.lock().unwrap();
        each_row(&bytes, 2, 2, |p, t, c| {
            got.push((p.to_vec(), t, c.to_vec()));
            Ok(())
        })
        .unwrap();
        let int = |i| Param::Int(i);
        let text = |s: &str| Param::Text(s.into());
        assert_eq!(
            got,
            [
                (vec![int(50), text("ETH")], 5, vec![Some(1.5), Some(2.0)]),
                (vec![int(50), text("ETH")], 9, vec![None, Some(-3.25)]),
                (vec![int(70), text("XTZ")], 5, vec![Some(1.5), Some(2.0)]),
                (vec![int(70), text("XTZ")], 9, vec![None, Some(-3.25)]),
            ]
        );
        let cut = &bytes[..bytes.len() - 3];
        let err = each_row(cut, 2, 2, |_, _, _| Ok(())).unwrap_err();
        assert!(err.to_string().contains("ends inside a record"), "{err}");
    }
}
