//! The example's answer, checked row for row against a plain sequential loop over the same CSVs.

mod common;
use common::*;

fn check(config: &str) {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let report = within(120, {
        let text = shipped_config_to(config, &out, "");
        let dir = dir.path().to_path_buf();
        move || run_text(&dir, &text)
    })
    .unwrap();
    let rows = read_csv(&out);
    assert_eq!(
        rows[0],
        [
            "timestamp",
            "btc_vol_sum.sum_Volume",
            "eth_counter.count",
            "eth_counter.sum_Volume"
        ]
    );
    let want = main_job_windows();
    assert!(want.len() > 1000, "the data has many 1000 BTC windows");
    assert_eq!(rows.len() - 1, want.len(), "one row per BTC volume window");
    for (row, (t, btc, n, eth)) in rows[1..].iter().zip(&want) {
        assert_eq!(ms(&row[0]), *t, "row {row:?}");
        assert_eq!(row[1].parse::<f64>().unwrap(), *btc, "row {row:?}");
        assert_eq!(row[2].parse::<u64>().unwrap(), *n, "row {row:?}");
        assert_eq!(row[3].parse::<f64>().unwrap(), *eth, "row {row:?}");
    }
    assert_eq!(report.rows as usize, want.len());
    // Every row of both files in the range was numbered; nothing else.
    let in_range = |f: &str| {
        read_bars(f)
            .iter()
            .filter(|(t, _)| (ms("2023-03-17T00:00:00Z")..ms("2023-05-01T00:00:00Z")).contains(t))
            .count() as u64
    };
    assert_eq!(
        report.datapoints,
        in_range("testdata/binance_BTCUSDT_1m.csv") + in_range("testdata/binance_ETHUSDT_1m.csv")
    );
    let total = read_bars("testdata/binance_BTCUSDT_1m.csv").len() as u64;
    assert_eq!(
        report.generators[0].rows + report.generators[0].outside,
        total
    );
}

#[test]
fn the_readme_example_matches_a_sequential_loop_row_for_row() {
    check("configs/readme_example.yaml");
}

#[test]
fn the_shipped_main_job_matches_a_sequential_loop_row_for_row() {
    check("configs/btc_eth_volume.yaml");
}

#[test]
fn the_main_job_prints_rows_and_a_summary_from_the_command_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["run", "configs/btc_eth_volume.yaml"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    // stdout is not a terminal here, so the Stdout sink writes CSV: the same rows as the CSV file.
    let file = std::fs::read_to_string("out/btc_eth_volume.csv").unwrap();
    assert_eq!(stdout, file);
    assert_eq!(stdout.lines().count() - 1, main_job_windows().len());
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("tubes: "))
        .expect("summary line");
    let (from, to) = (ms("2023-03-17T00:00:00Z"), ms("2023-05-01T00:00:00Z"));
    let in_range = |f: &str| {
        read_bars(f)
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .count()
    };
    let datapoints =
        in_range("testdata/binance_BTCUSDT_1m.csv") + in_range("testdata/binance_ETHUSDT_1m.csv");
    assert!(
        summary.contains(&format!("{datapoints} datapoints in")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{} rows out", main_job_windows().len())),
        "{summary}"
    );
    assert!(summary.contains("datapoints/s"), "{summary}");
}
