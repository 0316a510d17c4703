//! Kafka and Redis Streams, against real brokers on loopback that each test starts itself (see
//! `common/brokers.rs`): Tansu for Kafka, `redis-server` for Redis. Ignored by default, as they need
//! the brokers installed; `.ci/run` runs them:
//!
//! ```text
//! TUBES_TANSU=/path/to/tansu cargo test --release --test queues -- --ignored
//! ```
//!
//! The real Binance capture (34,419 trades, BTC and ETH) is published into a topic or a stream with
//! `tubes publish`, and the seed question's answer is checked against a plain loop over the capture's
//! text (`common/capture.rs`), against the WebSocket path through the mock exchange, and after faults:
//! a broker killed and restarted mid-run, malformed messages, a topic that does not exist.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::brokers::{wait_until, Broker};
use common::capture::{expected, raw, read_output, Window};
use common::{read_csv, run_live, tempdir, tubes, within, write_config, Mock, Watched};

use common::BINANCE_CAPTURE as CAPTURE;

/// The capture's lines.
fn capture() -> Vec<String> {
    std::fs::read_to_string(CAPTURE)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Writes `lines` as a capture file in `dir`.
fn capture_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// `tubes publish` into a Kafka topic (created with `partitions`) or a Redis stream.
fn publish(to: &[&str], file: &Path) {
    let mut args = vec!["publish"];
    args.extend_from_slice(to);
    args.push(file.to_str().unwrap());
    let (code, _, err) = tubes(&args);
    assert_eq!(code, 0, "tubes publish failed: {err}");
}

/// The shipped config `name`, pointed at `at` (brokers or URL), its CSV output in `dir`; `extra` is
/// added to both generators' payloads.
fn shipped(dir: &Path, name: &str, at: &str, extra: &str) -> (PathBuf, PathBuf) {
    let out = dir.join("out.csv");
    let text = std::fs::read_to_string(format!("configs/{name}.yaml"))
        .unwrap()
        .replace("127.0.0.1:9092", at)
        .replace("redis://127.0.0.1:6379", at)
        .replace(&format!("out/{name}.csv"), out.to_str().unwrap())
        .replace("market: btcusdt}", &format!("market: btcusdt{extra}}}"))
        .replace("market: ethusdt}", &format!("market: ethusdt{extra}}}"));
    (write_config(dir, &format!("{name}.yaml"), &text), out)
}

/// The WebSocket path's rows for the same capture, through the mock exchange.
fn websocket_rows(dir: &Path) -> Vec<Window> {
    let mock = Mock::binance(dir, &["--speed", "max"]);
    let out = dir.join("ws.csv");
    let text = common::live_config_text(&mock.url, "", &format!("{{CSV: {}}}", out.display()));
    let cfg = write_config(dir, "ws.yaml", &text);
    within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap();
    read_output(&out).0
}

/// Every message of a Kafka topic, partition by partition, each read to its end.
fn topic_messages(brokers: &str, topic: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::KafkaError;
    use rdkafka::message::Message;
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "queues-test")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let wait = Duration::from_secs(10);
    let meta = c.fetch_metadata(Some(topic), wait).unwrap();
    let parts = meta.topics()[0].partitions();
    let mut tpl = TopicPartitionList::new();
    for p in parts {
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    c.assign(&tpl).unwrap();
    let (mut out, mut ended) = (Vec::new(), 0);
    while ended < parts.len() {
        match c
            .poll(wait)
            .expect("a message or the end before the deadline")
        {
            Ok(m) => out.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap()),
            Err(KafkaError::PartitionEOF(_)) => ended += 1,
            Err(e) => panic!("{e}"),
        }
    }
    out
}

/// Every entry of a Redis stream: its one field's value.
fn stream_entries(url: &str, stream: &str, field: &str) -> Vec<String> {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let v: redis::Value = redis::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .query(&mut c)
        .unwrap();
    let redis::Value::Array(entries) = v else {
        panic!("XRANGE gave {v:?}")
    };
    entries
        .iter()
        .map(|e| {
            let redis::Value::Array(parts) = e else {
                panic!()
            };
            let redis::Value::Array(kv) = &parts[1] else {
                panic!()
            };
            match (&kv[0], &kv[1]) {
                (redis::Value::BulkString(k), redis::Value::BulkString(v)) => {
                    assert_eq!(k, field.as_bytes());
                    String::from_utf8(v.clone()).unwrap()
                }
                other => panic!("{other:?}"),
            }
        })
        .collect()
}

/// A published row (a JSON object) as the CSV's cells, as written (numbers as their text):
/// timestamp, the three values, the status.
fn json_cells(row: &str) -> Vec<String> {
    let v: std::collections::HashMap<String, &serde_json::value::RawValue> =
        serde_json::from_str(row).unwrap();
    [
        "timestamp",
        "btc_vol_sum.sum_quantity",
        "eth_counter.count",
        "eth_counter.sum_quantity",
        "status",
    ]
    .iter()
    .map(|k| match v[*k].get() {
        "null" => String::new(),
        raw => raw.trim_matches('"').to_string(),
    })
    .collect()
}

#[test]
#[ignore = "needs a Kafka broker: TUBES_TANSU (see .ci/run)"]
fn kafka_live_answer_equals_the_websocket_answer_and_a_plain_loop() {
    let dir = tempdir();
    let broker = Broker::tansu();
    let file = capture_file(dir.path(), "capture.ndjson", &capture());
    publish(&["--kafka", &broker.brokers(), "--topic", "trades"], &file);
    let (cfg, out) = shipped(dir.path(), "kafka_btc_eth", &broker.brokers(), "");
    let report = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap();
    let (rows, statuses) = read_output(&out);
    assert_eq!(rows, expected(&capture()), "against a plain loop");
    assert_eq!(
        rows,
        websocket_rows(dir.path()),
        "against the WebSocket path"
    );
    assert_eq!(
        statuses,
        [
            "feed up on kafka trades btcusdt",
            "feed up on kafka trades ethusdt"
        ]
    );
    assert_eq!(report.datapoints, 34_419 + 2);
    // Every row, statuses included, was published to btc_eth_windows, in order.
    let published: Vec<Vec<String>> = topic_messages(&broker.brokers(), "btc_eth_windows")
        .iter()
        .map(|m| json_cells(m))
        .collect();
    assert_eq!(published, read_csv(&out)[1..].to_vec());
}

#[test]
#[ignore = "needs redis-server (see .ci/run)"]
fn a_marked_batch_is_added_whole_and_its_mark_tells_a_retry_it_was() {
    use tubes::connect::redis::{append_marked, marked};
    let dir = tempdir();
    let broker = Broker::redis(dir.path());
    let mut c = redis::Client::open(broker.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let rows: [&[u8]; 3] = [b"a", b"b", b"c"];
    // Before any batch, and for a batch the server never took, a retry must send it.
    assert!(!marked(&mut c, "rows", "run-1").unwrap());
    append_marked(&mut c, "rows", "row", rows.iter().copied(), "run-1").unwrap();
    assert!(marked(&mut c, "rows", "run-1").unwrap());
    assert!(!marked(&mut c, "rows", "run-2").unwrap());
    append_marked(&mut c, "rows", "row", rows[..1].iter().copied(), "run-2").unwrap();
    assert!(marked(&mut c, "rows", "run-2").unwrap());
    assert!(!marked(&mut c, "rows", "run-1").unwrap());
    assert_eq!(
        stream_entries(&broker.url(), "rows", "row"),
        ["a", "b", "c", "a"]
    );
}

#[test]
#[ignore = "needs redis-server (see .ci/run)"]
fn redis_live_answer_equals_a_plain_loop_and_every_row_is_appended() {
    let dir = tempdir();
    let broker = Broker::redis(dir.path());
    let file = capture_file(dir.path(), "capture.ndjson", &capture());
    publish(&["--redis", &broker.url(), "--stream", "trades"], &file);
    let (cfg, out) = shipped(dir.path(), "redis_btc_eth", &broker.url(), "");
    let report = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap();
    let (rows, statuses) = read_output(&out);
    assert_eq!(rows, expected(&capture()));
    assert_eq!(
        statuses,
        [
            "feed up on redis trades btcusdt",
            "feed up on redis trades ethusdt"
        ]
    );
    assert_eq!(
        report.generators[0].rows + report.generators[1].rows,
        34_419
    );
    let appended: Vec<Vec<String>> = stream_entries(&broker.url(), "btc_eth_windows", "row")
        .iter()
        .map(|m| json_cells(m))
        .collect();
    assert_eq!(appended, read_csv(&out)[1..].to_vec());
}

/// The capture's lines with trade times in `[from, to)` ms, in trade-time order (stable): what a Batch
/// run over a topic holding the capture answers from.
fn in_range(from: i64, to: i64) -> Vec<String> {
    let mut lines: Vec<String> = capture()
        .into_iter()
        .filter(|l| (from..to).contains(&raw(l, "T").parse::<i64>().unwrap()))
        .collect();
    lines.sort_by_key(|l| raw(l, "T").parse::<i64>().unwrap());
    lines
}

/// A Batch output's windows (no status column).
fn batch_rows(path: &Path) -> Vec<Window> {
    let rows = read_csv(path);
    assert_eq!(rows[0].len(), 4, "a Batch run has no status column");
    rows[1..]
        .iter()
        .map(|r| Window {
            time_ms: common::ms(&r[0]),
            btc: r[1].parse().unwrap(),
            eth_count: r[2].parse().unwrap(),
            eth: r[3].parse().unwrap(),
        })
        .collect()
}

#[test]
#[ignore = "needs a Kafka broker: TUBES_TANSU (see .ci/run)"]
fn kafka_batch_answers_over_history_in_its_range_and_counts_every_message() {
    let dir = tempdir();
    let broker = Broker::tansu();
    let file = capture_file(dir.path(), "capture.ndjson", &capture());
    publish(&["--kafka", &broker.brokers(), "--topic", "trades"], &file);
    let (cfg, out) = shipped(dir.path(), "kafka_btc_eth_batch", &broker.brokers(), "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let at = text.find("Batch: [").unwrap();
    let bounds: Vec<&str> = text[at..].split('"').collect();
    let (from, to) = (common::ms(bounds[1]), common::ms(bounds[3]));
    let report = within(60, move || common::run_file(&cfg)).unwrap();
    let want = in_range(from, to);
    assert!(want.len() > 10_000 && want.len() < 34_419, "{}", want.len());
    assert_eq!(batch_rows(&out), expected(&want));
    let g = &report.generators;
    assert_eq!(g[0].rows + g[1].rows, want.len() as u64);
    assert_eq!(
        g[0].rows + g[1].rows + g[0].outside + g[1].outside,
        34_419,
        "every message read is in the range or counted outside it"
    );
    // Three partitions (BTC and ETH keyed apart): merged by trade time, the same answer.
    let broker3 = Broker::tansu();
    publish(
        &[
            "--kafka",
            &broker3.brokers(),
            "--topic",
            "trades",
            "--partitions",
            "3",
        ],
        &file,
    );
    let (cfg3, out3) = shipped(dir.path(), "kafka_btc_eth_batch", &broker3.brokers(), "");
    std::fs::rename(&cfg3, dir.path().join("three.yaml")).unwrap();
    let cfg3 = dir.path().join("three.yaml");
    within(60, move || common::run_file(&cfg3)).unwrap();
    assert_eq!(batch_rows(&out3), expected(&want));
    // Each market spread over four partitions (its symbol's case varies, so the keys differ): the
    // trades of one market interleave out of id order as they are read, and still none is lost or
    // taken for a duplicate. Equal trade times in different partitions are ordered by partition, not
    // as the exchange sent them, so the windows are compared as a repeat run's, and counted.
    let broker4 = Broker::tansu();
    let cases = [
        "BTCUSDT", "btcusdt", "Btcusdt", "bTCUSDT", "ETHUSDT", "ethusdt", "Ethusdt", "eTHUSDT",
    ];
    let mixed: Vec<String> = capture()
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let s = raw(l, "s");
            let at = if s == "BTCUSDT" { 0 } else { 4 };
            l.replace(
                &format!("\"s\":\"{s}\""),
                &format!("\"s\":\"{}\"", cases[at + i % 4]),
            )
        })
        .collect();
    publish(
        &[
            "--kafka",
            &broker4.brokers(),
            "--topic",
            "trades",
            "--partitions",
            "4",
        ],
        &capture_file(dir.path(), "mixed.ndjson", &mixed),
    );
    let (cfg4, out4) = shipped(dir.path(), "kafka_btc_eth_batch", &broker4.brokers(), "");
    std::fs::rename(&cfg4, dir.path().join("four.yaml")).unwrap();
    let cfg4 = dir.path().join("four.yaml");
    let again = cfg4.clone();
    let report = within(60, move || common::run_file(&cfg4)).unwrap();
    let first = std::fs::read(&out4).unwrap();
    within(60, move || common::run_file(&again)).unwrap();
    assert_eq!(
        std::fs::read(&out4).unwrap(),
        first,
        "byte-identical on a second run"
    );
    let g = &report.generators;
    assert_eq!(g[0].duplicates + g[1].duplicates, 0);
    let btc = want.iter().filter(|l| raw(l, "s") == "BTCUSDT").count() as u64;
    assert_eq!((g[0].rows, g[1].rows), (btc, want.len() as u64 - btc));
    assert_eq!(g[0].rows + g[1].rows + g[0].outside + g[1].outside, 34_419);
}

#[test]
#[ignore = "needs a Kafka broker: TUBES_TANSU (see .ci/run)"]
fn a_batch_start_past_the_end_reads_nothing_and_ends() {
    let dir = tempdir();
    let broker = Broker::tansu();
    let file = capture_file(dir.path(), "capture.ndjson", &capture());
    publish(&["--kafka", &broker.brokers(), "--topic", "trades"], &file);
    let (cfg, out) = shipped(
        dir.path(),
        "kafka_btc_eth_batch",
        &broker.brokers(),
        ", start: {offset: 1000000}",
    );
    let report = within(60, move || common::run_file(&cfg)).unwrap();
    assert_eq!(report.generators[0].rows + report.generators[1].rows, 0);
    assert_eq!(batch_rows(&out), []);
}

#[test]
#[ignore = "needs a Kafka broker and redis-server (see .ci/run)"]
fn a_topic_or_stream_that_does_not_exist_is_an_error_at_the_start_naming_it() {
    let dir = tempdir();
    let kafka = Broker::tansu();
    let (cfg, _) = shipped(dir.path(), "kafka_btc_eth", &kafka.brokers(), "");
    let err = within(60, move || run_live(&cfg, Duration::from_secs(1))).unwrap_err();
    assert!(
        err.contains("topic 'trades' does not exist") && err.contains(&kafka.brokers()),
        "{err}"
    );
    let redis = Broker::redis(dir.path());
    let (cfg, _) = shipped(dir.path(), "redis_btc_eth", &redis.url(), "");
    let err = within(60, move || run_live(&cfg, Duration::from_secs(1))).unwrap_err();
    assert!(
        err.contains("stream 'trades' does not exist") && err.contains(&redis.url()),
        "{err}"
    );
}

#[test]
#[ignore = "needs a Kafka broker: TUBES_TANSU (see .ci/run)"]
fn malformed_messages_are_counted_named_and_skipped_or_fatal_as_on_error_says() {
    let dir = tempdir();
    let broker = Broker::tansu();
    let mut lines = capture();
    let good = lines.clone();
    lines.insert(100, "not json at all".into());
    lines.insert(
        201,
        r#"{"e":"trade","E":1,"s":"ETHUSDT","t":1,"p":"abc","q":"1","T":1,"m":true}"#.into(),
    );
    let file = capture_file(dir.path(), "bad.ndjson", &lines);
    publish(&["--kafka", &broker.brokers(), "--topic", "trades"], &file);
    let (cfg, out) = shipped(dir.path(), "kafka_btc_eth", &broker.brokers(), "");
    let report = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap();
    assert_eq!(read_output(&out).0, expected(&good));
    for g in &report.generators {
        assert_eq!(g.feed.as_ref().unwrap().malformed, 2);
        assert_eq!(
            g.named,
            ["partition 0 offset 100", "partition 0 offset 201"]
        );
    }
    let (cfg, _) = shipped(
        dir.path(),
        "kafka_btc_eth",
        &broker.brokers(),
        ", on_error: fail",
    );
    let err = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap_err();
    assert!(
        err.contains("partition 0 offset 100") && err.contains("on_error"),
        "{err}"
    );
    // A trade whose id leaps a billion ahead is malformed for its own market only, and fails the run
    // under on_error: fail all the same.
    let mut lines = capture()[..300].to_vec();
    lines.push(r#"{"e":"trade","E":1,"s":"ETHUSDT","t":999999999997,"p":"3000","q":"1","T":1723161300000,"m":true}"#.into());
    publish(
        &["--kafka", &broker.brokers(), "--topic", "leap"],
        &capture_file(dir.path(), "leap.ndjson", &lines),
    );
    let (cfg, _) = shipped(
        dir.path(),
        "kafka_btc_eth",
        &broker.brokers(),
        ", on_error: fail",
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("topic: trades", "topic: leap");
    std::fs::write(&cfg, text).unwrap();
    let err = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap_err();
    assert!(err.contains("partition 0 offset 300"), "{err}");
}

/// The live config run as a process until idle for 5 s, writing its CSV to `out`.
fn spawn_run(cfg: &Path) -> Watched {
    Watched::spawn(
        std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
            .args(["run", "--idle-exit", "5s"])
            .arg(cfg)
            .stdout(std::process::Stdio::null()),
    )
}

/// The lines of the run's CSV so far (its partial file).
fn partial(out: &Path) -> String {
    let p = out.with_file_name("out.csv.partial");
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
#[ignore = "needs a Kafka broker: TUBES_TANSU (see .ci/run)"]
fn a_kafka_broker_unreachable_mid_run_is_reported_and_no_trade_or_row_is_lost_or_repeated() {
    let dir = tempdir();
    // Clients reach the broker only through the proxy, which the test cuts for a while: every
    // connection (the generators' consumer and the sink's producer) drops, and none can be made.
    let front = common::brokers::free_port();
    let broker = Broker::tansu_behind(common::brokers::free_port(), front);
    let proxy = common::brokers::Proxy::start(front, broker.port);
    let at = format!("127.0.0.1:{front}");
    let all = capture();
    let half = all.len() / 2;
    publish(
        &["--kafka", &at, "--topic", "trades"],
        &capture_file(dir.path(), "first.ndjson", &all[..half]),
    );
    let (cfg, out) = shipped(dir.path(), "kafka_btc_eth", &at, "");
    let run = spawn_run(&cfg);
    let first = expected(&all[..half]).len();
    wait_until(30, "the first half's windows", || {
        partial(&out).lines().filter(|l| l.ends_with(',')).count() >= first
    });
    proxy.cut();
    wait_until(30, "the outage reported", || {
        partial(&out).contains("feed down")
    });
    proxy.restore();
    publish(
        &["--kafka", &at, "--topic", "trades"],
        &capture_file(dir.path(), "second.ndjson", &all[half..]),
    );
    let (code, err) = run.finish(120);
    assert_eq!(code, Some(0), "{err}");
    let (rows, statuses) = read_output(&out);
    assert_eq!(rows, expected(&all));
    for market in ["btcusdt", "ethusdt"] {
        let down = format!("feed down on kafka trades {market}");
        let up = format!("feed up on kafka trades {market} (reconnect #1)");
        assert!(
            statuses.iter().any(|s| s.starts_with(&down)),
            "{statuses:?}"
        );
        assert!(statuses.contains(&up), "{statuses:?}");
    }
    assert!(err.contains("0 duplicates dropped"), "{err}");
    // Every row, the outage's statuses included, reached the topic once, in order: the sink's producer
    // retried through the outage, and its idempotence kept the retries from writing twice.
    let published: Vec<Vec<String>> = topic_messages(&broker.brokers(), "btc_eth_windows")
        .iter()
        .map(|m| json_cells(m))
        .collect();
    assert_eq!(published, read_csv(&out)[1..].to_vec());
}

#[test]
#[ignore = "needs redis-server (see .ci/run)"]
fn a_redis_server_restarted_mid_run_loses_no_trade_and_no_row() {
    let dir = tempdir();
    let mut broker = Broker::redis(dir.path());
    let all = capture();
    let half = all.len() / 2;
    publish(
        &["--redis", &broker.url(), "--stream", "trades"],
        &capture_file(dir.path(), "first.ndjson", &all[..half]),
    );
    let (cfg, out) = shipped(dir.path(), "redis_btc_eth", &broker.url(), "");
    let run = spawn_run(&cfg);
    let first = expected(&all[..half]).len();
    wait_until(30, "the first half's windows", || {
        partial(&out).lines().filter(|l| l.ends_with(',')).count() >= first
    });
    broker.restart();
    publish(
        &["--redis", &broker.url(), "--stream", "trades"],
        &capture_file(dir.path(), "second.ndjson", &all[half..]),
    );
    let (code, err) = run.finish(120);
    assert_eq!(code, Some(0), "{err}");
    let (rows, statuses) = read_output(&out);
    assert_eq!(rows, expected(&all));
    assert!(
        statuses
            .iter()
            .any(|s| s.starts_with("feed down on redis trades")),
        "{statuses:?}"
    );
    assert!(err.contains("0 duplicates dropped"), "{err}");
    // The rows stream on the same server: every row once, in order (its writer retried through the
    // restart; the server kept what it had acknowledged).
    let appended: Vec<Vec<String>> = stream_entries(&broker.url(), "btc_eth_windows", "row")
        .iter()
        .map(|m| json_cells(m))
        .collect();
    assert_eq!(appended, read_csv(&out)[1..].to_vec());
}

#[test]
#[ignore = "needs redis-server (see .ci/run)"]
fn json_messages_of_another_shape_are_read_through_a_mapping_with_the_same_answer() {
    let dir = tempdir();
    let broker = Broker::redis(dir.path());
    // The capture's trades re-shaped: other member names, numbers as numbers, the time as RFC 3339.
    let lines: Vec<String> = capture()
        .iter()
        .map(|l| {
            let ms: i64 = raw(l, "T").parse().unwrap();
            let time = tubes::base::time::rfc3339(ms * 1_000_000);
            format!(
                r#"{{"ts":"{time}","px":{},"qty":{},"sym":"{}","tid":{},"m":{}}}"#,
                raw(l, "p"),
                raw(l, "q"),
                raw(l, "s"),
                raw(l, "t"),
                raw(l, "m")
            )
        })
        .collect();
    let file = capture_file(dir.path(), "shaped.ndjson", &lines);
    publish(&["--redis", &broker.url(), "--stream", "trades"], &file);
    let (cfg, out) = shipped(dir.path(), "redis_btc_eth", &broker.url(), "");
    let mapping =
        "format: {JSON: {time: ts, price: px, quantity: qty, market: sym, id: tid, maker: m}}";
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("format: Binance", mapping);
    std::fs::write(&cfg, text).unwrap();
    let report = within(60, move || run_live(&cfg, Duration::from_millis(1500))).unwrap();
    assert_eq!(read_output(&out).0, expected(&capture()));
    assert_eq!(
        report.generators[0].rows + report.generators[1].rows,
        34_419
    );
}
