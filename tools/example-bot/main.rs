//! `example-bot`: what a trading bot beside the engine does to get its results. It tails the journal a
//! `Journal` sink writes, prints each row as it is committed with its sink-to-bot latency, and keeps its
//! position in a file, so a restarted bot resumes where it stopped and sees every row once.
//!
//! ```text
//! tubes run configs/live_binance_btc_eth_journal.yaml &
//! example-bot out/live_rows --position out/bot.pos
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use tubes::base::datapoint::Kind;
use tubes::journal::Tailer;

#[derive(Parser)]
#[command(
    name = "example-bot",
    about = "Tails a Tubes results journal, as a trading bot would"
)]
struct Args {
    /// The journal a `Journal` sink writes (the bot waits for it to appear).
    dir: PathBuf,
    /// Keep the position here: read on start, written after every row.
    #[arg(long)]
    position: Option<PathBuf>,
    /// Stop after this many rows.
    #[arg(long)]
    count: Option<u64>,
    /// Stop once no row has come for this many seconds.
    #[arg(long)]
    idle_exit: Option<f64>,
}

fn save(path: &Path, pos: u64) {
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, pos.to_string()).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

fn main() {
    let a = Args::parse();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let from = a
        .position
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let idle = a.idle_exit.map(Duration::from_secs_f64);
    let started = Instant::now();
    // The engine may not have created the journal yet.
    let mut tailer = loop {
        match Tailer::open(&a.dir, from) {
            Ok(t) => break t,
            Err(e) => {
                if stop.load(Ordering::Relaxed) || idle.is_some_and(|d| started.elapsed() > d) {
                    eprintln!("example-bot: {e}");
                    std::process::exit(1);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    };
    let meta = tailer.meta().clone();
    // Statuses name their generator by tube id.
    let labels: Vec<String> = meta.tubes.iter().map(|t| t.label.clone()).collect();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let (mut rows, mut last_row) = (0u64, Instant::now());
    while !stop.load(Ordering::Relaxed) && a.count.is_none_or(|c| rows < c) {
        let next = match tailer.next(Duration::from_millis(50)) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("example-bot: {e}");
                std::process::exit(1);
            }
        };
        let Some(dp) = next else {
            if idle.is_some_and(|d| last_row.elapsed() >= d) {
                break;
            }
            continue;
        };
        let _ = latency.record(
            (tubes::base::time::wall_ns() as u64)
                .saturating_sub(dp.ingest_time)
                .max(1),
        );
        let time = tubes::base::time::rfc3339(dp.event_time);
        if dp.kind == Kind::Status {
            println!(
                "{time} status {}",
                tubes::base::status::Text {
                    dp: &dp,
                    feeds: &labels
                }
            );
        } else {
            let cells: Vec<String> = meta
                .fields(dp.source as usize)
                .iter()
                .zip(dp.fields())
                .map(|(n, v)| format!("{n}={v}"))
                .collect();
            println!("{time} {}", cells.join(" "));
        }
        rows += 1;
        last_row = Instant::now();
        if let Some(p) = &a.position {
            save(p, tailer.position());
        }
    }
    eprintln!(
        "example-bot: {rows} rows (next: {}); sink-to-bot latency p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        tailer.position(),
        latency.value_at_quantile(0.5) as f64 / 1e3,
        latency.value_at_quantile(0.99) as f64 / 1e3,
        latency.max() as f64 / 1e3
    );
}
