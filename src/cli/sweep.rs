//! `tubes run`, `check` and `graph` on a config with a `sweep:` section.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::progress::Bar;
use super::{EXIT_CONFIG, EXIT_RUNTIME};
use crate::config::Template;
use crate::graph;
use crate::sweep::{checked_count, summary, Checking, Shard, SweepError};

/// What `tubes run` takes for a sweep.
pub struct SweepArgs {
    /// Print no summary or progress bar.
    pub quiet: bool,
    /// Print no progress bar.
    pub no_progress: bool,
    /// Run only this slice of the combinations.
    pub shard: Option<Shard>,
    /// Worker threads (default: one per core).
    pub threads: Option<usize>,
}

/// Runs every combination of a sweep (or a shard of them).
pub fn run(t: Template, args: SweepArgs) -> i32 {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Signals stop the reading of the inputs too, so the handler goes in first.
    let stop = super::stop_on_signals();
    let show = !args.quiet && !args.no_progress && std::io::stderr().is_terminal();
    let total = t
        .sweep
        .as_ref()
        .map_or(0, |s| checked_count(s.len(), args.shard));
    let checking = CheckingBar::new(show);
    let tick = |done, of| checking.tick(done, of);
    let counted = Checking::new(total, &tick);
    let prepared = crate::api::sweep_counted(t, args.shard, threads, &stop, &counted);
    checking.clear();
    let mut prepared = match prepared {
        Ok(p) => p,
        Err(SweepError::Config(e)) => {
            errln!("{e}");
            return EXIT_CONFIG;
        }
        Err(SweepError::Run(e)) => {
            errln!("error: {e}");
            return EXIT_RUNTIME;
        }
    };
    prepared.leave_memory_to_exit();
    let mut bar = Bar::new(show);
    let result = prepared.run(threads, &stop, &mut |p| {
        if p.updates < p.updates_total || p.appended >= p.total {
            let frac = p.updates as f64 / p.updates_total.max(1) as f64;
            bar.draw(frac, p.updates, "datapoint-updates");
        } else {
            // Every combination has run; the outputs are still taking their rows.
            let frac = p.appended as f64 / p.total.max(1) as f64;
            bar.draw(frac, p.appended as u64, "combinations written");
        }
    });
    bar.clear();
    // What the sweep checked and read is left for the system to take back at exit, as is the memory
    // it kept for rows: freeing every combination's graph one by one took longer than the exit (0.8 s
    // for 100,000 combinations).
    // It holds no open file and nothing to flush: the outputs belong to the run, which has ended.
    std::mem::forget(prepared);
    match result {
        Ok(report) => {
            if !args.quiet {
                errln!("{}", summary(&report));
            }
            0
        }
        Err(e) => {
            errln!("error: {e}");
            EXIT_RUNTIME
        }
    }
}

/// A progress bar for checking a sweep's combinations, drawn from the checking threads, at most every
/// 200 ms, and not before checking has taken 200 ms; erased when the last combination is checked, so
/// it does not stand still while the inputs are read.
struct CheckingBar {
    /// The bar, when it was last drawn, and whether checking is over.
    bar: Mutex<(Bar, Instant, bool)>,
}

impl CheckingBar {
    fn new(show: bool) -> Self {
        CheckingBar {
            bar: Mutex::new((Bar::new(show), Instant::now(), false)),
        }
    }

    fn tick(&self, done: usize, total: usize) {
        if done >= total {
            let mut b = self.bar.lock().unwrap_or_else(|e| e.into_inner());
            b.0.clear();
            b.2 = true;
            return;
        }
        let Ok(mut b) = self.bar.try_lock() else {
            return;
        };
        if !b.2 && b.1.elapsed() >= Duration::from_millis(200) {
            b.0.draw(
                done as f64 / total.max(1) as f64,
                done as u64,
                "combinations checked",
            );
            b.1 = Instant::now();
        }
    }

    fn clear(&self) {
        self.bar.lock().unwrap_or_else(|e| e.into_inner()).0.clear();
    }
}

/// Checks every combination; prints the size of the expansion.
pub fn check(t: &Template, config: &Path) -> i32 {
    let sweep = t.sweep.as_ref().expect("a sweep");
    let checking = CheckingBar::new(std::io::stderr().is_terminal());
    let tick = |done, of| checking.tick(done, of);
    let expanded = crate::api::expand_counted(t, None, &Checking::new(sweep.len(), &tick));
    checking.clear();
    match expanded {
        Ok(x) => {
            let template_tubes = x.graphs.first().map_or(0, |g| g.nodes.len());
            let mut per_label: Vec<(String, usize)> = Vec::new();
            for input in &x.inputs {
                let label = &x.graphs[input.combo].nodes[input.id as usize].label;
                match per_label.iter_mut().find(|(l, _)| l == label) {
                    Some((_, n)) => *n += 1,
                    None => per_label.push((label.clone(), 1)),
                }
            }
            let opened: Vec<String> = per_label.iter().map(|(l, n)| format!("{l} {n}")).collect();
            outln!(
                "{}: ok — a sweep of {} combinations ({}); {template_tubes} tubes in the template, {} in all; {} inputs opened, each once ({}); {} merged streams",
                config.display(),
                sweep.len(),
                sweep.shape(),
                x.tubes(),
                x.inputs.len(),
                opened.join(", "),
                x.streams.len()
            );
            0
        }
        Err(e) => {
            errln!("{e}");
            EXIT_CONFIG
        }
    }
}

/// The template as DOT: one node per template tube, each annotated with the parameters it uses.
pub fn dot(t: &Template) -> i32 {
    let sweep = t.sweep.as_ref().expect("a sweep");
    let x = match crate::api::expand(
        t,
        Some(Shard {
            index: 1,
            count: sweep.len(),
        }),
    ) {
        Ok(x) => x,
        Err(e) => {
            errln!("{e}");
            return EXIT_CONFIG;
        }
    };
    let g = &x.graphs[0];
    let note = |i: usize| {
        let used = t.params_at(&format!("tubes[{i}]"));
        if used.is_empty() {
            return None;
        }
        let what = match &g.nodes[i].kind {
            graph::NodeKind::Source(_) => written_datasource(t, i),
            _ => None,
        };
        let axes: Vec<String> = used.iter().map(|p| format!("${{{p}}}")).collect();
        Some(match what {
            Some(w) => format!("{w}\\nswept: {}", axes.join(", ")),
            None => format!("swept: {}", axes.join(", ")),
        })
    };
    let title = format!("sweep: {} = {} combinations", sweep.shape(), sweep.len());
    out!("{}", graph::to_dot_with(g, &note, Some(&title)));
    0
}

/// Tube `i`'s datasource as the template writes it (`CSV testdata/binance_${coin}USDT.csv`).
fn written_datasource(t: &Template, i: usize) -> Option<String> {
    let tube = t
        .doc
        .get("tubes")?
        .get(i)?
        .get("Generator")?
        .get("datasource")?;
    match tube {
        serde_yaml::Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let v = match v {
                serde_yaml::Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other)
                    .ok()?
                    .trim()
                    .replace('\n', "; "),
            };
            Some(format!("{} {v}", k.as_str()?))
        }
        other => Some(serde_yaml::to_string(other).ok()?.trim().to_string()),
    }
}
