//! The `tubes` command line: `run`, `check`, `graph`.

#[macro_use]
mod say;
mod bench;
mod clash;
mod field_plot;
mod journal;
mod mock_process;
mod plot;
mod point;
mod progress;
#[cfg(not(loom))]
mod publish;
mod run;
mod sweep;
mod top;
mod watch;

pub use bench::{parse_rate, run_at};
pub use mock_process::MockExchange;
pub use point::Point;
use run::RunArgs;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::graph::{self, Graph};

/// Exit code: the config is invalid.
pub const EXIT_CONFIG: i32 = 2;
/// Exit code: the run failed.
pub const EXIT_RUNTIME: i32 = 1;

#[derive(Parser)]
#[command(
    name = "tubes",
    version,
    about = "Declarative, low-latency stream processing for market data",
    long_about = "Tubes runs a graph of tubes described in YAML: Generators bring datapoints in (CSV files, exchange WebSockets), \
Throughs reduce them (SUM, COUNT, FIRST, LAST, MIN, MAX, MEAN, VWAP, NOP) and emit on events \
(Produce on a condition, Consume another tube's event), Sinks write rows (stdout, CSV, NDJSON).\n\n\
Example: whenever 1000 BTC have traded, how many ETH bars happened in that window?\n  \
tubes run configs/btc_eth_volume.yaml\n\
The same question live from Binance (every 10 BTC), until Ctrl-C:\n  \
tubes run configs/live_binance_btc_eth.yaml\n\
The question for N = 50..5000 BTC and six altcoins, 600 combinations in one run (a `sweep:` section):\n  \
tubes run configs/sweep_btc_altcoins.yaml\n\n\
Exit codes: 0 success, 1 the run failed, 2 the config is invalid.",
    after_help = "Start with `tubes check CONFIG` to validate, `tubes graph CONFIG | dot -Tsvg > g.svg` to see the graph."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline; print a summary and a latency table (count, p50, p90, p99, p99.9, max) to stderr.
    ///
    /// Sink rows go where the config says (stdout, CSV, NDJSON). Relative paths in the config resolve
    /// against the current directory. A long run shows a progress bar when stderr is a terminal.
    /// Latency is recorded per ring (time waiting in it), per tube (time spent in it) and per sink
    /// (end to end, from ingest); switch it off with `runtime: {metrics: off}`.
    ///
    /// A config with a `sweep:` section runs every combination of its parameters in one pass, each
    /// input read once, the rows grouped by combination with the parameters as the first columns:
    ///   tubes run configs/sweep_btc_altcoins.yaml
    ///   tubes run configs/sweep_btc_altcoins.yaml --shard 2/4   (the second of four slices)
    Run(RunArgs),
    /// Measure latency: drive a pipeline with synthetic trades, or live feeds (--feed), at fixed rates.
    ///
    /// Each datapoint is timestamped with its intended send time, so a pipeline that falls behind shows it in
    /// its latency (coordinated-omission correction). Prints sent and achieved rate, drops, the largest
    /// send lag, and percentiles per ring, tube and sink. Examples:
    ///   tubes bench --rate 100k --duration 10s
    ///   tubes bench --rate 10k,50k,100k,200k --plot rates.svg
    ///   tubes bench --find-max 1ms --rate 10k
    ///   tubes bench --feed --rate 10k,50k      (wire-to-sink through the mock exchange)
    Bench {
        /// A Stream pipeline whose generators are Synthetic [default: configs/bench_btc_eth.yaml], or with
        /// --feed WebSocket [default: configs/bench_feed.yaml].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Datapoints per second, shared evenly by the Synthetic generators; a list runs each in turn.
        #[arg(long, value_name = "RATE[,RATE...]", value_delimiter = ',', value_parser = parse_rate, default_value = "100k")]
        rate: Vec<f64>,
        /// How long each rate runs.
        #[arg(long, value_name = "DURATION", value_parser = parse_interval, default_value = "5s")]
        duration: Duration,
        /// Find the highest rate (doubling from --rate, then bisecting) whose end-to-end p99 stays under this bound.
        #[arg(long, value_name = "P99_BOUND", value_parser = parse_interval)]
        find_max: Option<Duration>,
        /// Draw latency by percentile to an SVG file: one line per series, or per rate when several ran.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// Drive WebSocket feeds instead [default config: configs/bench_feed.yaml]: the mock exchange sends
        /// the real Binance capture at each rate (messages per second), stamping every frame, so the
        /// end-to-end figures are wire to sink. Needs mock-exchange built beside tubes (cargo build --release).
        #[arg(long)]
        feed: bool,
    },
    /// Replay a recorded journal through its config (or another one over the same generators).
    ///
    /// With the recorded config, every sink's output is byte-identical to the recorded run's. Sinks write
    /// where the config says, so use --config to send a replay's rows elsewhere. Examples:
    ///   tubes run configs/btc_eth_volume.yaml --journal out/journal
    ///   tubes replay out/journal
    ///   tubes replay out/journal --config what_if.yaml --speed 10x
    Replay {
        /// The journal directory.
        dir: PathBuf,
        /// Run this config instead of the recorded one; its generators and tick sources are matched to
        /// the journal's by label.
        #[arg(long)]
        config: Option<PathBuf>,
        /// max (default): as fast as possible; 1x: the recorded pace; 10x: ten times faster.
        #[arg(long, default_value = "max")]
        speed: String,
        /// Replay a damaged journal (whole records after unreadable ones, a missing segment) around
        /// its damage, counting the records skipped; without it such a journal is refused (exit 1).
        #[arg(long)]
        skip_damaged: bool,
        /// Print no summary.
        #[arg(short, long)]
        quiet: bool,
    },
    /// Watch a run already going: feeds, rows and rates, ring fill, latency, drops.
    ///
    /// Reads the stats file every run publishes in the run directory ($TUBES_RUN_DIR, else
    /// $XDG_RUNTIME_DIR/tubes, else /tmp/tubes-UID), mapped read-only: no socket, and the run never
    /// waits for it. `q` quits. Examples:
    ///   tubes top            (the newest run)
    ///   tubes top 12345      (the run with that process id, as `tubes run` printed it)
    ///   tubes top --once     (one text snapshot, for scripts)
    Top {
        /// A process id, or the path of a stats file; the newest live run when absent.
        run: Option<String>,
        /// Print one snapshot as text and exit (also when stdout is not a terminal).
        #[arg(long)]
        once: bool,
    },
    /// Draw one field over event time as an SVG, from a journal or an output CSV.
    ///
    /// From a journal, name a generator's field as LABEL.FIELD; from a CSV, a column (in full, or the
    /// part after its tube's label when that is unambiguous). Examples:
    ///   tubes plot out/journal --field "binance btcusdt.price" --out price.svg
    ///   tubes plot out/btc_eth_volume.csv --field eth_counter.count --out counts.svg
    Plot {
        /// A journal directory or a CSV file a sink wrote.
        input: PathBuf,
        /// The field (journal: LABEL.FIELD) or column (CSV) to draw.
        #[arg(long)]
        field: String,
        /// Where to write the SVG.
        #[arg(long, value_name = "FILE.svg", default_value = "plot.svg")]
        out: PathBuf,
        /// Only points with event time at or after this (RFC 3339, or unix time).
        #[arg(long, value_parser = parse_time)]
        from: Option<i64>,
        /// Only points with event time before this.
        #[arg(long, value_parser = parse_time)]
        to: Option<i64>,
    },
    /// Inspect a journal: info, dump, tail.
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Publish exchange captures into a Kafka topic or a Redis stream, for the Kafka and Redis generators.
    ///
    /// Each line of a capture (one WebSocket message per line, as in testdata/ws/) becomes one message
    /// holding the exchange's payload: a combined stream's `data` object byte for byte, any other line
    /// whole. Kafka messages are keyed by the payload's symbol (`s`). Examples:
    ///   tubes publish --kafka 127.0.0.1:9092 --topic trades testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson
    ///   tubes publish --redis redis://127.0.0.1:6379 --stream trades --rate 1k testdata/ws/…
    #[cfg(not(loom))]
    Publish(publish::PublishArgs),
    /// Validate a config without running it; report every error at once (exit code 2 if any).
    ///
    /// Checks keys and types, labels, to_label and Consume targets, cycles, fields against what upstream
    /// tubes provide, input files (header, time column, order), the Batch range and requested cores.
    Check {
        /// The pipeline config (YAML).
        config: PathBuf,
    },
    /// Print the graph as Graphviz DOT: data edges solid, event edges dashed.
    ///
    /// Render it with: tubes graph CONFIG | dot -Tsvg > graph.svg
    Graph {
        /// The pipeline config (YAML).
        config: PathBuf,
    },
}

/// `tubes journal …`.
#[derive(Subcommand)]
enum JournalCommand {
    /// Segments, records, time range, tubes with their fields and record counts, torn records.
    Info {
        /// The journal directory.
        dir: PathBuf,
    },
    /// Print records with their field names, from the start or within an event-time range.
    Dump {
        /// The journal directory.
        dir: PathBuf,
        /// Only records with event time at or after this (RFC 3339, or unix time).
        #[arg(long, value_parser = parse_time)]
        from: Option<i64>,
        /// Only records with event time before this.
        #[arg(long, value_parser = parse_time)]
        to: Option<i64>,
        /// csv: a column per field name; ndjson: one object per record.
        #[arg(long, value_enum, default_value = "csv")]
        format: journal::Format,
    },
    /// Follow a journal while it is written, printing each record as it is committed, until Ctrl-C.
    Tail {
        /// The journal directory.
        dir: PathBuf,
        /// Start at this record index (default: the first).
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// csv or ndjson.
        #[arg(long, value_enum, default_value = "ndjson")]
        format: journal::Format,
    },
}

/// A command-line value that cannot be read; the message says how to write it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(pub String);

fn parse_time(s: &str) -> Result<i64, ArgError> {
    crate::base::time::parse_timestamp(s.as_bytes()).ok_or_else(|| {
        ArgError(format!(
            "'{s}' is not a time: write e.g. 2023-03-17T00:00:00Z"
        ))
    })
}

/// A flag set by SIGINT, SIGTERM or SIGHUP (the terminal went away): the run stops cleanly (generators
/// stop, the rest drains and flushes).
/// A second signal exits at once with status 130.
fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        // The conditional exit goes first: it fires only once the flag is already set.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone());
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    stop
}

fn parse_interval(s: &str) -> Result<Duration, ArgError> {
    match crate::config::parse_duration(s) {
        Some(d) if !d.is_zero() => Ok(d),
        _ => Err(ArgError(format!(
            "'{s}' is not a duration: write e.g. 1s, 500ms, 2m"
        ))),
    }
}

/// A config as written, or the exit code after printing why it cannot be read.
fn template(config: &Path) -> Result<crate::config::Template, i32> {
    crate::api::load_template(config).map_err(|e| {
        errln!("{e}");
        EXIT_CONFIG
    })
}

/// The checked graph of a config without a sweep, or the exit code after printing why not.
fn single(t: &crate::config::Template) -> Result<Graph, i32> {
    t.single()
        .and_then(|(c, d)| crate::api::check(c, d))
        .map_err(|e| {
            errln!("{e}");
            EXIT_CONFIG
        })
}

fn check(config: &Path) -> i32 {
    let t = match template(config) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if t.sweep.is_some() {
        return sweep::check(&t, config);
    }
    match single(&t) {
        Ok(g) => {
            let plan = graph::plan(&g);
            outln!(
                "{}: ok — {} tubes; {}",
                config.display(),
                g.nodes.len(),
                plan.note
            );
            0
        }
        Err(code) => code,
    }
}

fn dot(config: &Path) -> i32 {
    let t = match template(config) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if t.sweep.is_some() {
        return sweep::dot(&t);
    }
    match single(&t) {
        Ok(g) => {
            out!("{}", graph::to_dot(&g));
            0
        }
        Err(code) => code,
    }
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    // `tubes run` starts it once it knows the config is not a sweep (see `run::run`).
    if matches!(cli.command, Command::Replay { .. } | Command::Bench { .. }) {
        crate::base::time::calibrate_in_background();
    }
    match cli.command {
        Command::Check { config } => check(&config),
        Command::Top { run, once } => top::run(run.as_deref(), once),
        Command::Plot {
            input,
            field,
            out,
            from,
            to,
        } => field_plot::run(&input, &field, &out, (from, to)),
        Command::Graph { config } => dot(&config),
        Command::Run(args) => run::run(args),
        #[cfg(not(loom))]
        Command::Publish(args) => publish::publish(args),
        Command::Replay {
            dir,
            config,
            speed,
            skip_damaged,
            quiet,
        } => match journal::parse_speed(&speed) {
            Ok(speed) => journal::replay(&dir, config.as_deref(), speed, skip_damaged, quiet),
            Err(e) => {
                errln!("error: {e}");
                EXIT_CONFIG
            }
        },
        Command::Journal(JournalCommand::Info { dir }) => journal::info(&dir),
        Command::Journal(JournalCommand::Dump {
            dir,
            from,
            to,
            format,
        }) => journal::dump(&dir, from, to, format),
        Command::Journal(JournalCommand::Tail { dir, from, format }) => {
            journal::tail(&dir, from, format)
        }
        Command::Bench {
            config,
            rate,
            duration,
            find_max,
            plot,
            feed,
        } => bench::bench(bench::BenchArgs {
            config,
            rates: rate,
            duration,
            find_max,
            plot,
            feed,
        }),
    }
}
