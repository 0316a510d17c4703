//! The `Kafka` source kind: `{Kafka: {brokers: 127.0.0.1:9092, topic: trades, format: Binance, market:
//! btcusdt, start: earliest}}`.
//!
//! One librdkafka `BaseConsumer` per topic, polled on the message-queue thread. It is *assigned* every
//! partition of the topic (no consumer group: nothing is committed, and each run reads from `start`).
//! `start` is `earliest` (the default), `latest`, `{offset: N}` (in every partition) or `{time:
//! "2024-08-09T00:00:00Z"}` (the first message whose Kafka timestamp is at or after it). When a
//! partition's offset is gone (the topic was re-created), reading resumes at its earliest message.
//!
//! In Batch the partitions are read one after the other, each to the end the broker reports when the
//! reader gets there (librdkafka's partition-EOF event), so messages published while a partition is
//! being read may be read too.

use std::fmt;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message as _;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaErrorCode;
use serde_yaml::Value;

use super::{common, Fault, Log, LogSpec, Message, Read};
use crate::base::time::parse_timestamp;
use crate::base::RunError;
use crate::config::{field, Reader};
use crate::connect::kafka::{client, partitions, unreachable, Watch, METADATA_WAIT};
use crate::plugin::{Source, SourceKind};

/// The default brokers.
const BROKERS: &str = "127.0.0.1:9092";
/// Messages taken per read at most, so other readers get their turn.
const PER_READ: usize = 10_000;

/// The `Kafka` source kind.
pub struct Kafka;

/// Where reading starts in each partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    Earliest,
    Latest,
    Offset(i64),
    /// ms since the epoch.
    Time(i64),
}

/// A topic on some brokers.
#[derive(Clone, Debug)]
struct Topic {
    brokers: String,
    topic: String,
    start: Start,
}

impl SourceKind for Kafka {
    fn name(&self) -> &'static str {
        "Kafka"
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example =
            "Kafka: {brokers: 127.0.0.1:9092, topic: trades, format: Binance, market: btcusdt}";
        let mut keys = vec!["brokers", "topic", "start"];
        keys.extend(super::COMMON);
        let m = r.mapping(v, path, &keys, &["topic", "format", "market"], example)?;
        let brokers = match m.get("brokers") {
            None => Some(BROKERS.to_string()),
            Some(b) => r.string(b, &field(path, "brokers")),
        };
        let topic = m
            .get("topic")
            .and_then(|t| r.string(t, &field(path, "topic")));
        let start = match m.get("start") {
            None => Some(Start::Earliest),
            Some(s) => start(r, s, &field(path, "start")),
        };
        let spec = match (brokers, topic, start) {
            (Some(brokers), Some(topic), Some(start)) => Some(Box::new(Topic {
                brokers,
                topic,
                start,
            }) as Box<dyn LogSpec>),
            _ => None,
        };
        common(r, m, path, spec)
    }
}

/// `earliest`, `latest`, `{offset: N}` or `{time: RFC 3339}`.
fn start(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Start> {
    let hint = "start: earliest, latest, {offset: 1000} or {time: \"2024-08-09T00:00:00Z\"}";
    match v {
        Value::String(s) if s == "earliest" => Some(Start::Earliest),
        Value::String(s) if s == "latest" => Some(Start::Latest),
        Value::Mapping(m) if m.len() == 1 => {
            if let Some(n) = m.get("offset") {
                match n.as_i64() {
                    Some(n) if n >= 0 => Some(Start::Offset(n)),
                    _ => {
                        r.wrong_type(n, &field(path, "offset"), "an offset of 0 or more", None);
                        None
                    }
                }
            } else if let Some(t) = m.get("time") {
                let p = field(path, "time");
                let s = r.string(t, &p)?;
                match parse_timestamp(s.as_bytes()) {
                    Some(ns) => Some(Start::Time(ns.div_euclid(1_000_000))),
                    None => {
                        r.diag.error(
                            &p,
                            format!("'{s}' is not an RFC 3339 time"),
                            Some(hint.into()),
                        );
                        None
                    }
                }
            } else {
                r.diag.error(path, "unknown start", Some(hint.into()));
                None
            }
        }
        _ => {
            r.diag.error(path, "unknown start", Some(hint.into()));
            None
        }
    }
}

impl LogSpec for Topic {
    fn key(&self) -> String {
        format!("kafka {} {} {:?}", self.brokers, self.topic, self.start)
    }

    fn name(&self) -> String {
        format!("kafka {}", self.topic)
    }

    fn open(&self, live: bool) -> Box<dyn Log> {
        Box::new(TopicLog {
            t: self.clone(),
            live,
            consumer: None,
            assigned: false,
            next: Vec::new(),
            from: Vec::new(),
            seen_down: 0,
            plan: Vec::new(),
            buf: Vec::new(),
        })
    }
}

/// A topic being read.
struct TopicLog {
    t: Topic,
    live: bool,
    /// Made at the first connect, and again at each reconnect: a live reader drops its consumer when
    /// every broker is down, so the new one starts with no state from before the outage.
    consumer: Option<BaseConsumer<Watch>>,
    assigned: bool,
    /// Live: the next offset of each partition read from, where a new consumer resumes.
    next: Vec<(i32, i64)>,
    /// `all_down` reports already acted on.
    seen_down: u64,
    /// Batch: the partitions still to read, each with its first offset and the offset it takes messages
    /// from; the first is assigned.
    plan: Vec<(i32, Offset, i64)>,
    /// Live: the offset each partition takes messages from.
    from: Vec<(i32, i64)>,
    /// The payload being handed on (the consumer's message borrows the consumer).
    buf: Vec<u8>,
}

/// A message's place in its topic.
struct At(i32, i64);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "partition {} offset {}", self.0, self.1)
    }
}

impl TopicLog {
    fn consumer(&mut self) -> Result<&BaseConsumer<Watch>, Fault> {
        if self.consumer.is_none() {
            let c = client(&self.t.brokers)
                .set("group.id", "tubes")
                .set("enable.auto.commit", "false")
                .set("enable.auto.offset.store", "false")
                .set("auto.offset.reset", "earliest")
                // Batch reads each partition to the end the broker reports when it gets there.
                .set(
                    "enable.partition.eof",
                    if self.live { "false" } else { "true" },
                )
                .create_with_context(Watch::default())
                .map_err(|e| Fault::Fatal(RunError::Input(format!("Kafka client: {e}"))))?;
            self.consumer = Some(c);
        }
        Ok(self.consumer.as_ref().expect("made above"))
    }

    /// The first offset to read in each partition, by `start`.
    /// The first offset to read in each partition, by `start`, and the offset below which messages are
    /// passed over (an `{offset: N}` past a partition's end starts at its end, reading nothing older).
    fn starts(&self, c: &BaseConsumer<Watch>, parts: &[i32]) -> Result<Vec<(Offset, i64)>, Fault> {
        let down = |e| Fault::Down(unreachable(&self.t.brokers, &e));
        Ok(match self.t.start {
            Start::Earliest => vec![(Offset::Beginning, 0); parts.len()],
            Start::Latest => vec![(Offset::End, 0); parts.len()],
            Start::Offset(n) => {
                let mut each = Vec::new();
                for &p in parts {
                    let (low, high) = c
                        .fetch_watermarks(&self.t.topic, p, METADATA_WAIT)
                        .map_err(down)?;
                    each.push((Offset::Offset(n.clamp(low, high.max(low))), n));
                }
                each
            }
            Start::Time(ms) => {
                let mut tpl = TopicPartitionList::new();
                for &p in parts {
                    tpl.add_partition_offset(&self.t.topic, p, Offset::Offset(ms))
                        .map_err(down)?;
                }
                let found = c.offsets_for_times(tpl, METADATA_WAIT).map_err(down)?;
                // No message at or after the time: the partition's end.
                let at = |o| match o {
                    Offset::Offset(x) if x >= 0 => Offset::Offset(x),
                    _ => Offset::End,
                };
                found
                    .elements()
                    .iter()
                    .map(|e| (at(e.offset()), 0))
                    .collect()
            }
        })
    }

    /// Batch: the partitions, each with the offset reading starts at and the offset it takes from.
    fn plan(
        &self,
        c: &BaseConsumer<Watch>,
        parts: &[i32],
    ) -> Result<Vec<(i32, Offset, i64)>, Fault> {
        let starts = self.starts(c, parts)?;
        Ok(parts
            .iter()
            .zip(starts)
            .map(|(&p, (o, from))| (p, o, from))
            .collect())
    }

    fn assign(&self, c: &BaseConsumer<Watch>, parts: &[(i32, Offset)]) -> Result<(), Fault> {
        let mut tpl = TopicPartitionList::new();
        for &(p, o) in parts {
            tpl.add_partition_offset(&self.t.topic, p, o)
                .map_err(|e| Fault::Fatal(RunError::Input(e.to_string())))?;
        }
        c.assign(&tpl)
            .map_err(|e| Fault::Down(unreachable(&self.t.brokers, &e)))
    }

    fn connect_or_fault(&mut self) -> Result<(), Fault> {
        let (brokers, topic) = (self.t.brokers.clone(), self.t.topic.clone());
        let first = !self.assigned;
        let fresh = self.consumer.is_none();
        // A first connect may wait for slow brokers; a reconnect looks quickly and comes back later.
        let wait = if first {
            METADATA_WAIT
        } else {
            Duration::from_secs(1)
        };
        let c = self.consumer()?;
        let meta = c
            .fetch_metadata(Some(&topic), wait)
            .map_err(|e| Fault::Down(unreachable(&brokers, &e)))?;
        // A topic missing at the start is the config's mistake; missing later, the broker's trouble.
        let parts = partitions(&meta, &topic, &brokers).map_err(|why| {
            if first {
                Fault::Fatal(RunError::Input(format!("Kafka: {why}")))
            } else {
                Fault::Down(why)
            }
        })?;
        self.seen_down = c
            .context()
            .all_down
            .load(std::sync::atomic::Ordering::Relaxed);
        let c = self.consumer.as_ref().expect("made above");
        if self.live && fresh {
            let starts = self.starts(c, &parts)?;
            if first {
                self.from = parts.iter().zip(&starts).map(|(&p, s)| (p, s.1)).collect();
            }
            let each: Vec<(i32, Offset)> = parts
                .iter()
                .zip(starts)
                .map(
                    |(&p, (start, _))| match self.next.iter().find(|(q, _)| *q == p) {
                        Some(&(_, next)) => (p, Offset::Offset(next)),
                        None => (p, start),
                    },
                )
                .collect();
            self.assign(c, &each)?;
        } else if first {
            self.plan = self.plan(c, &parts)?;
            if let Some(&(p, o, _)) = self.plan.first() {
                self.assign(c, &[(p, o)])?;
            }
        }
        self.assigned = true;
        Ok(())
    }

    /// The offset partition `p` takes messages from.
    fn takes_from(&self, p: i32) -> i64 {
        let live = self.from.iter().find(|e| e.0 == p).map(|e| e.1);
        let batch = self.plan.first().filter(|e| e.0 == p).map(|e| e.2);
        live.or(batch).unwrap_or(0)
    }

    /// Live: every broker went away; the consumer is dropped (a new one is made when they come back).
    fn down(&mut self, why: String) -> Fault {
        self.consumer = None;
        Fault::Down(why)
    }

    /// Live: partition `p` was read up to `offset`.
    fn read_to(&mut self, p: i32, offset: i64) {
        match self.next.iter_mut().find(|(q, _)| *q == p) {
            Some(e) => e.1 = offset + 1,
            None => self.next.push((p, offset + 1)),
        }
    }

    /// Batch: partition `p` has been read to its end; reading moves to the next. Whether all are read.
    fn partition_read(&mut self, p: i32) -> Result<bool, Fault> {
        if self.plan.first().is_some_and(|&(want, ..)| want == p) {
            self.plan.remove(0);
            if let Some(&(p, o, _)) = self.plan.first() {
                let c = self.consumer.as_ref().expect("connected");
                self.assign(c, &[(p, o)])?;
            }
        }
        Ok(self.plan.is_empty())
    }
}

impl Log for TopicLog {
    fn connect(&mut self) -> Result<(), Fault> {
        self.connect_or_fault()
    }

    fn read(
        &mut self,
        wait: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<(), RunError>,
    ) -> Result<Read, Fault> {
        if !self.live && self.plan.is_empty() {
            return Ok(Read::End);
        }
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.read_into(wait, each, &mut buf);
        self.buf = buf;
        r
    }
}

impl TopicLog {
    /// [`Log::read`], each payload copied into `buf` (no allocation once it has grown).
    fn read_into(
        &mut self,
        wait: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<(), RunError>,
        buf: &mut Vec<u8>,
    ) -> Result<Read, Fault> {
        let mut wait = wait;
        for _ in 0..PER_READ {
            let c = self.consumer.as_ref().expect("read after connect");
            let watch = c.context();
            let down = watch.all_down.load(std::sync::atomic::Ordering::Relaxed);
            if self.live && down > self.seen_down {
                self.seen_down = down;
                let last = watch.last.lock().map(|l| l.clone()).unwrap_or_default();
                return Err(Fault::Down(
                    last.unwrap_or_else(|| "all brokers down".into()),
                ));
            }
            let (p, offset, some, stamp) = match c.poll(wait) {
                None => return Ok(Read::More),
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    if !self.live && self.partition_read(p)? {
                        return Ok(Read::End);
                    }
                    continue;
                }
                Some(Err(e)) => {
                    let gone = matches!(
                        e.rdkafka_error_code(),
                        Some(
                            RDKafkaErrorCode::UnknownTopicOrPartition
                                | RDKafkaErrorCode::UnknownTopic
                        )
                    );
                    if gone || !self.live {
                        return Err(self.down(format!("{}: {e}", self.t.brokers)));
                    }
                    continue;
                }
                Some(Ok(m)) => {
                    buf.clear();
                    buf.extend_from_slice(m.payload().unwrap_or_default());
                    let stamp = m.timestamp().to_millis();
                    (m.partition(), m.offset(), m.payload().is_some(), stamp)
                }
            };
            wait = Duration::ZERO;
            if self.live {
                self.read_to(p, offset);
            }
            if offset < self.takes_from(p) {
                continue;
            }
            let text = some.then(|| std::str::from_utf8(buf).ok()).flatten();
            each(Message {
                text,
                at: &At(p, offset),
                published_ms: stamp,
            })
            .map_err(Fault::Fatal)?;
        }
        Ok(Read::More)
    }
}
