//! A Parquet file as it fills: rows are buffered column by column and written as a row group (zstd)
//! whenever `row_group` rows are held; the footer is written at the end.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::plugin::Cell;

/// What a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Event times, in ms since the epoch, UTC (a Parquet timestamp), as the other outputs write them.
    Time,
    /// A typed value.
    Of(Cell),
}

/// One cell of a row.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// A whole number.
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(&'a str),
    /// No value.
    Null,
}

/// One column's values since the last row group, with its definition levels when it may be null.
enum Column {
    Int(Vec<i64>),
    Real(Vec<f64>),
    Text(Vec<ByteArray>),
}

struct Buffer {
    values: Column,
    /// 1 where a row has a value, 0 where it has none; `None` for a column that always has one.
    defs: Option<Vec<i16>>,
}

impl Buffer {
    fn new(kind: Kind, optional: bool) -> Buffer {
        let values = match kind {
            Kind::Time | Kind::Of(Cell::Int) => Column::Int(Vec::new()),
            Kind::Of(Cell::Real) => Column::Real(Vec::new()),
            Kind::Of(Cell::Text) => Column::Text(Vec::new()),
        };
        Buffer {
            values,
            defs: optional.then(Vec::new),
        }
    }

    fn push(&mut self, v: Value<'_>) {
        let present = match (&mut self.values, v) {
            (_, Value::Null) => false,
            // A whole number held as a double (a count) is stored as the integer it is.
            (Column::Int(c), Value::Real(x)) => {
                c.push(x as i64);
                true
            }
            (Column::Int(c), Value::Int(i)) => {
                c.push(i);
                true
            }
            (Column::Real(c), Value::Real(x)) => {
                c.push(x);
                true
            }
            (Column::Real(c), Value::Int(i)) => {
                c.push(i as f64);
                true
            }
            (Column::Text(c), Value::Text(s)) => {
                c.push(ByteArray::from(s));
                true
            }
            (Column::Text(c), Value::Int(i)) => {
                c.push(ByteArray::from(i.to_string().as_str()));
                true
            }
            (Column::Text(c), Value::Real(x)) => {
                c.push(ByteArray::from(x.to_string().as_str()));
                true
            }
            (_, Value::Text(_)) => false,
        };
        match &mut self.defs {
            Some(d) => d.push(i16::from(present)),
            None => debug_assert!(present, "a required column always has a value"),
        }
    }

    fn clear(&mut self) {
        match &mut self.values {
            Column::Int(c) => c.clear(),
            Column::Real(c) => c.clear(),
            Column::Text(c) => c.clear(),
        }
        if let Some(d) = &mut self.defs {
            d.clear();
        }
    }
}

/// A column's name and what it holds.
pub struct Field<'a> {
    /// Its name.
    pub name: &'a str,
    /// What it holds.
    pub kind: Kind,
    /// Whether a row may have no value in it.
    pub optional: bool,
}

/// A Parquet file being written.
pub struct Table {
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    row_group: usize,
    /// One per column, in the file's order.
    buffers: Vec<Buffer>,
    /// Rows buffered.
    rows: usize,
    /// Which column the next pushed value goes to.
    next: usize,
    /// Columns before `timestamp` (a sweep's parameters).
    leading: usize,
}

impl Table {
    /// Starts a file with `fields` as its columns, writing a row group every `row_group` rows.
    pub fn create(
        file: File,
        fields: &[Field<'_>],
        row_group: usize,
    ) -> Result<Table, ParquetError> {
        let mut columns = Vec::with_capacity(fields.len());
        for f in fields {
            columns.push(Arc::new(column_type(f)?));
        }
        let schema = Type::group_type_builder("tubes")
            .with_fields(columns)
            .build()?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(None)
            .set_created_by(format!("tubes {}", env!("CARGO_PKG_VERSION")))
            .build();
        let writer = SerializedFileWriter::new(
            BufWriter::with_capacity(1 << 20, file),
            Arc::new(schema),
            Arc::new(props),
        )?;
        Ok(Table {
            writer: Some(writer),
            row_group: row_group.max(1),
            buffers: fields
                .iter()
                .map(|f| Buffer::new(f.kind, f.optional))
                .collect(),
            rows: 0,
            next: 0,
            leading: fields.iter().take_while(|f| f.kind != Kind::Time).count(),
        })
    }

    /// Columns before `timestamp` (a sweep's parameters).
    pub fn leading(&self) -> usize {
        self.leading
    }

    /// The next cell of the row being added, in column order.
    pub fn push(&mut self, v: Value<'_>) {
        self.buffers[self.next].push(v);
        self.next += 1;
    }

    /// Ends the row whose cells were pushed; writes a row group when enough rows are held.
    pub fn end_row(&mut self) -> Result<(), ParquetError> {
        debug_assert_eq!(self.next, self.buffers.len(), "a cell for every column");
        self.next = 0;
        self.rows += 1;
        if self.rows >= self.row_group {
            self.write_group()?;
        }
        Ok(())
    }

    fn write_group(&mut self) -> Result<(), ParquetError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut group = writer.next_row_group()?;
        for b in &mut self.buffers {
            let mut col = group
                .next_column()?
                .ok_or_else(|| ParquetError::General("fewer columns than buffers".into()))?;
            let defs = b.defs.as_deref();
            match &b.values {
                Column::Int(v) => col.typed::<Int64Type>().write_batch(v, defs, None)?,
                Column::Real(v) => col.typed::<DoubleType>().write_batch(v, defs, None)?,
                Column::Text(v) => col.typed::<ByteArrayType>().write_batch(v, defs, None)?,
            };
            col.close()?;
            b.clear();
        }
        group.close()?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the rows held and the footer; a file without its footer is refused by readers.
    pub fn finish(&mut self) -> Result<(), ParquetError> {
        if self.writer.is_none() {
            return Ok(());
        }
        if self.rows > 0 {
            self.write_group()?;
        }
        let writer = self.writer.take().expect("checked above");
        let mut out = writer.into_inner()?;
        std::io::Write::flush(&mut out)?;
        Ok(())
    }
}

fn column_type(f: &Field<'_>) -> Result<Type, ParquetError> {
    let (physical, logical) = match f.kind {
        Kind::Time => (
            Physical::INT64,
            Some(LogicalType::timestamp(true, TimeUnit::MILLIS)),
        ),
        Kind::Of(Cell::Int) => (Physical::INT64, None),
        Kind::Of(Cell::Real) => (Physical::DOUBLE, None),
        Kind::Of(Cell::Text) => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
    };
    let repetition = if f.optional {
        Repetition::OPTIONAL
    } else {
        Repetition::REQUIRED
    };
    Type::primitive_type_builder(f.name, physical)
        .with_repetition(repetition)
        .with_logical_type(logical)
        .build()
}
