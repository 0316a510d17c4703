//! Every shipped config checks; every kind of bad config is rejected with its line, YAML path and a fix.

mod common;
use common::*;

use tubes::config::Diagnostic;

const BASE: &str = r#"pipeline_type:
  Batch: ["2023-03-17T00:00:00Z", "2023-03-20T00:00:00Z"]
tubes:
- Generator:
    label: btc
    datasource: {CSV: testdata/binance_BTCUSDT_1m.csv}
    to_label: btc_vol_sum
- Generator:
    label: eth
    datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}
    to_label: eth_counter
- Through:
    label: btc_vol_sum
    to_label: sink
    reducer: {SUM: {field: Volume}}
    event: {Produce: {GREATER: {field: sum_Volume, threshold: 1000}}}
- Through:
    label: eth_counter
    to_label: sink
    reducer: COUNT
    event: {Consume: btc_vol_sum}
- Sink:
    label: sink
    datasink: {CSV: out.csv}
    fields:
      btc_vol_sum: [sum_Volume]
      eth_counter: [count]
"#;

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    let dir = tempdir();
    let path = write_config(dir.path(), "bad.yaml", text);
    match tubes::api::load(&path) {
        Ok(_) => Vec::new(),
        Err(e) => e.0,
    }
}

struct Case {
    what: &'static str,
    from: &'static str,
    to: &'static str,
    line: usize,
    message: &'static str,
    help: &'static str,
}

const CASES: &[Case] = &[
    Case { what: "unknown key", from: "    to_label: sink\n    reducer: COUNT", to: "    to_lable: sink\n    reducer: COUNT", line: 19, message: "tubes[3].Through.to_lable: unknown key 'to_lable'", help: "did you mean 'to_label'?" },
    Case { what: "wrong type", from: "threshold: 1000", to: "threshold: lots", line: 16, message: "expected a number, found a string ('lots')", help: "" },
    Case { what: "unknown reducer", from: "reducer: COUNT", to: "reducer: CONT", line: 20, message: "unknown reducer 'CONT'", help: "did you mean 'COUNT'?" },
    Case { what: "unknown event rule", from: "event: {Consume: btc_vol_sum}", to: "event: {Consme: btc_vol_sum}", line: 21, message: "unknown event rule 'Consme'", help: "did you mean 'Consume'?" },
    Case { what: "missing key", from: "    reducer: COUNT\n", to: "", line: 17, message: "tubes[3].Through: missing key 'reducer'", help: "write it like" },
    Case { what: "duplicate label", from: "    label: eth\n", to: "    label: btc\n", line: 9, message: "duplicate label 'btc' (also used by tubes[0].Generator)", help: "own label" },
    Case { what: "to_label naming no tube", from: "to_label: btc_vol_sum", to: "to_label: btc_vol_summ", line: 7, message: "to_label 'btc_vol_summ' names no tube", help: "did you mean 'btc_vol_sum'?" },
    Case { what: "Consume naming no tube", from: "Consume: btc_vol_sum", to: "Consume: nothing_here", line: 21, message: "tubes[3].Through.event.Consume: Consume 'nothing_here' names no tube", help: "labels are:" },
    Case { what: "Consume of a tube without events", from: "Consume: btc_vol_sum", to: "Consume: eth", line: 21, message: "'eth' produces no event", help: "Produce" },
    Case { what: "cycle", from: "    to_label: sink\n    reducer: COUNT", to: "    to_label: [sink, btc_vol_sum]\n    reducer: COUNT", line: 19, message: "the graph has a cycle: btc_vol_sum → eth_counter → btc_vol_sum", help: "remove one of these edges" },
    Case { what: "field no upstream tube provides", from: "field: Volume}", to: "field: Volumee}", line: 15, message: "field 'Volumee' is not provided by 'btc'", help: "did you mean 'Volume'? 'btc' provides: Date, Symbol, Open, High, Low, Close, Volume" },
    Case { what: "Produce on a field the tube does not emit", from: "GREATER: {field: sum_Volume", to: "GREATER: {field: Volume", line: 16, message: "field 'Volume' is not emitted by this tube", help: "sum_Volume" },
    Case { what: "sink field not provided", from: "eth_counter: [count]", to: "eth_counter: [cnt]", line: 27, message: "field 'cnt' is not provided by 'eth_counter'", help: "'eth_counter' provides: count" },
    Case { what: "sink names a tube that does not reach it", from: "eth_counter: [count]", to: "sink: [count]", line: 27, message: "'sink' does not send data to this sink", help: "" },
    Case { what: "missing file", from: "testdata/binance_BTCUSDT_1m.csv", to: "testdata/nope.csv", line: 6, message: "cannot read 'testdata/nope.csv'", help: "relative paths resolve against" },
    Case { what: "empty Batch range", from: "\"2023-03-20T00:00:00Z\"]", to: "\"2023-03-17T00:00:00Z\"]", line: 2, message: "the Batch range is empty", help: "[from, to)" },
    Case { what: "inverted Batch range", from: "\"2023-03-20T00:00:00Z\"]", to: "\"2023-03-01T00:00:00Z\"]", line: 2, message: "the Batch range is inverted", help: "earlier time first" },
    Case { what: "unreadable time", from: "\"2023-03-20T00:00:00Z\"]", to: "\"next tuesday\"]", line: 2, message: "cannot read 'next tuesday' as a time", help: "RFC 3339" },
    Case { what: "core that does not exist", from: "      eth_counter: [count]\n", to: "      eth_counter: [count]\nruntime:\n  placement:\n    stages:\n    - {tubes: [btc_vol_sum, eth_counter, sink], core: 999}\n", line: 31, message: "core 999 does not exist", help: "pick an existing core" },
    Case { what: "tube left out of explicit stages", from: "      eth_counter: [count]\n", to: "      eth_counter: [count]\nruntime:\n  placement: [{tubes: [btc_vol_sum, sink]}]\n", line: 29, message: "these tubes are in no stage: eth_counter", help: "exactly one stage" },
    Case { what: "stages that feed each other", from: "      eth_counter: [count]\n", to: "      eth_counter: [count]\nruntime:\n  placement: [{tubes: [btc_vol_sum, sink]}, {tubes: [eth_counter]}]\n", line: 29, message: "stages 0 and 1 feed each other: btc_vol_sum → eth_counter goes from stage 0 to stage 1, and eth_counter → sink comes back", help: "put these tubes in one stage" },
    Case { what: "WebSocket in a Batch pipeline", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Binance, market: ethusdt}}", line: 10, message: "a WebSocket source is live and cannot run in a Batch pipeline", help: "pipeline_type: Stream" },
    Case { what: "unknown exchange", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Binanse, market: ethusdt}}", line: 10, message: "unknown exchange 'Binanse'", help: "did you mean 'Binance'?" },
    Case { what: "unknown channel", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Binance, market: ethusdt, channel: trades}}", line: 10, message: "unknown channel 'trades'", help: "did you mean 'trade'?" },
    Case { what: "empty market", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Coinbase, market: ''}}", line: 10, message: "WebSocket.market: must not be empty", help: "" },
    Case { what: "WebSocket URL without ws://", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Binance, market: ethusdt, url: 'http://127.0.0.1:9001'}}", line: 10, message: "'http://127.0.0.1:9001' does not start with ws:// or wss://", help: "" },
    Case { what: "missing CA file", from: "datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}", to: "datasource: {WebSocket: {exchange: Binance, market: ethusdt, tls: {ca_file: testdata/nope.pem}}}", line: 10, message: "cannot read testdata/nope.pem", help: "PEM file of CA certificates" },
    Case { what: "a threshold that is not finite", from: "threshold: 1000", to: "threshold: .nan", line: 16, message: "expected a finite number, found NaN", help: "" },
    Case { what: "a tick that fires billions of times", from: "- Sink:", to: "- ExternalEvent: {label: t, condition: {StaticTimeTick: {from: \"2023-03-17T00:00:00Z\", to: \"2023-03-18T00:00:00Z\", interval: 1ns}}}\n- Sink:", line: 22, message: "this tick fires 86400000000000 times between from and to, more than the 100000000 a tick may", help: "longer interval" },
    Case { what: "two outputs on one file", from: "datasink: {CSV: out.csv}", to: "datasink: [{CSV: out.csv}, {JSON: ./out.csv}]", line: 24, message: "'./out.csv' is also written by the output at tubes[4].Sink.datasink[0]: two outputs would interleave their rows in one file", help: "a file of its own" },
    Case { what: "a window of no length", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    window: {sliding: 0s}\n", line: 16, message: "tubes[2].Through.window.sliding: a window must be longer than zero", help: "sliding: 1m" },
    Case { what: "a hopping window that hops past its size", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    window: {hopping: {size: 1m, every: 5m}}\n", line: 16, message: "every is longer than size", help: "lasts `size` ≥ every" },
    Case { what: "a window on a NOP", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: NOP\n    window: {tumbling: 1m}\n", line: 16, message: "a window on a NOP", help: "give the tube a reducer" },
    Case { what: "a key naming no field", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    key: Symbl\n", line: 16, message: "field 'Symbl' is not provided by 'btc'", help: "did you mean 'Symbol'?" },
    Case { what: "a sliding window with Consume", from: "    reducer: COUNT\n", to: "    reducer: COUNT\n    window: {sliding: 1m}\n", line: 21, message: "a sliding window with a Consume event", help: "Produce" },
    Case { what: "allowed_lateness without a clock", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    window: {tumbling: 1m, allowed_lateness: 5s}\n", line: 16, message: "allowed_lateness without a clock", help: "Consume" },
    Case { what: "a reducer of a text field", from: "reducer: {SUM: {field: Volume}}", to: "reducer: {SUM: {field: Symbol}}", line: 15, message: "'Symbol' holds text (keys such as BTCUSDT, or times): a reducer reads numbers", help: "key: Symbol" },
    Case { what: "a window too big to hold", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    window: {hopping: {size: 24h, every: 1s}}\n    key: Symbol\n", line: 16, message: "this window would hold up to", help: "lower size/every or max_keys" },
    Case { what: "a sliding MIN's queue counted in the state", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {MIN: {field: Volume}}\n    window: {sliding: 10m, max_items: 1000000}\n    key: Symbol\n    max_keys: 150\n", line: 16, message: "this window would hold up to 4800 MiB", help: "lower max_items" },
    Case { what: "a sliding buffer too big to hold", from: "    reducer: {SUM: {field: Volume}}\n", to: "    reducer: {SUM: {field: Volume}}\n    window: {sliding: 10m, max_items: 3000000}\n    key: Symbol\n", line: 16, message: "this window would hold up to 24576 MiB", help: "lower max_items (a buffer is max_items rounded up to a power of two: 4194304 here) or max_keys" },
    Case { what: "invalid YAML", from: "reducer: COUNT", to: "reducer: [COUNT", line: 21, message: "not valid YAML", help: "indentation" },
];

#[test]
fn every_shipped_config_passes_check() {
    let mut n = 0;
    for entry in std::fs::read_dir("configs").unwrap() {
        let path = entry.unwrap().path();
        // A Postgres generator's check connects to its server: tests/postgres.rs checks those
        // configs against one.
        let needs_server = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("postgres_"));
        if path.extension().is_some_and(|e| e == "yaml") && !needs_server {
            let t = tubes::api::load_template(&path).unwrap();
            // A sweep is checked combination by combination; any other config as itself.
            let checked = match &t.sweep {
                Some(_) => tubes::api::expand(&t, None).map(|_| ()),
                None => tubes::api::load(&path).map(|_| ()),
            };
            if let Err(e) = checked {
                panic!("{} does not check:\n{e}", path.display());
            }
            n += 1;
        }
    }
    assert!(n >= 3, "configs/ holds the example configs");
}

#[test]
fn the_base_config_of_the_table_is_valid() {
    assert_eq!(diagnostics(BASE), Vec::new());
}

#[test]
fn each_bad_config_is_reported_at_its_line_with_a_fix() {
    for c in CASES {
        assert!(
            BASE.contains(c.from),
            "case '{}' edits text that is in the base",
            c.what
        );
        let text = BASE.replacen(c.from, c.to, 1);
        let d = diagnostics(&text);
        let hit = d.iter().find(|d| d.to_string().contains(c.message));
        let Some(hit) = hit else {
            panic!(
                "case '{}': no diagnostic says '{}'; got:\n{:#?}",
                c.what, c.message, d
            );
        };
        assert_eq!(hit.line, c.line, "case '{}': wrong line in {hit}", c.what);
        assert!(hit.column >= 1, "case '{}': column given", c.what);
        assert!(
            hit.file.ends_with("bad.yaml"),
            "case '{}': file named",
            c.what
        );
        assert!(
            hit.help.as_deref().unwrap_or("").contains(c.help),
            "case '{}': help should mention '{}': {hit}",
            c.what,
            c.help
        );
    }
}

#[test]
fn every_error_is_reported_at_once_in_file_order() {
    let text = BASE
        .replacen("to_label: btc_vol_sum", "to_label: btc_vol_summ", 1)
        .replacen("btc_vol_sum: [sum_Volume]", "btc_vol_sum: [sum_Vol]", 1)
        .replacen("label: eth\n", "label: btc\n", 1)
        .replacen(
            "event: {Consume: btc_vol_sum}",
            "event: {Consme: btc_vol_sum}",
            1,
        );
    let d = diagnostics(&text);
    let lines: Vec<usize> = d.iter().map(|d| d.line).collect();
    // A parse error (line 21) does not hide the graph errors, nor does it cascade into others.
    for want in [7, 9, 21, 26] {
        assert!(lines.contains(&want), "an error at line {want}; got {d:#?}");
    }
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "in file order");
    assert_eq!(d.len(), 4, "no cascading errors: {d:#?}");
}

#[test]
fn check_exits_2_and_prints_file_line_and_path() {
    let dir = tempdir();
    let path = write_config(
        dir.path(),
        "bad.yaml",
        &BASE.replacen("reducer: COUNT", "reducer: CONT", 1),
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.yaml:20:"), "{err}");
    assert!(err.contains("tubes[3].Through.reducer"), "{err}");
    assert!(err.contains("help: did you mean 'COUNT'?"), "{err}");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "an invalid config never starts");
}

#[test]
fn graph_prints_dot_with_data_and_event_edges() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(["graph", "configs/talk.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.starts_with("digraph tubes {"));
    assert!(dot.contains("\"btc_data\" -> \"btc_vol_sum\";"));
    assert!(dot.contains("\"btc_vol_sum\" -> \"eth_counter\" [style=dashed, label=\"event\"];"));
    assert!(dot.contains("\"extevt\" -> \"eth_static_time_ticker\" [style=dashed"));
}

/// The 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("the needle is in the text")
        + 1
}

#[test]
fn a_misspelt_reducer_field_is_reported_once_at_its_own_line_with_what_depends_on_it() {
    let text = BASE.replacen(
        "    reducer: {SUM: {field: Volume}}\n",
        "    reducer:\n      SUM:\n        field: Volumen\n",
        1,
    );
    let d = diagnostics(&text);
    // Only the cause: not the Produce condition on `sum_Volume`, nor the sink column `sum_Volume`,
    // which name what the reducer would emit once its field is right.
    assert_eq!(d.len(), 1, "one error, no follow-on errors: {d:#?}");
    let e = &d[0];
    assert_eq!(e.line, line_of(&text, "field: Volumen"), "{e}");
    assert_eq!(e.path, "tubes[2].Through.reducer.SUM.field");
    assert_eq!(e.message, "field 'Volumen' is not provided by 'btc'");
    let help = e.help.as_deref().unwrap();
    assert!(help.contains("did you mean 'Volume'?"), "{help}");
    for dependent in ["the event of 'btc_vol_sum'", "'sink'", "'eth_counter'"] {
        assert!(
            help.contains(dependent),
            "the help names {dependent}: {help}"
        );
    }
}

#[test]
fn a_vwap_field_inside_multi_is_reported_at_its_own_key() {
    let text = BASE.replacen(
        "    reducer: COUNT\n",
        "    reducer:\n      MULTI:\n      - COUNT\n      - VWAP:\n          price: Close\n          quantity: Volumen\n",
        1,
    );
    let d = diagnostics(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].line, line_of(&text, "quantity: Volumen"), "{}", d[0]);
    assert_eq!(d[0].path, "tubes[3].Through.reducer.MULTI[1].VWAP.quantity");
}

#[test]
fn an_unrelated_typo_downstream_of_a_misspelt_field_is_still_reported() {
    let text = BASE
        .replacen("{SUM: {field: Volume}}", "{SUM: {field: Volumen}}", 1)
        .replacen("eth_counter: [count]", "eth_counter: [cont]", 1);
    let d = diagnostics(&text);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "field 'Volumen' is not provided by 'btc'",
            "field 'cont' is not provided by 'eth_counter'"
        ],
        "{d:#?}"
    );
}

#[test]
fn a_cycle_is_reported_at_the_edge_that_closes_it() {
    // btc_vol_sum → sink is replaced by an edge back from the sink's side: eth_counter sends to
    // btc_vol_sum, whose event eth_counter consumes.
    let text = BASE.replacen(
        "    to_label: sink\n    reducer: COUNT",
        "    to_label:\n    - sink\n    - btc_vol_sum\n    reducer: COUNT",
        1,
    );
    let d = diagnostics(&text);
    let e = d
        .iter()
        .find(|d| d.message.starts_with("the graph has a cycle"))
        .expect("a cycle error");
    assert_eq!(
        e.message,
        "the graph has a cycle: btc_vol_sum → eth_counter → btc_vol_sum"
    );
    assert_eq!(e.path, "tubes[3].Through.to_label[1]");
    assert_eq!(e.line, line_of(&text, "- btc_vol_sum"), "{e}");
}

#[test]
fn a_second_typo_of_a_name_a_misspelt_field_would_make_is_still_reported() {
    // `Volumen` would make `sum_Volumen` (intended: `sum_Volume`); the sink's `sum_Volme` is neither.
    let text = BASE
        .replacen("{SUM: {field: Volume}}", "{SUM: {field: Volumen}}", 1)
        .replacen("btc_vol_sum: [sum_Volume]", "btc_vol_sum: [sum_Volme]", 1);
    let d = diagnostics(&text);
    let messages: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "field 'Volumen' is not provided by 'btc'",
            "field 'sum_Volme' is not provided by 'btc_vol_sum'"
        ],
        "{d:#?}"
    );
}

#[test]
fn the_plugins_of_a_tube_without_a_label_or_fields_are_still_read() {
    // A Generator without a label is dropped, a Sink without fields is a placeholder: the mistakes in
    // their datasource and datasink are reported all the same.
    let text = BASE
        .replacen(
            "    label: eth\n    datasource: {CSV: testdata/binance_ETHUSDT_1m.csv}",
            "    datasource: {CVS: testdata/binance_ETHUSDT_1m.csv}",
            1,
        )
        .replacen("    datasink: {CSV: out.csv}\n    fields:\n      btc_vol_sum: [sum_Volume]\n      eth_counter: [count]\n", "    datasink: {CSV: [out.csv]}\n", 1);
    let d = diagnostics(&text);
    let has = |m: &str| d.iter().any(|x| x.to_string().contains(m));
    assert!(has("unknown datasource 'CVS'"), "{d:#?}");
    assert!(has("tubes[4].Sink.datasink.CSV"), "{d:#?}");
}

#[test]
fn a_sink_writing_the_file_a_generator_reads_is_refused_and_the_file_is_untouched() {
    let dir = tempdir();
    let input = dir.path().join("btc.csv");
    std::fs::copy("testdata/binance_BTCUSDT_1m.csv", &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    // The same file under another spelling: through `.` in its directory.
    let same = dir.path().join(".").join("btc.csv");
    let text = format!(
        "pipeline_type:\n  Batch: [\"2023-03-17T00:00:00Z\", \"2023-03-18T00:00:00Z\"]\ntubes:\n\
         - Generator: {{label: btc, datasource: {{CSV: {}}}, to_label: sum}}\n\
         - Through: {{label: sum, reducer: {{SUM: {{field: Volume}}}}, to_label: sink}}\n\
         - Sink: {{label: sink, datasink: [Discard, {{CSV: {}}}], fields: {{sum: [sum_Volume]}}}}\n",
        input.display(),
        same.display()
    );
    let d = diagnostics(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].path, "tubes[2].Sink.datasink[1]");
    assert!(
        d[0].message.contains("the file generator 'btc' reads"),
        "{}",
        d[0]
    );
    let cfg = write_config(dir.path(), "clobber.yaml", &text);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .arg("run")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2), "nothing runs");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
}

#[test]
fn a_config_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
    let dir = tempdir();
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("label: eth").unwrap() + "label: e".len();
    bytes[at] = 0xff;
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, &bytes).unwrap();
    let err = tubes::api::load(&path).unwrap_err().0;
    let line = 1 + BASE[..at].matches('\n').count();
    let column = at - BASE[..at].rfind('\n').unwrap();
    assert_eq!((err[0].line, err[0].column), (line, column), "{}", err[0]);
    assert!(
        err[0].message.contains("not UTF-8 text: byte 0xff"),
        "{}",
        err[0]
    );
}
