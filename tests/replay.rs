//! Recording and replaying: a replay of a recorded run writes byte-identical output, Batch and Stream
//! alike; a replay through another config equals a fresh run of that config; the journal can be inspected.

mod common;

use std::path::Path;
use std::process::Command;

use common::{main_job_windows, read_csv, shipped_config_to, tempdir, tubes, write_config, Mock};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `config`, recording its input into `journal`.
fn record(config: &Path, journal: &Path) {
    let (code, _, err) = tubes(&["run", s(config), "--journal", s(journal), "-q"]);
    assert_eq!(code, 0, "{err}");
}

/// Records `config` into a journal, keeps its output, replays the journal, and compares the outputs.
fn record_and_replay(config: &Path, out: &Path, journal: &Path, extra: &[&str]) -> usize {
    let mut args = vec!["run", s(config), "--journal", s(journal), "-q"];
    args.extend_from_slice(extra);
    let (code, _, err) = tubes(&args);
    assert_eq!(code, 0, "{err}");
    let recorded = std::fs::read(out).unwrap();
    std::fs::remove_file(out).unwrap();
    let (code, _, err) = tubes(&["replay", s(journal)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 skipped"), "{err}");
    // Every datapoint of the replay is a record of the journal (its ticks included): none is made anew.
    let number_before = |word: &str| -> u64 {
        let at = err
            .find(word)
            .unwrap_or_else(|| panic!("'{word}' in {err}"));
        err[..at]
            .split_whitespace()
            .last()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        number_before(" datapoints in"),
        number_before(" records from"),
        "{err}"
    );
    let replayed = std::fs::read(out).unwrap();
    assert!(
        recorded == replayed,
        "the replay's output is byte-identical"
    );
    recorded.iter().filter(|&&b| b == b'\n').count()
}

#[test]
fn a_batch_run_replays_byte_for_byte() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let cfg = write_config(
        dir.path(),
        "main.yaml",
        &shipped_config_to("configs/btc_eth_volume.yaml", &out, ""),
    );
    let lines = record_and_replay(&cfg, &out, &dir.path().join("j"), &[]);
    assert_eq!(
        lines,
        1 + main_job_windows().len(),
        "header and one line per window"
    );
    // The talk's config: minute ticks, NOP tubes, a multi-input sink. Ticks are in the journal too.
    let out2 = dir.path().join("talk.json");
    let talk = write_config(
        dir.path(),
        "talk.yaml",
        &shipped_config_to("configs/talk.yaml", &out2, ""),
    );
    let lines = record_and_replay(&talk, &out2, &dir.path().join("j2"), &[]);
    assert!(lines > 60_000, "{lines} rows");
}

#[test]
fn a_live_run_against_the_mock_replays_byte_for_byte() {
    let dir = tempdir();
    let mock = Mock::binance(
        dir.path(),
        &["--speed", "max", "--drop-every", "10000", "--overlap", "50"],
    );
    let out = dir.path().join("live.csv");
    let text = common::live_config_text(&mock.url, "", &format!("{{CSV: {}}}", out.display()));
    let cfg = write_config(dir.path(), "live.yaml", &text);
    let journal = dir.path().join("j");
    let lines = common::within(60, {
        let (cfg, out, journal) = (cfg.clone(), out.clone(), journal.clone());
        move || record_and_replay(&cfg, &out, &journal, &["--idle-exit", "1500ms"])
    });
    assert!(lines > 50, "{lines} rows");
    // Reconnects and their statuses were recorded and replayed with the rest.
    let rows = read_csv(&out);
    assert!(
        rows.iter().any(|r| r[4].contains("(reconnect #3)")),
        "{rows:?}"
    );
}

#[test]
fn a_replay_through_another_config_equals_a_fresh_run_of_it() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let cfg = write_config(
        dir.path(),
        "main.yaml",
        &shipped_config_to("configs/btc_eth_volume.yaml", &out, ""),
    );
    let journal = dir.path().join("j");
    record(&cfg, &journal);
    // What if the windows closed every 500 BTC?
    let what_if_out = dir.path().join("what_if.csv");
    let what_if = write_config(
        dir.path(),
        "what_if.yaml",
        &shipped_config_to("configs/btc_eth_volume.yaml", &what_if_out, "")
            .replace("threshold: 1000", "threshold: 500"),
    );
    let (code, _, err) = tubes(&["replay", s(&journal), "--config", s(&what_if), "-q"]);
    assert_eq!(code, 0, "{err}");
    let replayed = std::fs::read(&what_if_out).unwrap();
    let (code, _, err) = tubes(&["run", s(&what_if), "-q"]);
    assert_eq!(code, 0, "{err}");
    let fresh = std::fs::read(&what_if_out).unwrap();
    assert!(
        replayed == fresh,
        "replaying the journal equals reading the files"
    );
    let windows = read_csv(&what_if_out).len() - 1;
    assert!(windows > 4258, "more windows than at 1000 BTC: {windows}");
}

#[test]
fn info_and_dump_describe_the_journal_by_name() {
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let cfg = common::main_job_to(dir.path(), &out, "2023-03-18T00:00:00Z");
    let journal = dir.path().join("j");
    record(&cfg, &journal);
    let (code, info, _) = tubes(&["journal", "info", s(&journal)]);
    assert_eq!(code, 0);
    // One day of minute bars from each file.
    let (from, to) = (
        common::ms("2023-03-17T00:00:00Z"),
        common::ms("2023-03-18T00:00:00Z"),
    );
    let day = |f: &str| {
        common::read_bars(f)
            .iter()
            .filter(|(t, _)| (from..to).contains(t))
            .count()
    };
    let records = day("testdata/binance_BTCUSDT_1m.csv") + day("testdata/binance_ETHUSDT_1m.csv");
    assert!(
        info.contains(&format!("{records} records in 1 segments")),
        "{info}"
    );
    assert!(
        info.contains("event time 2023-03-17T00:00:00.000Z → 2023-03-17T23:59:00.000Z"),
        "{info}"
    );
    assert!(info.contains("torn records: none"), "{info}");
    let (code, csv, _) = tubes(&[
        "journal",
        "dump",
        s(&journal),
        "--from",
        "2023-03-17T12:00:00Z",
        "--to",
        "2023-03-17T12:02:00Z",
    ]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "index,time,kind,tube,status,Date,Symbol,Open,High,Low,Close,Volume"
    );
    assert_eq!(lines.len(), 5, "two minutes of two files: {csv}");
    // The BTC bar of 12:00 as the file has it; the fields the config does not read were not parsed.
    let bar = std::fs::read_to_string("testdata/binance_BTCUSDT_1m.csv")
        .unwrap()
        .lines()
        .find(|l| l.contains("2023-03-17 12:00:00"))
        .unwrap()
        .to_string();
    let volume = bar.rsplit(',').next().unwrap();
    assert_eq!(
        lines[1],
        format!(
            "1440,2023-03-17T12:00:00.000Z,data,btc,,,,,,,,{}",
            volume.parse::<f64>().unwrap()
        )
    );
    let (code, nd, _) = tubes(&["journal", "dump", s(&journal), "--format", "ndjson"]);
    assert_eq!(code, 0);
    let first: serde_json::Value = serde_json::from_str(nd.lines().next().unwrap()).unwrap();
    assert_eq!(first["tube"], "btc");
    assert_eq!(first["fields"]["Open"], serde_json::Value::Null);
    assert!(first["fields"]["Volume"].as_f64().unwrap() > 0.0);
}

#[test]
fn tail_follows_a_journal_and_stops_cleanly_on_sigterm_saying_where_to_resume() {
    use std::io::{BufRead, BufReader};
    let dir = tempdir();
    let out = dir.path().join("rows.csv");
    let cfg = common::main_job_to(dir.path(), &out, "2023-03-17T01:00:00Z");
    let journal = dir.path().join("j");
    record(&cfg, &journal);
    let mut child = Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["journal", "tail", s(&journal), "--from", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // One hour of two files: 120 records; from index 100, twenty lines.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let got: Vec<serde_json::Value> = (0..20)
        .map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap())
        .collect();
    assert_eq!(got[0]["index"], 100);
    assert_eq!(got[19]["index"], 119);
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = common::within(20, move || child.wait_with_output().unwrap());
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("resume with --from 120"), "{err}");
}
