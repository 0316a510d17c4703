//! The engine on the example (BTC volume windows × ETH bars, six weeks of 1-minute bars) against a hand-written
//! single-threaded loop that computes the same answer from the same files: the baseline.
//!
//! The engine runs with latency recording on (the default) and off, to measure what recording costs.
//!
//! Run: cargo bench --bench pipeline

use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};

const BTC: &str = "testdata/binance_BTCUSDT_1m.csv";
const ETH: &str = "testdata/binance_ETHUSDT_1m.csv";

/// Parses (time ms, volume) of every row: the same work the engine's CSV generator does for these columns.
fn bars(path: &str) -> Vec<(i64, f64)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::with_capacity(70_000);
    for line in text.lines().skip(1) {
        let mut cells = line.split(',');
        let t: i64 = cells.next().unwrap().parse().unwrap();
        let v: f64 = cells.nth(6).unwrap().parse().unwrap();
        out.push((t, v));
    }
    out
}

/// The hand-written answer: merge by time (BTC first on ties), sum BTC volume, count ETH bars.
fn hand_loop(from: i64, to: i64) -> usize {
    let (b, e) = (bars(BTC), bars(ETH));
    let (mut i, mut j) = (0, 0);
    let (mut sum, mut n, mut eth_vol, mut rows) = (0.0f64, 0u64, 0.0f64, 0usize);
    while i < b.len() || j < e.len() {
        let take_btc = j >= e.len() || (i < b.len() && b[i].0 <= e[j].0);
        let (t, v) = if take_btc { b[i] } else { e[j] };
        if take_btc {
            i += 1;
        } else {
            j += 1;
        }
        if t < from || t >= to {
            continue;
        }
        if take_btc {
            sum += v;
            if sum > 1000.0 {
                rows += 1;
                std::hint::black_box((t, sum, n, eth_vol));
                sum = 0.0;
                n = 0;
                eth_vol = 0.0;
            }
        } else {
            n += 1;
            eth_vol += v;
        }
    }
    rows
}

fn engine_config(dir: &Path, runtime: &str) -> std::path::PathBuf {
    let out = dir.join("out.csv");
    let text = std::fs::read_to_string("configs/readme_example.yaml")
        .unwrap()
        .replace("out/btc_eth_volume.csv", &out.display().to_string());
    let path = dir.join(format!(
        "bench-{}.yaml",
        runtime.replace([' ', ',', ':', '{', '}'], "")
    ));
    std::fs::write(&path, format!("{text}\nruntime: {runtime}\n")).unwrap();
    path
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let from = 1_679_011_200_000; // 2023-03-17T00:00:00Z
    let to = 1_682_899_200_000; // 2023-05-01T00:00:00Z
    let expected_rows = hand_loop(from, to);
    let mut group = c.benchmark_group("btc_eth_volume");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(129_440));
    group.bench_function("hand_loop", |b| b.iter(|| hand_loop(from, to)));
    for runtime in [
        "{placement: single}",
        "{placement: per_tube}",
        "{placement: single, metrics: off}",
    ] {
        let path = engine_config(dir.path(), runtime);
        let g = tubes::api::load(&path).unwrap();
        group.bench_function(format!("engine {runtime}"), |b| {
            b.iter(|| {
                let r = tubes::api::run(&g, |_| {}).unwrap();
                assert_eq!(r.rows as usize, expected_rows);
            })
        });
    }
    group.finish();
}

/// The same three measured in turns, so that drift in a shared machine's speed hits each alike: medians
/// over rounds, and the ratios the targets are stated in.
fn interleaved() {
    const ROUNDS: usize = 21;
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (1_679_011_200_000, 1_682_899_200_000);
    let on = tubes::api::load(&engine_config(dir.path(), "{placement: single}")).unwrap();
    let off = tubes::api::load(&engine_config(
        dir.path(),
        "{placement: single, metrics: off}",
    ))
    .unwrap();
    let time = |f: &mut dyn FnMut()| {
        let t = std::time::Instant::now();
        f();
        t.elapsed().as_secs_f64()
    };
    let mut samples = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..ROUNDS {
        samples[0].push(time(&mut || {
            hand_loop(from, to);
        }));
        samples[1].push(time(&mut || {
            tubes::api::run(&on, |_| {}).unwrap();
        }));
        samples[2].push(time(&mut || {
            tubes::api::run(&off, |_| {}).unwrap();
        }));
    }
    let m: Vec<f64> = samples
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    println!("\ntaken in turns ({ROUNDS} rounds; median wall time per run of 129,440 datapoints):");
    println!("  hand-written loop          {:>7.1} ms", m[0] * 1e3);
    println!(
        "  engine, recording on       {:>7.1} ms   {:.2}x the loop's datapoints/s",
        m[1] * 1e3,
        m[0] / m[1]
    );
    println!(
        "  engine, recording off      {:>7.1} ms   {:.2}x the loop's datapoints/s",
        m[2] * 1e3,
        m[0] / m[2]
    );
    println!(
        "  cost of recording          {:>+7.1} %",
        (m[1] / m[2] - 1.0) * 100.0
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--bench") {
        interleaved();
    }
}
