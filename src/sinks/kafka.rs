//! The `Kafka` sink kind: every row published to a topic as one JSON object with the NDJSON output's
//! keys. `{Kafka: {brokers: 127.0.0.1:9092, topic: btc_eth_windows, key: btc_vol_sum}}`.
//!
//! Every message carries the same key (`key:`, the sink's label by default), so the rows land in one
//! partition and keep their order. The sink thread formats a row and enqueues it; librdkafka's own
//! threads batch, send and retry it, and the producer's polling thread counts the acknowledgements.
//! The producer is idempotent, so its retries write no duplicates. At a clean end the run waits until
//! every row is acknowledged; rows that could not be delivered within `retry_for` (default 5 min) fail
//! the run, which says how many were lost.

use std::time::Duration;

use serde_yaml::Value;

use super::ndjson::JsonRow;
use crate::base::{RunError, SinkError};
use crate::config::{field, Reader};
use crate::connect::kafka::Producer;
use crate::plugin::{OpenSink, Row, RowWriter, SinkKind, SinkOutput, WriteError};

/// How long a run that failed waits for rows already enqueued.
const FAILED_WAIT: Duration = Duration::from_secs(5);

/// The `Kafka` sink kind.
pub struct Kafka;

/// A topic to publish rows to.
#[derive(Debug)]
struct TopicOutput {
    brokers: String,
    topic: String,
    key: Option<String>,
    retry_for: Duration,
}

impl SinkKind for Kafka {
    fn names(&self) -> &'static [&'static str] {
        &["Kafka"]
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn SinkOutput>> {
        let example = "{Kafka: {brokers: 127.0.0.1:9092, topic: rows}}";
        let keys = ["brokers", "topic", "key", "retry_for"];
        let m = r.mapping(v, path, &keys, &["topic"], example)?;
        let brokers = match m.get("brokers") {
            None => Some("127.0.0.1:9092".to_string()),
            Some(b) => r.string(b, &field(path, "brokers")),
        };
        let topic = m
            .get("topic")
            .and_then(|t| r.string(t, &field(path, "topic")));
        let key = match m.get("key") {
            None => Some(None),
            Some(k) => r.string(k, &field(path, "key")).map(Some),
        };
        let mut retry_for = r.positive_duration(m, path, "retry_for", Duration::from_secs(300));
        // librdkafka's message.timeout.ms: above linger.ms (1 ms), within 31 bits of ms.
        let range = Duration::from_millis(10)..=Duration::from_millis(i32::MAX as u64);
        if retry_for.is_some_and(|d| !range.contains(&d)) {
            r.diag.error(
                &field(path, "retry_for"),
                "retry_for must be from 10ms to 24 days (librdkafka's message.timeout.ms)",
                Some("write e.g. retry_for: 5m".into()),
            );
            retry_for = None;
        }
        Some(Box::new(TopicOutput {
            brokers: brokers?,
            topic: topic?,
            key: key?,
            retry_for: retry_for?,
        }))
    }
}

impl SinkOutput for TopicOutput {
    fn target(&self) -> String {
        format!("Kafka topic {} on {}", self.topic, self.brokers)
    }

    fn open(&self, cx: &OpenSink<'_>) -> Result<Option<Box<dyn RowWriter>>, RunError> {
        let producer = Producer::new(&self.brokers, &self.topic, self.retry_for)
            .map_err(|e| RunError::Sink(SinkError::new(self.target(), e)))?;
        Ok(Some(Box::new(TopicWriter {
            producer,
            row: JsonRow::new(cx.columns, cx.with_status),
            key: self.key.clone().unwrap_or_else(|| cx.label.to_string()),
            buf: Vec::with_capacity(512),
            retry_for: self.retry_for,
            finished: false,
        })))
    }
}

/// Publishes rows.
struct TopicWriter {
    producer: Producer,
    row: JsonRow,
    key: String,
    buf: Vec<u8>,
    retry_for: Duration,
    finished: bool,
}

impl RowWriter for TopicWriter {
    fn write_row(&mut self, row: &Row<'_>) -> Result<(), WriteError> {
        self.buf.clear();
        self.row.write(row, &mut self.buf)?;
        Ok(self.producer.send(Some(self.key.as_bytes()), &self.buf)?)
    }

    /// Rows are on their way once enqueued: librdkafka sends them within `linger.ms` (1 ms).
    fn flush(&mut self) -> Result<(), WriteError> {
        Ok(())
    }

    fn finish(&mut self) -> Result<(), WriteError> {
        self.finished = true;
        let d = self.producer.finish(self.retry_for);
        if d.lost > 0 {
            return Err(format!(
                "{} of {} rows could not be delivered to topic '{}' on {} ({} were): {}",
                d.lost,
                d.sent,
                self.producer.topic,
                self.producer.brokers,
                d.delivered,
                d.why.unwrap_or_else(|| "no acknowledgement in time".into())
            )
            .into());
        }
        Ok(())
    }
}

impl Drop for TopicWriter {
    /// A run that failed or was stopped still delivers the rows it enqueued, as a file keeps them.
    fn drop(&mut self) {
        if !self.finished {
            self.producer.finish(FAILED_WAIT);
        }
    }
}
