//! The documented semantics, each checked on real data against an independent computation.

mod common;
use common::*;

/// Full bars of a shipped file: (open time ms, open, high, low, close, volume).
fn ohlcv(path: &str) -> Vec<(i64, [f64; 5])> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            let v = |i: usize| c[i].parse::<f64>().unwrap();
            (c[0].parse().unwrap(), [v(3), v(4), v(5), v(6), v(7)])
        })
        .collect()
}

fn json_rows(path: &std::path::Path) -> Vec<Vec<(String, String)>> {
    // Flat NDJSON objects of numbers, nulls and one string: split by hand, independent of the engine.
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            l.trim_matches(['{', '}'])
                .split(',')
                .map(|kv| {
                    let (k, v) = kv.split_once(':').unwrap();
                    (
                        k.trim_matches('"').to_string(),
                        v.trim_matches('"').to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn hourly_ticks_close_windows_that_end_before_the_bar_stamped_on_the_hour() {
    let dir = tempdir();
    let out = dir.path().join("o.ndjson");
    let text = std::fs::read_to_string("configs/btc_hourly_ohlc.yaml")
        .unwrap()
        .replace("out/btc_hourly_ohlc.ndjson", &out.display().to_string());
    run_text(dir.path(), &text).unwrap();
    let rows = json_rows(&out);
    let bars = ohlcv("testdata/binance_BTCUSDT_1m.csv");
    let start = ms("2023-04-01T00:00:00Z");
    assert_eq!(rows.len(), 30 * 24, "one row per hourly tick in April");
    for (k, row) in rows.iter().enumerate() {
        let tick = start + k as i64 * 3_600_000;
        assert_eq!(ms(&row[0].1), tick);
        // The window is [tick - 1h, tick), clipped to the Batch range.
        let w: Vec<&[f64; 5]> = bars
            .iter()
            .filter(|(t, _)| *t >= (tick - 3_600_000).max(start) && *t < tick)
            .map(|(_, b)| b)
            .collect();
        let get = |name: &str| row.iter().find(|(k, _)| k == name).unwrap().1.clone();
        assert_eq!(
            get("hourly.count").parse::<usize>().unwrap(),
            w.len(),
            "tick {}",
            row[0].1
        );
        if w.is_empty() {
            assert_eq!(get("hourly.first_Open"), "null", "no value without data");
            continue;
        }
        let num = |name: &str| get(name).parse::<f64>().unwrap();
        assert_eq!(num("hourly.first_Open"), w[0][0]);
        assert_eq!(
            num("hourly.max_High"),
            w.iter().map(|b| b[1]).fold(f64::MIN, f64::max)
        );
        assert_eq!(
            num("hourly.min_Low"),
            w.iter().map(|b| b[2]).fold(f64::MAX, f64::min)
        );
        assert_eq!(num("hourly.last_Close"), w[w.len() - 1][3]);
        assert_eq!(
            num("hourly.sum_Volume"),
            w.iter().fold(0.0, |a, b| a + b[4])
        );
        let (pq, q) = w
            .iter()
            .fold((0.0, 0.0), |(a, c), b| (a + b[3] * b[4], c + b[4]));
        assert_eq!(num("hourly.vwap"), pq / q);
    }
}

/// With ETH declared before BTC, the ETH bar stamped with the closing BTC bar's minute falls in the closing window.
#[test]
fn ties_in_event_time_go_to_the_generator_declared_first() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = shipped_config_to("configs/readme_example.yaml", &out, "");
    // Swap the two generator blocks.
    let btc = "- Generator:\n    label: btc\n    datasource:\n      CSV: testdata/binance_BTCUSDT_1m.csv\n    to_label: btc_vol_sum\n";
    let eth = "- Generator:\n    label: eth\n    datasource:\n      CSV: testdata/binance_ETHUSDT_1m.csv\n    to_label: eth_counter\n";
    assert!(text.contains(&format!("{btc}{eth}")));
    let swapped = text.replace(&format!("{btc}{eth}"), &format!("{eth}{btc}"));
    run_text(dir.path(), &swapped).unwrap();

    let want = windows(true);
    let rows = read_csv(&out);
    let got: Vec<(i64, u64)> = rows[1..]
        .iter()
        .map(|r| (ms(&r[0]), r[2].parse().unwrap()))
        .collect();
    assert_eq!(got, want);
    assert_ne!(
        got,
        windows(false),
        "on this data the tie rule changes the answer"
    );
}

/// (close time, ETH bars) of every 1000 BTC window, with ETH or BTC first on equal times.
fn windows(eth_first: bool) -> Vec<(i64, u64)> {
    let (from, to) = (ms("2023-03-17T00:00:00Z"), ms("2023-05-01T00:00:00Z"));
    let (e, b) = if eth_first { (0, 1) } else { (1, 0) };
    let mut events: Vec<(i64, u8, f64)> = read_bars("testdata/binance_ETHUSDT_1m.csv")
        .iter()
        .map(|&(t, v)| (t, e, v))
        .collect();
    events.extend(
        read_bars("testdata/binance_BTCUSDT_1m.csv")
            .iter()
            .map(|&(t, v)| (t, b, v)),
    );
    events.sort_by_key(|x| (x.0, x.1));
    let (mut sum, mut n, mut out) = (0.0, 0u64, Vec::new());
    for (t, which, v) in events.into_iter().filter(|x| (from..to).contains(&x.0)) {
        if which == e {
            n += 1;
        } else {
            sum += v;
            if sum > 1000.0 {
                out.push((t, n));
                sum = 0.0;
                n = 0;
            }
        }
    }
    out
}

#[test]
fn crosses_fires_each_time_the_close_crosses_the_level_in_either_direction() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = format!(
        r#"pipeline_type: {{Batch: ["2023-04-01T00:00:00Z", "2023-05-01T00:00:00Z"]}}
tubes:
- Generator: {{label: btc, datasource: {{CSV: testdata/binance_BTCUSDT_1m.csv}}, to_label: level}}
- Through:
    label: level
    reducer: NOP
    event: {{Produce: {{CROSSES: {{field: Close, threshold: 29000}}}}}}
    to_label: sink
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{level: [Close]}}}}
"#,
        out.display()
    );
    run_text(dir.path(), &text).unwrap();
    let bars = ohlcv("testdata/binance_BTCUSDT_1m.csv");
    let (from, to) = (ms("2023-04-01T00:00:00Z"), ms("2023-05-01T00:00:00Z"));
    let mut prev = f64::NAN;
    let mut want = Vec::new();
    for (t, b) in bars.iter().filter(|(t, _)| (from..to).contains(t)) {
        let c = b[3];
        if (prev < 29000.0 && c >= 29000.0) || (prev > 29000.0 && c <= 29000.0) {
            want.push((*t, c));
        }
        prev = c;
    }
    assert!(
        want.len() > 20,
        "BTC crossed 29000 many times in April 2023"
    );
    let got: Vec<(i64, f64)> = read_csv(&out)[1..]
        .iter()
        .map(|r| (ms(&r[0]), r[1].parse().unwrap()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn a_reducer_without_an_event_emits_its_running_state_after_every_datapoint() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = format!(
        r#"pipeline_type: {{Batch: ["2023-04-01T00:00:00Z", "2023-04-02T00:00:00Z"]}}
tubes:
- Generator: {{label: btc, datasource: {{CSV: testdata/binance_BTCUSDT_1m.csv}}, to_label: running}}
- Through: {{label: running, reducer: [COUNT, {{MEAN: {{field: Volume}}}}], to_label: sink}}
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{running: [count, mean_Volume]}}}}
"#,
        out.display()
    );
    run_text(dir.path(), &text).unwrap();
    let vols: Vec<f64> = read_bars("testdata/binance_BTCUSDT_1m.csv")
        .into_iter()
        .filter(|(t, _)| (ms("2023-04-01T00:00:00Z")..ms("2023-04-02T00:00:00Z")).contains(t))
        .map(|(_, v)| v)
        .collect();
    let rows = read_csv(&out);
    assert_eq!(rows.len() - 1, 1440);
    let mut sum = 0.0;
    for (k, (row, v)) in rows[1..].iter().zip(&vols).enumerate() {
        sum += v;
        assert_eq!(row[1].parse::<usize>().unwrap(), k + 1);
        assert_eq!(row[2].parse::<f64>().unwrap(), sum / (k + 1) as f64);
    }
}

#[test]
fn stream_mode_takes_every_row_in_arrival_order() {
    let dir = tempdir();
    let out = dir.path().join("o.csv");
    let text = format!(
        r#"pipeline_type: Stream
tubes:
- Generator: {{label: btc, datasource: {{CSV: testdata/binance_BTCUSDT_1m.csv}}, to_label: vol}}
- Through:
    label: vol
    reducer: {{SUM: {{field: Volume}}}}
    event: {{Produce: {{GREATER: {{field: sum_Volume, threshold: 5000}}}}}}
    to_label: sink
- Sink: {{label: sink, datasink: {{CSV: {}}}, fields: {{vol: [sum_Volume]}}}}
"#,
        out.display()
    );
    let report = within(120, {
        let d = dir.path().to_path_buf();
        move || run_text(&d, &text)
    })
    .unwrap();
    let bars = read_bars("testdata/binance_BTCUSDT_1m.csv");
    assert_eq!(
        report.datapoints,
        bars.len() as u64,
        "no range in Stream: every row"
    );
    let (mut sum, mut want) = (0.0, Vec::new());
    for (t, v) in bars {
        sum += v;
        if sum > 5000.0 {
            want.push((t, sum));
            sum = 0.0;
        }
    }
    let got: Vec<(i64, f64)> = read_csv(&out)[1..]
        .iter()
        .map(|r| (ms(&r[0]), r[1].parse().unwrap()))
        .collect();
    assert_eq!(got, want);
}
