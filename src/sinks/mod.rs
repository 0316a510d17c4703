//! Sink kinds: where rows go. Each implements [`crate::plugin::SinkKind`] in its own module and is
//! listed once in [`KINDS`]; the engine's sink tube (DESIGN §4: one row per input sequence number that
//! caused output) hands each row to every output's [`crate::plugin::RowWriter`].

mod csv;
mod discard;
mod journal;
#[cfg(not(loom))]
mod kafka;
mod lead;
mod ndjson;
mod parquet;
#[cfg(not(loom))]
mod postgres;
mod records;
#[cfg(not(loom))]
mod redis;
mod sqlite;
mod stdout;
mod table;
mod visual;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::base::out::{Out, BUFFER};
use crate::base::RunError;
use crate::base::SinkError;
use crate::config::Reader;
use crate::plugin::{Commit, Destination, OpenSink, RowWriter, SinkKind, SinkOutput, Staged};

/// Every sink kind a config may name (`datasink: Tag` or `{Tag: ...}`), in the order errors list them.
pub static KINDS: &[&dyn SinkKind] = &[
    &stdout::Stdout,
    &visual::Visual,
    &csv::CSV,
    &ndjson::NDJSON,
    &journal::JOURNAL,
    &sqlite::Sqlite,
    &parquet::Parquet,
    #[cfg(not(loom))]
    &postgres::Postgres,
    #[cfg(not(loom))]
    &kafka::Kafka,
    #[cfg(not(loom))]
    &redis::Redis,
    &discard::Discard,
];

/// A sink kind whose payload is a path (`{CSV: out/rows.csv}`): its names, and how it opens a writer
/// at that path.
pub struct PathKind {
    names: &'static [&'static str],
    accepts: Accepts,
    open: OpenAt,
    /// Its rows into any writer, for a sweep; `None` when it cannot write one.
    format: Option<Format>,
    /// Whether it writes one file, through a partial file put in its place at a clean end ([`Staged`]); a
    /// journal is a directory, written in place.
    file: bool,
    /// What makes the path unusable for rows of these columns, found when the config is checked.
    check: Check,
}

/// See [`SinkOutput::check`].
type Check = fn(&Path, &[&str]) -> Result<(), String>;

/// A file output: a path that is a file, a device or nothing yet.
fn file_check(path: &Path, _: &[&str]) -> Result<(), String> {
    Staged::of(path)
        .map(|_| ())
        .map_err(|e| format!("cannot write rows to '{}': {e}", path.display()))
}

/// Rows in a kind's format into a writer (the header first when `cx.header`).
type Format = fn(Out, &OpenSink<'_>) -> io::Result<Box<dyn RowWriter>>;

/// Whether an output can take a sink's rows (see [`SinkOutput::accepts`]).
type Accepts = fn(&OpenSink<'_>) -> Result<(), RunError>;

/// For outputs that take any rows.
fn any_rows(_: &OpenSink<'_>) -> Result<(), RunError> {
    Ok(())
}

/// Opens a writer at a path for a sink.
type OpenAt = fn(&Path, &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError>;

impl SinkKind for PathKind {
    fn names(&self) -> &'static [&'static str] {
        self.names
    }

    fn parse(
        &self,
        r: &mut Reader<'_>,
        payload: &Value,
        path: &str,
    ) -> Option<Box<dyn SinkOutput>> {
        let at = PathBuf::from(r.string(payload, path)?);
        Some(Box::new(PathOutput {
            path: at,
            accepts: self.accepts,
            open: self.open,
            format: self.format,
            file: self.file,
            check: self.check,
        }))
    }
}

/// An output written to a path. Its `Debug` tells its settings apart (a sweep compares the outputs
/// its combinations write to one path), and leaves the path out: `Debug` escapes a path character by
/// character, for every combination.
struct PathOutput {
    path: PathBuf,
    accepts: Accepts,
    open: OpenAt,
    format: Option<Format>,
    file: bool,
    check: Check,
}

impl std::fmt::Debug for PathOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathOutput")
            .field("accepts", &self.accepts)
            .field("open", &self.open)
            .field("format", &self.format)
            .field("file", &self.file)
            .field("check", &self.check)
            .finish_non_exhaustive()
    }
}

impl SinkOutput for PathOutput {
    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn writes(&self) -> Option<&Path> {
        Some(&self.path)
    }

    fn staged(&self) -> Option<Box<dyn Commit>> {
        let staged = Staged::of(&self.path)
            .ok()
            .flatten()
            .filter(|_| self.file)?;
        Some(Box::new(staged))
    }

    fn check(&self, columns: &[&str]) -> Result<(), String> {
        (self.check)(&self.path, columns)
    }

    fn accepts(&self, cx: &OpenSink<'_>) -> Result<(), RunError> {
        (self.accepts)(cx)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        (self.open)(&self.path, cx).map(Some)
    }

    fn can_sweep(&self) -> bool {
        self.format.is_some()
    }

    fn destination(&self) -> Option<Result<Destination, RunError>> {
        self.format?;
        let file = create_file(&self.path)
            .map_err(|e| SinkError::new(self.target(), e).into())
            .map(Destination::File);
        Some(file)
    }

    fn format(&self, out: Out, cx: &OpenSink<'_>) -> Result<Box<dyn RowWriter>, RunError> {
        let format = self
            .format
            .expect("format is called only when destination gave one");
        format(out, cx).map_err(|e| SinkError::new(self.target(), e).into())
    }
}

/// Creates the file the rows for `path` go to, and its parent directories: the partial file beside it
/// ([`Staged`]), or `path` itself when it is a device.
fn create_file(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    match Staged::of(path)? {
        Some(staged) => staged.create(),
        None => std::fs::OpenOptions::new().write(true).open(path),
    }
}

fn open_file(path: &Path) -> io::Result<Out> {
    let f = create_file(path)?;
    Ok(Out::copying(f, BUFFER))
}

#[cfg(test)]
mod tests {
    use super::lead::Lead;
    use super::*;
    use crate::plugin::{Row, RowWriter};
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read back (the tests of other sinks use it too).
    #[derive(Clone, Default)]
    pub(super) struct Shared(pub(super) Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn rows(w: &mut dyn RowWriter) {
        let t = crate::base::time::parse_timestamp(b"2023-03-16T22:19:00Z").unwrap();
        w.write_row(&Row {
            time: t,
            values: &[1147.5, 5.0],
            present: &[true, true],
            status: None,
            status_dp: None,
            texts: &[],
            written: &[],
        })
        .unwrap();
        w.write_row(&Row {
            time: t + 60_000_000_000,
            values: &[f64::NAN, 12.0],
            present: &[true, true],
            status: None,
            status_dp: None,
            texts: &[],
            written: &[],
        })
        .unwrap();
        w.write_row(&Row {
            time: t,
            values: &[3.0, 4.0],
            present: &[false, true],
            status: None,
            status_dp: None,
            texts: &[],
            written: &[],
        })
        .unwrap();
        w.flush().unwrap();
    }

    #[test]
    fn the_table_aligns_columns_under_their_headers() {
        let buf = Shared::default();
        let out: Out = Out::copying(buf.clone(), BUFFER);
        let mut t = table::TableWriter::with_lead(
            out,
            &["btc.sum_Volume", "eth.count"],
            false,
            Lead::default(),
            true,
        )
        .unwrap();
        rows(&mut t);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "timestamp                 btc.sum_Volume       eth.count"
        );
        assert_eq!(
            lines[1],
            "2023-03-16T22:19:00.000Z          1147.5               5"
        );
        assert_eq!(
            lines[2],
            "2023-03-16T22:20:00.000Z                              12"
        );
        assert!(
            lines.iter().all(|l| l.len() == lines[0].len()),
            "every line as wide as the header"
        );
    }

    #[test]
    fn csv_and_ndjson_leave_missing_values_empty_and_null() {
        let (a, b) = (Shared::default(), Shared::default());
        let mut c = csv::CsvWriter::with_lead(
            Out::copying(a.clone(), BUFFER),
            &["x.v", "y.n"],
            false,
            Lead::default(),
            true,
        )
        .unwrap();
        rows(&mut c);
        let mut j =
            ndjson::NdjsonWriter::new(Out::copying(b.clone(), BUFFER), &["x.v", "y.n"], false);
        rows(&mut j);
        let csv = String::from_utf8(a.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            csv,
            "timestamp,x.v,y.n\n2023-03-16T22:19:00.000Z,1147.5,5\n2023-03-16T22:20:00.000Z,,12\n2023-03-16T22:19:00.000Z,,4\n"
        );
        let json = String::from_utf8(b.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            json.lines().nth(1).unwrap(),
            r#"{"timestamp":"2023-03-16T22:20:00.000Z","x.v":null,"y.n":12}"#
        );
    }

    #[test]
    fn csv_headers_quote_names_with_commas_and_quotes() {
        let a = Shared::default();
        let names = ["btc, 1m.sum_Volume", "say \"hi\".count"];
        let mut c = csv::CsvWriter::with_lead(
            Out::copying(a.clone(), BUFFER),
            &names,
            false,
            Lead::default(),
            true,
        )
        .unwrap();
        c.flush().unwrap();
        let text = String::from_utf8(a.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "timestamp,\"btc, 1m.sum_Volume\",\"say \"\"hi\"\".count\"\n"
        );
    }

    #[test]
    fn a_status_fills_the_last_column_of_csv_ndjson_and_the_table() {
        let t = crate::base::time::parse_timestamp(b"2024-08-08T23:54:56Z").unwrap();
        let write = |w: &mut dyn RowWriter| {
            w.write_row(&Row {
                time: t,
                values: &[f64::NAN],
                present: &[false],
                status: Some("gap 3 trades on binance btcusdt"),
                status_dp: None,
                texts: &[],
                written: &[],
            })
            .unwrap();
            w.write_row(&Row {
                time: t,
                values: &[10.5],
                present: &[true],
                status: None,
                status_dp: None,
                texts: &[],
                written: &[],
            })
            .unwrap();
            w.flush().unwrap();
        };
        let text = |b: &Shared| String::from_utf8(b.0.lock().unwrap().clone()).unwrap();
        let (a, b, c) = (Shared::default(), Shared::default(), Shared::default());
        write(
            &mut csv::CsvWriter::with_lead(
                Out::copying(a.clone(), BUFFER),
                &["x.v"],
                true,
                Lead::default(),
                true,
            )
            .unwrap(),
        );
        write(&mut ndjson::NdjsonWriter::new(
            Out::copying(b.clone(), BUFFER),
            &["x.v"],
            true,
        ));
        write(
            &mut table::TableWriter::with_lead(
                Out::copying(c.clone(), BUFFER),
                &["x.v"],
                true,
                Lead::default(),
                true,
            )
            .unwrap(),
        );
        assert_eq!(
            text(&a),
            "timestamp,x.v,status\n2024-08-08T23:54:56.000Z,,gap 3 trades on binance btcusdt\n2024-08-08T23:54:56.000Z,10.5,\n"
        );
        let json: Vec<String> = text(&b).lines().map(str::to_string).collect();
        assert_eq!(
            json,
            [
                r#"{"timestamp":"2024-08-08T23:54:56.000Z","x.v":null,"status":"gap 3 trades on binance btcusdt"}"#,
                r#"{"timestamp":"2024-08-08T23:54:56.000Z","x.v":10.5,"status":null}"#
            ]
        );
        let table = text(&c);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].ends_with("  status"), "{table}");
        assert!(
            lines[1].ends_with("  gap 3 trades on binance btcusdt"),
            "{table}"
        );
        assert!(lines[2].ends_with("10.5"), "{table}");
    }
}
