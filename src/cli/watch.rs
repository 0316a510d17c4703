//! What `tubes run` shows while a pipeline runs: the progress bar, latency tables per interval, and the
//! HdrHistogram log.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;

use super::progress::Bar;
use crate::metrics::live::Snapshot;
use crate::metrics::stats_file::StatsWriter;
use crate::metrics::{latency_table, HdrLog, LogError, Series};
use crate::runtime::{Observer, Progressing};

/// What `tubes run` shows and writes while a pipeline runs.
pub(super) struct Watch {
    pub bar: Bar,
    pub interval: Option<Duration>,
    pub log_path: Option<PathBuf>,
    pub log: Option<HdrLog>,
    pub log_error: Option<LogError>,
    /// The stats file `tubes top` reads.
    pub stats: Option<StatsWriter>,
}

impl Watch {
    fn write_log(
        &mut self,
        start: Duration,
        length: Duration,
        series: &[Series],
        hists: &[Histogram<u64>],
    ) -> Result<(), LogError> {
        let Some(path) = &self.log_path else {
            return Ok(());
        };
        if self.log.is_none() {
            let run_start = SystemTime::now() - (start + length);
            self.log = Some(HdrLog::create(path, series, run_start)?);
        }
        self.log
            .as_mut()
            .expect("created above")
            .write(start, length, hists)
    }
}

impl Observer for Watch {
    fn interval(&self) -> Option<Duration> {
        self.interval
    }

    fn progress(&mut self, p: Progressing) {
        self.bar.update(p);
    }

    fn wants_live(&self) -> bool {
        self.stats.is_some()
    }

    fn snapshot(&mut self, s: &std::sync::Arc<Snapshot>) {
        if let Some(w) = &mut self.stats {
            w.publish(s);
        }
    }

    fn latency(
        &mut self,
        start: Duration,
        length: Duration,
        series: &[Series],
        hists: &[Histogram<u64>],
    ) {
        if let Err(e) = self.write_log(start, length, series, hists) {
            self.log_error.get_or_insert(e);
        }
        if self.interval.is_some() {
            self.bar.clear();
            let title = format!(
                "latency {:.1}–{:.1} s",
                start.as_secs_f64(),
                (start + length).as_secs_f64()
            );
            err!("{}", latency_table(&title, series, hists));
        }
    }
}
