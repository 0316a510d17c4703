//! One WebSocket connection to an exchange: connect, TLS, handshake, subscribe, read until `WouldBlock`,
//! and on any failure announce it to the graph and reconnect after a capped, jittered back-off. Trades
//! already seen are never emitted twice, and a jump in trade ids becomes a gap status.

use std::net::ToSocketAddrs;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::ClientHandshake;
use tungstenite::handshake::{HandshakeError, MidHandshake};
use tungstenite::{Message, WebSocket};

use super::exchange::{Endpoint, Exchange};
use super::market::Market;
use super::net::NetStream;
use super::router::{push, Router};
use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::status::{self, Reason};
use crate::base::time::{monotonic_ns, wall_ns};
use crate::base::{Ctx, Outlet, RunError};

enum State {
    /// Backing off until the instant, then connecting.
    Waiting(Instant),
    /// TCP connect in progress.
    Connecting(TcpStream),
    /// TLS and WebSocket handshake in progress.
    Handshake(MidHandshake<ClientHandshake<NetStream>>),
    /// Subscribed and reading.
    Open(Box<WebSocket<NetStream>>),
}

/// Settings of a connection, from its generators' config.
pub(super) struct Settings {
    pub endpoint: Endpoint,
    pub subscribe: Vec<String>,
    pub tls: Option<Arc<ClientConfig>>,
    pub stale_after: Duration,
    pub ping_every: Duration,
    pub backoff: (Duration, Duration),
    pub stamps: bool,
}

/// A connection and the markets it carries.
pub(super) struct Connection {
    /// For messages: `binance btcusdt+ethusdt`.
    pub label: String,
    s: Settings,
    token: Token,
    state: State,
    router: Router,
    /// Consecutive failures since the last useful connection (drives the back-off).
    failures: u32,
    up: bool,
    ever_up: bool,
    down_announced: bool,
    reconnects: u64,
    /// When the last trade arrived (or the loop started): for `--idle-exit`.
    pub last_trade: Instant,
    last_recv: Instant,
    last_ping: Instant,
    since: Instant,
    rng: u64,
}

/// What became of a step: go on, or the run must fail.
type Step = Result<(), RunError>;

impl Connection {
    pub fn new(
        exchange: &'static dyn Exchange,
        markets: Vec<Market>,
        s: Settings,
        token: Token,
    ) -> Self {
        let now = Instant::now();
        let names: Vec<&str> = markets.iter().map(|m| m.name.as_str()).collect();
        Connection {
            label: format!("{} {}", exchange.name(), names.join("+")),
            router: Router {
                exchange: Box::new(exchange),
                ids: exchange.ids(),
                markets,
                stamps: s.stamps,
                checked: true,
            },
            s,
            token,
            state: State::Waiting(now),
            failures: 0,
            up: false,
            ever_up: false,
            down_announced: false,
            reconnects: 0,
            last_trade: now,
            last_recv: now,
            last_ping: now,
            since: now,
            rng: (wall_ns() as u64 ^ (token.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1,
        }
    }

    fn note_error(&self, e: String) {
        for m in &self.router.markets {
            *m.counters
                .last_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
        }
    }

    /// The next back-off: min·2^failures capped at max, then a uniform draw from its upper half.
    fn backoff(&mut self) -> Duration {
        let (lo, hi) = self.s.backoff;
        let exp = lo.saturating_mul(1u32 << self.failures.min(20)).min(hi);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let jitter = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        exp.mul_f64(0.5 + 0.5 * jitter)
    }

    fn announce(
        &mut self,
        make: impl Fn(TubeId, i64, u64) -> Datapoint,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Step {
        let (t, now) = (wall_ns(), monotonic_ns());
        for m in &self.router.markets {
            let dp = make(m.id, t, now);
            m.counters.note_status(&dp);
            push(out, dp, ctx)?;
        }
        out.notify();
        Ok(())
    }

    /// The connection is lost (or could not be made): say so once, then wait and reconnect.
    fn lost(
        &mut self,
        reason: Reason,
        why: String,
        reg: &Registry,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Step {
        let now = Instant::now();
        match std::mem::replace(&mut self.state, State::Waiting(now)) {
            State::Connecting(mut tcp) => {
                let _ = reg.deregister(&mut tcp);
            }
            State::Handshake(mut mid) => {
                let _ = reg.deregister(mid.get_mut().get_mut().tcp());
            }
            State::Open(mut ws) => {
                let _ = reg.deregister(ws.get_mut().tcp());
            }
            State::Waiting(_) => {}
        }
        self.note_error(format!("{}: {why}", self.s.endpoint.url()));
        if self.up || !self.down_announced {
            let reason = if self.up { reason } else { Reason::Unreachable };
            self.announce(|id, t, n| status::down(id, reason, t, n), out, ctx)?;
            self.down_announced = true;
        }
        self.up = false;
        let delay = self.backoff();
        self.failures = self.failures.saturating_add(1);
        self.state = State::Waiting(now + delay);
        Ok(())
    }

    fn fatal(&self, what: String) -> RunError {
        RunError::Feed(format!(
            "{} ({}): {what}",
            self.label,
            self.s.endpoint.url()
        ))
    }

    fn connect(&mut self, reg: &Registry) -> Result<(), ConnectError> {
        let ep = &self.s.endpoint;
        let addr = (ep.host.as_str(), ep.port)
            .to_socket_addrs()
            .map_err(|e| ConnectError::Resolve(ep.host.clone(), e))?
            .next()
            .ok_or_else(|| ConnectError::NoAddress(ep.host.clone()))?;
        let mut tcp = TcpStream::connect(addr).map_err(ConnectError::Connect)?;
        reg.register(
            &mut tcp,
            self.token,
            Interest::READABLE | Interest::WRITABLE,
        )
        .map_err(ConnectError::Register)?;
        self.state = State::Connecting(tcp);
        self.since = Instant::now();
        Ok(())
    }

    /// Timers: back-off over, watchdog, connect timeout, pings. Returns the next instant it needs a look.
    pub fn tick(
        &mut self,
        reg: &Registry,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Result<Instant, RunError> {
        let now = Instant::now();
        match &mut self.state {
            State::Waiting(until) if now >= *until => {
                if let Err(e) = self.connect(reg) {
                    self.lost(Reason::Unreachable, e.to_string(), reg, out, ctx)?;
                }
            }
            State::Connecting(_) | State::Handshake(_) if now - self.since > self.s.stale_after => {
                let why = format!("no handshake within stale_after ({:?})", self.s.stale_after);
                self.lost(Reason::Unreachable, why, reg, out, ctx)?;
            }
            State::Open(_) if now - self.last_recv > self.s.stale_after => {
                let why = format!(
                    "nothing received for stale_after ({:?})",
                    self.s.stale_after
                );
                self.lost(Reason::Stale, why, reg, out, ctx)?;
            }
            State::Open(ws) if now - self.last_ping >= self.s.ping_every => {
                self.last_ping = now;
                if let Err(e) = ws.send(Message::Ping(Default::default())) {
                    if !would_block(&e) {
                        self.lost(Reason::Error, format!("ping: {e}"), reg, out, ctx)?;
                    }
                }
            }
            _ => {}
        }
        Ok(match &self.state {
            State::Waiting(until) => *until,
            State::Connecting(_) | State::Handshake(_) => self.since + self.s.stale_after,
            State::Open(_) => {
                (self.last_recv + self.s.stale_after).min(self.last_ping + self.s.ping_every)
            }
        })
    }

    /// The socket is ready: move the connection on as far as it goes without blocking.
    pub fn ready(&mut self, reg: &Registry, out: &mut Outlet, ctx: &mut Ctx) -> Step {
        let now = Instant::now();
        match std::mem::replace(&mut self.state, State::Waiting(now)) {
            State::Connecting(tcp) => self.connected(tcp, reg, out, ctx),
            State::Handshake(mid) => self.handshake(mid.handshake(), reg, out, ctx),
            State::Open(ws) => {
                self.state = State::Open(ws);
                self.drain(reg, out, ctx)
            }
            waiting => {
                self.state = waiting;
                Ok(())
            }
        }
    }

    fn connected(
        &mut self,
        tcp: TcpStream,
        reg: &Registry,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Step {
        let refused = match tcp.take_error() {
            Ok(Some(e)) | Err(e) => Some(e.to_string()),
            Ok(None) => match tcp.peer_addr() {
                Ok(_) => None,
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => {
                    self.state = State::Connecting(tcp);
                    return Ok(());
                }
                Err(e) => Some(e.to_string()),
            },
        };
        if let Some(e) = refused {
            self.state = State::Connecting(tcp);
            return self.lost(Reason::Unreachable, format!("connect: {e}"), reg, out, ctx);
        }
        let _ = tcp.set_nodelay(true);
        let stream = match &self.s.tls {
            None => NetStream::Plain(tcp),
            Some(cfg) => {
                let name = ServerName::try_from(self.s.endpoint.host.clone()).map_err(|e| {
                    self.fatal(format!(
                        "'{}' is not a TLS server name: {e}",
                        self.s.endpoint.host
                    ))
                })?;
                let conn = ClientConnection::new(cfg.clone(), name)
                    .map_err(|e| self.fatal(format!("TLS set-up: {e}")))?;
                NetStream::Tls(Box::new(StreamOwned::new(conn, tcp)))
            }
        };
        let request = self
            .s
            .endpoint
            .url()
            .into_client_request()
            .map_err(|e| self.fatal(format!("bad request URL: {e}")))?;
        match ClientHandshake::start(stream, request, None) {
            Ok(mid) => self.handshake(mid.handshake(), reg, out, ctx),
            Err(e) => self.lost(
                Reason::Unreachable,
                format!("handshake: {e}"),
                reg,
                out,
                ctx,
            ),
        }
    }

    fn handshake(
        &mut self,
        r: Result<
            (
                WebSocket<NetStream>,
                tungstenite::handshake::client::Response,
            ),
            HandshakeError<ClientHandshake<NetStream>>,
        >,
        reg: &Registry,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Step {
        match r {
            Ok((ws, _)) => self.opened(ws, reg, out, ctx),
            Err(HandshakeError::Interrupted(mid)) => {
                self.state = State::Handshake(mid);
                Ok(())
            }
            Err(HandshakeError::Failure(e)) => {
                if let tungstenite::Error::Io(io) = &e {
                    if let Some(cert) = super::tls::certificate_error(io) {
                        return Err(self.fatal(format!(
                            "{cert}; for a private CA set tls: {{ca_file: ca.pem}} on the WebSocket source"
                        )));
                    }
                }
                self.lost(
                    Reason::Unreachable,
                    format!("handshake: {e}"),
                    reg,
                    out,
                    ctx,
                )
            }
        }
    }

    fn opened(
        &mut self,
        mut ws: WebSocket<NetStream>,
        reg: &Registry,
        out: &mut Outlet,
        ctx: &mut Ctx,
    ) -> Step {
        for text in &self.s.subscribe {
            if let Err(e) = ws.send(Message::text(text.clone())) {
                if !would_block(&e) {
                    return self.lost(Reason::Error, format!("subscribe: {e}"), reg, out, ctx);
                }
            }
        }
        if self.ever_up {
            self.reconnects += 1;
            for m in &self.router.markets {
                m.counters.reconnects.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.ever_up = true;
        self.up = true;
        self.down_announced = false;
        let now = Instant::now();
        (self.last_recv, self.last_ping) = (now, now);
        let k = self.reconnects;
        self.announce(|id, t, n| status::up(id, k, t, n), out, ctx)?;
        self.state = State::Open(Box::new(ws));
        // Frames may have arrived with the handshake's response: read them now, as no new event will come.
        self.drain(reg, out, ctx)
    }

    /// Reads every frame available, then flushes what the WebSocket layer queued (pongs, pings).
    fn drain(&mut self, reg: &Registry, out: &mut Outlet, ctx: &mut Ctx) -> Step {
        let State::Open(ws) = &mut self.state else {
            return Ok(());
        };
        let mut failure = None;
        loop {
            match ws.read() {
                Ok(msg) => {
                    let recv = monotonic_ns();
                    self.last_recv = Instant::now();
                    let text = match &msg {
                        Message::Text(t) => Some(t.as_str()),
                        Message::Binary(b) => match std::str::from_utf8(b) {
                            Ok(t) => Some(t),
                            Err(_) => {
                                for m in &self.router.markets {
                                    m.counters.malformed.fetch_add(1, Ordering::Relaxed);
                                }
                                None
                            }
                        },
                        _ => None,
                    };
                    if let Some(text) = text {
                        if self.router.on_text(text, recv, out, ctx)?.taken > 0 {
                            self.last_trade = self.last_recv;
                            self.failures = 0;
                        }
                    }
                }
                Err(e) if would_block(&e) => break,
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        out.notify();
        if failure.is_none() {
            match ws.flush() {
                Err(e) if !would_block(&e) => failure = Some(e),
                _ => return Ok(()),
            }
        }
        let e = failure.expect("set above");
        let reason = match &e {
            tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            ) => Reason::Closed,
            _ => Reason::Error,
        };
        self.lost(reason, e.to_string(), reg, out, ctx)
    }

    /// Closes politely (best effort) at the end of the run.
    pub fn close(&mut self) {
        if let State::Open(ws) = &mut self.state {
            let _ = ws.close(None);
            let _ = ws.flush();
        }
    }
}

/// Why a TCP connection could not be opened (the feed then goes down as unreachable and retries).
#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error("cannot resolve {0}: {1}")]
    Resolve(String, std::io::Error),
    #[error("{0} has no address")]
    NoAddress(String),
    #[error("connect: {0}")]
    Connect(std::io::Error),
    #[error("register: {0}")]
    Register(std::io::Error),
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock)
}
