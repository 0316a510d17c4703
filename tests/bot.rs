//! The journal as a bot's channel: a `Journal` sink writes rows while `example-bot` tails them from
//! another process, stops, and resumes from its saved position; together its runs print every row once.

mod common;

use std::process::{Command, Stdio};

use common::{read_csv, tempdir, within, write_config, Mock};

#[test]
fn a_bot_tails_a_live_run_and_resumes_after_a_restart_with_every_row_once() {
    let dir = tempdir();
    let rows_dir = dir.path().join("rows");
    let pos = dir.path().join("bot.pos");
    let csv = dir.path().join("rows.csv");
    let mock = Mock::binance(dir.path(), &["--speed", "max"]);
    let text = common::live_config_text(
        &mock.url,
        "",
        &format!(
            "[{{CSV: {}}}, {{Journal: {}}}]",
            csv.display(),
            rows_dir.display()
        ),
    );
    let cfg = write_config(dir.path(), "live.yaml", &text);
    let bot = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_example-bot"))
            .arg(&rows_dir)
            .arg("--position")
            .arg(&pos)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The bot starts first and waits for the journal; it stops after 20 rows, as if restarted.
    let first = bot(&["--count", "20", "--idle-exit", "30"]);
    let engine = Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["run", cfg.to_str().unwrap(), "--idle-exit", "1500ms", "-q"])
        .status();
    let out1 = within(60, move || first.wait_with_output().unwrap());
    assert!(engine.unwrap().success());
    let second = bot(&["--idle-exit", "1"]);
    let out2 = within(60, move || second.wait_with_output().unwrap());
    let err2 = String::from_utf8_lossy(&out2.stderr).to_string();
    assert!(err2.contains("sink-to-bot latency p50"), "{err2}");
    let lines: Vec<String> = String::from_utf8(out1.stdout)
        .unwrap()
        .lines()
        .chain(String::from_utf8(out2.stdout).unwrap().lines())
        .map(str::to_string)
        .collect();
    // The CSV sink wrote the same rows: the bot's lines, in order, are those rows.
    let want: Vec<String> = read_csv(&csv)[1..]
        .iter()
        .map(|r| {
            if r[4].is_empty() {
                format!(
                    "{} btc_vol_sum.sum_quantity={} eth_counter.count={} eth_counter.sum_quantity={}",
                    r[0], r[1], r[2], r[3]
                )
            } else {
                format!("{} status {}", r[0], r[4].replace("binance btcusdt", "btc").replace("binance ethusdt", "eth"))
            }
        })
        .collect();
    assert!(want.len() > 40);
    assert_eq!(lines, want, "every row once, in order, across the restart");
}
