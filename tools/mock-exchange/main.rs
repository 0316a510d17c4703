//! `mock-exchange`: a loopback WebSocket server that plays an exchange from real captured messages.
//!
//! It speaks the exchange's subscribe protocol, then replays the capture (original pacing, scaled, fixed
//! rate or as fast as possible) and injects faults on demand: dropped connections, malformed frames, a
//! stall, skipped trade ids. With `--stamp` every frame carries its send time for wire-to-sink latency.
//! It prints `listening on ws://127.0.0.1:PORT` on its first line of output, then serves until killed.
//!
//! ```text
//! mock-exchange --exchange binance --capture testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson --speed 10
//! ```

mod protocol;
mod replay;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use protocol::Exchange;
use replay::{Capture, Cut, Faults, Pacing, Shared};

#[derive(Parser)]
#[command(
    name = "mock-exchange",
    about = "A loopback exchange WebSocket that replays real captures, with faults on demand",
    after_help = "Examples:\n  mock-exchange --exchange binance --capture testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson --speed max\n  mock-exchange --exchange binance --capture FILE --drop-every 5000 --overlap 100\n  mock-exchange --exchange binance --capture FILE --tls-cert testdata/tls/server.pem --tls-key testdata/tls/server.key"
)]
struct Args {
    /// Which exchange's protocol to speak.
    #[arg(long, value_enum)]
    exchange: Exchange,
    /// NDJSON file of captured messages, one per line (testdata/ws/*.ndjson).
    #[arg(long)]
    capture: PathBuf,
    /// Receive times of the capture (default: the .recv_ts.csv beside it, when there is one).
    #[arg(long)]
    recv_ts: Option<PathBuf>,
    /// Address to listen on (loopback only by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port; 0 picks a free one (printed on the first line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Pacing: 1 is the capture's own, 10 ten times faster, max as fast as the client reads.
    #[arg(long, default_value = "1")]
    speed: String,
    /// Send at a fixed number of messages per second instead (overrides --speed).
    #[arg(long)]
    rate: Option<f64>,
    /// Serve wss:// with this certificate chain (PEM) ...
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// ... and this private key (PEM, PKCS#8).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Drop each connection (no close frame) after this many messages.
    #[arg(long)]
    drop_every: Option<u64>,
    /// A reconnecting client gets the last N messages it was sent again (to test de-duplication).
    #[arg(long, default_value_t = 0)]
    overlap: usize,
    /// After every N messages, send a truncated copy of the next one.
    #[arg(long)]
    malformed_every: Option<u64>,
    /// After N messages, stop sending (keeping the connection open) for --stall-for.
    #[arg(long, requires = "stall_for")]
    stall_after: Option<u64>,
    /// How long the stall lasts, e.g. 3s.
    #[arg(long, value_parser = duration)]
    stall_for: Option<Duration>,
    /// Never send capture lines AT..AT+N (0-based), e.g. 1000:100; repeatable.
    #[arg(long, value_parser = skip)]
    skip: Vec<(usize, usize)>,
    /// Add "mock_sent_ns":<send time> to every JSON object frame, for wire-to-sink latency (when it was
    /// due), and before it "mock_wrote_ns":<time> (when it was written).
    #[arg(long)]
    stamp: bool,
    /// Paced, spin the last 50 µs before each message is due instead of sleeping to it: precise, but it
    /// keeps a core busy (give the mock a core of its own).
    #[arg(long)]
    spin: bool,
    /// Start the capture again when it ends (for long benchmarks).
    #[arg(long = "loop")]
    repeat: bool,
}

fn duration(s: &str) -> Result<Duration, String> {
    match tubes::config::parse_duration(s) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("'{s}' is not a duration like 3s or 500ms")),
    }
}

fn skip(s: &str) -> Result<(usize, usize), String> {
    let (a, n) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}' is not AT:COUNT"))?;
    Ok((
        a.parse()
            .map_err(|_| format!("'{a}' is not a line index"))?,
        n.parse().map_err(|_| format!("'{n}' is not a count"))?,
    ))
}

/// A plain or TLS server stream.
enum Stream {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(b),
            Stream::Tls(s) => s.read(b),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(b),
            Stream::Tls(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Cut for Stream {
    fn cut(&mut self) {
        let tcp = match self {
            Stream::Plain(s) => &*s,
            Stream::Tls(s) => &s.sock,
        };
        let _ = tcp.shutdown(std::net::Shutdown::Both);
    }
}

fn tls_config(cert: &PathBuf, key: &PathBuf) -> Result<Arc<ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect())
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(cfg))
}

struct Setup {
    exchange: Exchange,
    capture: Capture,
    pacing: Pacing,
    faults: Faults,
    tls: Option<Arc<ServerConfig>>,
    shared: Arc<Mutex<Shared>>,
}

// tungstenite's handshake callback returns its own (large) error response type.
#[allow(clippy::result_large_err)]
fn serve(setup: &Setup, tcp: TcpStream, id: u64) -> String {
    let _ = tcp.set_nodelay(true);
    let stream = match &setup.tls {
        None => Stream::Plain(tcp),
        Some(cfg) => match ServerConnection::new(cfg.clone()) {
            Ok(c) => Stream::Tls(Box::new(StreamOwned::new(c, tcp))),
            Err(e) => return format!("connection {id}: TLS: {e}"),
        },
    };
    let mut path = String::new();
    let callback = |req: &tungstenite::handshake::server::Request, resp| {
        path = req.uri().to_string();
        Ok(resp)
    };
    let mut ws = match tungstenite::accept_hdr(stream, callback) {
        Ok(ws) => ws,
        Err(e) => return format!("connection {id}: handshake failed: {e}"),
    };
    let sub = match protocol::handshake(setup.exchange, &path, &mut ws) {
        Ok(s) => s,
        Err(e) => {
            let _ = ws.close(None);
            return format!("connection {id}: {e}");
        }
    };
    eprintln!("mock-exchange: connection {id}: subscribed to {}", sub.what);
    replay::replay(
        &mut ws,
        &sub,
        &setup.capture,
        setup.pacing,
        &setup.faults,
        &setup.shared,
        id,
    )
}

fn main() {
    let a = Args::parse();
    let fail = |e: String| -> ! {
        eprintln!("mock-exchange: {e}");
        std::process::exit(2)
    };
    let capture = Capture::load(&a.capture, a.recv_ts.as_deref()).unwrap_or_else(|e| fail(e));
    let pacing = match (a.rate, a.speed.as_str()) {
        (Some(r), _) if r > 0.0 => Pacing::Rate(r),
        (Some(r), _) => fail(format!("--rate {r}: must be above 0")),
        (None, "max") => Pacing::Max,
        (None, x) => match x.trim_end_matches('x').parse::<f64>() {
            Ok(v) if v > 0.0 => Pacing::Speed(v),
            _ => fail(format!("--speed {x}: write a factor like 1, 10 or max")),
        },
    };
    let tls = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some(tls_config(c, k).unwrap_or_else(|e| fail(e))),
        _ => None,
    };
    let listener = TcpListener::bind((a.host.as_str(), a.port))
        .unwrap_or_else(|e| fail(format!("bind {}:{}: {e}", a.host, a.port)));
    let port = listener.local_addr().map(|x| x.port()).unwrap_or(a.port);
    println!(
        "listening on {}://{}:{port}",
        if tls.is_some() { "wss" } else { "ws" },
        a.host
    );
    let _ = std::io::stdout().flush();
    eprintln!(
        "mock-exchange: {} messages of {} ({:?})",
        capture.lines.len(),
        a.capture.display(),
        pacing
    );
    let setup = Arc::new(Setup {
        exchange: a.exchange,
        capture,
        pacing,
        faults: Faults {
            drop_every: a.drop_every,
            overlap: a.overlap,
            malformed_every: a.malformed_every,
            stall: a.stall_after.zip(a.stall_for),
            skip: a.skip,
            stamp: a.stamp,
            spin: a.spin,
            repeat: a.repeat,
        },
        tls,
        shared: Arc::new(Mutex::new(Shared::default())),
    });
    for (n, conn) in listener.incoming().enumerate() {
        let Ok(tcp) = conn else { continue };
        let setup = setup.clone();
        std::thread::spawn(move || {
            let said = serve(&setup, tcp, n as u64 + 1);
            eprintln!("mock-exchange: {said}");
        });
    }
}
