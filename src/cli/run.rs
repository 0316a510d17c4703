//! `tubes run`: one pipeline (with its journal, latency log and stats file) or a sweep.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::watch::Watch;
use super::{
    clash, parse_interval, progress, single, stop_on_signals, sweep, template, ArgError,
    EXIT_CONFIG, EXIT_RUNTIME,
};
use crate::graph::{self, Graph};
use crate::metrics::{latency_table, LogError};
use crate::runtime::Engine;

/// What `tubes run` takes.
#[derive(clap::Args)]
pub(super) struct RunArgs {
    /// The pipeline config (YAML).
    config: PathBuf,
    /// Print no summary, latency table or progress bar.
    #[arg(short, long)]
    quiet: bool,
    /// Print no progress bar.
    #[arg(long)]
    no_progress: bool,
    /// Print a latency table for each interval while running, e.g. 1s or 500ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    metrics_interval: Option<Duration>,
    /// Write HdrHistogram V2 interval logs: one tagged histogram per ring, tube and sink per interval
    /// (the whole run as one interval without --metrics-interval).
    #[arg(long, value_name = "FILE")]
    latency_log: Option<PathBuf>,
    /// End a Stream run after this long, e.g. 30s (paced Synthetic sources and live feeds stop then).
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    duration: Option<Duration>,
    /// End a live run once no trade has arrived on any WebSocket feed, Kafka topic or Redis stream for
    /// this long, e.g. 2s.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    idle_exit: Option<Duration>,
    /// Record the run's sequenced input (every generator row, tick and feed status) into a new journal
    /// directory, for `tubes replay`. Overrides the config's `journal: {dir}`.
    #[arg(long, value_name = "DIR")]
    journal: Option<PathBuf>,
    /// For a sweep: run only the I-th of N consecutive slices of its combinations (I from 1). The N
    /// outputs concatenated in shard order are exactly the whole sweep's output (only shard 1 writes the
    /// CSV header). In a Kubernetes Indexed Job: --shard $((JOB_COMPLETION_INDEX + 1))/N.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<crate::sweep::Shard>,
    /// Point every WebSocket generator of one exchange at another endpoint, leaving the config file as
    /// it is (as if each had `url: URL`); once per exchange. E.g. the mock exchange:
    /// --endpoint binance=ws://127.0.0.1:9001
    #[arg(long, value_name = "EXCHANGE=URL", value_parser = parse_endpoint)]
    endpoint: Vec<(String, String)>,
    /// For a sweep: worker threads, each running whole combinations [default: one per core].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn parse_endpoint(s: &str) -> Result<(String, String), ArgError> {
    match s.split_once('=') {
        Some((x, url)) if !x.is_empty() && (url.starts_with("ws://") || url.starts_with("wss://")) => {
            Ok((x.to_string(), url.to_string()))
        }
        _ => Err(ArgError(format!(
            "'{s}' is not EXCHANGE=URL with a ws:// or wss:// URL; write e.g. --endpoint binance=ws://127.0.0.1:9001"
        ))),
    }
}

fn parse_shard(s: &str) -> Result<crate::sweep::Shard, ArgError> {
    crate::sweep::Shard::parse(s).map_err(ArgError)
}

/// `tubes run` on a sweep: the options of single runs do not apply.
fn run_sweep(t: crate::config::Template, args: RunArgs) -> i32 {
    let single_only = [
        ("--metrics-interval", args.metrics_interval.is_some()),
        ("--latency-log", args.latency_log.is_some()),
        ("--duration", args.duration.is_some()),
        ("--idle-exit", args.idle_exit.is_some()),
        ("--journal", args.journal.is_some()),
    ];
    if let Some((flag, _)) = single_only.iter().find(|(_, given)| *given) {
        errln!(
            "error: {flag} applies to a single run; {} is a sweep (see the README's Parameter sweeps)",
            args.config.display()
        );
        return EXIT_CONFIG;
    }
    sweep::run(
        t,
        sweep::SweepArgs {
            quiet: args.quiet,
            no_progress: args.no_progress,
            shard: args.shard,
            threads: args.threads.map(usize::from),
        },
    )
}

/// Applies `--endpoint` overrides; the exit code after saying why one cannot apply.
fn set_endpoints(
    t: &mut crate::config::Template,
    endpoints: &[(String, String)],
    config: &Path,
) -> Result<(), i32> {
    for (i, (exchange, url)) in endpoints.iter().enumerate() {
        if endpoints[..i]
            .iter()
            .any(|(x, _)| x.eq_ignore_ascii_case(exchange))
        {
            errln!("error: --endpoint {exchange}=… is given twice; give it once per exchange");
            return Err(EXIT_CONFIG);
        }
        if t.set_endpoint(exchange, url) == 0 {
            errln!(
                "error: --endpoint {exchange}={url}: {} has no WebSocket generator with exchange: {exchange}",
                config.display()
            );
            return Err(EXIT_CONFIG);
        }
    }
    Ok(())
}

pub(super) fn run(args: RunArgs) -> i32 {
    let mut t = match template(&args.config) {
        Ok(t) => t,
        Err(code) => return code,
    };
    if let Err(code) = set_endpoints(&mut t, &args.endpoint, &args.config) {
        return code;
    }
    if t.sweep.is_some() {
        // A sweep measures no latency: it never reads the clock, so it does not calibrate it.
        return run_sweep(t, args);
    }
    crate::base::time::calibrate_in_background();
    if args.shard.is_some() || args.threads.is_some() {
        errln!(
            "error: --shard and --threads split a sweep; {} has no sweep: section",
            args.config.display()
        );
        return EXIT_CONFIG;
    }
    let g = match single(&t) {
        Ok(g) => g,
        Err(code) => return code,
    };
    let RunArgs {
        config,
        quiet,
        no_progress,
        metrics_interval: interval,
        latency_log,
        duration,
        idle_exit,
        journal,
        ..
    } = args;
    let config = config.as_path();
    if let Err(code) = flags_fit(&g, config, &interval, &latency_log, &duration, &idle_exit) {
        return code;
    }
    if let Err(code) = view_fits(&g, interval.is_some()) {
        return code;
    }
    if let Err(code) = own_files_fit(&g, &latency_log, &journal) {
        return code;
    }
    let show = !quiet && !no_progress && std::io::stderr().is_terminal() && !takes_terminal(&g);
    let mut watch = Watch {
        bar: progress::Bar::new(show),
        interval,
        log_path: latency_log,
        log: None,
        log_error: None,
        stats: open_stats(&g, quiet),
    };
    let recording = match open_journal(&g, journal) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    let journal_dir = recording.as_ref().map(|(d, _)| d.clone());
    let plan = graph::plan(&g);
    let stop = stop_on_signals();
    let result = Engine::build(&g, &plan).and_then(|mut e| {
        if let Some((_, w)) = recording {
            e.record_to(w);
        }
        e.set_stop(stop);
        if let Some(d) = duration {
            e.stop_after(d);
        }
        if let Some(d) = idle_exit {
            e.idle_exit(d);
        }
        e.start()?.finish_observed(&mut watch)
    });
    watch.bar.clear();
    let log_result = match (watch.log_error.take(), watch.log.take()) {
        (Some(e), _) => Err(e),
        (None, Some(log)) => log.finish().map_err(LogError::from),
        (None, None) => Ok(()),
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {e}");
            partials_note(&g);
            return EXIT_RUNTIME;
        }
    };
    if !quiet {
        errln!("{}", crate::runtime::summary(&report));
        if let (Some(dir), Some(n)) = (&journal_dir, report.journal) {
            errln!(
                "  journal: {n} records in {} (replay: tubes replay {})",
                dir.display(),
                dir.display()
            );
        }
        if !report.series.is_empty() {
            err!(
                "{}",
                latency_table("latency (whole run)", &report.series, &report.latency)
            );
        }
    }
    if let Err(e) = log_result {
        errln!("error: writing the latency log: {e}");
        return EXIT_RUNTIME;
    }
    0
}

/// The stats file `tubes top` reads, in the run directory; a Stream run says where, unless quiet. A
/// run whose stats file cannot be made goes on without it, saying why.
fn open_stats(g: &Graph, quiet: bool) -> Option<crate::metrics::stats_file::StatsWriter> {
    use crate::metrics::stats_file::{run_dir, StatsWriter};
    match StatsWriter::create(&run_dir()) {
        Ok(w) => {
            if !quiet && g.pipeline == crate::config::PipelineType::Stream {
                errln!(
                    "live figures: tubes top {}   (stats file {})",
                    std::process::id(),
                    w.path().display()
                );
            }
            Some(w)
        }
        Err(e) => {
            if !quiet {
                errln!(
                    "warning: no stats file for tubes top ({e}); set TUBES_RUN_DIR to a writable directory"
                );
            }
            None
        }
    }
}

/// Whether the options of a single run fit its config; the exit code after saying why not.
fn flags_fit(
    g: &Graph,
    config: &Path,
    interval: &Option<Duration>,
    latency_log: &Option<PathBuf>,
    duration: &Option<Duration>,
    idle_exit: &Option<Duration>,
) -> Result<(), i32> {
    if (interval.is_some() || latency_log.is_some()) && !g.runtime.metrics {
        errln!(
            "error: --metrics-interval and --latency-log need latency recording, which {} switches off (runtime: {{metrics: off}})",
            config.display()
        );
        return Err(EXIT_CONFIG);
    }
    if duration.is_some() && g.pipeline != crate::config::PipelineType::Stream {
        errln!(
            "error: --duration ends Stream runs; {} is a Batch pipeline, which ends with its range",
            config.display()
        );
        return Err(EXIT_CONFIG);
    }
    let has_feeds =
        (0..g.nodes.len()).any(|id| g.feed(id as crate::base::datapoint::TubeId).is_some());
    if idle_exit.is_some() && !has_feeds {
        errln!(
            "error: --idle-exit ends live runs when their WebSocket feeds fall silent; {} has no WebSocket generator",
            config.display()
        );
        return Err(EXIT_CONFIG);
    }
    Ok(())
}

/// `--latency-log` and the journal a run records may not be a file the run reads or writes.
fn own_files_fit(
    g: &Graph,
    latency_log: &Option<PathBuf>,
    journal: &Option<PathBuf>,
) -> Result<(), i32> {
    let dir = journal
        .clone()
        .or_else(|| g.journal.as_ref().map(|d| d.dir.clone()));
    let clash = latency_log
        .as_ref()
        .and_then(|p| clash::file(g, "--latency-log", p, dir.as_deref()))
        .or_else(|| dir.and_then(|d| clash::dir(g, "the journal", &d)));
    match clash {
        Some(why) => {
            errln!("error: {why}");
            Err(EXIT_CONFIG)
        }
        None => Ok(()),
    }
}

/// After a failed run: where its rows are, and that the outputs of earlier runs were left as they were.
fn partials_note(g: &Graph) {
    for (_, _, o) in g.sink_outputs() {
        if let Some(left) = o.staged().and_then(|s| s.left()) {
            errln!("  note: {left}");
        }
    }
}

/// The journal a run records into: `--journal DIR`, else the config's `journal:`, else none.
fn open_journal(
    g: &Graph,
    dir: Option<PathBuf>,
) -> Result<Option<(PathBuf, crate::journal::Writer)>, crate::journal::JournalError> {
    let decl = g.journal.clone();
    let Some(dir) = dir.or_else(|| decl.as_ref().map(|d| d.dir.clone())) else {
        return Ok(None);
    };
    let sync = decl
        .as_ref()
        .map_or(crate::journal::SyncPolicy::Never, |d| d.sync);
    let records = decl
        .as_ref()
        .map_or(crate::config::SEGMENT_RECORDS, |d| d.segment_records);
    let meta = crate::graph::journal_meta(g, "input", records);
    crate::journal::Writer::create(&dir, meta, sync).map(|w| Some((dir, w)))
}

/// Whether a sink output of the run takes the terminal over (a `Visual` on a terminal).
fn takes_terminal(g: &Graph) -> bool {
    outputs(g).any(|o| o.takes_terminal())
}

/// Every sink output of the run.
fn outputs(g: &Graph) -> impl Iterator<Item = &dyn crate::plugin::SinkOutput> {
    g.nodes
        .iter()
        .flat_map(|n| match &n.kind {
            graph::NodeKind::Sink { outputs, .. } => outputs.as_slice(),
            _ => &[],
        })
        .map(|o| o.as_ref())
}

/// A view on the terminal is the only thing that writes to it while the run goes on: another output
/// to stdout (`Stdout`, a second `Visual`) or `--metrics-interval` tables would draw over it.
fn view_fits(g: &Graph, interval: bool) -> Result<(), i32> {
    if !takes_terminal(g) {
        return Ok(());
    }
    let why = if outputs(g).filter(|o| o.is_stdout()).count() > 1 {
        "another output writes to stdout too (Stdout, or a second Visual)"
    } else if interval {
        "--metrics-interval would print its tables over it (--latency-log writes them to a file)"
    } else {
        return Ok(());
    };
    errln!("error: a Visual view takes the terminal, and {why}; keep one, or pipe stdout for plain rows");
    Err(EXIT_CONFIG)
}
