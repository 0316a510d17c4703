//! `tubes publish`: an exchange capture into a Kafka topic or a Redis stream, for the `Kafka` and
//! `Redis` generators (and their tests and benchmarks).

use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::connect::kafka::{create_topic, Producer};
use crate::connect::redis::{append, Server};

/// What `tubes publish` takes.
#[derive(clap::Args)]
pub struct PublishArgs {
    /// Captures: NDJSON files of WebSocket messages, one per line (as in testdata/ws/).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Publish to a Kafka topic on these brokers (with --topic).
    #[arg(
        long,
        value_name = "BROKERS",
        conflicts_with = "redis",
        requires = "topic"
    )]
    kafka: Option<String>,
    /// The Kafka topic; created with --partitions when it does not exist.
    #[arg(long)]
    topic: Option<String>,
    /// Partitions of a topic that publishing creates. With one, the topic keeps every message's order;
    /// Kafka orders messages only within a partition.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..))]
    partitions: i32,
    /// Publish to a Redis stream on this server, e.g. redis://127.0.0.1:6379 (with --stream).
    #[arg(long, value_name = "URL", requires = "stream")]
    redis: Option<String>,
    /// The Redis stream (created by the first entry).
    #[arg(long)]
    stream: Option<String>,
    /// Pass over the first N messages of the capture.
    #[arg(long, value_name = "N", default_value_t = 0)]
    skip: usize,
    /// Publish at most N messages.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Messages per second [default: as fast as the broker takes them].
    #[arg(long, value_name = "RATE", value_parser = super::bench::parse_rate)]
    rate: Option<f64>,
}

/// The members of a payload publishing looks at.
#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(borrow, default)]
    s: Option<&'a str>,
}

#[derive(Deserialize)]
struct Symbol<'a> {
    #[serde(borrow, default)]
    s: Option<&'a str>,
}

/// A capture line's payload, byte for byte (a combined stream's `data` object; otherwise the line),
/// and its symbol (`s`), the message's key.
fn payload(line: &str) -> (&str, Option<&str>) {
    match serde_json::from_str::<Payload<'_>>(line) {
        Ok(Payload { data: Some(d), .. }) => {
            let s = serde_json::from_str::<Symbol<'_>>(d.get())
                .ok()
                .and_then(|x| x.s);
            (d.get(), s)
        }
        Ok(Payload { s, .. }) => (line, s),
        Err(_) => (line, None),
    }
}

/// Where messages go.
enum Sink {
    Kafka(Producer),
    Redis(Box<redis::Connection>, Server, String, Vec<String>),
}

impl Sink {
    fn send(&mut self, text: &str, key: Option<&str>) -> Result<(), String> {
        match self {
            Sink::Kafka(p) => p.send(key.map(str::as_bytes), text.as_bytes()),
            Sink::Redis(c, server, stream, batch) => {
                batch.push(text.to_string());
                if batch.len() >= 1_000 {
                    let r = append(c, stream, "data", batch.iter().map(|s| s.as_bytes()));
                    batch.clear();
                    r.map_err(|e| server.say(&e))?;
                }
                Ok(())
            }
        }
    }

    /// Sends what is batched here (Redis); Kafka's client sends within its linger time by itself.
    fn flush(&mut self) -> Result<(), String> {
        if let Sink::Redis(c, server, stream, batch) = self {
            if !batch.is_empty() {
                let r = append(c, stream, "data", batch.iter().map(|s| s.as_bytes()));
                batch.clear();
                r.map_err(|e| server.say(&e))?;
            }
        }
        Ok(())
    }

    /// Publishes what is pending; the count delivered.
    fn finish(&mut self, sent: u64) -> Result<u64, String> {
        match self {
            Sink::Kafka(p) => {
                let d = p.finish(Duration::from_secs(60));
                if d.lost > 0 {
                    return Err(format!(
                        "{} of {} messages were not delivered: {}",
                        d.lost,
                        d.sent,
                        d.why.unwrap_or_default()
                    ));
                }
                Ok(d.delivered)
            }
            Sink::Redis(c, server, stream, batch) => {
                append(c, stream, "data", batch.iter().map(|s| s.as_bytes()))
                    .map_err(|e| server.say(&e))?;
                Ok(sent)
            }
        }
    }
}

fn open(a: &PublishArgs) -> Result<(Sink, String), String> {
    if let (Some(brokers), Some(topic)) = (&a.kafka, &a.topic) {
        if create_topic(brokers, topic, a.partitions)? {
            errln!(
                "tubes publish: created topic {topic} on {brokers} with {} partitions",
                a.partitions
            );
        }
        let p = Producer::new(brokers, topic, Duration::from_secs(60))?;
        return Ok((Sink::Kafka(p), format!("Kafka topic {topic} on {brokers}")));
    }
    if let (Some(url), Some(stream)) = (&a.redis, &a.stream) {
        let server = Server::parse(Some(url))?;
        let conn = server.connect(Duration::from_secs(5))?;
        let name = format!("Redis stream {stream} on {server}");
        return Ok((
            Sink::Redis(Box::new(conn), server, stream.clone(), Vec::new()),
            name,
        ));
    }
    Err(
        "say where to publish: --kafka BROKERS --topic TOPIC, or --redis URL --stream STREAM"
            .into(),
    )
}

/// Publishes the captures; returns the exit code.
pub fn publish(a: PublishArgs) -> i32 {
    match publish_all(&a) {
        Ok(()) => 0,
        Err(e) => {
            errln!("error: {e}");
            1
        }
    }
}

fn publish_all(a: &PublishArgs) -> Result<(), String> {
    let (mut sink, name) = open(a)?;
    let start = Instant::now();
    let (mut seen, mut sent) = (0usize, 0u64);
    let limit = a.limit.unwrap_or(usize::MAX);
    'files: for path in &a.files {
        let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        for (n, line) in std::io::BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| format!("{}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            seen += 1;
            if seen <= a.skip {
                continue;
            }
            if sent as usize >= limit {
                break 'files;
            }
            if let Some(rate) = a.rate {
                let due = start + Duration::from_secs_f64(sent as f64 / rate);
                if due > Instant::now() {
                    // Ahead of the pace: what is pending goes out before the wait.
                    sink.flush()?;
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
            }
            let (text, key) = payload(&line);
            sink.send(text, key).map_err(|e| {
                format!(
                    "{}:{}: {e} ({sent} messages before it were published)",
                    path.display(),
                    n + 1
                )
            })?;
            sent += 1;
        }
    }
    let delivered = sink.finish(sent)?;
    errln!(
        "tubes publish: {delivered} messages to {name} in {:.3} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_combined_stream_line_publishes_its_data_object_byte_for_byte_keyed_by_symbol() {
        let line = r#"{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":"1.50"}}"#;
        assert_eq!(
            payload(line),
            (r#"{"e":"trade","s":"BTCUSDT","p":"1.50"}"#, Some("BTCUSDT"))
        );
        let raw = r#"{"e":"trade","s":"ETHUSDT"}"#;
        assert_eq!(payload(raw), (raw, Some("ETHUSDT")));
        assert_eq!(payload("not json"), ("not json", None));
    }
}
