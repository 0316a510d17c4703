//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod brokers;
pub mod capture;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use tubes::runtime::Report;

/// Runs `f` on its own thread and fails the test if it takes longer than `secs`.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("did not finish within {secs} s"))
}

/// A fresh temporary directory (removed when dropped).
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Writes `text` as a config in `dir` and returns its path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A shipped config with its sinks redirected to `out` (a CSV or JSON file) and without stdout.
pub fn shipped_config_to(config: &str, out: &Path, extra: &str) -> String {
    let text = std::fs::read_to_string(config).unwrap();
    let out = out.display().to_string();
    let text = text
        .replace(
            "[Stdout, {CSV: out/btc_eth_volume.csv}]",
            &format!("{{CSV: {out}}}"),
        )
        .replace("out/btc_eth_volume.csv", &out)
        .replace("out/pipeline_sink_only.json", &out);
    format!("{text}\n{extra}\n")
}

/// A shipped sweep config's text (`configs/NAME.yaml`) with its CSV output only, as tests rewrite
/// it: the Parquet file beside it would otherwise be written into the repository's `out/`.
pub fn sweep_csv_only(name: &str) -> String {
    std::fs::read_to_string(format!("configs/{name}.yaml"))
        .unwrap()
        .replace(
            &format!("[{{CSV: out/{name}.csv}}, {{Parquet: out/{name}.parquet}}]"),
            &format!("{{CSV: out/{name}.csv}}"),
        )
}

/// The lines `cmd` prints, asserting that it succeeds (its stderr in the failure).
pub fn output_lines(cmd: &mut std::process::Command) -> Vec<String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Loads, checks and runs a config file.
pub fn run_file(path: &Path) -> Result<Report, String> {
    let g = tubes::api::load(path).map_err(|e| e.to_string())?;
    tubes::api::run(&g, |_| {}).map_err(|e| e.to_string())
}

/// Runs config text (written to a temp file in `dir`).
pub fn run_text(dir: &Path, text: &str) -> Result<Report, String> {
    run_file(&write_config(dir, "pipeline.yaml", text))
}

/// One 1-minute bar read by a plain parser independent of the engine: (open time in ms, volume).
pub fn read_bars(path: &str) -> Vec<(i64, f64)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0].parse().unwrap(), cols[7].parse().unwrap())
        })
        .collect()
}

/// Milliseconds since the epoch of `YYYY-MM-DDTHH:MM:SS(.mmm)Z`, parsed independently of the engine.
pub fn ms(s: &str) -> i64 {
    let d: Vec<i64> = s
        .trim_end_matches('Z')
        .split(['-', 'T', ':', '.'])
        .map(|x| x.parse().unwrap())
        .collect();
    let (y, m, day) = (d[0], d[1], d[2]);
    // Days from civil (the algorithm every date library uses), written out here for independence.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    let millis = if d.len() > 6 { d[6] } else { 0 };
    ((days * 86400 + d[3] * 3600 + d[4] * 60 + d[5]) * 1000) + millis
}

/// A CSV output split into rows of cells (header included).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

/// The real Binance spot capture: 34,419 trade messages, BTC and ETH on one combined stream.
pub const BINANCE_CAPTURE: &str = "testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson";

/// The mock exchange as a child process on a free loopback port, logging to a file; killed when dropped.
pub struct Mock {
    /// The process.
    pub process: tubes::cli::MockExchange,
    /// `ws://127.0.0.1:PORT` (or `wss://`).
    pub url: String,
    /// Where its log goes.
    pub log: PathBuf,
}

impl Mock {
    /// Starts `mock-exchange` with `args`, logging to a file in `dir`, and waits until it listens.
    pub fn start(dir: &Path, args: &[&str]) -> Mock {
        let log = dir.join("mock.log");
        let process = tubes::cli::MockExchange::start(
            Path::new(env!("CARGO_BIN_EXE_mock-exchange")),
            args,
            std::fs::File::create(&log).unwrap().into(),
        )
        .unwrap();
        Mock {
            url: process.url.clone(),
            process,
            log,
        }
    }

    /// The mock playing Binance from the real spot capture (BTC and ETH), with `extra` arguments
    /// (`--speed max`, faults, TLS).
    pub fn binance(dir: &Path, extra: &[&str]) -> Mock {
        let mut args = vec!["--exchange", "binance", "--capture", BINANCE_CAPTURE];
        args.extend_from_slice(extra);
        Mock::start(dir, &args)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Runs a live config until its feeds have been idle for `idle`.
pub fn run_live(path: &Path, idle: Duration) -> Result<Report, String> {
    let g = tubes::api::load(path).map_err(|e| e.to_string())?;
    let plan = tubes::graph::plan(&g);
    let mut engine = tubes::runtime::Engine::build(&g, &plan).map_err(|e| e.to_string())?;
    engine.idle_exit(idle);
    engine
        .start()
        .map_err(|e| e.to_string())?
        .finish(|_| {})
        .map_err(|e| e.to_string())
}

/// `configs/live_binance_btc_eth.yaml` with both feeds pointed at `url` (plus `extra` source options, e.g.
/// `, stale_after: 1s`) and its sink outputs replaced by `datasink` (e.g. `{CSV: out.csv}`).
pub fn live_config_text(url: &str, extra: &str, datasink: &str) -> String {
    std::fs::read_to_string("configs/live_binance_btc_eth.yaml")
        .unwrap()
        .replace(
            "market: btcusdt}",
            &format!("market: btcusdt, url: \"{url}\"{extra}}}"),
        )
        .replace(
            "market: ethusdt}",
            &format!("market: ethusdt, url: \"{url}\"{extra}}}"),
        )
        .replace("[Stdout, {CSV: out/live_binance_btc_eth.csv}]", datasink)
}

/// The main job's config, writing CSV to `out` and ending its Batch range at `to`.
pub fn main_job_to(dir: &Path, out: &Path, to: &str) -> PathBuf {
    write_config(
        dir,
        "main.yaml",
        &shipped_config_to("configs/btc_eth_volume.yaml", out, "")
            .replace("2023-05-01T00:00:00Z", to),
    )
}

/// A child process whose stderr is read line by line on a thread, so a test can wait for a line that
/// says the child is ready (a readiness signal, not a sleep) and still collect all of stderr at the end.
pub struct Watched {
    pub child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watched {
    /// Spawns `cmd` with stderr piped.
    pub fn spawn(cmd: &mut std::process::Command) -> Watched {
        let mut child = cmd.stderr(std::process::Stdio::piped()).spawn().unwrap();
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watched {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits at most `secs` for a stderr line containing `needle`; panics on a timeout or an early end.
    pub fn wait_for_line(&mut self, needle: &str, secs: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(e) => panic!(
                    "no stderr line with '{needle}' within {secs} s ({e:?}); got:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends `sig` (`TERM`, `INT`) to the child.
    pub fn signal(&self, sig: &str) {
        let ok = std::process::Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits at most `secs` for the child to end (killing it and failing the test past that); returns
    /// its exit code and all of its stderr.
    pub fn finish(mut self, secs: u64) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let status = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            // Every stderr line is drained while waiting; the channel closes when the child's stderr
            // does, which is when it exits.
            match self.lines.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break self.child.wait().unwrap(),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(s) = self.child.try_wait().unwrap() {
                        break s;
                    }
                    if left.is_zero() {
                        let _ = self.child.kill();
                        panic!("the child did not end within {secs} s");
                    }
                }
            }
        };
        // Lines written just before the exit.
        self.seen.extend(self.lines.try_iter());
        (status.code(), self.seen.join("\n") + "\n")
    }
}

/// (window close time in ms, BTC volume in the window, ETH bars in the window, ETH volume in the window).
/// The main job's answer (configs/btc_eth_volume.yaml), by a plain sequential loop over the CSVs.
pub fn main_job_windows() -> Vec<(i64, f64, u64, f64)> {
    main_job_windows_of(
        &read_bars("testdata/binance_BTCUSDT_1m.csv"),
        &read_bars("testdata/binance_ETHUSDT_1m.csv"),
    )
}

/// The main job's answer over these bars ((open time in ms, volume), each file's rows in order).
pub fn main_job_windows_of(btc: &[(i64, f64)], eth: &[(i64, f64)]) -> Vec<(i64, f64, u64, f64)> {
    let (from, to) = (ms("2023-03-17T00:00:00Z"), ms("2023-05-01T00:00:00Z"));
    // Merge by time; on equal times BTC (declared first) goes first.
    let mut events: Vec<(i64, u8, f64)> = btc.iter().map(|&(t, v)| (t, 0, v)).collect();
    events.extend(eth.iter().map(|&(t, v)| (t, 1, v)));
    events.sort_by_key(|e| (e.0, e.1));
    let mut out = Vec::new();
    let (mut btc_sum, mut eth_n, mut eth_sum) = (0.0f64, 0u64, 0.0f64);
    for (t, which, v) in events {
        if t < from || t >= to {
            continue;
        }
        if which == 0 {
            btc_sum += v;
            if btc_sum > 1000.0 {
                out.push((t, btc_sum, eth_n, eth_sum));
                btc_sum = 0.0;
                eth_n = 0;
                eth_sum = 0.0;
            }
        } else {
            eth_n += 1;
            eth_sum += v;
        }
    }
    out
}

/// `tubes` with `args`: (exit code, stdout, stderr).
pub fn tubes(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tubes"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
