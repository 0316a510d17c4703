//! The README's "What Tubes promises", one module per promise, each with its bad inputs made in the
//! test. Every child process and in-process run here is bounded in time (a deadline or `within`).

#[path = "../common/mod.rs"]
mod common;

mod bad_values;
mod changing_files;
mod inputs;
mod journal_damage;
mod messages;
mod no_hang;
mod outputs;
mod random_inputs;
mod runaway;

use std::path::{Path, PathBuf};

/// The main job (configs/btc_eth_volume.yaml) over copies of its CSVs in `dir`, writing CSV to
/// `dir/out.csv` only: (config, btc copy, eth copy, output).
pub fn main_job_in(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let btc = dir.join("btc.csv");
    let eth = dir.join("eth.csv");
    std::fs::copy("testdata/binance_BTCUSDT_1m.csv", &btc).unwrap();
    std::fs::copy("testdata/binance_ETHUSDT_1m.csv", &eth).unwrap();
    let out = dir.join("out.csv");
    let text = common::shipped_config_to("configs/btc_eth_volume.yaml", &out, "")
        .replace(
            "testdata/binance_BTCUSDT_1m.csv",
            &btc.display().to_string(),
        )
        .replace(
            "testdata/binance_ETHUSDT_1m.csv",
            &eth.display().to_string(),
        );
    let cfg = common::write_config(dir, "main.yaml", &text);
    (cfg, btc, eth, out)
}

/// The line (from 1) of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    1 + text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("'{needle}' is not in the text"))
}

/// The main job recorded into `dir/journal` by `tubes run --journal`; returns the journal's path.
pub fn record(cfg: &Path, dir: &Path) -> PathBuf {
    let journal = dir.join("journal");
    let (code, _, err) = common::tubes(&[
        "run",
        "-q",
        cfg.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    journal
}

/// Asserts that the main job's CSV output at `out` holds exactly `windows` (window close, BTC volume,
/// ETH bars, ETH volume), row for row.
pub fn assert_rows(out: &Path, windows: &[(i64, f64, u64, f64)]) {
    let rows = common::read_csv(out);
    assert_eq!(rows.len() - 1, windows.len());
    for (row, w) in rows[1..].iter().zip(windows) {
        assert_eq!(row[1].parse::<f64>().unwrap(), w.1);
        assert_eq!(row[2].parse::<u64>().unwrap(), w.2);
        assert_eq!(row[3].parse::<f64>().unwrap(), w.3);
    }
}
