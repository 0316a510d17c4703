//! Live feeds end to end, over loopback: the mock exchange replays the real Binance spot capture
//! (34,419 trade messages, BTC and ETH on one connection) and the engine answers the seed question live.
//! The answer is computed here from the same capture read sequentially, and every fault (dropped
//! connections, skipped ids, malformed frames, a stall, TLS) must leave it exactly right, or say what
//! it lost.

mod common;

use std::path::Path;
use std::time::Duration;

use common::capture::{expected, read_output, Window};
use common::{read_csv, run_live, tempdir, within, write_config, Mock, Watched};

use common::BINANCE_CAPTURE as CAPTURE;
const IDLE: Duration = Duration::from_millis(1500);

/// The capture's lines, minus those with indices in `skip`.
fn capture_lines(skip: std::ops::Range<usize>) -> Vec<String> {
    std::fs::read_to_string(CAPTURE)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(i, _)| !skip.contains(i))
        .map(|(_, l)| l.to_string())
        .collect()
}

/// Trades of `symbol` in the capture, counted by a plain text scan.
fn trades_of(symbol: &str) -> u64 {
    let needle = format!("\"s\":\"{symbol}\"");
    capture_lines(0..0)
        .iter()
        .filter(|l| l.contains("\"e\":\"trade\"") && l.contains(&needle))
        .count() as u64
}

/// The shipped live config, pointed at `url`, writing CSV to `out`, with `extra` added to both sources.
fn config(dir: &Path, url: &str, out: &Path, extra: &str) -> std::path::PathBuf {
    let text = common::live_config_text(url, extra, &format!("{{CSV: {}}}", out.display()));
    write_config(dir, "live.yaml", &text)
}

/// Runs the live config against a mock started with `args`; returns the report, rows and statuses.
fn run_against(
    args: &[&str],
    extra: &str,
) -> (tubes::runtime::Report, Vec<Window>, Vec<String>, String) {
    let dir = tempdir();
    let mut all = vec!["--speed", "max"];
    all.extend_from_slice(args);
    let mock = Mock::binance(dir.path(), &all);
    let out = dir.path().join("out.csv");
    let cfg = config(dir.path(), &mock.url, &out, extra);
    let report = within(60, move || run_live(&cfg, IDLE))
        .unwrap_or_else(|e| panic!("{e}\nmock log:\n{}", mock.log()));
    let (rows, statuses) = read_output(&out);
    let log = std::fs::read_to_string(dir.path().join("mock.log")).unwrap_or_default();
    (report, rows, statuses, log)
}

fn feed(r: &tubes::runtime::Report, i: usize) -> tubes::runtime::FeedReport {
    r.generators[i].feed.clone().expect("a live feed")
}

#[test]
fn replaying_the_binance_capture_gives_the_answer_of_a_sequential_loop() {
    let want = expected(&capture_lines(0..0));
    let (report, rows, statuses, _) = run_against(&[], "");
    assert!(want.len() > 40, "the capture closes {} windows", want.len());
    assert_eq!(rows, want);
    assert_eq!(
        statuses,
        ["feed up on binance btcusdt", "feed up on binance ethusdt"]
    );
    assert_eq!(report.generators[0].rows, trades_of("BTCUSDT"));
    assert_eq!(report.generators[1].rows, trades_of("ETHUSDT"));
    assert_eq!(
        report.datapoints,
        34_419 + 2,
        "every trade and two statuses"
    );
    for i in 0..2 {
        let f = feed(&report, i);
        assert_eq!(
            (f.reconnects, f.gaps, f.duplicates, f.malformed),
            (0, 0, 0, 0)
        );
    }
}

#[test]
fn connections_dropped_every_5000_messages_lose_and_repeat_no_trade() {
    let want = expected(&capture_lines(0..0));
    let (report, rows, statuses, log) =
        run_against(&["--drop-every", "5000", "--overlap", "100"], "");
    assert_eq!(rows, want, "every trade exactly once");
    // Each reconnect resumes 100 messages back: 5000 + k·4900 ≥ 34,419 after k = 7 reconnects.
    let (btc, eth) = (feed(&report, 0), feed(&report, 1));
    assert_eq!(btc.reconnects, 7, "{log}");
    assert_eq!(
        btc.duplicates + eth.duplicates,
        700,
        "the 100 repeated messages of each reconnect are dropped"
    );
    assert_eq!(btc.gaps + eth.gaps, 0);
    assert_eq!(report.generators[0].rows, trades_of("BTCUSDT"));
    assert_eq!(report.generators[1].rows, trades_of("ETHUSDT"));
    let downs = statuses
        .iter()
        .filter(|s| *s == "feed down on binance btcusdt (closed by the exchange)")
        .count();
    assert_eq!(downs, 7);
    assert!(statuses.contains(&"feed up on binance ethusdt (reconnect #7)".to_string()));
}

#[test]
fn skipped_trade_ids_become_a_gap_status_of_the_right_size() {
    let skipped = capture_lines(0..0)[1000..1100].to_vec();
    let btc = skipped
        .iter()
        .filter(|l| l.contains("btcusdt@trade"))
        .count();
    let eth = skipped.len() - btc;
    assert!(btc > 0 && eth > 0, "the skipped lines hold both markets");
    let want = expected(&capture_lines(1000..1100));
    let (report, rows, statuses, _) = run_against(&["--skip", "1000:100"], "");
    assert_eq!(rows, want);
    let mut gaps: Vec<String> = statuses
        .iter()
        .filter(|s| s.starts_with("gap"))
        .cloned()
        .collect();
    gaps.sort();
    assert_eq!(
        gaps,
        [
            format!("gap {btc} trades on binance btcusdt"),
            format!("gap {eth} trades on binance ethusdt")
        ]
    );
    assert_eq!(
        (feed(&report, 0).gaps, feed(&report, 0).missed),
        (1, btc as u64)
    );
    assert_eq!(
        (feed(&report, 1).gaps, feed(&report, 1).missed),
        (1, eth as u64)
    );
}

#[test]
fn malformed_frames_are_counted_and_the_run_goes_on() {
    let want = expected(&capture_lines(0..0));
    let (report, rows, _, _) = run_against(&["--malformed-every", "1000"], "");
    assert_eq!(rows, want);
    // A truncated frame after messages 1000, 2000, …, 34000.
    assert_eq!(feed(&report, 0).malformed, 34);
    assert_eq!(feed(&report, 1).malformed, 34);
}

#[test]
fn a_stalled_feed_is_reconnected_by_the_watchdog_without_losing_a_trade() {
    let want = expected(&capture_lines(0..0));
    let (report, rows, statuses, log) = run_against(
        &["--stall-after", "3000", "--stall-for", "4s"],
        ", stale_after: 1s",
    );
    assert_eq!(rows, want);
    assert_eq!(feed(&report, 0).reconnects, 1, "{log}");
    assert!(
        statuses
            .contains(&"feed down on binance btcusdt (silent longer than stale_after)".to_string()),
        "{statuses:?}"
    );
    assert!(statuses.contains(&"feed up on binance btcusdt (reconnect #1)".to_string()));
}

#[test]
fn wss_against_a_private_ca() {
    let want = expected(&capture_lines(0..0));
    let (_, rows, _, _) = run_against(
        &[
            "--tls-cert",
            "testdata/tls/server.pem",
            "--tls-key",
            "testdata/tls/server.key",
        ],
        ", tls: {ca_file: testdata/tls/ca.pem}",
    );
    assert_eq!(rows, want);
}

#[test]
fn a_certificate_from_an_untrusted_ca_fails_the_run_clearly() {
    let dir = tempdir();
    let mock = Mock::binance(
        dir.path(),
        &[
            "--tls-cert",
            "testdata/tls/server.pem",
            "--tls-key",
            "testdata/tls/server.key",
        ],
    );
    assert!(mock.url.starts_with("wss://"));
    let cfg = config(
        dir.path(),
        &mock.url,
        &dir.path().join("out.csv"),
        ", tls: {ca_file: testdata/tls/other_ca.pem}",
    );
    let err = within(30, move || run_live(&cfg, IDLE)).unwrap_err();
    assert!(err.contains("certificate not trusted"), "{err}");
    assert!(
        err.contains("ca_file"),
        "the error says how to fix it: {err}"
    );
    assert!(
        err.contains(&mock.url),
        "the error names the endpoint: {err}"
    );
}

/// How many trades of `market` a capture holds, counted from its raw lines.
fn count_trades(exchange: &str, capture: &str, market: &str) -> usize {
    let text = std::fs::read_to_string(capture).unwrap();
    text.lines()
        .map(|l| match exchange {
            "coinbase" => usize::from(
                l.contains("\"type\":\"match\"")
                    && l.contains(&format!("\"product_id\":\"{market}\"")),
            ),
            "kraken" if l.ends_with(&format!("\"trade\",\"{market}\"]")) => {
                l.matches("],[").count() + 1
            }
            "bitstamp" => usize::from(
                l.contains("\"event\":\"trade\"") && l.contains(&format!("live_trades_{market}")),
            ),
            "gemini" => usize::from(
                l.starts_with("{\"type\":\"trade\"")
                    && l.contains(&format!("\"symbol\":\"{market}\"")),
            ),
            "binance" => usize::from(l.contains(&format!("\"stream\":\"{market}@aggTrade\""))),
            _ => 0,
        })
        .sum()
}

#[test]
fn every_exchange_subscribes_and_streams_the_trades_of_its_capture() {
    let cases = [
        (
            "Coinbase",
            "coinbase",
            "testdata/ws/coinbase_exchange_2021-04-17.ndjson",
            "SKL-USD",
            "",
        ),
        (
            "Kraken",
            "kraken",
            "testdata/ws/kraken_v1_trade_2021-04-17.ndjson",
            "XMR/USD",
            "",
        ),
        (
            "Bitstamp",
            "bitstamp",
            "testdata/ws/bitstamp_v2_2022-01-05.ndjson",
            "ethusd",
            "",
        ),
        (
            "Gemini",
            "gemini",
            "testdata/ws/gemini_v2_marketdata_2021-06-24.ndjson",
            "FILUSD",
            "",
        ),
        (
            "BinanceUsdm",
            "binance",
            "testdata/ws/binance_usdm_aggtrade_2021-07-22.ndjson",
            "sushiusdt",
            ", channel: aggTrade",
        ),
    ];
    for (exchange, mock_name, capture, market, extra) in cases {
        let want = count_trades(mock_name, capture, market);
        assert!(want > 0, "{capture} holds {market} trades");
        let dir = tempdir();
        let mock = Mock::start(
            dir.path(),
            &[
                "--exchange",
                mock_name,
                "--capture",
                capture,
                "--speed",
                "max",
            ],
        );
        let out = dir.path().join("out.csv");
        let text = format!(
            "pipeline_type: Stream
tubes:
- Generator:
    label: trades
    datasource:
      WebSocket: {{exchange: {exchange}, market: \"{market}\", url: \"{}\"{extra}}}
    to_label: running
- Through:
    label: running
    to_label: sink
    reducer: [COUNT, {{SUM: {{field: quantity}}}}]
- Sink:
    label: sink
    datasink: {{CSV: {}}}
    fields:
      running: [count]
",
            mock.url,
            out.display()
        );
        let cfg = write_config(dir.path(), "one.yaml", &text);
        let report = within(30, move || run_live(&cfg, IDLE))
            .unwrap_or_else(|e| panic!("{exchange}: {e}\n{}", mock.log()));
        assert_eq!(
            report.generators[0].rows, want as u64,
            "{exchange} {market}"
        );
        let rows = read_csv(&out);
        let last = rows.iter().rev().find(|r| r[2].is_empty()).unwrap();
        assert_eq!(last[1], want.to_string(), "{exchange}: the running count");
        assert_eq!(
            rows[1][2],
            format!("feed up on {} {market}", mock_exchange_name(exchange))
        );
        let f = report.generators[0].feed.clone().unwrap();
        assert_eq!((f.malformed, f.duplicates), (0, 0), "{exchange}");
    }
}

fn mock_exchange_name(config_name: &str) -> &'static str {
    match config_name {
        "Coinbase" => "coinbase",
        "Kraken" => "kraken",
        "Bitstamp" => "bitstamp",
        "Gemini" => "gemini",
        _ => "binance-usdm",
    }
}

/// `tubes ARGS` as a child process; returns it with stderr piped.
fn spawn_tubes(args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits at most `secs` for the child; returns its exit code and stderr.
fn finish(child: std::process::Child, secs: u64) -> (Option<i32>, String) {
    let (code, _, err) = finish_out(child, secs);
    (code, err)
}

/// Waits at most `secs` for the child; returns its exit code, stdout and stderr.
fn finish_out(mut child: std::process::Child, secs: u64) -> (Option<i32>, String, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("tubes did not end within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn sigterm_and_duration_end_a_live_run_with_every_row_flushed() {
    let dir = tempdir();
    // Original pacing: the capture would take eleven minutes.
    let mock = Mock::binance(dir.path(), &["--speed", "1"]);
    let out = dir.path().join("out.csv");
    let cfg = config(dir.path(), &mock.url, &out, "");
    // Ready once trades flow through the graph: the first latency interval is printed.
    let mut run = Watched::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
            .args(["run", cfg.to_str().unwrap(), "--metrics-interval", "100ms"])
            .stdout(std::process::Stdio::null()),
    );
    run.wait_for_line("latency ", 20);
    run.signal("TERM");
    let (code, err) = run.finish(20);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("trades from binance btcusdt"), "{err}");
    let (_, statuses) = read_output(&out);
    assert_eq!(
        statuses[0], "feed up on binance btcusdt",
        "flushed to the file"
    );

    let out2 = dir.path().join("out2.csv");
    let cfg2 = config(dir.path(), &mock.url, &out2, "");
    let child = spawn_tubes(&["run", cfg2.to_str().unwrap(), "--duration", "1s"]);
    let (code, err) = finish(child, 20);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("interrupted"), "{err}");
    assert!(read_csv(&out2).len() >= 2, "the feed-up rows at least");
}

#[test]
fn idle_exit_is_refused_without_a_live_feed() {
    let (code, err) = finish(
        spawn_tubes(&["run", "configs/readme_example.yaml", "--idle-exit", "1s"]),
        20,
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("has no WebSocket generator"), "{err}");
}

#[test]
fn bench_feed_reports_wire_to_sink_latency_through_the_mock() {
    let (code, out, err) = finish_out(
        std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
            .args(["bench", "--feed", "--rate", "2k", "--duration", "1s"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
        60,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("configs/bench_feed.yaml"), "{err}");
    // "rate     2.0 k/s  sent      1998 (…)": about 2,000 trades in one second, every one at a sink.
    let sent: u64 = out
        .split("sent")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'sent' in {out}"));
    assert!((1000..=2100).contains(&sent), "{out}");
    assert!(out.contains("end-to-end p50"), "{out}");
    assert!(out.contains("sink trades (end-to-end)"), "{out}");
}
