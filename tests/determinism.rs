//! The same input gives byte-identical output on every run, under every placement (`inline` included:
//! the sequencer's thread running every tube) and wait strategy.

mod common;
use common::*;

fn outputs(config: &str, runtime: &str, runs: usize) -> Vec<Vec<u8>> {
    let dir = tempdir();
    (0..runs)
        .map(|i| {
            let out = dir.path().join(format!("out-{i}.csv"));
            let stem = std::path::Path::new(config)
                .file_stem()
                .unwrap()
                .to_str()
                .unwrap();
            let text = shipped_config_to(config, &out, &format!("runtime: {runtime}"))
                .replace(&format!("out/{stem}.csv"), &out.display().to_string());
            let d = dir.path().to_path_buf();
            within(120, move || run_text(&d, &text)).unwrap();
            std::fs::read(&out).unwrap()
        })
        .collect()
}

fn all_identical(config: &str, runtimes: &[&str], runs: usize) {
    let mut reference: Option<Vec<u8>> = None;
    for rt in runtimes {
        for (i, o) in outputs(config, rt, runs).into_iter().enumerate() {
            assert!(o.len() > 1000, "{config} wrote output");
            match &reference {
                None => reference = Some(o),
                Some(r) => assert!(
                    *r == o,
                    "{config} run {i} under `{rt}` differs from the first run"
                ),
            }
        }
    }
}

#[test]
fn the_example_is_byte_identical_over_20_runs_of_each_placement() {
    all_identical(
        "configs/btc_eth_volume.yaml",
        &[
            "{placement: single}",
            "{placement: auto}",
            "{placement: per_tube}",
            "{placement: inline, ring_capacity: 2}",
        ],
        20,
    );
}

#[test]
fn the_talk_config_with_ticks_is_byte_identical_across_placements_and_wait_strategies() {
    all_identical(
        "configs/talk.yaml",
        &[
            "{placement: single}",
            "{placement: inline}",
            "{placement: inline, ring_capacity: 2, wait: park}",
            "{placement: per_tube, ring_capacity: 2}",
            "{placement: per_tube, wait: park}",
            "{placement: per_tube, wait: yield, ring_capacity: 16}",
            "{placement: [{tubes: [btc_vol_sum, eth_counter]}, {tubes: [eth_static_time_ticker, btc_static_timer_ticker, sink]}]}",
        ],
        4,
    );
}

#[test]
fn windowed_and_keyed_tubes_are_byte_identical_across_placements() {
    // Under per_tube the windows still open at the end of the input cross a ring to the sink.
    for config in [
        "configs/binning_per_symbol.yaml",
        "configs/alert_btc_10m_mean.yaml",
    ] {
        all_identical(
            config,
            &[
                "{placement: single}",
                "{placement: auto}",
                "{placement: inline, ring_capacity: 2}",
                "{placement: per_tube, ring_capacity: 2}",
                "{placement: per_tube, wait: park}",
            ],
            3,
        );
    }
}
