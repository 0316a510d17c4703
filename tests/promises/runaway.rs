//! Promise 7: runaway work is refused or bounded. A tick schedule over the limit is a config error
//! with its count; Stream ticks start now; `--duration` is wall time even for a sender that cannot
//! keep its rate; one signal stops a run (`tests/signals.rs`, and `outputs.rs` here under load).

use std::time::Duration;

use super::common::*;
use super::line_of;

/// Every 10 s from 2020 to 2040.
const EVERY_10S: &str =
    r#"{from: "2020-01-01T00:00:00Z", to: "2040-01-01T00:00:00Z", interval: {secs: 10, nanos: 0}}"#;

/// A Stream pipeline: synthetic BTC trades counted, a row at every tick of `tick`.
fn ticking(tick: &str, rate: &str, out: &std::path::Path) -> String {
    format!(
        r#"pipeline_type: Stream
tubes:
- Generator: {{label: btc, datasource: {{Synthetic: {{rate: {rate}, price: 60000, seed: 1}}}}, to_label: counter}}
- Through: {{label: counter, to_label: sink, reducer: COUNT, event: {{Consume: tick}}}}
- Sink: {{label: sink, datasink: {{CSV: {out}}}, fields: {{counter: [count]}}}}
- ExternalEvent: {{label: tick, condition: {{StaticTimeTick: {tick}}}}}
"#,
        out = out.display()
    )
}

/// Runs a checked config with `--duration 1s`, under a watchdog.
fn run_for_a_second(cfg: &std::path::Path) -> tubes::runtime::Report {
    let g = tubes::api::load(cfg).unwrap();
    within(60, move || {
        let mut e = tubes::runtime::Engine::build(&g, &tubes::graph::plan(&g)).unwrap();
        e.stop_after(Duration::from_secs(1));
        e.start().unwrap().finish(|_| {})
    })
    .unwrap()
}

#[test]
fn a_tick_schedule_over_the_limit_is_refused_with_its_count() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let tick = r#"{from: "2024-01-01T00:00:00Z", to: "2024-01-02T00:00:00Z", interval: {secs: 0, nanos: 1}}"#;
    let text = ticking(tick, "1000", &out);
    let cfg = write_config(dir.path(), "ns.yaml", &text);
    let (code, _, err) = tubes(&["check", cfg.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let per_day: u128 = 86_400 * 1_000_000_000;
    assert!(
        err.contains(&format!("ns.yaml:{}:", line_of(&text, "StaticTimeTick")))
            && err.contains(&format!("this tick fires {per_day} times")),
        "{err}"
    );
}

#[test]
fn stream_ticks_start_now_not_at_a_schedule_begun_in_the_past() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    // Every 10 s since 2020: 3 million ticks would be due at once if past ticks fired.
    let cfg = write_config(dir.path(), "past.yaml", &ticking(EVERY_10S, "1000", &out));
    let report = run_for_a_second(&cfg);
    assert!(
        report.rows <= 1,
        "a 1 s run sees at most one tick of a 10 s grid, not the past's ({} rows)",
        report.rows
    );
}

#[test]
fn duration_is_wall_time_for_a_sender_that_cannot_keep_its_rate() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    // A billion trades a second: no machine sends them, so the sender is always behind its schedule.
    let cfg = write_config(
        dir.path(),
        "fast.yaml",
        &ticking(EVERY_10S, "1000000000", &out),
    );
    let report = run_for_a_second(&cfg);
    let sent = report.generators[0].rows;
    assert!(sent > 0 && sent < 1_000_000_000, "{sent} trades sent");
}

#[test]
fn one_signal_stops_a_burst_of_ticks() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    // 50 million ticks between the start of the range and the first bar, each a row.
    let text = format!(
        r#"pipeline_type:
  Batch: ["2020-01-01T00:00:00Z", "2023-05-01T00:00:00Z"]
tubes:
- Generator: {{label: btc, datasource: {{CSV: testdata/binance_BTCUSDT_1m.csv}}, to_label: counter}}
- Through: {{label: counter, to_label: sink, reducer: COUNT, event: {{Consume: tick}}}}
- Sink: {{label: sink, datasink: {{CSV: {out}}}, fields: {{counter: [count]}}}}
- ExternalEvent: {{label: tick, condition: {{StaticTimeTick: {{from: "2020-01-01T00:00:00Z", to: "2023-05-01T00:00:00Z", interval: 2s}}}}}}
"#,
        out = out.display()
    );
    let cfg = write_config(dir.path(), "burst.yaml", &text);
    let mut run = Watched::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
            .arg("run")
            .arg(&cfg)
            .args(["--metrics-interval", "100ms"]),
    );
    run.wait_for_line("latency ", 30);
    run.signal("INT");
    let (code, err) = run.finish(20);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    let rows = read_csv(&out).len() - 1;
    assert!(rows < 50_000_000, "the ticks stopped ({rows} rows)");
}
