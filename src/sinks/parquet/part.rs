//! A sweep's Parquet output: each combination's rows go into its part in a compact form
//! (a `P` record with the combination's parameter values, then an `R` record per row: the time and a
//! double per column, NaN where there is no value), and the [`Assembler`] re-encodes the parts into the
//! one file, in combination order.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};

use super::table::{Table, Value};
use super::{fields, push_row};
use crate::config::ParamValue;
use crate::plugin::{Assemble, OpenSink, Row, RowWriter, WriteError};

/// Writes one combination's rows into a part.
pub struct PartWriter {
    out: BufWriter<Box<dyn Write + Send>>,
}

impl PartWriter {
    /// Starts the combination's rows with its parameter values.
    pub fn new(out: Box<dyn Write + Send>, cx: &OpenSink<'_>) -> io::Result<PartWriter> {
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
        Ok(PartWriter { out })
    }
}

impl RowWriter for PartWriter {
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
enum Param {
    Int(i64),
    Real(f64),
    Text(String),
}

/// Re-encodes a sweep's parts into one Parquet file.
pub struct Assembler {
    /// The file, until the columns are known.
    file: Option<File>,
    row_group: usize,
    table: Option<Table>,
    columns: usize,
}

impl Assembler {
    /// An assembler writing `file` in row groups of `row_group` rows.
    pub fn new(file: File, row_group: usize) -> Assembler {
        Assembler {
            file: Some(file),
            row_group,
            table: None,
            columns: 0,
        }
    }
}

/// Reads a part's records from `bytes`.
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

impl Assemble for Assembler {
    fn start(&mut self, cx: &OpenSink<'_>) -> Result<(), WriteError> {
        let file = self
            .file
            .take()
            .ok_or("the Parquet output was started twice")?;
        self.table = Some(Table::create(file, &fields(cx), self.row_group)?);
        self.columns = cx.columns.len();
        Ok(())
    }

    fn append(&mut self, part: &mut dyn Read) -> Result<u64, WriteError> {
        let mut bytes = Vec::new();
        part.read_to_end(&mut bytes)?;
        let table = self
            .table
            .as_mut()
            .ok_or("a part came before the columns")?;
        let mut c = Cursor {
            bytes: &bytes,
            at: 0,
        };
        let mut params: Vec<Param> = Vec::new();
        // One row's cells, reused from row to row.
        let mut cells: Vec<Option<f64>> = Vec::with_capacity(self.columns);
        let n = table.leading();
        while c.at < bytes.len() {
            match c.take::<1>()?[0] {
                b'P' => {
                    params = (0..n).map(|_| c.param()).collect::<Result<_, _>>()?;
                }
                b'R' => {
                    for p in &params {
                        table.push(match p {
                            Param::Int(i) => Value::Int(*i),
                            Param::Real(x) => Value::Real(*x),
                            Param::Text(s) => Value::Text(s),
                        });
                    }
                    let time = i64::from_le_bytes(c.take()?);
                    cells.clear();
                    for _ in 0..self.columns {
                        let v = f64::from_le_bytes(c.take()?);
                        cells.push((!v.is_nan()).then_some(v));
                    }
                    push_row(table, time, cells.drain(..));
                    table.end_row()?;
                }
                other => {
                    return Err(format!("a sweep's part holds a record of kind {other}").into())
                }
            }
        }
        Ok(bytes.len() as u64)
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        match &mut self.table {
            Some(t) => Ok(t.finish()?),
            None => Ok(()),
        }
    }
}

impl Drop for Assembler {
    /// A sweep that failed or was stopped leaves a readable `.partial` file with the combinations
    /// appended so far.
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
