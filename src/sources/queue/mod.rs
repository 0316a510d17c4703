//! Trades from a message log: a Kafka topic (`Kafka`) or a Redis stream (`Redis`) whose messages are
//! an exchange's trade payloads, exactly as its WebSocket stream sends them (`format: Binance`), parsed by
//! that exchange's own parser.
//!
//! Every `Kafka` and `Redis` generator runs on one thread, `tubes-mq`, with one ring to the sequencer.
//! Generators that read the same topic (or stream) share one reader, so their trades keep the log's
//! order, as feeds sharing one WebSocket do; each takes the trades of its `market`. In Stream the
//! thread reads until the run ends, and a log that cannot be reached is retried with back-off for ever,
//! its outage told to the graph as status datapoints. In Batch it reads what the log held when the run
//! started, and the generators' trades are then ordered by trade time ([`run`]).

mod json;
mod kafka;
mod redis;
mod run;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

pub use self::kafka::Kafka;
pub use self::redis::Redis;
use super::ws::{Exchange, IdRule, Parse, EXCHANGES};
use super::TRADE_FIELDS;
use crate::base::datapoint::TubeId;
use crate::base::{GenCounters, RunError};
use crate::config::{field, Diagnostics, PipelineType, Reader};
use crate::plugin::{CheckSource, OpenSource, Source, SourceRun, Thread};

/// How many malformed messages a generator names by their place in the log.
pub const NAMED: usize = 5;

/// One message read from a log.
pub struct Message<'a> {
    /// Its payload, when it is UTF-8 text.
    pub text: Option<&'a str>,
    /// Where it is in the log, for reports (`partition 0 offset 17`, `id 1723161255342-0`).
    pub at: &'a dyn std::fmt::Display,
    /// When it was published, ms since the epoch, when the log says (a Kafka message's timestamp, a
    /// Redis entry id's time).
    pub published_ms: Option<i64>,
}

/// What a read did.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    /// Read what there was; there may be more.
    More,
    /// Batch: everything the log held at the start has been read.
    End,
}

/// Why a read stopped.
pub enum Fault {
    /// The connection is lost or the log cannot be reached: retried (Stream) or fatal (Batch).
    Down(String),
    /// The run must fail.
    Fatal(RunError),
}

/// A log being read.
pub trait Log: Send {
    /// Connects, or checks that the connection came back: [`Fault::Down`] when it cannot, and
    /// [`Fault::Fatal`] when the log can never be read as configured (a topic missing at the start).
    fn connect(&mut self) -> Result<(), Fault>;
    /// Reads the messages there are, waiting at most `wait` for the first, and hands each to `each`.
    fn read(
        &mut self,
        wait: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<(), RunError>,
    ) -> Result<Read, Fault>;
}

/// Where a log is, as a generator's config names it.
pub trait LogSpec: std::fmt::Debug + Send + Sync {
    /// Generators whose specs have the same key share one reader (`kafka 127.0.0.1:9092 trades`).
    fn key(&self) -> String;
    /// How statuses name the log (`kafka trades`).
    fn name(&self) -> String;
    /// A reader of it; `live` in Stream.
    fn open(&self, live: bool) -> Box<dyn Log>;
}

/// How a queue's messages are read: an exchange's payloads, or JSON objects mapped member by member.
#[derive(Clone, Debug)]
pub enum Format {
    /// `format: Binance`: the exchange's own parser.
    Exchange(&'static dyn Exchange),
    /// `format: {JSON: {time: …, price: …, quantity: …, market: …}}`.
    Json(json::JsonMap),
}

impl Format {
    /// A parser of messages in this format.
    pub fn parser(&self) -> Box<dyn Parse> {
        match self {
            Format::Exchange(x) => Box::new(*x),
            Format::Json(m) => Box::new(m.clone()),
        }
    }

    /// How the trade ids of this format behave.
    pub fn ids(&self) -> IdRule {
        match self {
            Format::Exchange(x) => x.ids(),
            Format::Json(m) => m.ids(),
        }
    }
}

/// What to do with a message that is not a trade payload of the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Count it, name the first few, and go on.
    Skip,
    /// Stop the run, naming it.
    Fail,
}

/// A `Kafka` or `Redis` generator.
#[derive(Debug)]
pub struct QueueSource {
    /// Where the log is.
    pub spec: Box<dyn LogSpec>,
    /// How the messages are read.
    pub format: Format,
    /// The market this generator takes (`btcusdt`, compared ignoring case).
    pub market: String,
    /// Malformed messages.
    pub on_error: OnError,
    /// Latency figures run from each message's publish time instead of its receipt
    /// (`latency_from: publish`).
    pub from_publish: bool,
    /// Stream (set by the check).
    pub live: bool,
}

impl QueueSource {
    /// How statuses and the summary name this generator's feed: `kafka trades btcusdt`.
    fn feed_name(&self) -> String {
        format!("{} {}", self.spec.name(), self.market)
    }
}

/// The keys every queue source has (besides where its log is).
pub const COMMON: [&str; 4] = ["format", "market", "on_error", "latency_from"];

/// Reads the keys every queue source has ([`COMMON`]) from mapping `m`.
pub fn common(
    r: &mut Reader<'_>,
    m: &serde_yaml::Mapping,
    path: &str,
    spec: Option<Box<dyn LogSpec>>,
) -> Option<Box<dyn Source>> {
    let mut names: Vec<&str> = EXCHANGES.iter().map(|x| x.tag()).collect();
    names.push("JSON");
    let format = m.get("format").and_then(|e| {
        let (tag, payload, at) = r.tagged(e, &field(path, "format"), &names, "format")?;
        if tag == "JSON" {
            return json::JsonMap::read(r, payload, &at).map(Format::Json);
        }
        EXCHANGES
            .iter()
            .copied()
            .find(|x| x.tag() == tag)
            .map(Format::Exchange)
    });
    let market = m
        .get("market")
        .and_then(|x| r.string(x, &field(path, "market")));
    let from_publish = match m.get("latency_from") {
        None => Some(false),
        Some(v) => r
            .tagged(
                v,
                &field(path, "latency_from"),
                &["receive", "publish"],
                "latency_from",
            )
            .map(|(t, ..)| t == "publish"),
    };
    let on_error = match m.get("on_error") {
        None => Some(OnError::Skip),
        Some(v) => r
            .tagged(v, &field(path, "on_error"), &["skip", "fail"], "on_error")
            .map(|(t, ..)| {
                if t == "fail" {
                    OnError::Fail
                } else {
                    OnError::Skip
                }
            }),
    };
    Some(Box::new(QueueSource {
        spec: spec?,
        format: format?,
        market: market?,
        on_error: on_error?,
        from_publish: from_publish?,
        live: false,
    }))
}

impl Source for QueueSource {
    fn check(&mut self, cx: &CheckSource<'_>, _: &mut Diagnostics) -> Option<Vec<String>> {
        self.live = matches!(cx.pipeline, PipelineType::Stream);
        Some(TRADE_FIELDS.iter().map(|f| f.to_string()).collect())
    }

    fn describe(&self) -> String {
        self.feed_name()
    }

    fn feed(&self) -> Option<String> {
        self.live.then(|| self.feed_name())
    }

    fn symbol(&self) -> Option<String> {
        Some(self.market.clone())
    }

    fn thread(&self) -> Thread {
        Thread::Shared {
            ring: "queues",
            thread: "tubes-mq",
        }
    }

    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        self.open_shared(vec![(at, self)])
    }

    fn open_shared(
        &self,
        group: Vec<(OpenSource, &dyn Source)>,
    ) -> Result<Box<dyn SourceRun>, RunError> {
        let range = group.first().and_then(|(o, _)| o.range);
        let members: Vec<(&QueueSource, TubeId, Arc<GenCounters>)> = group
            .into_iter()
            .map(|(o, s)| {
                let s = s
                    .as_any()
                    .downcast_ref::<QueueSource>()
                    .expect("sources on the message-queue thread are queue sources");
                (s, o.id, o.counters)
            })
            .collect();
        Ok(Box::new(run::QueueRun::new(members, self.live, range)))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
