//! The I/O thread: one `mio` event loop over every WebSocket connection of the graph.
//!
//! It sleeps in `epoll` until a socket is ready or a timer (back-off, watchdog, ping) is due, so an idle
//! feed costs nothing; it also looks at the stop flags at least every 100 ms. Frames are parsed on this
//! thread and the datapoints go to the sequencer through one ring, in the order they were read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Poll, Token};

use super::conn::{Connection, Settings};
use super::market::Market;
use super::tls::client_config;
use super::Exchange;
use crate::base::datapoint::TubeId;
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, RunError};
use crate::plugin::{Limits, SourceRun};

/// `WebSocket: {exchange: Binance, market: btcusdt, channel: trade, url: ws://127.0.0.1:9001, ...}`.
///
/// Emits trades with fields `price`, `quantity`, `side` (+1 taker buy, −1 taker sell), `trade_id`; the
/// exchange's trade time is the event time and the receive time the ingest time.
#[derive(Clone, Debug)]
pub struct WsSource {
    /// The exchange.
    pub exchange: &'static dyn Exchange,
    /// The market, spelt as the exchange spells it (`btcusdt`, `BTC-USD`, `XBT/USD`); with `markets:`,
    /// the first of them.
    pub market: String,
    /// With `markets: [..]`: the markets after the first. Such a generator emits a `symbol` field
    /// (see [`WsSource::keyed`]).
    pub more: Vec<String>,
    /// Whether it was given `markets:`: its trades then carry their market's name in `symbol`.
    pub keyed: bool,
    /// The exchange's channel (Binance: `trade` or `aggTrade`); the exchange's default when not given.
    pub channel: String,
    /// Replaces the scheme, host and port of the exchange's endpoint (`ws://127.0.0.1:9001`).
    pub url: Option<String>,
    /// A PEM file of CA certificates to trust instead of the built-in roots (for a private CA).
    pub ca_file: Option<PathBuf>,
    /// Reconnect when nothing has arrived for this long.
    pub stale_after: Duration,
    /// Send a WebSocket ping this often.
    pub ping_every: Duration,
    /// Reconnect back-off: first delay and cap; each failure doubles the delay, with jitter.
    pub backoff: (Duration, Duration),
    /// Take each datapoint's ingest time from the `mock_sent_ns` stamp the mock exchange adds to every
    /// frame, so latency figures run from the exchange's send (`mock_stamps: true`, which `tubes bench
    /// --feed` sets).
    pub sent_stamps: bool,
}

impl WsSource {
    /// How statuses and the summary name this feed: `binance btcusdt`.
    pub fn feed_name(&self) -> String {
        format!("{} {}", self.exchange.name(), self.markets().join("+"))
    }

    /// Every market it reads.
    pub fn markets(&self) -> Vec<String> {
        let mut all = vec![self.market.clone()];
        all.extend(self.more.iter().cloned());
        all
    }
}

/// The key number of market `name`'s symbol: its name upper-cased without separators (`btcusdt` and
/// `BTC-USD` give `BTCUSDT` and `BTCUSD`), as sinks write it.
pub fn symbol_key(name: &str) -> Result<f64, RunError> {
    let symbol: String = (name.chars())
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    crate::base::keys::intern(symbol.as_bytes())
        .map(f64::from)
        .ok_or_else(|| RunError::Feed("the process holds too many distinct keys".into()))
}

/// One WebSocket generator of the graph.
pub struct FeedSpec {
    /// Its tube id.
    pub id: TubeId,
    /// Its source.
    pub source: WsSource,
    /// Its counters.
    pub counters: Arc<GenCounters>,
}

/// Every connection of a run, and when the run ends.
pub struct FeedLoop {
    poll: Poll,
    conns: Vec<Connection>,
    /// End after this long (`--duration`).
    pub duration: Option<Duration>,
    /// End once no trade has arrived on any feed for this long (`--idle-exit`).
    pub idle_exit: Option<Duration>,
}

/// Longest sleep between looks at the stop flags.
const LOOK: Duration = Duration::from_millis(100);

impl FeedLoop {
    /// Groups the generators into connections (same exchange, channel, endpoint and CA) and prepares TLS.
    pub fn new(feeds: Vec<FeedSpec>) -> Result<FeedLoop, RunError> {
        let poll = Poll::new()
            .map_err(|e| RunError::Feed(format!("cannot create the event loop: {e}")))?;
        type Key = (
            &'static str,
            String,
            Option<String>,
            Option<std::path::PathBuf>,
        );
        let mut groups: Vec<(Key, Vec<FeedSpec>)> = Vec::new();
        for f in feeds {
            let s = &f.source;
            let key = (
                s.exchange.tag(),
                s.channel.clone(),
                s.url.clone(),
                s.ca_file.clone(),
            );
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.push(f),
                None => groups.push((key, vec![f])),
            }
        }
        let mut conns = Vec::new();
        for (i, ((_, channel, url, ca), specs)) in groups.into_iter().enumerate() {
            let first = specs[0].source.clone();
            let exchange = first.exchange;
            let names: Vec<String> = specs.iter().flat_map(|f| f.source.markets()).collect();
            let mut endpoint = exchange.endpoint(&channel, &names);
            if let Some(u) = &url {
                endpoint = endpoint
                    .with_base(u)
                    .map_err(|e| RunError::Feed(e.to_string()))?;
            }
            let tls = if endpoint.tls {
                Some(client_config(ca.as_deref()).map_err(|e| RunError::Feed(e.to_string()))?)
            } else {
                None
            };
            let settings = Settings {
                subscribe: exchange.subscribe(&channel, &names),
                endpoint,
                tls,
                // Shared by the connection's generators: the strictest of their settings.
                stale_after: specs
                    .iter()
                    .map(|f| f.source.stale_after)
                    .min()
                    .expect("a group has a generator"),
                ping_every: specs
                    .iter()
                    .map(|f| f.source.ping_every)
                    .min()
                    .expect("a group has a generator"),
                backoff: first.backoff,
                stamps: specs.iter().any(|f| f.source.sent_stamps),
            };
            let markets = specs
                .into_iter()
                .flat_map(|f| {
                    let keyed = f.source.keyed;
                    (f.source.markets().into_iter()).map(move |name| {
                        let mut m = Market::new(name, f.id, f.counters.clone());
                        if keyed {
                            m.key = Some(symbol_key(&m.name)?);
                        }
                        Ok(m)
                    })
                })
                .collect::<Result<_, RunError>>()?;
            conns.push(Connection::new(exchange, markets, settings, Token(i)));
        }
        Ok(FeedLoop {
            poll,
            conns,
            duration: None,
            idle_exit: None,
        })
    }

    /// Runs until the run is stopped (signal, `--duration`, `--idle-exit`) or fails.
    fn run_feeds(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let start = Instant::now();
        for c in &mut self.conns {
            c.last_trade = start;
        }
        let mut events = Events::with_capacity(64);
        let result = loop {
            if ctx.stopped() {
                break Err(RunError::Stopped);
            }
            let now = Instant::now();
            if ctx.stop_requested()
                || self.duration.is_some_and(|d| now - start >= d)
                || self
                    .idle_exit
                    .is_some_and(|d| self.conns.iter().all(|c| now - c.last_trade >= d))
            {
                break Ok(());
            }
            let mut next = now + LOOK;
            if let Some(d) = self.duration {
                next = next.min(start + d);
            }
            let registry = self.poll.registry();
            let mut failed = None;
            for c in &mut self.conns {
                match c.tick(registry, out, ctx) {
                    Ok(due) => next = next.min(due),
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                break Err(e);
            }
            let wait = next.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                break Err(RunError::Feed(format!("the event loop failed: {e}")));
            }
            let registry = self.poll.registry();
            for ev in events.iter() {
                if let Some(c) = self.conns.get_mut(ev.token().0) {
                    if let Err(e) = c.ready(registry, out, ctx) {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                break Err(e);
            }
        };
        for c in &mut self.conns {
            c.close();
        }
        result
    }
}

impl SourceRun for FeedLoop {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        self.run_feeds(out, ctx)
    }

    fn limit(&mut self, limits: Limits) {
        if limits.duration.is_some() {
            self.duration = limits.duration;
        }
        if limits.idle_exit.is_some() {
            self.idle_exit = limits.idle_exit;
        }
    }
}
