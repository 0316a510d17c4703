//! Windows and keys on real data, each checked against `tools/check_windows.py`: a plain recomputation
//! of every window from the README's definition (no running sums, no queues).

mod common;

use std::path::Path;
use std::process::Command;

use common::{read_csv, run_text, tempdir};

const TRADES: &str = "testdata/binance_spot_BTC_ETH_trades_2024-08-08.csv";
const BARS: &str = "testdata/binance_BTCUSDT_1m.csv";

/// Every reducer, over trades (`price`, `quantity`) or bars (`Close`, `Volume`).
fn all_reducers(price: &str, qty: &str) -> (String, String) {
    let yaml = format!(
        "[{{VWAP: {{price: {price}, quantity: {qty}}}}}, {{SUM: {{field: {qty}}}}}, COUNT, \
         {{FIRST: {{field: {price}}}}}, {{LAST: {{field: {price}}}}}, {{MIN: {{field: {price}}}}}, \
         {{MAX: {{field: {price}}}}}, {{MEAN: {{field: {price}}}}}]"
    );
    let spec = format!(
        "vwap:{price}:{qty},sum:{qty},count,first:{price},last:{price},min:{price},max:{price},mean:{price}"
    );
    (yaml, spec)
}

fn fields(price: &str, qty: &str, keyed: bool) -> String {
    let key = if keyed { "symbol, " } else { "" };
    format!(
        "[{key}window_start, window_end, vwap, sum_{qty}, count, first_{price}, last_{price}, \
         min_{price}, max_{price}, mean_{price}]"
    )
}

/// A config reading `input` over `range` into a through `w` with `window` (and `key` lines), every
/// reducer, written to `out`.
fn config(input: &str, range: (&str, &str), window: &str, key: &str, out: &Path) -> String {
    let (price, qty) = if input == TRADES {
        ("price", "quantity")
    } else {
        ("Close", "Volume")
    };
    let (reducers, _) = all_reducers(price, qty);
    let fields = fields(price, qty, !key.is_empty());
    format!(
        r#"pipeline_type:
  Batch: ["{}", "{}"]
tubes:
- Generator: {{label: src, datasource: {{CSV: {input}}}, to_label: w}}
- Through:
    label: w
    to_label: sink
    reducer: {reducers}
    window: {window}
{key}- Sink:
    label: sink
    datasink: {{CSV: {}}}
    fields: {{w: {fields}}}
"#,
        range.0,
        range.1,
        out.display()
    )
}

/// Runs the checker on `out` with `args`; asserts it agrees on `rows` rows.
fn check(out: &Path, input: &str, args: &[&str], rows: usize) {
    let (price, qty) = if input == TRADES {
        ("price", "quantity")
    } else {
        ("Close", "Volume")
    };
    let (_, spec) = all_reducers(price, qty);
    let time = if input == TRADES {
        "time"
    } else {
        "Unix Timestamp"
    };
    let run = Command::new("python3")
        .args(["tools/check_windows.py", &out.display().to_string()])
        .args(["--input", input, "--time", time, "--label", "w"])
        .args(["--reducers", &spec])
        .args(args)
        .output()
        .expect("python3 runs tools/check_windows.py");
    let said =
        String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{said}");
    assert!(
        said.contains(&format!("{rows} rows checked, 0 differ")),
        "{said}"
    );
}

const KEYED: &str = "    key: symbol\n    keys: [ETHUSDT]\n";
const TRADES_RANGE: (&str, &str) = ("2024-08-08T00:00:00Z", "2024-08-10T00:00:00Z");

#[test]
fn tumbling_bins_per_symbol_agree_with_a_plain_recomputation() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = config(TRADES, TRADES_RANGE, "{tumbling: 1m}", KEYED, &out);
    let report = run_text(dir.path(), &text).unwrap();
    // 11 minutes 23:54 … 00:05, both symbols in each.
    assert_eq!(report.rows, 24);
    let args = ["--key", "symbol", "--keys", "ETHUSDT", "--tumbling", "60"];
    check(&out, TRADES, &args, 24);
    // The listed key comes first in every bin, whatever the order the trades arrive in.
    let rows = read_csv(&out);
    assert_eq!(rows[1][1], "ETHUSDT");
    assert_eq!(rows[2][1], "BTCUSDT");
}

#[test]
fn hopping_windows_hold_each_trade_three_times() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let window = "{hopping: {size: 3m, every: 1m}}";
    let text = config(TRADES, TRADES_RANGE, window, KEYED, &out);
    let report = run_text(dir.path(), &text).unwrap();
    // The session runs 23:54:15 → 00:05:04: 3-minute windows starting 23:52, 23:53, … 00:05 (14) hold
    // trades of both symbols.
    assert_eq!(report.rows, 28);
    let args = [
        "--key",
        "symbol",
        "--keys",
        "ETHUSDT",
        "--hopping",
        "180,60",
    ];
    check(&out, TRADES, &args, report.rows as usize);
    // Every trade is counted in exactly size/every = 3 windows.
    let rows = read_csv(&out);
    let count = rows[0].iter().position(|c| c == "w.count").unwrap();
    let total: u64 = rows[1..]
        .iter()
        .map(|r| r[count].parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 3 * 34_419);
}

#[test]
fn sliding_windows_per_symbol_agree_at_every_trade() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = config(TRADES, TRADES_RANGE, "{sliding: 10s}", KEYED, &out);
    let report = run_text(dir.path(), &text).unwrap();
    assert_eq!(report.rows, 34_419, "a sliding window emits at every trade");
    check(
        &out,
        TRADES,
        &["--key", "symbol", "--sliding", "10"],
        34_419,
    );
}

#[test]
fn a_sliding_window_across_the_80_minute_outage_empties_and_refills() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let range = ("2023-03-24T10:00:00Z", "2023-03-24T16:00:00Z");
    let text = config(BARS, range, "{sliding: 10m}", "", &out);
    let report = run_text(dir.path(), &text).unwrap();
    let args = ["--sliding", "600", "--range", "1679652000000,1679673600000"];
    check(&out, BARS, &args, report.rows as usize);
    // The first bar after the halt (14:00) is alone in its window: the bars before 13:50 are gone.
    let rows = read_csv(&out);
    let after = rows
        .iter()
        .find(|r| r[0] == "2023-03-24T14:00:00.000Z")
        .expect("a row at the first bar after the halt");
    let count = rows[0].iter().position(|c| c == "w.count").unwrap();
    assert_eq!(after[count], "1");
}

#[test]
fn hourly_bins_across_the_outage_skip_the_empty_hour() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let range = ("2023-03-24T00:00:00Z", "2023-03-25T00:00:00Z");
    let text = config(BARS, range, "{tumbling: 1h}", "", &out);
    run_text(dir.path(), &text).unwrap();
    let args = [
        "--tumbling",
        "3600",
        "--range",
        "1679616000000,1679702400000",
    ];
    // 24 hours, less the hour 13:00–14:00 that held no bar.
    check(&out, BARS, &args, 23);
    let rows = read_csv(&out);
    let start = rows[0].iter().position(|c| c == "w.window_start").unwrap();
    assert!(rows.iter().all(|r| r[start] != "2023-03-24T13:00:00.000Z"));
    let twelve = rows
        .iter()
        .find(|r| r[start] == "2023-03-24T12:00:00.000Z")
        .unwrap();
    let count = rows[0].iter().position(|c| c == "w.count").unwrap();
    assert_eq!(twelve[count], "40", "bars 12:00 … 12:39, then the halt");
}

#[test]
fn hopping_bins_over_bars_agree_and_the_last_close_at_the_end_of_the_range() {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let range = ("2023-03-24T00:00:00Z", "2023-03-26T00:00:00Z");
    let window = "{hopping: {size: 10m, every: 5m}}";
    let text = config(BARS, range, window, "", &out);
    let report = run_text(dir.path(), &text).unwrap();
    let args = [
        "--hopping",
        "600,300",
        "--range",
        "1679616000000,1679788800000",
    ];
    check(&out, BARS, &args, report.rows as usize);
    // The last two windows close only because the range ends: 23:50–00:00 and 23:55–00:05.
    let rows = read_csv(&out);
    let start = rows[0].iter().position(|c| c == "w.window_start").unwrap();
    let last: Vec<&str> = rows[rows.len() - 2..]
        .iter()
        .map(|r| r[start].as_str())
        .collect();
    assert_eq!(
        last,
        ["2023-03-25T23:50:00.000Z", "2023-03-25T23:55:00.000Z"]
    );
}

#[test]
fn the_shipped_window_configs_agree_with_the_recomputation() {
    let dir = tempdir();
    for (name, args) in [
        (
            "alert_btc_10m_mean",
            vec![
                "--input",
                BARS,
                "--time",
                "Unix Timestamp",
                "--sliding",
                "600",
                "--reducers",
                "mean:Close,count",
                "--label",
                "btc_mean_10m",
                "--range",
                "1679011200000,1682899200000",
                "--produce",
                "CROSSES_ABOVE:mean_Close:28000",
            ],
        ),
        (
            "binning_per_symbol",
            vec![
                "--input",
                TRADES,
                "--time",
                "time",
                "--key",
                "symbol",
                "--keys",
                "BTCUSDT,ETHUSDT",
                "--tumbling",
                "60",
                "--reducers",
                "vwap:price:quantity,sum:quantity,count",
                "--label",
                "bins",
            ],
        ),
    ] {
        let out = dir.path().join(format!("{name}.csv"));
        let text = std::fs::read_to_string(format!("configs/{name}.yaml"))
            .unwrap()
            .replace(&format!("out/{name}.csv"), &out.display().to_string());
        let report = run_text(dir.path(), &text).unwrap();
        assert!(report.rows > 0, "{name}");
        let run = Command::new("python3")
            .arg("tools/check_windows.py")
            .arg(&out)
            .args(&args)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&run.stdout).to_string();
        assert!(run.status.success(), "{name}: {said}");
        assert!(
            said.contains(&format!("{} rows checked, 0 differ", report.rows)),
            "{name}: {said}"
        );
    }
}

/// The trades of a Binance capture in the order they arrive, as `time,symbol,price,quantity` (read
/// with a JSON parser, independently of the engine's).
fn capture_in_arrival_order(capture: &Path, path: &Path) {
    let mut csv = String::from("time,symbol,price,quantity\n");
    for line in std::fs::read_to_string(capture).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let d = &v["data"];
        if d["e"] != "trade" {
            continue;
        }
        let s = |k: &str| d[k].as_str().unwrap().to_string();
        csv += &format!("{},{},{},{}\n", d["T"], s("s"), s("p"), s("q"));
    }
    std::fs::write(path, csv).unwrap();
}

/// A generator of `markets: [btcusdt, ethusdt]` against the mock replaying `capture`, binned per
/// symbol in tumbling windows of `seconds`, then checked by `tools/check_windows.py` on the capture's
/// trades in arrival order: the run's report, what the checker said, and the late datapoints it
/// counted.
fn binned_live(dir: &Path, capture: &Path, seconds: u64) -> (tubes::runtime::Report, String, u64) {
    let args = [
        "--exchange",
        "binance",
        "--capture",
        capture.to_str().unwrap(),
        "--speed",
        "max",
    ];
    let mock = common::Mock::start(dir, &args);
    let out = dir.join("out.csv");
    let (reducers, spec) = all_reducers("price", "quantity");
    let text = format!(
        r#"pipeline_type: Stream
tubes:
- Generator:
    label: trades
    datasource:
      WebSocket: {{exchange: Binance, markets: [btcusdt, ethusdt], url: "{}"}}
    to_label: w
- Through:
    label: w
    to_label: sink
    key: symbol
    reducer: {reducers}
    window: {{tumbling: {seconds}s}}
- Sink:
    label: sink
    datasink: {{CSV: {}}}
    fields: {{w: {}}}
"#,
        mock.url,
        out.display(),
        fields("price", "quantity", true)
    );
    let cfg = common::write_config(dir, "live.yaml", &text);
    let report = common::within(60, move || {
        common::run_live(&cfg, std::time::Duration::from_millis(1500))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", mock.log()));
    let arrived = dir.join("arrived.csv");
    capture_in_arrival_order(capture, &arrived);
    let run = Command::new("python3")
        .args(["tools/check_windows.py", &out.display().to_string()])
        .args(["--input", &arrived.display().to_string(), "--time", "time"])
        .args(["--key", "symbol", "--tumbling", &seconds.to_string()])
        .args(["--arrival", "--label", "w", "--reducers", &spec])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(run.status.success(), "{said}");
    let late = (said.lines())
        .find_map(|l| l.strip_prefix("late: "))
        .unwrap()
        .parse()
        .unwrap();
    (report, said, late)
}

#[test]
fn one_connection_of_two_markets_bins_each_by_the_symbol_its_trades_carry() {
    let dir = tempdir();
    let capture = Path::new(common::BINANCE_CAPTURE);
    let (report, said, late) = binned_live(dir.path(), capture, 60);
    assert_eq!(
        report.generators[0].rows, 34_419,
        "one generator, both markets"
    );
    // Eleven minutes 23:54 … 00:04 of both symbols; 00:05 is still open when the feed goes quiet (a
    // live run does not close it at the end).
    assert!(said.contains("22 rows checked, 0 differ"), "{said}");
    let note = &report.throughs[0].1;
    assert_eq!(note, &format!("2 keys, {late} late"), "{note}");
    // The feed's status names both markets.
    let rows = read_csv(&dir.path().join("out.csv"));
    assert!(rows
        .iter()
        .any(|r| r.last().unwrap() == "feed up on binance btcusdt+ethusdt"));
}

#[test]
fn the_live_coinbase_alert_runs_against_the_mock_replaying_the_coinbase_capture() {
    // The capture's busiest market is SKL-USD (52 trades in about 30 s): the shipped config is pointed
    // at it, with a threshold at its prices and a 2-second window so that trades leave the window.
    let capture = "testdata/ws/coinbase_exchange_2021-04-17.ndjson";
    let dir = tempdir();
    let args = [
        "--exchange",
        "coinbase",
        "--capture",
        capture,
        "--speed",
        "max",
    ];
    let mock = common::Mock::start(dir.path(), &args);
    let out = dir.path().join("out.csv");
    let text = std::fs::read_to_string("configs/live_coinbase_alert.yaml")
        .unwrap()
        .replace(
            "market: BTC-USD}",
            &format!("market: SKL-USD, url: \"{}\"}}", mock.url),
        )
        .replace("sliding: 10m", "sliding: 2s")
        .replace("threshold: 100000", "threshold: 0.79112")
        .replace(
            "[Stdout, {CSV: out/live_coinbase_alert.csv}]",
            &format!("{{CSV: {}}}", out.display()),
        );
    let cfg = common::write_config(dir.path(), "alert.yaml", &text);
    let report = common::within(60, move || {
        common::run_live(&cfg, std::time::Duration::from_millis(1500))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", mock.log()));
    assert_eq!(report.generators[0].rows, 52);
    // The capture's SKL-USD matches in arrival order, read with a JSON parser.
    let mut csv = String::from("time,symbol,price,quantity\n");
    for line in std::fs::read_to_string(capture).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["type"] != "match" || v["product_id"] != "SKL-USD" {
            continue;
        }
        let t = v["time"].as_str().unwrap();
        let (secs, frac) = t.trim_end_matches('Z').split_once('.').unwrap();
        let ns = common::ms(&format!("{secs}Z")) * 1_000_000
            + format!("{frac:0<9}")[..9].parse::<i64>().unwrap();
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        csv += &format!("{ns},SKL-USD,{},{}\n", s("price"), s("size"));
    }
    let input = dir.path().join("skl.csv");
    std::fs::write(&input, csv).unwrap();
    let run = Command::new("python3")
        .args(["tools/check_windows.py", &out.display().to_string()])
        .args(["--input", &input.display().to_string(), "--time", "time"])
        .args(["--sliding", "2", "--arrival", "--label", "btc_mean_10m"])
        .args(["--reducers", "mean:price,count"])
        .args(["--produce", "CROSSES_ABOVE:mean_price:0.79112"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(run.status.success(), "{said}");
    let alerts = read_csv(&out).len() - 2; // the header and the feed's status row
    assert!(
        alerts >= 2,
        "the window's mean crosses above more than once: {said}"
    );
    assert!(
        said.contains(&format!("{alerts} rows checked, 0 differ")),
        "{said}"
    );
}

#[test]
fn windows_of_different_lengths_closing_together_reach_the_next_tubes_in_time_order() {
    // One-minute and seven-second windows over the same bars close on the same datapoints; a
    // one-second window after both must see their rows in time order (nothing late in Batch), and a
    // sink writes each window's row on its own, in time order.
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = format!(
        r#"pipeline_type:
  Batch: ["2023-03-24T10:00:00Z", "2023-03-24T16:00:00Z"]
tubes:
- Generator: {{label: bars, datasource: {{CSV: {BARS}}}, to_label: [m1, m7]}}
- Through: {{label: m1, to_label: [down, sink], reducer: [COUNT], window: {{tumbling: 1m}}}}
- Through: {{label: m7, to_label: [down, sink], reducer: [COUNT], window: {{tumbling: 7s}}}}
- Through: {{label: down, to_label: after, reducer: [COUNT, {{SUM: {{field: count}}}}], window: {{tumbling: 1s}}}}
- Sink:
    label: sink
    datasink: {{CSV: {}}}
    fields: {{m1: [window_start, count], m7: [window_start]}}
- Sink: {{label: after, datasink: Discard, fields: {{down: [count]}}}}
"#,
        out.display()
    );
    let report = run_text(dir.path(), &text).unwrap();
    let down = report.throughs.iter().find(|(l, _)| l == "down").unwrap();
    assert_eq!(down.1, "0 late");
    let rows = read_csv(&out);
    let times: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "rows in time order");
    // Every row holds one window: m1's or m7's, never both.
    assert!(rows[1..].iter().all(|r| r[1].is_empty() != r[3].is_empty()));
    // 300 bars with data (the halt holds none), each its own minute and its own 7-second window.
    let m1 = rows[1..].iter().filter(|r| !r[1].is_empty()).count();
    let m7 = rows[1..].iter().filter(|r| !r[3].is_empty()).count();
    assert_eq!((m1, m7), (280, 280));
}

#[test]
fn a_sweep_reports_what_each_combination_left_out() {
    let dir = tempdir();
    let out = dir.path().join("sweep.csv");
    let text = std::fs::read_to_string("configs/binning_per_symbol.yaml")
        .unwrap()
        .replace("out/binning_per_symbol.csv", &out.display().to_string())
        .replace("    keys: [BTCUSDT, ETHUSDT]\n", "    max_keys: \"${M}\"\n")
        .replace("pipeline_type:", "sweep:\n  M: [1, 2]\npipeline_type:");
    let path = common::write_config(dir.path(), "s.yaml", &text);
    let t = tubes::api::load_template(&path).unwrap();
    let prepared = tubes::api::sweep(t, None, 2, &Default::default()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let report = prepared.run(2, &stop, &mut |_| {}).unwrap();
    // With room for one key, every ETH trade (the second key met) is left out, and said so.
    let eth = std::fs::read_to_string(TRADES)
        .unwrap()
        .lines()
        .filter(|l| l.contains(",ETHUSDT,"))
        .count();
    assert_eq!(
        report.lost,
        [format!(
            "M=1: bins: 1 keys, {eth} datapoints of keys past max_keys (1) not kept: raise max_keys, 0 late"
        )]
    );
}

#[test]
fn trades_of_one_market_arriving_behind_the_other_are_late_and_counted() {
    // The real capture with every ETH message held back 300 messages (each market keeps its own
    // order, so no trade is a duplicate): an ETH trade now often arrives after BTC trades of a later
    // second, when its 1-second window has closed.
    let dir = tempdir();
    let lines: Vec<String> = std::fs::read_to_string(common::BINANCE_CAPTURE)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let mut order: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i + if l.contains("ethusdt@trade") { 300 } else { 0 }, l))
        .collect();
    order.sort_by_key(|&(k, _)| k);
    let capture = dir.path().join("held_back.ndjson");
    let text: Vec<&str> = order.iter().map(|(_, l)| l.as_str()).collect();
    std::fs::write(&capture, text.join("\n") + "\n").unwrap();
    let (report, said, late) = binned_live(dir.path(), &capture, 1);
    let f = report.generators[0].feed.clone().unwrap();
    assert_eq!(
        (report.generators[0].rows, f.duplicates, f.gaps),
        (34_419, 0, 0)
    );
    assert!(
        late > 1000,
        "holding ETH back makes many of its trades late: {said}"
    );
    assert_eq!(report.throughs[0].1, format!("2 keys, {late} late"));
}
