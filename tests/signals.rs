//! SIGINT and SIGTERM stop a run cleanly: generators stop, everything read is processed, sinks flush,
//! and the summary says so and accounts for every row.

mod common;
use common::*;

use std::process::Command;

/// `tubes run CONFIG` printing a latency table every 100 ms once data flows (the readiness signal).
fn watched_run(config: &std::path::Path) -> Watched {
    Watched::spawn(
        Command::new(env!("CARGO_BIN_EXE_tubes"))
            .arg("run")
            .arg(config)
            .args(["--metrics-interval", "100ms"]),
    )
}

#[test]
fn sigterm_ends_an_endless_stream_run_with_its_output_flushed() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let text = std::fs::read_to_string("configs/bench_btc_eth.yaml")
        .unwrap()
        .replace(
            "datasink: Discard",
            &format!("datasink: {{CSV: {}}}", out.display()),
        );
    let cfg = write_config(dir.path(), "s.yaml", &text);
    // Ready once datapoints flow: the first latency interval is printed.
    let mut run = watched_run(&cfg);
    run.wait_for_line("latency ", 30);
    run.signal("TERM");
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(0), "a clean stop exits 0");
    assert!(
        err.contains("interrupted: stopped early by a signal"),
        "{err}"
    );
    let rows_out: usize = err
        .split(" rows out")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(rows_out > 0, "{err}");
    assert_eq!(
        read_csv(&out).len() - 1,
        rows_out,
        "every row written was flushed"
    );
}

#[test]
fn sigint_during_a_batch_run_accounts_for_every_row() {
    let dir = tempdir();
    let out = dir.path().join("o.json");
    // Two-slot rings make the talk config take seconds, long enough to interrupt half-way.
    let text = shipped_config_to(
        "configs/talk.yaml",
        &out,
        "runtime: {placement: per_tube, ring_capacity: 2}",
    );
    let cfg = write_config(dir.path(), "t.yaml", &text);
    let mut run = watched_run(&cfg);
    run.wait_for_line("latency ", 30);
    run.signal("INT");
    let (code, err) = run.finish(30);
    assert_eq!(code, Some(0));
    assert!(err.contains("interrupted"), "{err}");
    let total = read_bars("testdata/binance_BTCUSDT_1m.csv").len() as u64;
    // "btc_data: N rows not read (stopped early)" and "btc_data: R rows read, S skipped, O outside".
    let num = |line_start: &str, word: &str| -> u64 {
        let line = err
            .lines()
            .find(|l| l.trim_start().starts_with(line_start) && l.contains(word))
            .unwrap_or("");
        line.split(word)
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let unread = num("btc_data:", " rows not read");
    let read = num("btc_data:", " rows read");
    let outside = num("btc_data:", " rows outside");
    assert!(unread > 0, "stopped before the end: {err}");
    assert_eq!(
        read + outside + unread,
        total,
        "every row of the file is accounted for: {err}"
    );
}
