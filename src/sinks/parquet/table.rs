//! A Parquet file as it fills: rows are buffered column by column, and whenever `row_group` rows are
//! held they are written as a row group (zstd), by the file's own thread when it has one (see
//! [`Encoder`]); the footer is written at the end.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

pub use super::columns::{Kind, Value};

use super::columns::Buffer;
use super::encoder::{Encoder, Threads};
use crate::plugin::Cell;

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
    encoder: Encoder,
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
    /// Starts a file with `fields` as its columns, writing a row group every `row_group` rows (on a
    /// thread of its own from the first, while the process runs fewer such threads than it has
    /// cores).
    pub fn create(
        file: File,
        fields: &[Field<'_>],
        row_group: usize,
    ) -> Result<Table, ParquetError> {
        Self::open(file, fields, row_group, Threads::OnePerCore)
    }

    fn open(
        file: File,
        fields: &[Field<'_>],
        row_group: usize,
        threads: Threads,
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
            encoder: Encoder::new(writer, threads),
            row_group: row_group.max(1),
            buffers: (fields.iter())
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

    /// The next cell of the row being added, in column order (none is kept after writing the file
    /// has failed: the run has an error already).
    pub fn push(&mut self, v: Value<'_>) {
        match self.buffers.get_mut(self.next) {
            Some(b) => b.push(v),
            None => assert!(self.buffers.is_empty(), "more cells than columns"),
        }
        self.next += 1;
    }

    /// Ends the row whose cells were pushed; hands a row group over when enough rows are held.
    pub fn end_row(&mut self) -> Result<(), ParquetError> {
        debug_assert!(
            self.buffers.is_empty() || self.next == self.buffers.len(),
            "a cell for every column"
        );
        self.next = 0;
        self.rows += 1;
        if self.rows >= self.row_group {
            let full = std::mem::take(&mut self.buffers);
            self.rows = 0;
            self.buffers = self.encoder.hand_over(full)?;
        }
        Ok(())
    }

    /// Writes the rows held and the footer (a file without its footer is refused by readers), and
    /// waits until they are written.
    pub fn finish(&mut self) -> Result<(), ParquetError> {
        let last = (self.rows > 0).then(|| std::mem::take(&mut self.buffers));
        self.rows = 0;
        self.encoder.finish(last)
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

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field as Cell_;

    fn fields() -> Vec<Field<'static>> {
        let field = |name, kind, optional| Field {
            name,
            kind,
            optional,
        };
        vec![
            field("coin", Kind::Of(Cell::Text), false),
            field("timestamp", Kind::Time, false),
            field("x", Kind::Of(Cell::Real), true),
        ]
    }

    /// Row `i`: a text that repeats for ten rows at a time, then changes; every fifth `x` missing.
    fn row(i: i64) -> (&'static str, i64, Option<f64>) {
        let coin = ["ETH", "BNB", "ETH"][(i / 10) as usize % 3];
        (coin, i * 60_000, (i % 5 != 0).then(|| i as f64 / 3.0))
    }

    /// `rows` rows in groups of 7, written with `threads`: the file's bytes.
    fn written(dir: &std::path::Path, rows: i64, threads: Threads) -> Vec<u8> {
        let path = dir.join(format!("{threads:?}.parquet"));
        let mut t = Table::open(File::create(&path).unwrap(), &fields(), 7, threads).unwrap();
        for i in 0..rows {
            let (coin, ms, x) = row(i);
            t.push(Value::Text(coin));
            t.push(Value::Int(ms));
            t.push(x.map_or(Value::Null, Value::Real));
            t.end_row().unwrap();
        }
        t.finish().unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn groups_written_on_the_files_thread_are_the_ones_written_here_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        // 143 groups, the last one short; and 140, the last one full.
        for rows in [1000, 980] {
            let threaded = written(dir.path(), rows, Threads::Always);
            assert!(
                threaded == written(dir.path(), rows, Threads::Never),
                "{rows} rows"
            );
            let path = dir.path().join(format!("{:?}.parquet", Threads::Always));
            let r = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
            assert_eq!(r.metadata().num_row_groups(), (rows as usize).div_ceil(7));
            let got: Vec<_> = (r.get_row_iter(None).unwrap())
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(got.len(), rows as usize);
            for (i, got) in got.iter().enumerate() {
                let (coin, ms, x) = row(i as i64);
                let cells: Vec<&Cell_> = got.get_column_iter().map(|(_, c)| c).collect();
                assert_eq!(cells[0], &Cell_::Str(coin.into()), "row {i}");
                assert_eq!(cells[1], &Cell_::TimestampMillis(ms), "row {i}");
                assert_eq!(cells[2], &x.map_or(Cell_::Null, Cell_::Double), "row {i}");
            }
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_comes_back_to_the_rows_writer_and_nothing_hangs() {
        for threads in [Threads::Always, Threads::Never] {
            // Writes to /dev/full fail with "no space"; values that do not compress fill the file's
            // 1 MiB buffer, so writing fails while rows still come.
            let file = File::options().write(true).open("/dev/full").unwrap();
            let mut t = Table::open(file, &fields(), 1000, threads).unwrap();
            let mut bits = 0x9e37_79b9_7f4a_7c15u64;
            let mut failed = None;
            for i in 0..2_000_000 {
                bits ^= bits << 13;
                bits ^= bits >> 7;
                bits ^= bits << 17;
                t.push(Value::Text("ETH"));
                t.push(Value::Int(i));
                t.push(Value::Real(f64::from_bits(bits >> 2)));
                if let Err(e) = t.end_row() {
                    failed = Some(e);
                    break;
                }
            }
            let e = failed.unwrap_or_else(|| panic!("{threads:?}: the error reaches a later row"));
            assert!(e.to_string().contains("No space left"), "{threads:?}: {e}");
            // Rows after the failure are let go, and finishing says it failed.
            t.push(Value::Text("ETH"));
            t.push(Value::Int(0));
            t.push(Value::Null);
            let _ = t.end_row();
            let again = t.finish().expect_err("the file was not written");
            assert!(
                again.to_string().contains("No space left"),
                "{threads:?}: {again}"
            );
        }
    }
}
