//! `tubes bench`: drive a pipeline with paced synthetic trades and report latency percentiles.
//!
//! Every datapoint is timestamped with its intended send time, so a pipeline that cannot keep up shows the
//! delay in its latency (coordinated-omission correction) rather than quietly sending less.
//!
//! `tubes bench --feed` drives live WebSocket feeds instead: the mock exchange sends real captured trades at
//! the fixed rate, stamping each frame with its send time, so the end-to-end figures run from the wire.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::mock_process::MockError;
use super::point::Point;
use super::{plot, stop_on_signals, ArgError, MockExchange, EXIT_CONFIG, EXIT_RUNTIME};
use crate::api;
use crate::config::{Config, ConfigErrors, TubeKind};
use crate::graph::{self, Graph};
use crate::metrics::rss::rss_bytes;
use crate::metrics::{duration_ns, human, latency_table};
use crate::runtime::{Engine, OnProgress, RunError};

/// The default pipeline: the example's shape on synthetic BTC and ETH trades.
pub const DEFAULT_CONFIG: &str = "configs/bench_btc_eth.yaml";
/// The default pipeline of `--feed`: the seed question over two Binance feeds, every trade to a sink.
pub const FEED_CONFIG: &str = "configs/bench_feed.yaml";
/// What the mock exchange replays for `--feed`.
pub const FEED_CAPTURE: &str = "testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson";

/// Why a bench run could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The config is invalid.
    #[error(transparent)]
    Config(#[from] ConfigErrors),
    /// The run failed.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The mock exchange could not be started.
    #[error(transparent)]
    Mock(#[from] MockError),
}

/// Parses `100k`, `1.5M`, `20000`.
pub fn parse_rate(s: &str) -> Result<f64, ArgError> {
    let t = s.trim();
    let (num, scale) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(x) if x > 0.0 && (x * scale) <= 1e9 => Ok(x * scale),
        _ => Err(ArgError(format!(
            "'{s}' is not a rate: write e.g. 20000, 100k or 1.5M (datapoints per second)"
        ))),
    }
}

/// The payload mappings of every generator whose datasource is `{tag: {...}}`.
fn payloads<'c>(config: &'c mut Config, tag: &str) -> Vec<&'c mut Mapping> {
    config
        .tubes
        .iter_mut()
        .filter_map(|t| match &mut t.kind {
            TubeKind::Generator(d) => d.value.as_mapping_mut()?.get_mut(tag)?.as_mapping_mut(),
            _ => None,
        })
        .collect()
}

/// Sets every synthetic generator to an equal share of `rate`; returns how many there are.
fn set_rate(config: &mut Config, rate: f64) -> usize {
    let sources = payloads(config, "Synthetic");
    let n = sources.len();
    for m in sources {
        m.insert("rate".into(), Value::from(rate / n as f64));
    }
    n
}

/// Points every WebSocket generator at `url`, taking ingest times from the mock's send stamps; returns
/// how many there are.
fn point_feeds(config: &mut Config, url: &str) -> usize {
    let sources = payloads(config, "WebSocket");
    let n = sources.len();
    for m in sources {
        m.insert("url".into(), Value::from(url));
        m.insert("mock_stamps".into(), Value::from(true));
    }
    n
}

/// The config at `path`, checked after its synthetic sources were set to `rate` and, with `feed_url`,
/// its WebSocket sources pointed at it. Returns the graph and how many sources were set.
fn configured(
    path: &Path,
    rate: f64,
    feed_url: Option<&str>,
) -> Result<(Graph, usize), ConfigErrors> {
    let (mut config, diag) = api::load_config(path)?;
    let synthetic = set_rate(&mut config, rate);
    let n = match feed_url {
        Some(url) => point_feeds(&mut config, url),
        None => synthetic,
    };
    Ok((api::check(config, diag)?, n))
}

/// Cores from which `--feed` lets the mock spin to each message's due time (see `mock-exchange --spin`).
const MOCK_SPIN_CORES: usize = 4;

/// Runs the config at `path` at `rate` for `duration`.
pub fn run_at(path: &Path, rate: f64, duration: Duration) -> Result<Point, BenchError> {
    run_until(path, rate, duration, None, None)
}

/// Runs the config at `path` at `rate` for `duration`, or until `stop` is set. With `feed` (the mock
/// exchange's binary), a mock sends the trades at `rate` and the WebSocket generators read them.
fn run_until(
    path: &Path,
    rate: f64,
    duration: Duration,
    stop: Option<&Arc<AtomicBool>>,
    feed: Option<&Path>,
) -> Result<Point, BenchError> {
    let rate_arg = format!("{rate}");
    let mock = match feed {
        None => None,
        Some(bin) => {
            let mut args = vec![
                "--exchange",
                "binance",
                "--capture",
                FEED_CAPTURE,
                "--rate",
                &rate_arg,
                "--stamp",
                "--loop",
            ];
            // A spinning sender paces precisely but holds a core. On 2 cores it took one from the
            // engine and its p99 rose tenfold (README, Performance); only from 4 cores on is there
            // room for it beside the engine's threads.
            if crate::base::pin::core_count() >= MOCK_SPIN_CORES {
                args.push("--spin");
            }
            Some(MockExchange::start(
                bin,
                &args,
                std::process::Stdio::null(),
            )?)
        }
    };
    let (g, _) = configured(path, rate, mock.as_ref().map(|m| m.url.as_str()))?;
    let plan = graph::plan(&g);
    let mut engine = Engine::build(&g, &plan)?;
    if let Some(s) = stop {
        engine.set_stop(s.clone());
    }
    engine.stop_after(duration);
    // Resident memory at the first progress report (everything allocated, datapoints flowing) and at
    // the end: a long run's memory must stay flat.
    let mut rss_start = None;
    let report = engine.start().and_then(|r| {
        r.finish_observed(&mut OnProgress(|_| {
            if rss_start.is_none() {
                rss_start = rss_bytes();
            }
        }))
    })?;
    let rss = (rss_start, rss_bytes());
    Ok(Point { rate, report, rss })
}

fn point_line(p: &Point) -> String {
    let e2e = match p.end_to_end() {
        Some((_, h)) => format!(
            "end-to-end p50 {}  p99 {}  p99.9 {}  max {}",
            duration_ns(h.value_at_quantile(0.5)),
            duration_ns(h.value_at_quantile(0.99)),
            duration_ns(h.value_at_quantile(0.999)),
            duration_ns(h.max())
        ),
        None => "no rows reached a sink".into(),
    };
    let mib = |b: Option<u64>| b.map_or("?".into(), |b| format!("{:.1}", b as f64 / 1048576.0));
    format!(
        "rate {:>9}/s  sent {:>9} ({:>9}/s)  dropped {}  max send lag {:>9}  {e2e}  RSS {} → {} MiB",
        human(p.rate),
        p.sent(),
        human(p.achieved()),
        p.dropped(),
        duration_ns(p.max_lag()),
        mib(p.rss.0),
        mib(p.rss.1),
    )
}

/// Options of `tubes bench`.
pub struct BenchArgs {
    /// The pipeline (its generators must be Synthetic).
    pub config: Option<PathBuf>,
    /// Rates to run, one after the other.
    pub rates: Vec<f64>,
    /// How long each rate runs.
    pub duration: Duration,
    /// Search for the highest rate whose end-to-end p99 stays under this bound.
    pub find_max: Option<Duration>,
    /// Draw the percentile distribution to this SVG file.
    pub plot: Option<PathBuf>,
    /// Drive live WebSocket feeds through the mock exchange instead of Synthetic generators.
    pub feed: bool,
}

/// Runs `tubes bench`; returns the exit code.
pub fn bench(args: BenchArgs) -> i32 {
    let path = args.config.clone().unwrap_or_else(|| {
        PathBuf::from(if args.feed {
            FEED_CONFIG
        } else {
            DEFAULT_CONFIG
        })
    });
    // The config as written must check before the bench edits its rates and endpoints.
    if let Err(e) = api::load(&path) {
        errln!("{e}");
        return EXIT_CONFIG;
    }
    let placeholder = args.feed.then_some("ws://127.0.0.1:1");
    let (g, sources) = match configured(&path, 1.0, placeholder) {
        Ok(x) => x,
        Err(e) => {
            errln!("{e}");
            return EXIT_CONFIG;
        }
    };
    if !g.runtime.metrics {
        errln!("error: tubes bench measures latency, which {} switches off (runtime: {{metrics: off}})", path.display());
        return EXIT_CONFIG;
    }
    let feed = if args.feed {
        if sources == 0 {
            errln!(
                "error: {} has no WebSocket generator for tubes bench --feed to drive",
                path.display()
            );
            return EXIT_CONFIG;
        }
        if !Path::new(FEED_CAPTURE).exists() {
            return fail(&format!(
                "--feed replays {FEED_CAPTURE}: run tubes bench from the repository's top directory"
            ));
        }
        match MockExchange::beside_current_exe() {
            Ok(bin) => Some(bin),
            Err(e) => return fail(&format!("--feed drives the mock exchange: {e}")),
        }
    } else {
        if sources == 0 {
            errln!(
                "error: {} has no Synthetic generator for tubes bench to drive (for WebSocket feeds use --feed)",
                path.display()
            );
            return EXIT_CONFIG;
        }
        None
    };
    let feed = feed.as_deref();
    errln!(
        "tubes bench: {} on {}; {}",
        path.display(),
        host(),
        graph::plan(&g).note
    );
    let stop = stop_on_signals();
    let points = match args.find_max {
        Some(bound) => match find_max(&path, args.rates[0], bound, args.duration, &stop, feed) {
            Ok(p) => p,
            Err(e) => return fail(&e.to_string()),
        },
        None => {
            let mut points = Vec::new();
            for &rate in &args.rates {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                match run_until(&path, rate, args.duration, Some(&stop), feed) {
                    Ok(p) => {
                        outln!("{}", point_line(&p));
                        if args.rates.len() == 1 {
                            out!(
                                "{}",
                                latency_table("latency", &p.report.series, &p.report.latency)
                            );
                        }
                        points.push(p);
                    }
                    Err(e) => return fail(&e.to_string()),
                }
            }
            points
        }
    };
    if let Some(svg) = &args.plot {
        if let Err(e) = plot::percentiles(svg, &points) {
            return fail(&format!("cannot draw {}: {e}", svg.display()));
        }
        errln!("wrote {}", svg.display());
    }
    0
}

fn fail(e: &str) -> i32 {
    errln!("error: {e}");
    EXIT_RUNTIME
}

fn host() -> String {
    let cores = crate::base::pin::core_count();
    format!("{cores} core{}", if cores == 1 { "" } else { "s" })
}

/// Doubles the rate from `start` until the end-to-end p99 exceeds `bound` (or the rate is not achieved),
/// then bisects between the last good and the first bad rate. Prints every step; returns the points run.
fn find_max(
    path: &Path,
    start: f64,
    bound: Duration,
    duration: Duration,
    stop: &Arc<AtomicBool>,
    feed: Option<&Path>,
) -> Result<Vec<Point>, BenchError> {
    let bound_ns = bound.as_nanos() as u64;
    let good = |p: &Point| {
        p.achieved() >= 0.95 * p.rate
            && p.dropped() == 0
            && p.end_to_end()
                .is_some_and(|(_, h)| h.value_at_quantile(0.99) <= bound_ns)
    };
    let mut points = Vec::new();
    let (mut lo, mut hi) = (0.0f64, f64::NAN);
    let mut rate = start;
    while hi.is_nan() && rate <= 1e8 {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let p = run_until(path, rate, duration, Some(stop), feed)?;
        outln!(
            "{}  {}",
            point_line(&p),
            if good(&p) { "ok" } else { "over" }
        );
        if good(&p) {
            lo = rate;
            rate *= 2.0;
        } else {
            hi = rate;
        }
        points.push(p);
    }
    for _ in 0..4 {
        if hi.is_nan() || lo == 0.0 {
            break;
        }
        let mid = ((lo + hi) / 2.0).round();
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let p = run_until(path, mid, duration, Some(stop), feed)?;
        outln!(
            "{}  {}",
            point_line(&p),
            if good(&p) { "ok" } else { "over" }
        );
        if good(&p) {
            lo = mid;
        } else {
            hi = mid;
        }
        points.push(p);
    }
    if lo == 0.0 {
        outln!(
            "no rate from {}/s keeps the end-to-end p99 under {}",
            human(start),
            duration_ns(bound_ns)
        );
    } else {
        outln!(
            "highest rate with end-to-end p99 under {}: {}/s",
            duration_ns(bound_ns),
            human(lo)
        );
    }
    Ok(points)
}
