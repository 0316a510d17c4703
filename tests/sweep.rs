//! Parameter sweeps on the shipped sweep configs: each combination's rows equal a single run of its
//! config, an independent Python recomputation agrees, shards concatenate to the whole, the output does
//! not depend on the number of threads, and bad sweeps are refused at the template's lines.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use tubes::sweep::{Shard, SweepReport};

const SHIPPED: &str = "configs/sweep_btc_altcoins.yaml";

/// The shipped sweep with other axes and its rows written to `out`.
fn sweep_text(n_axis: &str, coin_axis: &str, out: &Path) -> String {
    let text = sweep_csv_only("sweep_btc_altcoins");
    for line in [
        "N: {from: 50, to: 5000, step: 50}",
        "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
    ] {
        assert!(text.contains(line), "{SHIPPED} still holds `{line}`");
    }
    text.replace("N: {from: 50, to: 5000, step: 50}", n_axis)
        .replace("coin: [ETH, BNB, LTC, XMR, XRP, XTZ]", coin_axis)
        .replace("out/sweep_btc_altcoins.csv", &out.display().to_string())
}

fn run_sweep(path: &Path, shard: Option<Shard>, threads: usize) -> SweepReport {
    let t = tubes::api::load_template(path).unwrap();
    let p =
        tubes::api::sweep(t, shard, threads, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    p.run(threads, &AtomicBool::new(false), &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A small grid of the shipped sweep written to `dir/name`: (config path, output path).
fn small_grid(dir: &Path, name: &str, n_axis: &str, coin_axis: &str) -> (PathBuf, PathBuf) {
    let out = dir.join(format!("{name}.csv"));
    let path = write_config(
        dir,
        &format!("{name}.yaml"),
        &sweep_text(n_axis, coin_axis, &out),
    );
    (path, out)
}

/// Asserts that the sweep `template` wrote into `out` (axes `N` × `coin` over `ns` × `coins`), after its
/// header, exactly the rows of a single run of each combination's config, prefixed by its
/// parameters, in order; returns how many rows that is.
fn assert_single_runs_agree(
    dir: &Path,
    template: &str,
    out: &Path,
    ns: &[&str],
    coins: &[&str],
) -> usize {
    let sweep = std::fs::read_to_string(out).unwrap();
    let body: Vec<&str> = sweep.lines().skip(1).collect();
    let mut at = 0;
    // First axis outermost: N varies slowest.
    for n in ns {
        for coin in coins {
            let single_out = dir.join(format!("single_{n}_{coin}.csv"));
            let single = template
                .lines()
                .skip_while(|l| !l.starts_with("pipeline_type"))
                .collect::<Vec<_>>()
                .join("\n")
                .replace("${coin}", coin)
                .replace("\"${N}\"", n)
                .replace(
                    "out/sweep_btc_altcoins.csv",
                    &single_out.display().to_string(),
                );
            run_text(dir, &single).unwrap();
            let expected = std::fs::read_to_string(&single_out).unwrap();
            let rows: Vec<&str> = expected.lines().skip(1).collect();
            assert!(rows.len() > 100, "N={n} {coin}: {} rows", rows.len());
            let prefix = format!("{n},{coin},");
            for (k, row) in rows.iter().enumerate() {
                assert_eq!(
                    body[at + k],
                    format!("{prefix}{row}"),
                    "N={n} {coin}, row {k}"
                );
            }
            at += rows.len();
        }
    }
    assert_eq!(at, body.len(), "no rows beyond the combinations");
    at
}

/// Runs `template` (the shipped sweep's axes and output) over `ns` × `coins` on `threads` workers,
/// writing `dir/name.csv`, and asserts that every combination agrees with a single run; returns the
/// sweep's report.
fn small_sweep_agrees(
    dir: &Path,
    template: &str,
    name: &str,
    (ns, coins): (&[&str], &[&str]),
    threads: usize,
) -> SweepReport {
    let out = dir.join(format!("{name}.csv"));
    let text = template
        .replace(
            "N: {from: 50, to: 5000, step: 50}",
            &format!("N: [{}]", ns.join(", ")),
        )
        .replace(
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            &format!("coin: [{}]", coins.join(", ")),
        )
        .replace("out/sweep_btc_altcoins.csv", &out.display().to_string());
    let report = run_sweep(
        &write_config(dir, &format!("{name}.yaml"), &text),
        None,
        threads,
    );
    assert_single_runs_agree(dir, template, &out, ns, coins);
    report
}

#[test]
fn every_combination_writes_what_a_single_run_of_its_config_writes() {
    let dir = tempdir();
    let (path, out) = small_grid(
        dir.path(),
        "sweep",
        "N: [300, 1000, 4200]",
        "coin: [XTZ, ETH]",
    );
    // One worker: its units hold each coin's three combinations (two workers would split them
    // finer, to have two units each).
    let report = run_sweep(&path, None, 1);
    assert_eq!(report.rows.len(), 6);
    // Combinations that read one stream ran as lanes of one pass, and fired from the lanes; the BTC
    // sums' firings were worked out once over the BTC bars, and both coins' units played them.
    assert_eq!((report.lanes, report.from_lanes), (6, 6));
    assert_eq!(report.tapes, (1, 2));
    let header = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        header.lines().next().unwrap(),
        "N,coin,timestamp,btc_vol_sum.sum_Volume,alt_counter.count,alt_counter.sum_Volume"
    );
    let template = sweep_csv_only("sweep_btc_altcoins");
    let rows = assert_single_runs_agree(
        dir.path(),
        &template,
        &out,
        &["300", "1000", "4200"],
        &["XTZ", "ETH"],
    );
    assert_eq!(report.rows.iter().sum::<u64>() as usize, rows);
}

#[test]
fn two_consumers_declared_before_the_firing_tube_fire_from_the_lanes_and_agree() {
    // Two altcoin counters consume the BTC tube's events; both are declared before it, and the sink
    // lists them around it, so its inputs arrive in another order than their ports.
    let dir = tempdir();
    let template = r#"sweep:
  N: {from: 50, to: 5000, step: 50}
  coin: [ETH, BNB, LTC, XMR, XRP, XTZ]
pipeline_type:
  Batch: ["2021-04-02T00:00:00Z", "2021-04-20T00:00:00Z"]
tubes:
- Generator: {label: ltc, datasource: {CSV: testdata/binance_LTCUSDT_1m_2021-04-02_2021-05-14.csv}, to_label: ltc_counter}
- Generator: {label: alt, datasource: {CSV: "testdata/binance_${coin}USDT_1m_2021-04-02_2021-05-14.csv"}, to_label: alt_counter}
- Generator: {label: btc, datasource: {CSV: testdata/binance_BTCUSDT_1m_2021-04-02_2021-05-14.csv}, to_label: btc_vol_sum}
- Through: {label: ltc_counter, to_label: sink, reducer: [MAX: {field: High}, COUNT], event: {Consume: btc_vol_sum}}
- Through: {label: alt_counter, to_label: sink, reducer: [COUNT, {SUM: {field: Volume}}], event: {Consume: btc_vol_sum}}
- Through:
    label: btc_vol_sum
    to_label: sink
    reducer: [{SUM: {field: Volume}}, {LAST: {field: Close}}]
    event: {Produce: {GREATER: {field: sum_Volume, threshold: "${N}"}}}
- Sink:
    label: sink
    datasink: {CSV: out/sweep_btc_altcoins.csv}
    fields: {alt_counter: [sum_Volume, count], btc_vol_sum: [last_Close, sum_Volume], ltc_counter: [count, max_High]}
"#;
    let grid: (&[&str], &[&str]) = (&["400", "3000"], &["XRP", "BNB"]);
    let report = small_sweep_agrees(dir.path(), template, "two", grid, 1);
    assert_eq!(
        (report.lanes, report.from_lanes, report.tapes),
        (4, 4, (1, 2))
    );
}

#[test]
fn lanes_whose_events_reach_more_than_sinks_fire_through_their_own_tubes_and_agree() {
    // The altcoin tube's rows pass a NOP before the sink: the BTC tube's event reaches a consumer
    // that sends to a through, so a firing runs through the combination's own tubes.
    let dir = tempdir();
    let template = sweep_csv_only("sweep_btc_altcoins")
        .replace(
            "    label: alt_counter\n    to_label: sink",
            "    label: alt_counter\n    to_label: alt_pass",
        )
        .replace(
            "- Sink:",
            "- Through: {label: alt_pass, to_label: sink, reducer: NOP}\n- Sink:",
        )
        .replace(
            "alt_counter: [count, sum_Volume]",
            "alt_pass: [count, sum_Volume]",
        );
    assert!(template.contains("to_label: alt_pass"), "{template}");
    let grid: (&[&str], &[&str]) = (&["300", "2000"], &["XRP", "BNB"]);
    let report = small_sweep_agrees(dir.path(), &template, "nop", grid, 1);
    // A firing that runs through the combination's own tubes needs the lanes' state as it stands:
    // no tape.
    assert_eq!(
        (report.lanes, report.from_lanes, report.tapes),
        (4, 0, (0, 0))
    );
}

#[test]
fn combinations_that_cannot_be_lanes_run_one_by_one_and_agree_with_single_runs() {
    // Without its event, the altcoin tube emits at every altcoin bar: a tube that emits on plain
    // data is not kept as lanes.
    let dir = tempdir();
    let template = sweep_csv_only("sweep_btc_altcoins")
        .replace("    event: {Consume: btc_vol_sum}\n", "")
        .replace("2021-05-14T20:00:00Z", "2021-04-04T00:00:00Z");
    assert!(!template.contains("Consume"));
    let grid: (&[&str], &[&str]) = (&["300", "2000"], &["XRP", "BNB"]);
    let report = small_sweep_agrees(dir.path(), &template, "always", grid, 2);
    assert_eq!((report.rows.len(), report.lanes), (4, 0));
}

#[test]
fn an_independent_recomputation_agrees_with_every_combination() {
    let dir = tempdir();
    let (path, out) = small_grid(
        dir.path(),
        "grid",
        "N: {from: 400, to: 5000, step: 1150}",
        "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
    );
    let report = run_sweep(&path, None, 2);
    assert_eq!(
        report.rows.len(),
        5 * 6,
        "400, 1550, 2700, 3850, 5000 × six coins"
    );
    let check = Command::new("python3")
        .args(["tools/check_sweep.py", &out.display().to_string()])
        .args(["--n-from", "400", "--n-to", "5000", "--n-step", "1150"])
        .output()
        .expect("python3 runs tools/check_sweep.py");
    let said = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{said}");
    assert!(said.contains("ok: 30 combinations"), "{said}");
}

#[test]
fn a_record_axis_pairs_each_coin_with_its_own_files() {
    let dir = tempdir();
    let out = dir.path().join("xlm.csv");
    let text = sweep_csv_only("sweep_btc_altcoins_xlm")
        .replace("N: {from: 50, to: 5000, step: 50}", "N: [2000, 3500]")
        .replace("out/sweep_btc_altcoins_xlm.csv", &out.display().to_string());
    let path = write_config(dir.path(), "xlm.yaml", &text);
    let report = run_sweep(&path, None, 2);
    assert_eq!(report.rows.len(), 14);
    // BTC 1m is read once for six coins, BTC 5m once for XLM.
    let btc: Vec<_> = report.inputs.iter().filter(|i| i.label == "btc").collect();
    assert_eq!(btc.len(), 2);
    assert_eq!(btc.iter().map(|i| i.feeds).collect::<Vec<_>>(), [12, 2]);
    let check = Command::new("python3")
        .args(["tools/check_sweep.py", &out.display().to_string()])
        .args(["--n-from", "2000", "--n-to", "3500", "--n-step", "1500"])
        .args(["--coins", "ETH,BNB,LTC,XMR,XRP,XLM,XTZ"])
        .args(["--bars-of", "XLM=5m_2020-12-01_2021-07-17"])
        .output()
        .expect("python3 runs tools/check_sweep.py");
    let said = String::from_utf8_lossy(&check.stdout).to_string()
        + &String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{said}");
    let head = std::fs::read_to_string(&out).unwrap();
    assert!(
        head.starts_with("N,coin,bars,timestamp,"),
        "{}",
        &head[..80]
    );
}

#[test]
fn shards_concatenated_in_order_are_the_whole_sweep() {
    let dir = tempdir();
    let (path, out) = small_grid(
        dir.path(),
        "whole",
        "N: [500, 2500, 4500]",
        "coin: [LTC, XRP]",
    );
    run_sweep(&path, None, 2);
    let whole = std::fs::read(&out).unwrap();
    for count in [2, 4] {
        let mut joined = Vec::new();
        for index in 1..=count {
            let part = dir.path().join(format!("part{index}of{count}.csv"));
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace(&out.display().to_string(), &part.display().to_string());
            let p = write_config(dir.path(), "shard.yaml", &text);
            let r = run_sweep(&p, Some(Shard { index, count }), 1);
            assert_eq!(r.first, (index - 1) * 6 / count);
            joined.extend(std::fs::read(&part).unwrap());
        }
        assert!(joined == whole, "{count} shards differ from the whole");
    }
}

/// The combinations a sweep of `path` checks for `shard`, counted through a progress tick: (the total
/// each tick was given, every `done` it was given, sorted).
fn checking_ticks(path: &Path, shard: Option<Shard>) -> (Vec<usize>, Vec<usize>) {
    use tubes::sweep::{checked_count, Checking};
    let t = tubes::api::load_template(path).unwrap();
    let total = checked_count(t.sweep.as_ref().unwrap().len(), shard);
    let ticks = std::sync::Mutex::new(Vec::new());
    let tick = |done, of| ticks.lock().unwrap().push((done, of));
    let counted = Checking::new(total, &tick);
    tubes::api::sweep_counted(t, shard, 2, &Default::default(), &counted)
        .unwrap_or_else(|e| panic!("{e}"));
    let ticks = ticks.into_inner().unwrap();
    let mut done: Vec<usize> = ticks.iter().map(|t| t.0).collect();
    done.sort_unstable();
    (ticks.iter().map(|t| t.1).collect(), done)
}

#[test]
fn checking_ticks_once_per_combination_checked_shards_counting_those_before_them() {
    let dir = tempdir();
    let (path, _) = small_grid(
        dir.path(),
        "ticks",
        "N: {from: 500, to: 4500, step: 500}",
        "coin: [LTC, XRP, ETH]",
    );
    // 9 × 3 = 27 combinations; shard 2 of 3 runs 9..18 and checks 0..9 again for their outputs.
    for (shard, checked) in [(None, 27), (Some(Shard { index: 2, count: 3 }), 18)] {
        let (totals, done) = checking_ticks(&path, shard);
        assert_eq!(done, (1..=checked).collect::<Vec<_>>(), "{shard:?}");
        assert!(
            totals.iter().all(|&t| t == checked),
            "{shard:?}: {totals:?}"
        );
    }
}

#[test]
fn rows_past_the_memory_budget_wait_in_files_and_come_out_the_same() {
    let dir = tempdir();
    let (path, out) = small_grid(dir.path(), "m", "N: [300, 1000, 4200]", "coin: [XTZ, ETH]");
    let report = run_sweep(&path, None, 2);
    assert_eq!(
        report.spilled.0, 0,
        "the default budget holds a small sweep"
    );
    let in_memory = std::fs::read(&out).unwrap();
    // No memory at all: every part is a file. 200 kB: parts start in memory and some move to files.
    for memory in [0, 200_000] {
        let t = tubes::api::load_template(&path).unwrap();
        let mut p = tubes::api::sweep(t, None, 2, &Default::default()).unwrap();
        p.set_memory(memory);
        let report = p.run(2, &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert!(
            report.spilled.0 > 0,
            "memory {memory}: no part went to a file"
        );
        assert!(tubes::sweep::summary(&report).contains("waited in files"));
        assert!(std::fs::read(&out).unwrap() == in_memory, "memory {memory}");
    }
    let template = sweep_csv_only("sweep_btc_altcoins");
    let ns = ["300", "1000", "4200"];
    assert_single_runs_agree(dir.path(), &template, &out, &ns, &["XTZ", "ETH"]);
}

/// An input that fails half-way through its rows (the check reads only its ends) stops the sweep
/// before anything is written, with the reading's error, while other threads merge the streams of
/// inputs already read: none waits for a read that will not come.
#[test]
fn an_input_that_fails_while_read_stops_the_sweep_before_it_writes() {
    let dir = tempdir();
    let good = "testdata/binance_ETHUSDT_1m_2021-04-02_2021-05-14.csv";
    let text = std::fs::read_to_string(good).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let bad_line = lines.len() / 2;
    let mut broken: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    // The Volume column, which the sweep reads, of one row in the middle.
    let (row, _) = lines[bad_line].rsplit_once(',').unwrap();
    broken[bad_line] = format!("{row},not-a-number");
    std::fs::write(dir.path().join("alt_ETH.csv"), &text).unwrap();
    std::fs::write(dir.path().join("alt_BAD.csv"), broken.join("\n") + "\n").unwrap();
    let out = dir.path().join("f.csv");
    let alt = format!("{}/alt_${{coin}}.csv", dir.path().display());
    let template = sweep_text("N: [300, 1000, 4200]", "coin: [ETH, ETH2, BAD]", &out)
        .replace(
            "testdata/binance_${coin}USDT_1m_2021-04-02_2021-05-14.csv",
            &alt,
        )
        .replace("coin: [ETH, ETH2, BAD]", "coin: [ETH, BAD]");
    let path = write_config(dir.path(), "f.yaml", &template);
    for threads in [1, 2, 3] {
        let path = path.clone();
        let err = within(60, move || {
            let t = tubes::api::load_template(&path).unwrap();
            match tubes::api::sweep(t, None, threads, &Default::default()) {
                Ok(_) => panic!("{threads} threads: a broken input was read without an error"),
                Err(e) => e.to_string(),
            }
        });
        let at = format!("alt_BAD.csv:{}: column 'Volume'", bad_line + 1);
        assert!(err.contains(&at), "{threads} threads: {err}");
        assert!(!out.exists(), "{threads} threads: nothing is written");
    }
}

/// A sweep stopped after its first combinations were appended leaves them whole in its output's
/// partial file: the rows the whole sweep writes first, up to a combination's end, and not the
/// previous output's place. One worker, so that the first unit to finish holds the first combination
/// (with two, the first to finish may be a later one, and nothing is appended before the stop).
#[test]
fn a_stopped_sweep_leaves_its_finished_combinations_whole_in_the_partial_file() {
    let dir = tempdir();
    let n = "N: {from: 100, to: 2000, step: 100}";
    let (path, out) = small_grid(dir.path(), "s", n, "coin: [ETH]");
    run_sweep(&path, None, 1);
    let whole = std::fs::read_to_string(&out).unwrap();
    let t = tubes::api::load_template(&path).unwrap();
    let p = tubes::api::sweep(t, None, 1, &Default::default()).unwrap();
    let stop = AtomicBool::new(false);
    let err = p.run(1, &stop, &mut |progress| {
        if progress.done > 0 {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let err = err.map(|_| ()).expect_err("the sweep was stopped");
    assert!(err.to_string().contains(".partial files"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        whole,
        "the output is not replaced"
    );
    let partial = std::fs::read_to_string(out.with_file_name("s.csv.partial")).unwrap();
    assert!(
        whole.starts_with(&partial),
        "the partial file is the whole output's beginning"
    );
    assert!(
        partial.len() > 32 << 10 && partial.len() < whole.len(),
        "{}",
        partial.len()
    );
    // It ends where a combination's rows end: its last line's parameters differ from the next's.
    let params = |l: &str| l.split(',').take(2).collect::<Vec<_>>().join(",");
    let last = partial.lines().last().unwrap();
    let next = whole[partial.len()..].lines().next().unwrap();
    assert!(
        partial.ends_with('\n') && params(next) != params(last),
        "{last} / {next}"
    );
}

#[test]
fn the_output_does_not_depend_on_the_number_of_threads_or_the_placement() {
    let dir = tempdir();
    let (path, out) = small_grid(
        dir.path(),
        "t",
        "N: {from: 100, to: 1000, step: 300}",
        "coin: [BNB, XMR, ETH]",
    );
    let mut outputs = Vec::new();
    for threads in [1, 2, 3] {
        run_sweep(&path, None, threads);
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert!(outputs[0].len() > 1000);
    assert!(outputs[0] == outputs[1] && outputs[1] == outputs[2]);
    // Nor on the placement a single run would use (a sweep fuses each combination's tubes on its
    // worker whatever it says).
    let text = std::fs::read_to_string(&path).unwrap();
    for placement in ["single", "per_tube", "inline"] {
        let placed = text.replacen(
            "pipeline_type:",
            &format!("runtime: {{placement: {placement}}}\npipeline_type:"),
            1,
        );
        std::fs::write(&path, placed).unwrap();
        run_sweep(&path, None, 2);
        assert!(
            std::fs::read(&out).unwrap() == outputs[0],
            "placement: {placement}"
        );
    }
}

#[test]
fn ndjson_rows_lead_with_the_parameters() {
    let dir = tempdir();
    let out = dir.path().join("rows.ndjson");
    let text = sweep_text(
        "N: [1000, 1500.5]",
        "coin: [ETH]",
        &dir.path().join("x.csv"),
    )
    .replace(
        &format!("CSV: {}", dir.path().join("x.csv").display()),
        &format!("NDJSON: {}", out.display()),
    );
    let path = write_config(dir.path(), "j.yaml", &text);
    run_sweep(&path, None, 1);
    let rows = std::fs::read_to_string(&out).unwrap();
    let first = rows.lines().next().unwrap();
    assert!(
        first.starts_with(r#"{"N":1000,"coin":"ETH","timestamp":"2021-04-02T"#),
        "{first}"
    );
    assert!(rows
        .lines()
        .any(|l| l.starts_with(r#"{"N":1500.5,"coin":"ETH","#)));
}

#[test]
fn check_prints_the_size_of_the_expansion_and_graph_draws_the_template() {
    let (code, out, _) = tubes(&["check", SHIPPED]);
    assert_eq!(code, 0);
    assert!(
        out.contains("a sweep of 600 combinations (N: 100 values × coin: 6 values)"),
        "{out}"
    );
    assert!(
        out.contains("5 tubes in the template, 3000 in all"),
        "{out}"
    );
    assert!(
        out.contains("7 inputs opened, each once (btc 1, alt 6)"),
        "{out}"
    );
    let (code, dot, _) = tubes(&["graph", SHIPPED]);
    assert_eq!(code, 0);
    assert_eq!(
        dot.matches("shape=").count(),
        5,
        "one node per template tube:\n{dot}"
    );
    assert!(
        dot.contains("CSV testdata/binance_${coin}USDT_1m_2021-04-02_2021-05-14.csv"),
        "{dot}"
    );
    assert!(dot.contains("600 combinations"), "{dot}");
}

/// The error `tubes check` prints for the shipped sweep with `from` replaced by `to`.
fn sweep_error(from: &str, to: &str) -> (i32, String) {
    let dir = tempdir();
    let text = sweep_csv_only("sweep_btc_altcoins");
    assert!(text.contains(from), "{SHIPPED} holds `{from}`");
    let path = write_config(dir.path(), "bad.yaml", &text.replacen(from, to, 1));
    let (code, _, err) = tubes(&["check", &path.display().to_string()]);
    (code, err.replace(&path.display().to_string(), "bad.yaml"))
}

#[test]
fn bad_sweeps_are_refused_at_the_template_line_naming_the_values() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: []",
            "bad.yaml:6:3: sweep.coin: the axis has no values",
        ),
        (
            "step: 50}",
            "step: 0}",
            "bad.yaml:5:27: sweep.N.step: the step is 0",
        ),
        (
            "step: 50}",
            "step: -50}",
            "bad.yaml:5:27: sweep.N.step: a step of -50 goes away from to (5000)",
        ),
        (
            "${coin}USDT",
            "${coins}USDT",
            "bad.yaml:16:18: tubes[1].Generator.datasource.CSV: unknown parameter '${coins}'",
        ),
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "pair: [{N: 1, coin: ETH}]",
            "bad.yaml:6:11: sweep.pair[0].N: the parameter 'N' is defined twice (first at sweep.N)",
        ),
        (
            "step: 50}",
            "step: 0.001}",
            "bad.yaml:5:3: sweep.N: this range has 4950001 values, more than the 100000 a sweep may run",
        ),
        (
            "to: 5000, step: 50}",
            "to: 100000, step: 5}",
            "bad.yaml:4:1: sweep: the sweep has 119946 combinations (N: 19991 × coin: 6), more than the 100000 a sweep may run",
        ),
        (
            "XRP, XTZ]",
            "XRP, XTZ, DOGE]",
            "bad.yaml:16:18: tubes[1].Generator.datasource.CSV: cannot read 'testdata/binance_DOGEUSDT_1m_2021-04-02_2021-05-14.csv'",
        ),
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [ETH, BNB, ETH]",
            "bad.yaml:6:20: sweep.coin[2]: coin=ETH is listed twice (items 0 and 2): its combinations would write the same rows under the same parameters",
        ),
        (
            "threshold: \"${N}\"",
            "threshold: \"${N}x\"",
            "bad.yaml:22:52: tubes[2].Through.event.Produce.GREATER.threshold: expected a number, found a string ('50x') (with N=50; also with N=100; N=150; N=200 and 96 more)",
        ),
    ];
    let more: &[(&str, &str, &str)] = &[
        // A record listed twice, and one number written two ways: each writes as the other does.
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [{c: ETH, d: 1}, {c: BNB, d: 1}, {c: ETH, d: 1}]",
            "bad.yaml:6:42: sweep.coin[2]: c=ETH, d=1 is listed twice (items 0 and 2)",
        ),
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [1, 1.0]",
            "bad.yaml:6:13: sweep.coin[1]: coin=1 is listed twice (items 0 and 1)",
        ),
        // A range without its step: an error, not a crash.
        (
            "N: {from: 50, to: 5000, step: 50}",
            "N: {from: 50, to: 5000}",
            "bad.yaml:5:3: sweep.N: missing key 'step'",
        ),
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [{}, {}]",
            "bad.yaml:6:10: sweep.coin[0]: a record with no keys defines no parameter",
        ),
        (
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [ETH]\n  timestamp: [1]",
            "bad.yaml:4:1: sweep: the parameter 'timestamp' has the name of an output column of sink 'sink'",
        ),
        (
            "datasink: {CSV: out/sweep_btc_altcoins.csv}",
            "datasink: [{CSV: out/s.csv}, {NDJSON: ./out/s.csv}]",
            "bad.yaml:30:34: tubes[4].Sink.datasink[1]: './out/s.csv' is also written by the output at tubes[4].Sink.datasink[0]",
        ),
        (
            "datasink: {CSV: out/sweep_btc_altcoins.csv}",
            "datasink: {Journal: out/sweep_journal}",
            "bad.yaml:30:5: tubes[4].Sink.datasink: out/sweep_journal cannot be a sweep's output",
        ),
        // Two sinks printing one combination's rows: each output of a combination has one writer.
        (
            "datasink: {CSV: out/sweep_btc_altcoins.csv}",
            "datasink: [Stdout, Stdout]",
            "bad.yaml:30:5: tubes[4].Sink.datasink: stdout is also written by the sink at tubes[4].Sink: in a sweep, each output of a combination has one sink",
        ),
        (
            "pipeline_type:\n  Batch: [\"2021-04-02T00:00:00Z\", \"2021-05-14T20:00:00Z\"]",
            "pipeline_type: Stream",
            "bad.yaml:7:1: pipeline_type: a sweep runs over history, not live",
        ),
        // One SQLite file, a table per coin: the first combination's table would take every row.
        (
            "datasink: {CSV: out/sweep_btc_altcoins.csv}",
            "datasink: {SQLite: {path: out/s.sqlite, table: \"t_${coin}\"}}",
            "bad.yaml:30:5: tubes[4].Sink.datasink: out/s.sqlite (table t_BNB) is written here with other settings than by combination 1 (here out/s.sqlite (table t_BNB), there out/s.sqlite (table t_ETH))",
        ),
    ];
    for (from, to, want) in cases.iter().chain(more) {
        let (code, err) = sweep_error(from, to);
        assert_eq!(code, 2, "{to}: {err}");
        assert!(err.contains(want), "{to}:\n{err}\nwant: {want}");
    }
    // Two outputs that write nothing share nothing: only stdout is one sink's to a combination.
    let (code, err) = sweep_error(
        "datasink: {CSV: out/sweep_btc_altcoins.csv}",
        "datasink: [Discard, Discard]",
    );
    assert_eq!(code, 0, "{err}");
    // Combinations that write one file must write the same columns.
    let dir = tempdir();
    let text = sweep_csv_only("sweep_btc_altcoins")
        .replace(
            "coin: [ETH, BNB, LTC, XMR, XRP, XTZ]",
            "coin: [ETH]\n  col: [count, sum_Volume]",
        )
        .replace(
            "alt_counter: [count, sum_Volume]",
            "alt_counter: [\"${col}\"]",
        );
    let path = write_config(dir.path(), "cols.yaml", &text);
    let (code, _, err) = tubes(&["check", &path.display().to_string()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("tubes[4].Sink.datasink: out/sweep_btc_altcoins.csv gets the columns [timestamp, btc_vol_sum.sum_Volume, alt_counter.sum_Volume] here, but [timestamp, btc_vol_sum.sum_Volume, alt_counter.count] from combination 1 (with col=sum_Volume)"),
        "{err}"
    );
    // The missing file is one coin's: the error names that coin, and only once for its 100 Ns.
    let (_, err) = sweep_error("XRP, XTZ]", "XRP, XTZ, DOGE]");
    assert!(err.contains("(with coin=DOGE)"), "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    // A threshold that is not a number is one error, not one per N.
    let (_, err) = sweep_error("threshold: \"${N}\"", "threshold: \"${N}x\"");
    assert!(err.contains("1 error found"), "{err}");
}

#[test]
fn a_range_includes_its_end_only_when_a_step_lands_on_it() {
    let dir = tempdir();
    for (axis, n) in [
        ("N: {from: 1000, to: 2000, step: 500}", 3),
        ("N: {from: 1000, to: 1999, step: 500}", 2),
        ("N: {from: 2000, to: 1000, step: -250}", 5),
    ] {
        let (path, _) = small_grid(dir.path(), "r", axis, "coin: [ETH]");
        let t = tubes::api::load_template(&path).unwrap();
        assert_eq!(t.sweep.unwrap().len(), n, "{axis}");
    }
}

#[test]
fn a_file_per_value_gets_its_header_from_its_first_combination_even_in_a_later_shard() {
    let dir = tempdir();
    let per_coin = dir.path().join("by_coin");
    let text = sweep_text(
        "N: [300, 3000]",
        "coin: [ETH, XRP]",
        &dir.path().join("unused.csv"),
    )
    .replace(
        &dir.path().join("unused.csv").display().to_string(),
        &format!("\"{}/${{coin}}.csv\"", per_coin.display()),
    );
    let path = write_config(dir.path(), "p.yaml", &text);
    run_sweep(&path, None, 2);
    let whole: Vec<Vec<u8>> = ["ETH", "XRP"]
        .iter()
        .map(|c| std::fs::read(per_coin.join(format!("{c}.csv"))).unwrap())
        .collect();
    assert!(whole[0].starts_with(b"N,coin,timestamp,"));
    // Combinations: (300, ETH), (300, XRP) | (3000, ETH), (3000, XRP). Shard 2 writes the second half
    // of both files, without a header.
    let mut joined = vec![Vec::new(), Vec::new()];
    for index in 1..=2 {
        run_sweep(&path, Some(Shard { index, count: 2 }), 1);
        for (k, c) in ["ETH", "XRP"].iter().enumerate() {
            joined[k].extend(std::fs::read(per_coin.join(format!("{c}.csv"))).unwrap());
        }
    }
    assert!(
        joined == whole,
        "per-coin files of the two shards concatenate to the whole"
    );
    let (code, _, err) = tubes(&["run", &path.display().to_string(), "--shard", "1/5"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("4 combinations cannot be split into 5 shards"),
        "{err}"
    );
}

#[test]
fn a_record_axis_can_carry_each_coins_own_batch_range() {
    let dir = tempdir();
    let out = dir.path().join("ranges.csv");
    let text = sweep_text("N: [700]", "span: [{coin: ETH, to: \"2021-04-10T00:00:00Z\"}, {coin: BNB, to: \"2021-04-20T00:00:00Z\"}]", &out)
        .replace("\"2021-05-14T20:00:00Z\"]", "\"${to}\"]");
    let path = write_config(dir.path(), "ranges.yaml", &text);
    let report = run_sweep(&path, None, 2);
    let text = std::fs::read_to_string(&out).unwrap();
    let last = |coin: &str| {
        text.lines()
            .rev()
            .find(|l| l.starts_with(&format!("700,{coin},")))
            .unwrap()
            .split(',')
            .nth(3)
            .unwrap()
            .to_string()
    };
    assert!(last("ETH").as_str() < "2021-04-10T", "{}", last("ETH"));
    assert!(last("BNB").as_str() > "2021-04-19T", "{}", last("BNB"));
    // Two ranges: BTC is read once per range, since a range is part of what an input is.
    assert_eq!(report.inputs.iter().filter(|i| i.label == "btc").count(), 2);
}

/// A sweep run on a terminal draws its progress bar (after each unit of combinations that ends),
/// erases it, and prints its summary: `script` gives the run a pseudo-terminal and keeps all it wrote.
#[test]
fn a_sweep_on_a_terminal_draws_its_progress_bar_then_the_summary() {
    let dir = tempdir();
    let (path, out) = small_grid(dir.path(), "bar", "N: [100, 400, 1000]", "coin: [ETH, XTZ]");
    let typescript = dir.path().join("typescript");
    let cmd = format!("{} run {}", env!("CARGO_BIN_EXE_tubes"), path.display());
    let status = Command::new("script")
        .args(["-qfec", &cmd])
        .arg(&typescript)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("script (util-linux) runs");
    assert!(status.success(), "{status}");
    let shown = std::fs::read_to_string(&typescript).unwrap();
    let bar = shown
        .find("] 100%")
        .unwrap_or_else(|| panic!("no finished bar in:\n{shown}"));
    assert!(
        shown[..bar].contains("\r[") && shown[bar..].contains(" datapoint-updates/s"),
        "{shown}"
    );
    let summary = shown
        .find("tubes sweep: 6 combinations")
        .expect("the summary");
    assert!(bar < summary, "the bar comes before the summary:\n{shown}");
    assert!(out.exists());
}
