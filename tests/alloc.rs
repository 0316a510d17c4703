//! No heap allocation per datapoint: a counting global allocator over runs of the example.
//!
//! Two runs that differ only in how much data flows (one day vs. six weeks of bars) must allocate exactly
//! as often once started: every allocation happens at build time, before the first datapoint.

mod common;
use common::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: delegates every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// The counter is global and counts every thread of the process, the test harness's own included: when
/// one test ends, the harness records its result and spawns the thread of the next, and those
/// allocations would land in whichever measurement is running then. So the file holds a single test,
/// which runs each check in turn while the harness only waits.
#[test]
fn nothing_allocates_per_datapoint() {
    allocations_do_not_grow_with_the_number_of_datapoints();
    a_sweep_allocates_per_combination_not_per_datapoint();
    a_sliding_window_and_a_keyed_window_allocate_nothing_per_datapoint();
}

/// Allocations between the start signal and the end of the run, and the datapoints that flowed.
fn allocations_while_running(config: &str, runtime: &str, batch_to: &str) -> (u64, u64) {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = shipped_config_to(config, &out, runtime)
        .replace("2023-05-01T00:00:00Z\"]", &format!("{batch_to}\"]"));
    allocations_of(&write_config(dir.path(), "p.yaml", &text))
}

/// Allocations between the start signal and the end of a run of the config at `path`, and the
/// datapoints that flowed.
fn allocations_of(path: &std::path::Path) -> (u64, u64) {
    let g = tubes::api::load(path).unwrap();
    let plan = tubes::graph::plan(&g);
    let running = tubes::runtime::Engine::build(&g, &plan)
        .unwrap()
        .start()
        .unwrap();
    let before = ALLOCS.load(Ordering::SeqCst);
    let report = running.finish(|_| {}).unwrap();
    let after = ALLOCS.load(Ordering::SeqCst);
    (after - before, report.datapoints)
}

fn allocations_do_not_grow_with_the_number_of_datapoints() {
    // Every placement: stage threads (`per_tube`, `single`) and the sequencer running the tubes itself
    // (`inline`).
    let placements = [
        "placement: per_tube",
        "placement: single",
        "placement: inline",
    ];
    for config in ["configs/btc_eth_volume.yaml", "configs/talk.yaml"] {
        for placement in placements.map(|p| format!("runtime: {{{p}}}")) {
            let short = allocations_while_running(config, &placement, "2023-03-18T00:00:00Z");
            let long = allocations_while_running(config, &placement, "2023-05-01T00:00:00Z");
            let ((short_allocs, short_n), (long_allocs, long_n)) = (short, long);
            assert!(
                long_n > 40 * short_n,
                "the long run moves far more data ({short_n} vs {long_n})"
            );
            assert_eq!(
                short_allocs, long_allocs,
                "{config}, {placement}: {short_allocs} allocations for {short_n} datapoints but {long_allocs} for {long_n}"
            );
        }
    }
}

/// Allocations while a sweep's combinations run (its inputs already read), its datapoint-updates, the
/// bytes it wrote and the tapes of firings it recorded.
fn sweep_allocations(batch_to: &str) -> (u64, u64, u64, u64) {
    let dir = tempdir();
    let out = dir.path().join("sweep.csv");
    let text = sweep_csv_only("sweep_btc_altcoins")
        .replace("N: {from: 50, to: 5000, step: 50}", "N: [100, 400, 1000]")
        .replace("coin: [ETH, BNB, LTC, XMR, XRP, XTZ]", "coin: [ETH, XRP]")
        .replace("2021-05-14T20:00:00Z\"]", &format!("{batch_to}\"]"))
        .replace("out/sweep_btc_altcoins.csv", &out.display().to_string());
    let path = write_config(dir.path(), "s.yaml", &text);
    let t = tubes::api::load_template(&path).unwrap();
    let prepared = tubes::api::sweep(t, None, 2, &Default::default()).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let before = ALLOCS.load(Ordering::SeqCst);
    let report = prepared.run(2, &stop, &mut |_| {}).unwrap();
    let after = ALLOCS.load(Ordering::SeqCst);
    let bytes = std::fs::metadata(&out).unwrap().len();
    (after - before, report.updates, bytes, report.tapes.0 as u64)
}

fn a_sweep_allocates_per_combination_not_per_datapoint() {
    let (short_allocs, short_n, _, _) = sweep_allocations("2021-04-03T00:00:00Z");
    let (long_allocs, long_n, long_bytes, tapes) = sweep_allocations("2021-05-14T20:00:00Z");
    assert!(long_n > 40 * short_n, "{short_n} vs {long_n} updates");
    assert!(
        tapes > 0,
        "the BTC sums' firings are recorded once for both coins"
    );
    // Opening each combination's tubes and writers allocates the same in both. A part's rows take a
    // 64 KiB chunk at a time, a new one until drained parts give theirs back: at most one allocation
    // per 64 KiB written, and a few for the vectors listing the chunks. A tape of firings keeps two
    // vectors that grow by doubling: at most one allocation per doubling of each, up to one entry
    // per update. One allocation per datapoint would add millions.
    let diff = long_allocs.abs_diff(short_allocs);
    let chunks = long_bytes.div_ceil(64 << 10);
    let doublings = 2 * tapes * u64::from(long_n.ilog2() + 1);
    eprintln!(
        "sweep: {short_allocs} allocations for {short_n} updates, {long_allocs} for {long_n} ({chunks} chunks of rows, {tapes} tapes)"
    );
    assert!(
        diff <= chunks + 6 * 4 + doublings,
        "{short_allocs} allocations for {short_n} updates, {long_allocs} for {long_n} ({long_bytes} bytes, {tapes} tapes)"
    );
}

/// Allocations while a shipped window config runs with its Batch range ending at `to` instead of
/// `until`, and the datapoints that flowed.
fn window_allocations(name: &str, until: &str, to: &str) -> (u64, u64) {
    let dir = tempdir();
    let out = dir.path().join("out.csv");
    let text = std::fs::read_to_string(format!("configs/{name}.yaml"))
        .unwrap()
        .replace(&format!("out/{name}.csv"), &out.display().to_string())
        .replace(&format!("{until}\"]"), &format!("{to}\"]"));
    allocations_of(&write_config(dir.path(), "w.yaml", &text))
}

fn a_sliding_window_and_a_keyed_window_allocate_nothing_per_datapoint() {
    for (name, until, short) in [
        // Sliding, 10 minutes over 1-minute bars: its buffer is made before the run.
        (
            "alert_btc_10m_mean",
            "2023-05-01T00:00:00Z",
            "2023-03-18T00:00:00Z",
        ),
        // Keyed tumbling bins over trades of two symbols: the keys are listed, so their state is made
        // before the run; each name is read once, and the sink learns it once.
        (
            "binning_per_symbol",
            "2024-08-10T00:00:00Z",
            "2024-08-08T23:54:30Z",
        ),
    ] {
        let (short_allocs, short_n) = window_allocations(name, until, short);
        let (long_allocs, long_n) = window_allocations(name, until, until);
        assert!(
            long_n > 40 * short_n,
            "{name}: {short_n} vs {long_n} datapoints"
        );
        assert_eq!(
            short_allocs, long_allocs,
            "{name}: {short_allocs} allocations for {short_n} datapoints but {long_allocs} for {long_n}"
        );
    }
}
