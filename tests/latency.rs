//! Latency recording: HDR interval logs round-trip through HdrHistogram's own reader; tables and switches.

mod common;
use common::*;

use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use tubes::metrics::{HdrLog, Series, SeriesKind};
use tubes::runtime::{Observer, Progressing};

/// Writes every interval to an HDR log, like `tubes run --latency-log`.
struct Logging {
    log: Option<HdrLog>,
    path: std::path::PathBuf,
    every: Duration,
    intervals: usize,
}

impl Observer for Logging {
    fn interval(&self) -> Option<Duration> {
        Some(self.every)
    }
    fn progress(&mut self, _: Progressing) {}
    fn latency(
        &mut self,
        start: Duration,
        length: Duration,
        series: &[Series],
        hists: &[Histogram<u64>],
    ) {
        let log = self
            .log
            .get_or_insert_with(|| HdrLog::create(&self.path, series, SystemTime::now()).unwrap());
        log.write(start, length, hists).unwrap();
        self.intervals += 1;
    }
}

#[test]
fn an_hdr_interval_log_reads_back_with_the_same_counts_and_percentiles() {
    let dir = tempdir();
    let out = dir.path().join("o.json");
    // Small rings make the run long enough for several intervals.
    let text = shipped_config_to(
        "configs/talk.yaml",
        &out,
        "runtime: {placement: per_tube, ring_capacity: 4}",
    );
    let g = tubes::api::load(&write_config(dir.path(), "p.yaml", &text)).unwrap();
    let path = dir.path().join("latency.hlog");
    let mut obs = Logging {
        log: None,
        path: path.clone(),
        every: Duration::from_millis(100),
        intervals: 0,
    };
    let report = within(120, move || {
        let r = tubes::api::run_observed(&g, &mut obs);
        obs.log.take().unwrap().finish().unwrap();
        (r, obs.intervals)
    });
    let (report, intervals) = (report.0.unwrap(), report.1);
    assert!(
        intervals >= 2,
        "several intervals were written ({intervals})"
    );

    // Read back with the hdrhistogram crate's log reader and deserializer, merging intervals per tag.
    let text = std::fs::read(&path).unwrap();
    let mut merged: Vec<(String, Histogram<u64>)> = Vec::new();
    let mut d = Deserializer::new();
    for entry in IntervalLogIterator::new(&text) {
        if let LogEntry::Interval(ilh) = entry.unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(ilh.encoded_histogram())
                .unwrap();
            let h: Histogram<u64> = d.deserialize(&mut &bytes[..]).unwrap();
            let tag = ilh
                .tag()
                .expect("every histogram is tagged")
                .as_str()
                .to_string();
            match merged.iter_mut().find(|(t, _)| *t == tag) {
                Some((_, m)) => m.add(&h).unwrap(),
                None => merged.push((tag, h)),
            }
        }
    }
    let mut checked = 0;
    for (series, total) in report.series.iter().zip(&report.latency) {
        if total.is_empty() {
            continue;
        }
        let (_, back) = merged
            .iter()
            .find(|(t, _)| *t == series.tag())
            .unwrap_or_else(|| panic!("{} in the log", series.tag()));
        assert_eq!(back.len(), total.len(), "{}", series.tag());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(
                back.value_at_quantile(q),
                total.value_at_quantile(q),
                "{} at {q}",
                series.tag()
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked,
        merged.len(),
        "nothing in the log that the run did not record"
    );
    // Every kind of series is there: rings, tubes, the sink's end-to-end.
    for kind in [SeriesKind::Queue, SeriesKind::Service, SeriesKind::EndToEnd] {
        assert!(
            report
                .series
                .iter()
                .zip(&report.latency)
                .any(|(s, h)| s.kind == kind && !h.is_empty()),
            "{kind:?}"
        );
    }
    // Counts follow the data: the sink's end-to-end series has one value per row written.
    let e2e = report
        .series
        .iter()
        .position(|s| s.kind == SeriesKind::EndToEnd)
        .unwrap();
    assert_eq!(report.latency[e2e].len(), report.rows);
    // Every datapoint waited in its generator's ring once.
    let gen_rings: u64 = report
        .series
        .iter()
        .zip(&report.latency)
        .filter(|(s, _)| s.name.ends_with("→sequencer"))
        .map(|(_, h)| h.len())
        .sum();
    assert_eq!(
        gen_rings,
        report.generators.iter().map(|g| g.rows).sum::<u64>()
    );
}

#[test]
fn metrics_off_records_nothing_and_the_log_option_is_refused() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = shipped_config_to(
        "configs/readme_example.yaml",
        &out,
        "runtime: {metrics: off}",
    );
    let path = write_config(dir.path(), "p.yaml", &text);
    let r = run_file(&path).unwrap();
    assert!(r.series.is_empty() && r.latency.is_empty());
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(&path)
        .arg("--latency-log")
        .arg(dir.path().join("x.hlog"))
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("metrics: off"));
}

#[test]
fn run_prints_a_percentile_table_per_ring_tube_and_sink() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let path = write_config(
        dir.path(),
        "p.yaml",
        // A stage thread of its own, so that a ring joins the sequencer to the tubes.
        &shipped_config_to(
            "configs/readme_example.yaml",
            &out,
            "runtime: {placement: single}",
        ),
    );
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8(o.stderr).unwrap();
    let header = err
        .lines()
        .find(|l| l.starts_with("latency (whole run)"))
        .expect("a latency table");
    for col in ["count", "p50", "p90", "p99", "p99.9", "max"] {
        assert!(header.contains(col), "{header}");
    }
    for row in [
        "ring btc→sequencer ",
        "ring sequencer→stage 0 ",
        "tube btc_vol_sum ",
        "tube eth_counter ",
        "sink sink (end-to-end) ",
    ] {
        let line = err
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("a row for {row}: {err}"));
        assert_eq!(
            line.split_whitespace().filter(|w| w.ends_with('s')).count(),
            5,
            "{line}"
        );
    }
}

#[test]
fn the_command_line_prints_interval_tables_and_writes_a_readable_log() {
    let dir = tempdir();
    let log = dir.path().join("run.hlog");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args([
            "run",
            "configs/bench_btc_eth.yaml",
            "--duration",
            "1s",
            "--metrics-interval",
            "300ms",
            "--latency-log",
        ])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8(o.stderr).unwrap();
    let intervals = err
        .lines()
        .filter(|l| l.starts_with("latency ") && l.contains(" s "))
        .count();
    assert!(intervals >= 3, "about one table per 300 ms over 1 s: {err}");
    assert!(err.contains("latency (whole run)"));
    // The log's intervals add up to the whole run's count for the end-to-end series.
    let text = std::fs::read(&log).unwrap();
    let mut d = Deserializer::new();
    let mut e2e = 0;
    let mut tagged = 0;
    for entry in IntervalLogIterator::new(&text) {
        if let LogEntry::Interval(ilh) = entry.unwrap() {
            tagged += 1;
            if ilh.tag().unwrap().as_str() == "e2e:sink" {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(ilh.encoded_histogram())
                    .unwrap();
                let h: Histogram<u64> = d.deserialize(&mut &bytes[..]).unwrap();
                e2e += h.len();
            }
        }
    }
    assert!(tagged >= 3 * 4, "several intervals of several series");
    let (_, whole_run) = err.split_once("latency (whole run)").unwrap();
    let whole = whole_run
        .lines()
        .find(|l| l.starts_with("sink sink (end-to-end)"))
        .unwrap();
    let count: u64 = whole.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert_eq!(e2e, count, "{whole}");
}
