//! HdrHistogram interval logs (V2, deflate-compressed, base64), one tagged histogram per series per interval,
//! readable by HdrHistogram's own log readers (`HistogramLogReader`, `hdr-plot`, HdrHistogramVisualizer).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::IntervalLogWriterError;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::{V2DeflateSerializeError, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::Series;

/// Why the latency log could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// HdrHistogram's log writer (serializing or writing an interval).
    #[error("{0}")]
    Write(#[from] IntervalLogWriterError<V2DeflateSerializeError>),
}

/// An open log file.
pub struct HdrLog {
    out: BufWriter<File>,
    start: SystemTime,
    tags: Vec<String>,
}

impl HdrLog {
    /// Creates `path` and writes the log header (the run's start time, a comment naming every tag).
    pub fn create(path: &Path, series: &[Series], start: SystemTime) -> Result<HdrLog, LogError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::new(File::create(path)?);
        let tags: Vec<String> = series.iter().map(Series::tag).collect();
        let mut serializer = V2DeflateSerializer::new();
        let mut b = IntervalLogWriterBuilder::new();
        b.add_comment("tubes latency log: values in nanoseconds");
        b.add_comment(&format!("tags: {}", tags.join(" ")));
        b.with_start_time(start);
        b.begin_log_with(&mut out, &mut serializer)?;
        Ok(HdrLog { out, start, tags })
    }

    /// Appends one interval: `since_start` is when it began, relative to the log's start time.
    pub fn write(
        &mut self,
        since_start: Duration,
        length: Duration,
        hists: &[Histogram<u64>],
    ) -> Result<(), LogError> {
        let mut serializer = V2DeflateSerializer::new();
        // The builder writes nothing more when started without header items; it is the way to get a writer.
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut serializer)?;
        for (tag, h) in self.tags.iter().zip(hists) {
            if h.is_empty() {
                continue;
            }
            w.write_histogram(h, since_start, length, Tag::new(tag))?;
        }
        Ok(())
    }

    /// The log's start time.
    pub fn start(&self) -> SystemTime {
        self.start
    }

    /// Flushes the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
