//! Sinks: one row per input sequence number that caused output (DESIGN §4), written to stdout, CSV or NDJSON.

mod csv;
mod journal;
mod ndjson;
mod table;

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use crate::base::datapoint::{Datapoint, Kind};
use crate::base::status;
use crate::base::SinkError;
use crate::config::SinkOutput;
use crate::graph::SinkColumn;

/// One finished row: its time and one cell per column (`None` when no value arrived for it).
pub struct Row<'a> {
    /// Event time of the cause (ns since the epoch).
    pub time: i64,
    /// Values, one per column.
    pub values: &'a [f64],
    /// Whether each column received a value.
    pub present: &'a [bool],
    /// What a live feed said in this row (`gap 100 trades on binance btcusdt`), for sinks with a
    /// `status` column.
    pub status: Option<&'a str>,
    /// The status datapoint behind `status`, for outputs that keep its values.
    pub status_dp: Option<&'a Datapoint>,
}

impl Row<'_> {
    /// The value of column `i`, when it has a finite one.
    pub fn cell(&self, i: usize) -> Option<f64> {
        (self.present[i] && self.values[i].is_finite()).then_some(self.values[i])
    }
}

/// Writes rows in one format.
pub trait RowWriter: Send {
    /// Writes one row.
    fn write_row(&mut self, row: &Row<'_>) -> io::Result<()>;
    /// Flushes everything written so far.
    fn flush(&mut self) -> io::Result<()>;
}

type Out = BufWriter<Box<dyn Write + Send>>;

fn open_file(path: &Path) -> io::Result<Out> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let f = File::create(path)?;
    Ok(BufWriter::with_capacity(1 << 16, Box::new(f)))
}

/// A running sink.
pub struct Sink {
    columns: Vec<SinkColumn>,
    values: Vec<f64>,
    present: Vec<bool>,
    any: bool,
    time: i64,
    writers: Vec<Output>,
    rows: u64,
    /// Feed names by tube id, when a live feed is upstream (the sink then has a `status` column).
    feeds: Option<Vec<String>>,
    /// The status received for the current sequence number, if any.
    status: Option<Datapoint>,
    /// Where its sentence is formatted (reused, so writing a row does not allocate).
    status_text: String,
}

struct Output {
    target: String,
    writer: Box<dyn RowWriter>,
    stdout: bool,
}

impl Sink {
    /// Opens every output (creating parent directories) and writes headers. With `feeds` (feed names by
    /// tube id, given when a live feed is upstream) the rows end with a `status` column.
    pub fn open(
        outputs: &[SinkOutput],
        columns: &[SinkColumn],
        feeds: Option<Vec<String>>,
        journal: Option<(crate::journal::Meta, crate::base::datapoint::TubeId)>,
    ) -> Result<Sink, SinkError> {
        let with_status = feeds.is_some();
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let mut writers = Vec::new();
        for o in outputs {
            let target = match o {
                SinkOutput::Discard => continue,
                SinkOutput::Stdout => "stdout".to_string(),
                SinkOutput::Csv(p) | SinkOutput::Json(p) | SinkOutput::Journal(p) => {
                    p.display().to_string()
                }
            };
            let err = |source| SinkError {
                target: target.clone(),
                source,
            };
            let w: Box<dyn RowWriter> = match o {
                SinkOutput::Discard => continue,
                SinkOutput::Stdout => {
                    let stdout: Out = BufWriter::with_capacity(1 << 16, Box::new(io::stdout()));
                    if io::stdout().is_terminal() {
                        Box::new(table::TableWriter::new(stdout, &names, with_status).map_err(err)?)
                    } else {
                        Box::new(csv::CsvWriter::new(stdout, &names, with_status).map_err(err)?)
                    }
                }
                SinkOutput::Csv(p) => Box::new(
                    csv::CsvWriter::new(open_file(p).map_err(err)?, &names, with_status)
                        .map_err(err)?,
                ),
                SinkOutput::Journal(dir) => {
                    let (meta, id) = journal
                        .clone()
                        .expect("the engine describes a journal output");
                    Box::new(journal::JournalWriter::create(dir, meta, id).map_err(err)?)
                }
                SinkOutput::Json(p) => Box::new(ndjson::NdjsonWriter::new(
                    open_file(p).map_err(err)?,
                    &names,
                    with_status,
                )),
            };
            writers.push(Output {
                stdout: *o == SinkOutput::Stdout,
                target,
                writer: w,
            });
        }
        Ok(Sink {
            columns: columns.to_vec(),
            values: vec![f64::NAN; columns.len()],
            present: vec![false; columns.len()],
            any: false,
            time: 0,
            writers,
            rows: 0,
            feeds,
            status: None,
            status_text: String::with_capacity(128),
        })
    }

    /// Takes a datapoint that arrived on `port` for the current sequence number.
    #[inline]
    pub fn on_input(&mut self, port: u8, dp: &Datapoint) {
        if dp.kind == Kind::Status {
            if self.feeds.is_some() {
                self.status = Some(*dp);
                self.any = true;
                self.time = dp.event_time;
            }
            return;
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.port == port as usize {
                self.values[i] = dp.values[c.slot as usize];
                self.present[i] = true;
                self.any = true;
                self.time = dp.event_time;
            }
        }
    }

    /// Ends the current sequence number: writes its row if any column received a value; returns whether it did.
    ///
    /// When stdout is closed by its reader (`tubes run … | head`), the stdout output stops quietly and the
    /// other outputs go on.
    pub fn end_seq(&mut self) -> Result<bool, SinkError> {
        if !self.any {
            return Ok(false);
        }
        if let (Some(dp), Some(feeds)) = (&self.status, &self.feeds) {
            use std::fmt::Write as _;
            self.status_text.clear();
            let _ = write!(self.status_text, "{}", status::Text { dp, feeds });
        }
        let row = Row {
            time: self.time,
            values: &self.values,
            present: &self.present,
            status: self.status.is_some().then_some(self.status_text.as_str()),
            status_dp: self.status.as_ref(),
        };
        let mut closed = None;
        for (i, o) in self.writers.iter_mut().enumerate() {
            if let Err(e) = o.writer.write_row(&row) {
                if o.stdout && e.kind() == io::ErrorKind::BrokenPipe {
                    closed = Some(i);
                } else {
                    return Err(SinkError {
                        target: o.target.clone(),
                        source: e,
                    });
                }
            }
        }
        if let Some(i) = closed {
            self.writers.remove(i);
        }
        self.rows += 1;
        self.any = false;
        self.status = None;
        self.present.fill(false);
        Ok(true)
    }

    /// Flushes every output; returns the number of rows written.
    pub fn finish(&mut self) -> Result<u64, SinkError> {
        for o in &mut self.writers {
            match o.writer.flush() {
                Err(e) if !(o.stdout && e.kind() == io::ErrorKind::BrokenPipe) => {
                    return Err(SinkError {
                        target: o.target.clone(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

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
        })
        .unwrap();
        w.write_row(&Row {
            time: t + 60_000_000_000,
            values: &[f64::NAN, 12.0],
            present: &[true, true],
            status: None,
            status_dp: None,
        })
        .unwrap();
        w.write_row(&Row {
            time: t,
            values: &[3.0, 4.0],
            present: &[false, true],
            status: None,
            status_dp: None,
        })
        .unwrap();
        w.flush().unwrap();
    }

    #[test]
    fn the_table_aligns_columns_under_their_headers() {
        let buf = Shared::default();
        let out: Out = BufWriter::new(Box::new(buf.clone()));
        let mut t = table::TableWriter::new(out, &["btc.sum_Volume", "eth.count"], false).unwrap();
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
        let mut c =
            csv::CsvWriter::new(BufWriter::new(Box::new(a.clone())), &["x.v", "y.n"], false)
                .unwrap();
        rows(&mut c);
        let mut j =
            ndjson::NdjsonWriter::new(BufWriter::new(Box::new(b.clone())), &["x.v", "y.n"], false);
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
    fn a_status_fills_the_last_column_of_csv_ndjson_and_the_table() {
        let t = crate::base::time::parse_timestamp(b"2024-08-08T23:54:56Z").unwrap();
        let write = |w: &mut dyn RowWriter| {
            w.write_row(&Row {
                time: t,
                values: &[f64::NAN],
                present: &[false],
                status: Some("gap 3 trades on binance btcusdt"),
                status_dp: None,
            })
            .unwrap();
            w.write_row(&Row {
                time: t,
                values: &[10.5],
                present: &[true],
                status: None,
                status_dp: None,
            })
            .unwrap();
            w.flush().unwrap();
        };
        let text = |b: &Shared| String::from_utf8(b.0.lock().unwrap().clone()).unwrap();
        let (a, b, c) = (Shared::default(), Shared::default(), Shared::default());
        write(
            &mut csv::CsvWriter::new(BufWriter::new(Box::new(a.clone())), &["x.v"], true).unwrap(),
        );
        write(&mut ndjson::NdjsonWriter::new(
            BufWriter::new(Box::new(b.clone())),
            &["x.v"],
            true,
        ));
        write(
            &mut table::TableWriter::new(BufWriter::new(Box::new(c.clone())), &["x.v"], true)
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
