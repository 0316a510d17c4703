//! Promise 3 under random input: the config reader and the CSV reader never panic and end on their
//! own, whatever the text. Property tests (proptest) mutate real configs and real bar files with edits
//! that matter to their grammars; a bounded number of cases, each run under a watchdog.

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

use super::common::*;

/// Pieces that matter to YAML and to our config grammar.
const YAML_TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    ",",
    "-",
    "- ",
    "\n",
    "\n  ",
    "'",
    "\"",
    "#",
    "&a ",
    "*a",
    "!!",
    "${N}",
    "$${",
    "${",
    ".nan",
    ".inf",
    "-1",
    "0",
    "1e400",
    "99999999999999999999",
    "~",
    "null",
    "Through:",
    "Sink:",
    "Generator:",
    "to_label: ",
    "label: ",
    "sweep:",
    "{from: 1, to: 0, step: 0}",
    "\t",
    "\u{feff}",
    "é",
    "|",
    ">",
    "? ",
    "<<: *a",
];

/// Pieces that matter to the CSV reader.
const CSV_TOKENS: &[&str] = &[
    ",",
    "\n",
    "\r\n",
    "\"",
    "NaN",
    "inf",
    "-",
    "1e309",
    "\u{feff}",
    "2023-03-17",
    "",
    "9999999999999999999",
    "\r",
    "T",
    "Z",
    ".",
    "0",
    "true",
    " ",
    ",,",
    "\n\n",
];

/// One edit of a text's bytes, at a position taken modulo its length.
#[derive(Clone, Debug)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    DuplicateLine(usize),
    Byte(usize, u8),
}

fn edits(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), select(tokens)).prop_map(|(at, t)| Edit::Insert(at, t)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Byte(at, b)),
    ];
    proptest::collection::vec(edit, 1..6)
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let at = |i: usize| if b.is_empty() { 0 } else { i % b.len() };
        match *e {
            Edit::Delete(i, n) => {
                let s = at(i);
                let end = (s + n).min(b.len());
                b.drain(s..end);
            }
            Edit::Insert(i, t) => {
                let s = at(i);
                b.splice(s..s, t.bytes());
            }
            Edit::DuplicateLine(i) => {
                let s = at(i);
                let start = b[..s]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |p| p + 1);
                let end = b[s..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| s + p + 1);
                let line = b[start..end].to_vec();
                b.splice(start..start, line);
            }
            Edit::Byte(i, v) => {
                if !b.is_empty() {
                    let s = at(i);
                    b[s] = v;
                }
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// A run's error must be a message about the input, never a caught panic.
fn not_a_panic(err: &str) -> Result<(), TestCaseError> {
    prop_assert!(!err.contains("panicked"), "{err}");
    Ok(())
}

#[test]
fn the_config_reader_never_panics_on_mutated_configs() {
    let sweep = std::fs::read_to_string("configs/sweep_btc_altcoins.yaml")
        .unwrap()
        .replace("to: 5000", "to: 150");
    let mut bases: Vec<String> = [
        "configs/btc_eth_volume.yaml",
        "configs/talk.yaml",
        "configs/bench_btc_eth.yaml",
        "configs/live_binance_btc_eth.yaml",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(p).unwrap())
    .collect();
    bases.push(sweep);
    within(600, move || {
        let mut runner = TestRunner::new(Config {
            cases: 300,
            failure_persistence: None,
            ..Config::default()
        });
        let strategy = (select(bases), edits(YAML_TOKENS));
        runner
            .run(&strategy, |(base, e)| {
                let text = apply(&base, &e);
                let file = Path::new("mutated.yaml");
                match tubes::config::template(&text, file) {
                    Ok(t) if t.sweep.is_some() => {
                        let _ = tubes::api::expand(&t, None);
                    }
                    Ok(t) => {
                        let _ = t.single().and_then(|(c, d)| tubes::api::check(c, d));
                    }
                    Err(_) => {}
                }
                Ok(())
            })
            .unwrap();
    });
}

#[test]
fn the_csv_reader_never_panics_on_mutated_files() {
    let dir = tempdir();
    let head: String = std::fs::read_to_string("testdata/binance_BTCUSDT_1m.csv")
        .unwrap()
        .lines()
        .take(40)
        .map(|l| format!("{l}\n"))
        .collect();
    let csv = dir.path().join("bars.csv");
    let out = dir.path().join("out.csv");
    let config = write_config(
        dir.path(),
        "pass.yaml",
        &format!(
            r#"pipeline_type:
  Batch: ["2000-01-01T00:00:00Z", "2030-01-01T00:00:00Z"]
tubes:
- Generator: {{label: bars, datasource: {{CSV: {{path: {csv}, on_error: skip}}}}, to_label: sum}}
- Through:
    label: sum
    to_label: sink
    reducer: {{SUM: {{field: Volume}}}}
    event: {{Produce: {{GREATER: {{field: sum_Volume, threshold: 100}}}}}}
- Sink: {{label: sink, datasink: {{CSV: {out}}}, fields: {{sum: [sum_Volume]}}}}
"#,
            csv = csv.display(),
            out = out.display()
        ),
    );
    within(600, move || {
        let mut runner = TestRunner::new(Config {
            cases: 150,
            failure_persistence: None,
            ..Config::default()
        });
        runner
            .run(&edits(CSV_TOKENS), |e| {
                std::fs::write(&csv, apply(&head, &e)).unwrap();
                // The file may no longer fit the config (no time column, no Volume): a config error.
                if let Ok(g) = tubes::api::load(&config) {
                    if let Err(err) = tubes::api::run(&g, |_| {}) {
                        not_a_panic(&err.to_string())?;
                    }
                }
                Ok(())
            })
            .unwrap();
    });
}
