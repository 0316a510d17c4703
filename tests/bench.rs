//! `tubes bench` and paced synthetic sources: exact counts, coordinated-omission correction, the command line.

mod common;
use common::*;

use std::time::Duration;

use tubes::metrics::SeriesKind;

/// These tests run engines at high rates or measure latency; one at a time, so that no test's load
/// skews another's percentiles.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn a_low_rate_for_one_second_sends_rate_times_duration_and_loses_nothing() {
    let _alone = alone();
    let p = within(60, || {
        let path = std::path::Path::new("configs/bench_btc_eth.yaml");
        tubes::cli::run_at(path, 1000.0, Duration::from_secs(1)).unwrap()
    });
    // Two generators at 500/s each, due at 0, 2 ms, 4 ms, ... before 1 s: exactly 500 each.
    assert_eq!(
        p.report
            .generators
            .iter()
            .map(|g| g.rows)
            .collect::<Vec<_>>(),
        [500, 500]
    );
    assert_eq!(p.report.datapoints, 1000, "everything sent was sequenced");
    let (_, e2e) = p.end_to_end().expect("windows closed and reached the sink");
    assert_eq!(e2e.len(), p.report.rows);
    let ring_total: u64 = p
        .report
        .series
        .iter()
        .zip(&p.report.latency)
        .filter(|(s, _)| s.kind == SeriesKind::Queue && s.name.ends_with("→sequencer"))
        .map(|(_, h)| h.len())
        .sum();
    assert_eq!(
        ring_total, 1000,
        "every datapoint passed its generator's ring once"
    );
}

/// A sender that stalls for 200 ms must show up in latency: the datapoints due during the stall count
/// from when they were due (corrected), while the time each spent in the ring after it was finally sent
/// (uncorrected) stays small.
#[test]
fn a_sender_stall_shifts_the_corrected_percentiles_as_expected() {
    let _alone = alone();
    let dir = tempdir();
    let text = r#"pipeline_type: Stream
tubes:
- Generator: {label: src, datasource: {Synthetic: {rate: 1000, stall: {after: 300ms, for: 200ms}}}, to_label: pass}
- Through: {label: pass, reducer: NOP, to_label: sink}
- Sink: {label: sink, datasink: Discard, fields: {pass: [price]}}
"#;
    let path = write_config(dir.path(), "p.yaml", text);
    let p = within(60, move || {
        tubes::cli::run_at(&path, 1000.0, Duration::from_secs(1)).unwrap()
    });
    assert_eq!(p.report.datapoints, 1000);
    let (_, e2e) = p.end_to_end().unwrap();
    assert_eq!(e2e.len(), 1000, "one row per datapoint");
    // About 200 of the 1000 were due during the stall, with delays spread evenly over 0–200 ms. A busy
    // machine only adds delay, so only lower bounds are asserted: at least the 150 due in the stall's
    // first 150 ms waited 50 ms or more, and the first one due in it waited about the whole stall.
    let slow = e2e.len() - e2e.count_between(0, 50_000_000);
    assert!(slow >= 150, "{slow} datapoints waited 50 ms or more");
    assert!(e2e.max() >= 180_000_000, "max {} ns", e2e.max());
    assert!(
        p.max_lag() >= 180_000_000,
        "the largest send lag is the stall: {} ns",
        p.max_lag()
    );
    let ring = p
        .report
        .series
        .iter()
        .position(|s| s.name == "src→sequencer")
        .map(|i| &p.report.latency[i])
        .unwrap();
    // Uncorrected (the wait in the ring after the late send), the stall hides: far fewer datapoints look
    // slow than the corrected figure shows.
    let ring_slow = ring.len() - ring.count_between(0, 50_000_000);
    assert!(
        ring_slow * 3 < slow,
        "uncorrected, the stall would hide: {ring_slow} slow in the ring against {slow} end to end"
    );
}

#[test]
fn the_bench_command_reports_rates_and_draws_a_plot() {
    let _alone = alone();
    let dir = tempdir();
    let svg = dir.path().join("rates.svg");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["bench", "--rate", "2k,4k", "--duration", "500ms", "--plot"])
        .arg(&svg)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("rate ")).collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains("sent      1000") && lines[0].contains("dropped 0"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("sent      2000"), "{}", lines[1]);
    // Resident memory at the first progress report and at the end, both read from the kernel.
    for l in &lines {
        let rss = l.split("RSS ").nth(1).expect("an RSS figure");
        let mib: Vec<f64> = rss
            .trim_end_matches(" MiB")
            .split(" → ")
            .map(|x| x.parse().unwrap())
            .collect();
        assert!(mib.len() == 2 && mib.iter().all(|&m| m > 1.0), "{l}");
    }
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("2.0 k/s end-to-end") && svg.contains("4.0 k/s end-to-end"));
    assert!(svg.contains("99.9%"));
}

#[test]
fn find_max_reports_the_highest_rate_under_the_bound() {
    let _alone = alone();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args([
            "bench",
            "--find-max",
            "50ms",
            "--rate",
            "50k",
            "--duration",
            "300ms",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let last = out.lines().last().unwrap();
    assert!(
        last.starts_with("highest rate with end-to-end p99 under 50.00ms: "),
        "{out}"
    );
    assert!(
        out.lines().filter(|l| l.ends_with(" ok")).count() >= 1,
        "{out}"
    );
    assert!(
        out.lines().filter(|l| l.ends_with(" over")).count() >= 1,
        "{out}"
    );
}

#[test]
fn synthetic_sources_are_refused_in_batch_and_duration_in_batch_runs() {
    let dir = tempdir();
    let text = std::fs::read_to_string("configs/bench_btc_eth.yaml")
        .unwrap()
        .replace(
            "pipeline_type: Stream",
            "pipeline_type: {Batch: [\"2024-01-01T00:00:00Z\", \"2024-01-02T00:00:00Z\"]}",
        );
    let err = tubes::api::load(&write_config(dir.path(), "b.yaml", &text))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot run in a Batch pipeline"), "{err}");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["run", "configs/readme_example.yaml", "--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Under drop_newest a full ring drops instead of blocking, and every datapoint is accounted for: sent =
/// sequenced + dropped before the sequencer; sequenced = taken up by the stage + dropped after it.
#[test]
fn drop_newest_counts_every_drop_per_ring() {
    let _alone = alone();
    let dir = tempdir();
    let text = std::fs::read_to_string("configs/bench_btc_eth.yaml").unwrap()
        + "runtime: {backpressure: drop_newest, ring_capacity: 2, wait: park, placement: single}\n";
    let path = write_config(dir.path(), "d.yaml", &text);
    let p = within(60, move || {
        tubes::cli::run_at(&path, 1_000_000.0, Duration::from_millis(500)).unwrap()
    });
    let drops = |suffix: &str| -> u64 {
        p.report
            .drops
            .iter()
            .filter(|(ring, _)| ring.ends_with(suffix))
            .map(|(_, n)| n)
            .sum()
    };
    assert_eq!(
        p.report.drops.len(),
        3,
        "a counter per ring: {:?}",
        p.report.drops
    );
    assert!(
        p.dropped() > 0,
        "2-slot rings at 1M/s with parked consumers overflow: {:?}",
        p.report.drops
    );
    assert_eq!(p.sent(), p.report.datapoints + drops("→sequencer"));
    let taken = p
        .report
        .series
        .iter()
        .position(|s| s.name == "sequencer→stage 0")
        .map(|i| p.report.latency[i].len())
        .unwrap();
    assert_eq!(p.report.datapoints, taken + drops("→stage 0"));
}

#[test]
fn drop_newest_is_refused_in_batch() {
    let dir = tempdir();
    let text = std::fs::read_to_string("configs/readme_example.yaml").unwrap()
        + "runtime: {backpressure: drop_newest}\n";
    let err = tubes::api::load(&write_config(dir.path(), "d.yaml", &text))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("drop_newest only applies to Stream pipelines"),
        "{err}"
    );
}
