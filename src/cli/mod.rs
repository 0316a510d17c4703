//! The `tubes` command line: `run`, `check`, `graph`.

mod progress;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::ConfigErrors;
use crate::graph::{self, Graph};
use crate::runtime::{Engine, Report, RunError};

/// Exit code: the config is invalid.
pub const EXIT_CONFIG: i32 = 2;
/// Exit code: the run failed.
pub const EXIT_RUNTIME: i32 = 1;

#[derive(Parser)]
#[command(
    name = "tubes",
    version,
    about = "Declarative, low-latency stream processing for market data",
    long_about = "Tubes runs a graph of tubes described in YAML: Generators bring datapoints in (CSV files), \
Throughs reduce them (SUM, COUNT, FIRST, LAST, MIN, MAX, MEAN, VWAP, NOP) and emit on events \
(Produce on a condition, Consume another tube's event), Sinks write rows (stdout, CSV, NDJSON).\n\n\
Example: whenever 1000 BTC have traded, how many ETH bars happened in that window?\n  \
tubes run configs/btc_eth_volume.yaml\n\n\
Exit codes: 0 success, 1 the run failed, 2 the config is invalid.",
    after_help = "Start with `tubes check CONFIG` to validate, `tubes graph CONFIG | dot -Tsvg > g.svg` to see the graph."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline and print a summary (datapoints in, rows out, wall time, datapoints/s) to stderr.
    ///
    /// Sink rows go where the config says (stdout, CSV, NDJSON). Relative paths in the config resolve
    /// against the current directory. A Batch run shows a progress bar when stderr is a terminal.
    Run {
        /// The pipeline config (YAML).
        config: PathBuf,
        /// Print no summary and no progress bar.
        #[arg(short, long)]
        quiet: bool,
        /// Print no progress bar.
        #[arg(long)]
        no_progress: bool,
    },
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

/// Parses and checks a config file.
pub fn load_graph(path: &Path) -> Result<Graph, ConfigErrors> {
    let (config, diag) = crate::config::load(path)?;
    graph::check(config, diag)
}

/// Builds and runs a checked graph to its end.
pub fn run_graph(
    g: &Graph,
    on_progress: impl FnMut(crate::runtime::Progressing),
) -> Result<Report, RunError> {
    let plan = graph::plan(g);
    Engine::build(g, &plan)?.start()?.finish(on_progress)
}

/// Runs the command line; returns the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => match load_graph(&config) {
            Ok(g) => {
                let plan = graph::plan(&g);
                println!(
                    "{}: ok — {} tubes; {}",
                    config.display(),
                    g.nodes.len(),
                    plan.note
                );
                0
            }
            Err(e) => {
                eprintln!("{e}");
                EXIT_CONFIG
            }
        },
        Command::Graph { config } => match load_graph(&config) {
            Ok(g) => {
                print!("{}", graph::to_dot(&g));
                0
            }
            Err(e) => {
                eprintln!("{e}");
                EXIT_CONFIG
            }
        },
        Command::Run {
            config,
            quiet,
            no_progress,
        } => {
            let g = match load_graph(&config) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("{e}");
                    return EXIT_CONFIG;
                }
            };
            let show = !quiet && !no_progress && std::io::stderr().is_terminal();
            let mut bar = progress::Bar::new(show);
            let result = run_graph(&g, |p| bar.update(p));
            bar.clear();
            match result {
                Ok(report) => {
                    if !quiet {
                        eprintln!("{}", crate::metrics::summary(&report));
                    }
                    0
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_RUNTIME
                }
            }
        }
    }
}
