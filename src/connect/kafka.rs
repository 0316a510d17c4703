//! Kafka brokers, through librdkafka (the `rdkafka` crate, with the library built from its vendored
//! source): the client settings, the topic check and the broker-state context shared by the `Kafka`
//! source, the `Kafka` sink and `tubes publish`.
//!
//! librdkafka runs threads of its own (one per broker connection, and a main thread); Tubes polls its
//! consumers on the message-queue thread of the source and its producer on a polling thread the sink
//! starts, never on an engine thread.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::message::DeliveryResult;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

/// How long a metadata request may take before the brokers count as unreachable.
pub const METADATA_WAIT: Duration = Duration::from_secs(5);

/// The settings every client of `brokers` starts from.
pub fn client(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("client.id", "tubes")
        // A broker that went away is retried quickly, up to every 2 s.
        .set("reconnect.backoff.ms", "100")
        .set("reconnect.backoff.max.ms", "2000")
        .set("log_level", "3");
    c
}

/// What librdkafka said of the brokers, read by the thread that polls the client. librdkafka calls it
/// from its own threads.
#[derive(Default)]
pub struct Watch {
    /// Global errors reported (a broker's connection failing, every broker down).
    pub errors: AtomicU64,
    /// Times every broker was down at once.
    pub all_down: AtomicU64,
    /// The last error, for the run's summary.
    pub last: Mutex<Option<String>>,
}

impl ClientContext for Watch {
    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.all_down.fetch_add(1, Ordering::Relaxed);
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Watch {}

/// The partitions of `topic` from metadata, or why there are none: the topic does not exist, or the
/// brokers cannot be reached.
pub fn partitions(metadata: &Metadata, topic: &str, brokers: &str) -> Result<Vec<i32>, String> {
    let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Err(format!("topic '{topic}' does not exist on {brokers}"));
    };
    if let Some(e) = t.error() {
        let code = RDKafkaErrorCode::from(e);
        if code == RDKafkaErrorCode::UnknownTopicOrPartition
            || code == RDKafkaErrorCode::UnknownTopic
        {
            return Err(format!(
                "topic '{topic}' does not exist on {brokers}; create it (tansu topic create, kafka-topics.sh --create) or publish to it first"
            ));
        }
        return Err(format!("topic '{topic}' on {brokers}: {code}"));
    }
    let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
    if ids.is_empty() {
        return Err(format!("topic '{topic}' on {brokers} has no partitions"));
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Why a metadata request failed, as a sentence naming the brokers.
pub fn unreachable(brokers: &str, e: &KafkaError) -> String {
    format!("cannot reach the Kafka brokers at {brokers}: {e}")
}

/// What became of a producer's messages, counted by librdkafka's threads.
#[derive(Default)]
pub struct Deliveries {
    /// The brokers' state.
    pub watch: Watch,
    /// Messages the brokers acknowledged.
    pub delivered: AtomicU64,
    /// Messages that could not be delivered (librdkafka retries until `message.timeout.ms`).
    pub failed: AtomicU64,
    /// Why the first of them failed.
    pub first_failure: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {
    fn log(&self, _: rdkafka::config::RDKafkaLogLevel, _: &str, _: &str) {}

    fn error(&self, error: KafkaError, reason: &str) {
        self.watch.error(error, reason);
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_failure.lock().unwrap_or_else(|p| p.into_inner());
                first.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

/// A producer to one topic. librdkafka batches, sends and retries on threads of its own; delivery
/// reports are polled by the producer's polling thread (`ThreadedProducer`), so the caller only
/// enqueues.
pub struct Producer {
    inner: ThreadedProducer<Deliveries>,
    /// The brokers, for messages.
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// Messages enqueued.
    pub sent: u64,
}

/// What a producer's messages came to at its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// Enqueued.
    pub sent: u64,
    /// Acknowledged by the brokers.
    pub delivered: u64,
    /// Failed, or still unacknowledged when the wait ran out.
    pub lost: u64,
    /// Why the first failed.
    pub why: Option<String>,
}

impl Producer {
    /// A producer to `topic`, which must exist: idempotent (`enable.idempotence`, so librdkafka's
    /// retries write no duplicates), every in-sync replica acknowledging, retrying for `retry_for`.
    pub fn new(brokers: &str, topic: &str, retry_for: Duration) -> Result<Producer, String> {
        let inner: ThreadedProducer<Deliveries> = client(brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "1")
            .set("message.timeout.ms", retry_for.as_millis().to_string())
            .create_with_context(Deliveries::default())
            .map_err(|e| format!("Kafka producer for {brokers}: {e}"))?;
        let meta = inner
            .client()
            .fetch_metadata(Some(topic), METADATA_WAIT)
            .map_err(|e| unreachable(brokers, &e))?;
        partitions(&meta, topic, brokers)?;
        Ok(Producer {
            inner,
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            sent: 0,
        })
    }

    /// Enqueues one message; while librdkafka's queue is full (the brokers are slow or away), waits
    /// for it to drain, so a slow broker slows the caller instead of losing messages.
    pub fn send(&mut self, key: Option<&[u8]>, payload: &[u8]) -> Result<(), String> {
        loop {
            let mut record = BaseRecord::to(&self.topic).payload(payload);
            if let Some(k) = key {
                record = record.key(k);
            }
            match self.inner.send(record) {
                Ok(()) => {
                    self.sent += 1;
                    return Ok(());
                }
                Err((e, _)) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) => {
                    self.inner.poll(Duration::from_millis(10));
                }
                Err((e, _)) => {
                    return Err(format!(
                        "Kafka topic '{}' on {}: {e}",
                        self.topic, self.brokers
                    ))
                }
            }
        }
    }

    /// Waits up to `wait` for every message to be acknowledged; what became of them.
    pub fn finish(&mut self, wait: Duration) -> Delivered {
        let _ = self.inner.flush(wait);
        let cx = self.inner.context();
        let delivered = cx.delivered.load(Ordering::Relaxed);
        let why = cx
            .first_failure
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
            .or_else(|| cx.watch.last.lock().map(|l| l.clone()).unwrap_or_default());
        Delivered {
            sent: self.sent,
            delivered,
            lost: self.sent.saturating_sub(delivered),
            why,
        }
    }
}

/// Creates `topic` with `partitions` partitions (replication 1) unless it exists; whether it created it.
pub fn create_topic(brokers: &str, topic: &str, partitions: i32) -> Result<bool, String> {
    let admin: AdminClient<DefaultClientContext> = client(brokers)
        .create()
        .map_err(|e| format!("Kafka admin client for {brokers}: {e}"))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(METADATA_WAIT));
    let results =
        block_on(admin.create_topics([&new], &opts)).map_err(|e| unreachable(brokers, &e))?;
    match results.into_iter().next() {
        Some(Ok(_)) => Ok(true),
        Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(false),
        Some(Err((_, code))) => Err(format!(
            "cannot create topic '{topic}' on {brokers}: {code}"
        )),
        None => Err(format!(
            "cannot create topic '{topic}' on {brokers}: no answer"
        )),
    }
}

/// Runs a future of the admin client to its end on this thread. The admin client completes its futures
/// from a thread of its own, so no runtime is needed: this thread sleeps until woken.
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        match f.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}
