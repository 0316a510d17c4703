//! `sweep-loop`: the hand-written baseline that the sweep benchmark compares the engine with.
//!
//! For every combination of a BTC volume threshold N (50, 100, …, 5000) and an alt coin (ETH, BNB, LTC,
//! XMR, XRP, XTZ) it merges the Binance BTCUSDT 1-minute bars with the coin's bars by time (BTC first on
//! equal times) over `[2021-04-02T00:00:00Z, 2021-05-14T20:00:00Z)`, sums BTC volume until the sum exceeds
//! N, and then writes one row: that BTC bar's time, the BTC sum, and the number and volume of the coin's
//! bars in the window. It is a plain single-threaded loop on std, writing numbers with the engine's
//! number writer (`tubes::base::number::write_f64`, the fastest exact way to write them that we have),
//! and it writes byte for byte the CSV the engine's sweep writes, so the two can be diffed.
//!
//! ```text
//! cargo run --release --bin sweep-loop -- out/sweep_loop.csv
//! cargo run --release --bin sweep-loop -- out/small.csv --n-from 100 --n-to 500 --n-step 100 --coins ETH,BNB
//! ```
//!
//! Flags: `--n-from`, `--n-to`, `--n-step` (the N grid, inclusive), `--coins` (comma-separated),
//! `--from`, `--to` (the range, unix milliseconds, `to` exclusive) and `--data` (the folder of the CSVs,
//! `testdata`). Every file is read and parsed once. One summary line goes to stderr.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use tubes::base::number::write_f64;

const COINS: [&str; 6] = ["ETH", "BNB", "LTC", "XMR", "XRP", "XTZ"];

#[path = "bars.rs"]
mod bars;
use bars::{fail, read_bars, rfc3339_millis};

struct Args {
    out: String,
    data: String,
    n_from: u64,
    n_to: u64,
    n_step: u64,
    coins: Vec<String>,
    from: i64,
    to: i64,
}

fn parse_args() -> Args {
    let mut a = Args {
        out: "out/sweep_loop.csv".into(),
        data: "testdata".into(),
        n_from: 50,
        n_to: 5000,
        n_step: 50,
        coins: COINS.iter().map(|c| c.to_string()).collect(),
        from: 1_617_321_600_000, // 2021-04-02T00:00:00Z
        to: 1_621_022_400_000,   // 2021-05-14T20:00:00Z
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if !arg.starts_with("--") {
            a.out = arg;
            continue;
        }
        let (flag, value) = match arg.split_once('=') {
            Some((f, v)) => (f.to_string(), v.to_string()),
            None => (
                arg.clone(),
                it.next()
                    .unwrap_or_else(|| fail(format!("{arg} needs a value"))),
            ),
        };
        let num = |v: &str| {
            v.parse::<i64>()
                .unwrap_or_else(|_| fail(format!("{flag}: not an integer: {v}")))
        };
        let pos = |v: &str| match num(v) {
            n if n > 0 => n as u64,
            _ => fail(format!("{flag}: must be positive: {v}")),
        };
        match flag.as_str() {
            "--n-from" => a.n_from = pos(&value),
            "--n-to" => a.n_to = pos(&value),
            "--n-step" => a.n_step = pos(&value),
            "--from" => a.from = num(&value),
            "--to" => a.to = num(&value),
            "--data" => a.data = value,
            "--coins" => a.coins = value.split(',').map(|c| c.trim().to_uppercase()).collect(),
            _ => fail(format!("unknown flag {flag}")),
        }
    }
    a
}

fn main() {
    let start = Instant::now();
    let a = parse_args();
    let bars = |sym: &str| {
        let path =
            Path::new(&a.data).join(format!("binance_{sym}USDT_1m_2021-04-02_2021-05-14.csv"));
        read_bars(&path, a.from, a.to)
    };
    let (btc_times, btc_vols) = bars("BTC");
    let btc_text: Vec<String> = btc_times.iter().map(|&t| rfc3339_millis(t)).collect();
    // Per coin: its volumes, and for each BTC bar how many of its bars come before that BTC bar in the
    // merged sequence (strictly earlier times: on equal times the BTC bar comes first).
    let alts: Vec<(Vec<f64>, Vec<usize>)> = a
        .coins
        .iter()
        .map(|coin| {
            let (times, vols) = bars(coin);
            let before = btc_times
                .iter()
                .map(|&t| times.partition_point(|&at| at < t))
                .collect();
            (vols, before)
        })
        .collect();
    let ns: Vec<u64> = (a.n_from..=a.n_to).step_by(a.n_step as usize).collect();

    if let Some(dir) = Path::new(&a.out)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        fs::create_dir_all(dir).unwrap_or_else(|e| fail(format!("{}: {e}", dir.display())));
    }
    // The previous file is removed rather than truncated: on ext4 a truncated file is written to
    // disk when it is closed, and that write, 100 MB, would go on in the background while the
    // benchmark's next run is timed (`tubes` writes a new file too, and swaps it in).
    // Only a regular file: a device (`/dev/null`) or a link is written through as before.
    if fs::symlink_metadata(&a.out).is_ok_and(|m| m.file_type().is_file()) {
        fs::remove_file(&a.out).unwrap_or_else(|e| fail(format!("{}: {e}", a.out)));
    }
    let file = File::create(&a.out).unwrap_or_else(|e| fail(format!("{}: {e}", a.out)));
    let mut w = BufWriter::with_capacity(4 << 20, file);
    let io = |e: std::io::Error| fail(format!("{}: {e}", a.out));
    writeln!(
        w,
        "N,coin,timestamp,btc_vol_sum.sum_Volume,alt_counter.count,alt_counter.sum_Volume"
    )
    .unwrap_or_else(io);

    let mut rows = 0u64;
    for &n in &ns {
        let threshold = n as f64;
        for (coin, (alt_vols, before)) in a.coins.iter().zip(&alts) {
            let (mut btc_sum, mut alt_count, mut alt_sum) = (0.0f64, 0u64, 0.0f64);
            let mut j = 0;
            for (i, &bv) in btc_vols.iter().enumerate() {
                // The coin's bars between the previous BTC bar and this one, in order.
                for &v in &alt_vols[j..before[i]] {
                    alt_count += 1;
                    alt_sum += v;
                }
                j = before[i];
                btc_sum += bv;
                if btc_sum > threshold {
                    let ts = &btc_text[i];
                    write!(w, "{n},{coin},{ts},").unwrap_or_else(io);
                    for (v, end) in [(btc_sum, b','), (alt_count as f64, b','), (alt_sum, b'\n')] {
                        write_f64(&mut w, v).unwrap_or_else(io);
                        w.write_all(&[end]).unwrap_or_else(io);
                    }
                    rows += 1;
                    (btc_sum, alt_count, alt_sum) = (0.0, 0, 0.0);
                }
            }
            // The coin's bars after the last BTC bar would only add to a window that is never written.
        }
    }
    w.flush().unwrap_or_else(io);
    drop(w);

    let wall = start.elapsed().as_secs_f64();
    let merged: usize = alts.iter().map(|(v, _)| v.len() + btc_vols.len()).sum();
    let updates = merged as f64 * ns.len() as f64;
    eprintln!(
        "sweep-loop: {} combinations, {rows} rows written, {wall:.3} s wall, {:.1} M datapoint-updates/s",
        ns.len() * a.coins.len(),
        updates / wall / 1e6
    );
}
