//! Promise 5: bad values are errors or counted skips, per `on_error` for CSV files and always counted
//! for live feeds: NaN and infinities in a CSV column; NaN, infinite, negative or zero prices and
//! quantities in live trades. (Times out of order: `tests/csv_generator.rs`.)

use super::common::capture::{expected, read_output};
use super::common::*;
use super::main_job_in;

/// Sets the Volume (last) cell of data rows `rows` (0 = the first data row) of a bar file.
fn poison(path: &std::path::Path, rows: &[(usize, &str)]) -> Vec<usize> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for &(r, value) in rows {
        let l = &mut lines[r + 1];
        let cut = l.rfind(',').unwrap();
        l.replace_range(cut + 1.., value);
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
    rows.iter().map(|(r, _)| r + 2).collect()
}

#[test]
fn non_finite_csv_values_stop_the_run_or_are_skipped_and_counted() {
    let dir = tempdir();
    let (cfg, btc, eth, out) = main_job_in(dir.path());
    let lines = poison(
        &btc,
        &[(20_000, "NaN"), (30_000, "inf"), (40_000, "-Infinity")],
    );
    let (code, _, err) = tubes(&["run", "-q", cfg.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "btc.csv:{}: column 'Volume': 'NaN' is not a finite number",
            lines[0]
        )),
        "{err}"
    );
    // With on_error: skip, the three rows are skipped and counted, and the answer is that of the
    // file without them.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        &format!("CSV: {}", btc.display()),
        &format!("CSV: {{path: {}, on_error: skip}}", btc.display()),
    );
    let report = run_text(dir.path(), &text).unwrap();
    let g = report.generators.iter().find(|g| g.label == "btc").unwrap();
    assert_eq!(g.skipped, 3);
    let bars: Vec<(i64, f64)> = read_bars(btc.to_str().unwrap())
        .into_iter()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let windows = main_job_windows_of(&bars, &read_bars(eth.to_str().unwrap()));
    super::assert_rows(&out, &windows);
}

#[test]
fn bad_live_trades_are_dropped_counted_and_reported_as_gaps() {
    let dir = tempdir();
    let clean: Vec<String> = std::fs::read_to_string(BINANCE_CAPTURE)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let nth = |symbol: &str, n: usize| {
        clean
            .iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with(&format!("{{\"stream\":\"{symbol}@trade\"")))
            .nth(n)
            .unwrap()
            .0
    };
    // (line, field, bad value): five trades no exchange could have made.
    let bad = [
        (nth("btcusdt", 100), "q", "NaN"),
        (nth("btcusdt", 200), "q", "inf"),
        (nth("btcusdt", 300), "p", "-61837.63"),
        (nth("ethusdt", 150), "q", "-0.5"),
        (nth("ethusdt", 250), "p", "0"),
    ];
    let mut sent = clean.clone();
    for &(i, key, value) in &bad {
        let v = super::common::capture::raw(&clean[i], key);
        sent[i] = clean[i].replace(
            &format!("\"{key}\":\"{v}\""),
            &format!("\"{key}\":\"{value}\""),
        );
        assert_ne!(sent[i], clean[i]);
    }
    // A good trade written with spaces after its colons is still a trade (its stream name, which
    // the mock matches, is left as captured).
    let spaced = nth("ethusdt", 400);
    let (head, data) = clean[spaced].split_once("\"data\":").unwrap();
    sent[spaced] = format!("{head}\"data\": {}", data.replace("\":", "\": "));
    let capture = dir.path().join("poisoned.ndjson");
    std::fs::write(&capture, sent.join("\n") + "\n").unwrap();
    let mock = Mock::start(
        dir.path(),
        &[
            "--exchange",
            "binance",
            "--capture",
            capture.to_str().unwrap(),
            "--speed",
            "max",
        ],
    );
    let out = dir.path().join("out.csv");
    let text = live_config_text(&mock.url, "", &format!("{{CSV: {}}}", out.display()));
    let cfg = write_config(dir.path(), "live.yaml", &text);
    let report = within(60, move || {
        run_live(&cfg, std::time::Duration::from_millis(1500))
    })
    .unwrap_or_else(|e| panic!("{e}\nmock log:\n{}", mock.log()));
    let kept: Vec<String> = clean
        .iter()
        .enumerate()
        .filter(|(i, _)| !bad.iter().any(|b| b.0 == *i))
        .map(|(_, l)| l.clone())
        .collect();
    let (windows, statuses) = read_output(&out);
    assert_eq!(
        windows,
        expected(&kept),
        "the answer without the bad trades"
    );
    let feeds: Vec<_> = report
        .generators
        .iter()
        .map(|g| g.feed.as_ref().unwrap())
        .collect();
    // Both markets share one connection: each feed reports the connection's malformed frames.
    let malformed: Vec<u64> = feeds.iter().map(|f| f.malformed).collect();
    assert_eq!(malformed, [5, 5], "every bad trade counted");
    let missed: Vec<u64> = feeds.iter().map(|f| f.missed).collect();
    assert_eq!(
        missed,
        [3, 2],
        "each dropped trade is a missing id of its market"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| s.starts_with("gap 1 trade"))
            .count(),
        5,
        "{statuses:?}"
    );
}
