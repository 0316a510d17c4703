//! `batch-loop`: the hand-written baseline that the batch comparison (`benches/batch_compare.py`) times
//! the engine's main job against.
//!
//! It answers `configs/btc_eth_volume.yaml` with a plain single-threaded loop on std only: it reads and
//! parses both CSVs, merges their bars by time (BTC first on equal times) over the Batch range
//! `[2023-03-17T00:00:00Z, 2023-05-01T00:00:00Z)`, sums BTC volume until the sum exceeds 1000, and then
//! writes one row: that BTC bar's time, the BTC sum, and the number and volume of the ETH bars in the
//! window. Its CSV is byte for byte the engine's `out/btc_eth_volume.csv`, so the two can be diffed.
//!
//! ```text
//! cargo run --release --bin batch-loop -- out/batch_loop.csv
//! ```
//!
//! Flags: `--btc`, `--alt` (the two CSVs), `--threshold`, `--from`, `--to` (unix milliseconds, `to`
//! exclusive). One summary line goes to stderr.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

#[path = "../sweep-loop/bars.rs"]
mod bars;
use bars::{fail, read_bars, rfc3339_millis};

struct Args {
    out: String,
    btc: String,
    alt: String,
    threshold: f64,
    from: i64,
    to: i64,
}

fn parse_args() -> Args {
    let mut a = Args {
        out: "out/batch_loop.csv".into(),
        btc: "testdata/binance_BTCUSDT_1m.csv".into(),
        alt: "testdata/binance_ETHUSDT_1m.csv".into(),
        threshold: 1000.0,
        from: 1_679_011_200_000, // 2023-03-17T00:00:00Z
        to: 1_682_899_200_000,   // 2023-05-01T00:00:00Z
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            a.out = arg;
            continue;
        }
        let value = it
            .next()
            .unwrap_or_else(|| fail(format!("{arg} needs a value")));
        let num = |v: &str| {
            v.parse::<i64>()
                .unwrap_or_else(|_| fail(format!("{arg}: not an integer: {v}")))
        };
        match arg.as_str() {
            "--btc" => a.btc = value,
            "--alt" => a.alt = value,
            "--threshold" => {
                a.threshold = value
                    .parse()
                    .unwrap_or_else(|_| fail(format!("{arg}: not a number: {value}")))
            }
            "--from" => a.from = num(&value),
            "--to" => a.to = num(&value),
            _ => fail(format!("unknown flag {arg}")),
        }
    }
    a
}

fn main() {
    let start = Instant::now();
    let a = parse_args();
    let (btc_times, btc_vols) = read_bars(Path::new(&a.btc), a.from, a.to);
    let (alt_times, alt_vols) = read_bars(Path::new(&a.alt), a.from, a.to);

    if let Some(dir) = Path::new(&a.out)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        fs::create_dir_all(dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    }
    let file = File::create(&a.out).unwrap_or_else(|e| fail(format!("{}: {e}", a.out)));
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let io = |e: std::io::Error| fail(format!("{}: {e}", a.out));
    writeln!(
        w,
        "timestamp,btc_vol_sum.sum_Volume,eth_counter.count,eth_counter.sum_Volume"
    )
    .unwrap_or_else(io);

    let (mut btc_sum, mut alt_count, mut alt_sum) = (0.0f64, 0u64, 0.0f64);
    let (mut j, mut rows) = (0, 0u64);
    for (&t, &bv) in btc_times.iter().zip(&btc_vols) {
        // The ETH bars strictly before this BTC bar, in order (on equal times BTC comes first).
        while j < alt_times.len() && alt_times[j] < t {
            alt_count += 1;
            alt_sum += alt_vols[j];
            j += 1;
        }
        btc_sum += bv;
        if btc_sum > a.threshold {
            let ts = rfc3339_millis(t);
            writeln!(w, "{ts},{btc_sum},{alt_count},{alt_sum}").unwrap_or_else(io);
            rows += 1;
            (btc_sum, alt_count, alt_sum) = (0.0, 0, 0.0);
        }
    }
    w.flush().unwrap_or_else(io);
    drop(w);
    let wall = start.elapsed().as_secs_f64();
    let points = btc_times.len() + alt_times.len();
    eprintln!(
        "batch-loop: {points} datapoints, {rows} rows written, {wall:.3} s wall, {:.2} M datapoints/s",
        points as f64 / wall / 1e6
    );
}
