//! The journal: appending and replaying records, each against writing or reading the same bytes with
//! plain buffered file I/O (the baseline), and a tailer's latency from commit to read.
//!
//! After the criterion groups, the same comparisons are taken in turns, with each append's latency over
//! segment rolls. Run: cargo bench --bench journal

use std::io::{BufReader, BufWriter, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use tubes::base::datapoint::{Datapoint, Kind};
use tubes::journal::format::{encode, SLOT};
use tubes::journal::{Meta, Next, Reader, SyncPolicy, Tailer, Writer};

const N: u64 = 200_000;

fn meta() -> Meta {
    Meta {
        id: 0,
        format: "tubes-journal".into(),
        version: tubes::journal::format::VERSION,
        content: "input".into(),
        segment_records: 1 << 16,
        config_hash: "0".into(),
        config_file: "bench".into(),
        config: String::new(),
        tubes: Vec::new(),
    }
}

fn record(i: u64) -> Datapoint {
    let mut dp = Datapoint::new(Kind::Data, 0, i as i64, i);
    dp.seq = i + 1;
    dp.len = 4;
    dp.values[..4].copy_from_slice(&[i as f64, 1.0, -1.0, 0.5]);
    dp
}

fn journal_with(n: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(&dir.path().join("j"), meta(), SyncPolicy::Never).unwrap();
    for i in 0..n {
        w.append(&record(i)).unwrap();
    }
    dir
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("journal");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Bytes(N * SLOT as u64));
    g.bench_function("append (journal, 200k records)", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let mut w =
                    Writer::create(&dir.path().join("j"), meta(), SyncPolicy::Never).unwrap();
                for i in 0..N {
                    w.append(&record(i)).unwrap();
                }
                w.close().unwrap();
            },
        )
    });
    g.bench_function("append (BufWriter<File>, same bytes)", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |dir| write_flat(&dir.path().join("f")),
        )
    });
    let dir = journal_with(N);
    g.bench_function("replay (journal reader, 200k records)", |b| {
        b.iter(|| {
            let mut r = Reader::open(&dir.path().join("j")).unwrap();
            let mut n = 0;
            while let Next::Record(_) = r.next_record().unwrap() {
                n += 1;
            }
            assert_eq!(n, N);
        })
    });
    let flat = dir.path().join("flat");
    write_flat(&flat);
    g.bench_function("replay (BufReader<File>, same bytes)", |b| {
        b.iter(|| read_flat(&flat))
    });
    g.finish();

    // Commit to read: a writer appends record i and waits until a tailer thread, spinning, has read it.
    let mut g = c.benchmark_group("journal tailer");
    g.sample_size(20);
    g.bench_function("commit → tailer read → acknowledged", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("j");
            let mut w = Writer::create(&path, meta(), SyncPolicy::Never).unwrap();
            let seen = Arc::new(AtomicU64::new(u64::MAX));
            let reader = std::thread::spawn({
                let (seen, path) = (seen.clone(), path.clone());
                move || {
                    let mut t = Tailer::open(&path, 0).unwrap();
                    for _ in 0..iters {
                        let dp = t.next(Duration::from_secs(10)).unwrap().unwrap();
                        seen.store(dp.seq - 1, Ordering::Release);
                    }
                }
            });
            let start = Instant::now();
            for i in 0..iters {
                w.append(&record(i)).unwrap();
                while seen.load(Ordering::Acquire) != i {
                    std::hint::spin_loop();
                }
            }
            let elapsed = start.elapsed();
            reader.join().unwrap();
            elapsed
        })
    });
    g.finish();
}

/// Appends `N` records to a new journal of `segment` records per segment; returns the wall time and,
/// into `lat` when given, each append's latency (ns), the segment rolls included. Reading the clock per
/// append costs about a third of an append, so the throughput runs are taken without it.
fn timed_append(segment: u64, lat: Option<&mut hdrhistogram::Histogram<u64>>) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let m = Meta {
        segment_records: segment,
        ..meta()
    };
    let mut w = Writer::create(&dir.path().join("j"), m, SyncPolicy::Never).unwrap();
    let start = Instant::now();
    match lat {
        None => {
            for i in 0..N {
                w.append(&record(i)).unwrap();
            }
        }
        Some(lat) => {
            let mut t0 = start;
            for i in 0..N {
                w.append(&record(i)).unwrap();
                let t1 = Instant::now();
                lat.saturating_record((t1 - t0).as_nanos() as u64);
                t0 = t1;
            }
        }
    }
    w.close().unwrap();
    start.elapsed()
}

/// The floor under the journal's appends: the same slots copied into a file already mapped and
/// faulted in (as the journal's next segment is, ahead), with no checksum and no atomics; the copy
/// loop alone is timed.
fn timed_mapped_copy() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.path().join("m"))
        .unwrap();
    f.set_len(N * SLOT as u64).unwrap();
    // SAFETY: the file is this function's own, in a fresh temporary directory: nothing else truncates it.
    let mut map = unsafe { memmap2::MmapMut::map_mut(&f) }.unwrap();
    #[cfg(target_os = "linux")]
    map.advise(memmap2::Advice::PopulateWrite).ok();
    let start = Instant::now();
    for (i, slot) in map.chunks_exact_mut(SLOT).enumerate() {
        slot[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        slot[16..].copy_from_slice(&encode(&record(i as u64)));
    }
    let elapsed = start.elapsed();
    std::hint::black_box(&map);
    elapsed
}

/// The journal's records as plain slots through a `BufWriter`: the baseline's bytes.
fn write_flat(path: &std::path::Path) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = BufWriter::with_capacity(1 << 16, f);
    for i in 0..N {
        let mut slot = [0u8; SLOT];
        slot[16..].copy_from_slice(&encode(&record(i)));
        w.write_all(&slot).unwrap();
    }
    w.flush().unwrap();
}

/// Reads the baseline's bytes back through a `BufReader`, checking nothing.
fn read_flat(path: &std::path::Path) -> u64 {
    let mut r = BufReader::with_capacity(1 << 16, std::fs::File::open(path).unwrap());
    let mut slot = [0u8; SLOT];
    let mut sum = 0u64;
    for _ in 0..N {
        r.read_exact(&mut slot).unwrap();
        sum = sum.wrapping_add(u64::from(slot[16]));
    }
    sum
}

/// The same bytes through a `BufWriter`.
fn timed_bufwriter() -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    write_flat(&dir.path().join("f"));
    start.elapsed()
}

/// Replays the journal in `dir`; returns the wall time.
fn timed_replay(dir: &std::path::Path) -> Duration {
    let start = Instant::now();
    let mut r = Reader::open(dir).unwrap();
    let mut n = 0;
    while let Next::Record(dp) = r.next_record().unwrap() {
        n += u64::from(dp.len > 0);
    }
    assert_eq!(n, N);
    start.elapsed()
}

/// The same bytes through a `BufReader`, unchecked.
fn timed_bufreader(flat: &std::path::Path) -> Duration {
    let start = Instant::now();
    std::hint::black_box(read_flat(flat));
    start.elapsed()
}

/// Appending and replaying against buffered file I/O, taken in turns (the machine's speed drifts), and
/// the latency of each append over runs that roll a segment every 4,096 records.
fn interleaved() {
    const ROUNDS: usize = 15;
    let dir = journal_with(N);
    let flat = dir.path().join("flat");
    write_flat(&flat);
    let mut lat = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    let names = [
        "append, journal (65,536-record segments)",
        "append, journal (4,096-record segments)",
        "append, BufWriter<File>",
        "replay, journal reader (checked, decoded)",
        "replay, BufReader<File> (unchecked)",
        "copy into a mapped, faulted-in file (floor)",
    ];
    let mut t: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for _ in 0..ROUNDS {
        t[0].push(timed_append(1 << 16, None).as_secs_f64());
        t[1].push(timed_append(4096, None).as_secs_f64());
        t[2].push(timed_bufwriter().as_secs_f64());
        t[3].push(timed_replay(&dir.path().join("j")).as_secs_f64());
        t[4].push(timed_bufreader(&flat).as_secs_f64());
        t[5].push(timed_mapped_copy().as_secs_f64());
        timed_append(4096, Some(&mut lat));
    }
    let med: Vec<f64> = t
        .iter_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    println!("\njournal, taken in turns ({ROUNDS} rounds of {N} records; medians):");
    for (k, name) in names.iter().enumerate() {
        let base = if k == 3 || k == 4 { med[4] } else { med[2] };
        println!(
            "  {name:<44} {:>7.2} ms  {:>6.1} M records/s  {:>5.2}x the buffered file's records/s",
            med[k] * 1e3,
            N as f64 / med[k] / 1e6,
            base / med[k]
        );
    }
    let q = |p: f64| lat.value_at_quantile(p) as f64;
    println!(
        "  append latency, 4,096-record segments ({} appends, {} rolls): p50 {:.0} ns  p99 {:.0} ns  p99.9 {:.0} ns  p99.99 {:.0} ns  max {:.0} ns",
        lat.len(),
        ROUNDS as u64 * (N / 4096),
        q(0.5),
        q(0.99),
        q(0.999),
        q(0.9999),
        lat.max() as f64
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
