//! Building and running the threads of a plan.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::recording::Recording;
use super::replay::Replay;
use super::sequencer::Sequencer;
use super::stage::{Local, Route, Stage, Tube};
use crate::base::datapoint::TubeId;
use crate::base::ring::{ring, Progress};
use crate::base::wait::{Waiter, Wake};
use crate::base::GenCounters;
use crate::base::{pin, Ctx, Inlet, Outlet, RunError};
use crate::config::{ExternalDecl, PipelineType};
use crate::events::tick::TickSchedule;
use crate::generators::csv::CsvGenerator;
use crate::generators::synthetic::SyntheticGenerator;
use crate::generators::ws::{FeedLoop, FeedSpec};
use crate::graph::{Graph, NodeKind, Plan, Port};
use crate::metrics::{histogram, Recorder, Series, SeriesKind, Shared};
use crate::sinks::Sink;
use crate::throughs::Through;
use hdrhistogram::Histogram;

/// What one generator did.
#[derive(Debug, Clone, PartialEq)]
pub struct GenReport {
    /// Its label.
    pub label: String,
    /// Rows it emitted.
    pub rows: u64,
    /// Malformed rows skipped (`on_error: skip`).
    pub skipped: u64,
    /// Rows outside the Batch range.
    pub outside: u64,
    /// Largest delay between intended and actual send time (paced sources; 0 otherwise).
    pub max_lag_ns: u64,
    /// Rows left unread because the run was stopped early.
    pub unread: u64,
    /// For a live feed: what happened to its connection.
    pub feed: Option<FeedReport>,
}

/// What happened to a live feed (reconnects and malformed frames are its connection's).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeedReport {
    /// `binance btcusdt`.
    pub name: String,
    /// Times the connection was re-established.
    pub reconnects: u64,
    /// Jumps in trade ids.
    pub gaps: u64,
    /// Trades missing in those jumps.
    pub missed: u64,
    /// Trades seen again after a reconnect, dropped.
    pub duplicates: u64,
    /// Frames that could not be read.
    pub malformed: u64,
    /// The last connection error, if any.
    pub last_error: Option<String>,
}

/// What a finished run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// Datapoints numbered by the sequencer (generator rows and ticks).
    pub datapoints: u64,
    /// Rows written by all sinks.
    pub rows: u64,
    /// From the start signal to the last thread's end.
    pub wall: Duration,
    /// Per generator.
    pub generators: Vec<GenReport>,
    /// Rows per sink label.
    pub sinks: Vec<(String, u64)>,
    /// How threads were placed.
    pub placement: String,
    /// Latency series of the run (empty when recording is off).
    pub series: Vec<Series>,
    /// Whole-run histogram of each series, in nanoseconds.
    pub latency: Vec<Histogram<u64>>,
    /// Under `backpressure: drop_newest`: datapoints dropped per ring (empty when blocking).
    pub drops: Vec<(String, u64)>,
    /// The run was stopped early by [`Engine::stop_handle`] (a signal).
    pub interrupted: bool,
    /// Records in the journal at the end, when the run was recorded.
    pub journal: Option<u64>,
}

/// Watches a run from the thread that waits for it.
pub trait Observer {
    /// How often to report latency intervals (None: only totals at the end).
    fn interval(&self) -> Option<Duration> {
        None
    }
    /// Called about every 200 ms with progress numbers.
    fn progress(&mut self, _p: Progressing) {}
    /// Called once per interval with what each series recorded in it; `start` is relative to the run's start.
    fn latency(
        &mut self,
        _start: Duration,
        _length: Duration,
        _series: &[Series],
        _hists: &[Histogram<u64>],
    ) {
    }
}

/// An observer that only follows progress.
pub struct OnProgress<F: FnMut(Progressing)>(pub F);

impl<F: FnMut(Progressing)> Observer for OnProgress<F> {
    fn progress(&mut self, p: Progressing) {
        (self.0)(p)
    }
}

enum Job {
    Csv(CsvGenerator, Outlet),
    Synthetic(SyntheticGenerator, Outlet),
    Feeds(FeedLoop, Outlet),
    Replay(Box<Replay>, Outlet),
    Record(Option<Recording>),
    Sequencer(Sequencer),
    Stage(Stage),
}

enum Done {
    Generator,
    Journal(u64),
    Sequencer(u64),
    Stage(Vec<(TubeId, u64)>),
}

struct Thread {
    name: String,
    /// The stage it runs, for stage threads.
    stage: Option<usize>,
    core: Option<usize>,
    job: Job,
    ctx: Ctx,
    /// The progress this thread publishes (ended when it stops).
    progress: Arc<Progress>,
}

/// A built pipeline: every ring allocated, every file opened, no thread started.
pub struct Engine {
    threads: Vec<Thread>,
    labels: Vec<String>,
    counters: Vec<(String, Arc<GenCounters>, Option<String>)>,
    bytes_total: u64,
    placement: String,
    shutdown: Arc<AtomicBool>,
    wakes: Vec<Arc<Wake>>,
    metrics: Arc<Shared>,
    drops: Vec<(String, Arc<AtomicU64>)>,
    stop: Arc<AtomicBool>,
    ring_capacity: usize,
    wait: crate::config::WaitStrategy,
}

/// When a live feed is upstream of `t` through data edges: every generator's feed name by tube id.
fn feed_names(g: &Graph, t: TubeId) -> Option<Vec<String>> {
    let mut seen = vec![false; g.nodes.len()];
    let mut todo = vec![t];
    let mut found = false;
    while let Some(x) = todo.pop() {
        if std::mem::replace(&mut seen[x as usize], true) {
            continue;
        }
        found |= matches!(g.nodes[x as usize].kind, NodeKind::WebSocket(_));
        for p in &g.nodes[x as usize].ports {
            if let Port::Data(src) = p {
                todo.push(*src);
            }
        }
    }
    found.then(|| {
        g.nodes
            .iter()
            .map(|n| match &n.kind {
                NodeKind::WebSocket(s) => s.feed_name(),
                _ => n.label.clone(),
            })
            .collect()
    })
}

/// A ring from a generator thread to the sequencer. The sequencer's end joins `inlets`; returns the
/// generator's end, its doorbell and the progress it publishes.
fn to_sequencer(
    capacity: usize,
    sequencer: &Arc<Wake>,
    inlets: &mut Vec<Inlet>,
    drops: Option<Arc<AtomicU64>>,
) -> (Outlet, Arc<Wake>, Arc<Progress>) {
    let (tx, rx) = ring(capacity);
    let wake = Arc::new(Wake::default());
    let progress = Arc::new(Progress::new());
    inlets.push(Inlet {
        ring: rx,
        progress: progress.clone(),
        producer: wake.clone(),
    });
    let outlet = Outlet {
        ring: tx,
        consumer: sequencer.clone(),
        drops,
    };
    (outlet, wake, progress)
}

/// A generator has returned: it publishes that it has ended and wakes the sequencer, whatever the result.
fn generator_ended(
    r: Result<(), RunError>,
    out: &Outlet,
    progress: &Progress,
) -> Result<Done, RunError> {
    progress.end();
    out.notify();
    r.map(|()| Done::Generator)
}

/// A new drop counter named `ring`, when drops are on.
fn drop_counter(
    drops: &mut Option<Vec<(String, Arc<AtomicU64>)>>,
    ring: String,
) -> Option<Arc<AtomicU64>> {
    let list = drops.as_mut()?;
    let c = Arc::new(AtomicU64::new(0));
    list.push((ring, c.clone()));
    Some(c)
}

/// Live numbers for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progressing {
    /// Input bytes processed.
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
    /// Rows read so far.
    pub rows: u64,
}

const SEQ: usize = 0;
/// Name of the I/O thread's ring in latency tables and drop counts.
const FEEDS: &str = "feeds";
/// Name of a replay's ring.
const JOURNAL: &str = "journal";

impl Engine {
    /// Builds everything a run needs before the first datapoint flows.
    pub fn build(g: &Graph, plan: &Plan) -> Result<Engine, RunError> {
        Self::build_with(g, plan, None)
    }

    /// Builds a run whose input is a journal: `replay` feeds the sequencer in place of every generator
    /// and tick source of `g`.
    pub fn build_replay(g: &Graph, plan: &Plan, replay: Replay) -> Result<Engine, RunError> {
        Self::build_with(g, plan, Some(replay))
    }

    fn build_with(g: &Graph, plan: &Plan, mut replay: Option<Replay>) -> Result<Engine, RunError> {
        // Calibrate the clock now rather than on the first datapoint.
        crate::base::time::monotonic_ns();
        let n = g.nodes.len();
        let ring_cap = g.runtime.ring_capacity;
        // Latency series: generator rings (the sequencer's), then per stage its rings, tubes and sinks.
        // One ring per generator, except that every WebSocket generator shares the I/O thread's ring.
        let has_feeds = g
            .nodes
            .iter()
            .any(|n| matches!(n.kind, NodeKind::WebSocket(_)));
        let own_rings: Vec<&str> = if replay.is_some() {
            vec![JOURNAL]
        } else {
            g.nodes
                .iter()
                .filter(|n| n.kind.is_generator() && !matches!(n.kind, NodeKind::WebSocket(_)))
                .map(|n| n.label.as_str())
                .chain(has_feeds.then_some(FEEDS))
                .collect()
        };
        let mut series: Vec<Series> = own_rings
            .into_iter()
            .map(|name| Series {
                kind: SeriesKind::Queue,
                name: format!("{name}→sequencer"),
            })
            .collect();
        let seq_series = (0, series.len());
        // Under drop_newest, one counter per ring, named like its latency series.
        let mut drops: Option<Vec<(String, Arc<AtomicU64>)>> = g.runtime.drop_newest.then(Vec::new);
        let mut stage_series = Vec::new();
        let shutdown = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let placeholder = Shared::new(Vec::new());
        let new_ctx = |wake: &Arc<Wake>| Ctx {
            wake: wake.clone(),
            waiter: Waiter::new(g.runtime.wait),
            shutdown: shutdown.clone(),
            stop: stop.clone(),
        };
        // Unit 0 is the sequencer, unit s+1 is stage s.
        let mut unit_of = vec![SEQ; n];
        for (s, st) in plan.stages.iter().enumerate() {
            for &t in &st.tubes {
                unit_of[t as usize] = s + 1;
            }
        }
        let units = plan.stages.len() + 1;
        let wakes: Vec<Arc<Wake>> = (0..units).map(|_| Arc::new(Wake::default())).collect();
        let progress: Vec<Arc<Progress>> = (0..units).map(|_| Arc::new(Progress::new())).collect();
        // How many datapoints one sequence number can put in an inbox: the bound of inbox capacities.
        let mut bound = vec![1usize; n];
        for &t in &g.topo {
            let node = &g.nodes[t as usize];
            if !node.ports.is_empty() {
                bound[t as usize] = node
                    .ports
                    .iter()
                    .map(|p| bound[p.source() as usize])
                    .sum::<usize>()
                    .min(4096);
            }
        }

        let mut outlets: Vec<Vec<Outlet>> = (0..units).map(|_| Vec::new()).collect();
        let mut out_routes: Vec<Vec<Vec<(u16, bool)>>> =
            (0..units).map(|_| vec![Vec::new(); n]).collect();
        let mut stages = Vec::new();
        for (s, st) in plan.stages.iter().enumerate() {
            let me = s + 1;
            let mut inlets = Vec::new();
            let mut inlet_names: Vec<String> = Vec::new();
            let mut routes: Vec<Vec<Route>> = vec![Vec::new(); n];
            let mut tubes = Vec::new();
            let mut scratch = 1;
            for (local, &t) in st.tubes.iter().enumerate() {
                let node = &g.nodes[t as usize];
                for (port, p) in node.ports.iter().enumerate() {
                    routes[p.source() as usize].push(Route {
                        local: local as u16,
                        port: port as u8,
                        events_only: matches!(p, Port::Event(_)),
                    });
                }
                let data_ports = node
                    .ports
                    .iter()
                    .filter(|p| matches!(p, Port::Data(_)))
                    .count();
                let tube = match &node.kind {
                    NodeKind::Through(spec) => Tube::Through(Through::new(t, spec, data_ports)),
                    NodeKind::Sink { outputs, columns } => {
                        let to_journal = outputs
                            .iter()
                            .any(|o| matches!(o, crate::config::SinkOutput::Journal(_)));
                        if to_journal && columns.len() > crate::base::datapoint::MAX_FIELDS {
                            return Err(RunError::Input(format!(
                                "sink '{}' has {} columns; a Journal output holds at most {} (one record per row): split the columns over two sinks",
                                node.label,
                                columns.len(),
                                crate::base::datapoint::MAX_FIELDS
                            )));
                        }
                        let journal = to_journal.then(|| {
                            let mut meta = crate::graph::journal_meta(
                                g,
                                "output",
                                crate::config::SEGMENT_RECORDS,
                            );
                            meta.tubes[t as usize].fields =
                                columns.iter().map(|c| c.name.clone()).collect();
                            (meta, t)
                        });
                        Tube::Sink(Sink::open(outputs, columns, feed_names(g, t), journal)?)
                    }
                    _ => unreachable!("only throughs and sinks are placed in stages"),
                };
                scratch = scratch.max(bound[t as usize]);
                tubes.push(Local {
                    id: t,
                    tube,
                    inbox: Vec::with_capacity(bound[t as usize]),
                });
            }
            // One ring from every other unit that hosts a source of this stage's tubes.
            for producer in 0..units {
                if producer == me {
                    continue;
                }
                let mut sources: Vec<(TubeId, bool)> = Vec::new();
                for &t in &st.tubes {
                    for p in &g.nodes[t as usize].ports {
                        let src = p.source();
                        if unit_of[src as usize] != producer {
                            continue;
                        }
                        let data = matches!(p, Port::Data(_));
                        match sources.iter_mut().find(|(x, _)| *x == src) {
                            Some((_, d)) => *d |= data,
                            None => sources.push((src, data)),
                        }
                    }
                }
                if sources.is_empty() {
                    continue;
                }
                let (tx, rx) = ring(ring_cap);
                let idx = outlets[producer].len() as u16;
                let from = if producer == SEQ {
                    "sequencer".to_string()
                } else {
                    format!("stage {}", producer - 1)
                };
                outlets[producer].push(Outlet {
                    ring: tx,
                    consumer: wakes[me].clone(),
                    drops: drop_counter(&mut drops, format!("{from}→stage {s}")),
                });
                for (src, data) in sources {
                    out_routes[producer][src as usize].push((idx, data));
                }
                inlets.push(Inlet {
                    ring: rx,
                    progress: progress[producer].clone(),
                    producer: wakes[producer].clone(),
                });
                inlet_names.push(if producer == SEQ {
                    "sequencer".into()
                } else {
                    format!("stage {}", producer - 1)
                });
            }
            let first = series.len();
            for inlet_from in &inlet_names {
                series.push(Series {
                    kind: SeriesKind::Queue,
                    name: format!("{inlet_from}→stage {s}"),
                });
            }
            for &t in &st.tubes {
                series.push(Series {
                    kind: SeriesKind::Service,
                    name: g.nodes[t as usize].label.clone(),
                });
            }
            let mut e2e = vec![None; st.tubes.len()];
            for (local, &t) in st.tubes.iter().enumerate() {
                if matches!(g.nodes[t as usize].kind, NodeKind::Sink { .. }) {
                    e2e[local] = Some(series.len() - first);
                    series.push(Series {
                        kind: SeriesKind::EndToEnd,
                        name: g.nodes[t as usize].label.clone(),
                    });
                }
            }
            stage_series.push((first, series.len() - first));
            stages.push((
                st.core,
                Stage {
                    inlets,
                    outlets: Vec::new(),
                    tubes,
                    routes,
                    out_routes: Vec::new(),
                    progress: progress[me].clone(),
                    published: 0,
                    scratch: Vec::with_capacity(scratch),
                    rec: Recorder::off(&placeholder),
                    e2e,
                },
            ));
        }
        for (s, (_, stage)) in stages.iter_mut().enumerate() {
            stage.outlets = std::mem::take(&mut outlets[s + 1]);
            stage.out_routes = std::mem::take(&mut out_routes[s + 1]);
        }

        // Generators and the sequencer.
        let range = match g.pipeline {
            PipelineType::Batch { from, to } => Some((from, to)),
            PipelineType::Stream => None,
        };
        let mut threads = Vec::new();
        let mut seq_inlets = Vec::new();
        let mut ticks = Vec::new();
        let mut counters = Vec::new();
        let mut bytes_total = 0;
        let mut feeds = Vec::new();
        for (id, node) in g.nodes.iter().enumerate() {
            if let Some(r) = &mut replay {
                // The journal replaces every generator and tick source; generators still count rows.
                if node.kind.is_generator() {
                    let c = Arc::new(GenCounters::default());
                    counters.push((node.label.clone(), c.clone(), None));
                    r.counters[id] = Some(c);
                }
                continue;
            }
            match &node.kind {
                NodeKind::WebSocket(src) => {
                    let c = Arc::new(GenCounters::default());
                    counters.push((node.label.clone(), c.clone(), Some(src.feed_name())));
                    feeds.push(FeedSpec {
                        id: id as TubeId,
                        source: src.clone(),
                        counters: c,
                    });
                }
                kind if kind.is_generator() => {
                    let dropped = drop_counter(&mut drops, format!("{}→sequencer", node.label));
                    let (outlet, wake, prog) =
                        to_sequencer(ring_cap, &wakes[SEQ], &mut seq_inlets, dropped);
                    let job = match kind {
                        NodeKind::CsvGenerator { source, layout } => {
                            let used = g.used_fields(id as TubeId);
                            let gen =
                                CsvGenerator::open(id as TubeId, source, layout, range, &used)?;
                            bytes_total += gen.bytes();
                            counters.push((node.label.clone(), gen.counters.clone(), None));
                            Job::Csv(gen, outlet)
                        }
                        NodeKind::Synthetic(src) => {
                            let gen = SyntheticGenerator::new(id as TubeId, src);
                            counters.push((node.label.clone(), gen.counters.clone(), None));
                            Job::Synthetic(gen, outlet)
                        }
                        _ => unreachable!("WebSocket generators are handled above"),
                    };
                    threads.push(Thread {
                        name: format!("tubes-gen-{}", node.label),
                        stage: None,
                        core: None,
                        job,
                        ctx: new_ctx(&wake),
                        progress: prog,
                    });
                }
                NodeKind::Tick(ExternalDecl::StaticTimeTick { from, to, interval }) => {
                    let (lo, hi) = range.unwrap_or((i64::MIN, i64::MAX));
                    ticks.push(TickSchedule::new(
                        id as TubeId,
                        *from,
                        *to,
                        *interval,
                        lo,
                        hi,
                    ));
                }
                _ => {}
            }
        }
        let replaying = replay.is_some();
        if let Some(r) = replay {
            let dropped = drop_counter(&mut drops, format!("{JOURNAL}→sequencer"));
            let (outlet, wake, prog) =
                to_sequencer(ring_cap, &wakes[SEQ], &mut seq_inlets, dropped);
            threads.push(Thread {
                name: "tubes-replay".into(),
                stage: None,
                core: None,
                job: Job::Replay(Box::new(r), outlet),
                ctx: new_ctx(&wake),
                progress: prog,
            });
        }
        if !feeds.is_empty() {
            let dropped = drop_counter(&mut drops, format!("{FEEDS}→sequencer"));
            let (outlet, wake, prog) =
                to_sequencer(ring_cap, &wakes[SEQ], &mut seq_inlets, dropped);
            threads.push(Thread {
                name: "tubes-io".into(),
                stage: None,
                core: None,
                job: Job::Feeds(FeedLoop::new(feeds)?, outlet),
                ctx: new_ctx(&wake),
                progress: prog,
            });
        }
        let mut seq_routes: Vec<Vec<u16>> = vec![Vec::new(); n];
        for (src, r) in out_routes[SEQ].iter().enumerate() {
            seq_routes[src] = r.iter().map(|&(o, _)| o).collect();
        }
        let waiting = vec![false; seq_inlets.len()];
        threads.push(Thread {
            name: "tubes-sequencer".into(),
            stage: None,
            core: None,
            job: Job::Sequencer(Sequencer {
                inlets: seq_inlets,
                ticks,
                outlets: std::mem::take(&mut outlets[SEQ]),
                routes: seq_routes,
                progress: progress[SEQ].clone(),
                // A replay keeps the journal's order, which is the recorded merge order.
                batch: range.is_some() && !replaying,
                seq: 0,
                waiting,
                rec: Recorder::off(&placeholder),
                journal: None,
            }),
            ctx: new_ctx(&wakes[SEQ]),
            progress: progress[SEQ].clone(),
        });
        for (s, (core, stage)) in stages.into_iter().enumerate() {
            threads.push(Thread {
                name: format!("tubes-stage-{s}"),
                stage: Some(s),
                core,
                job: Job::Stage(stage),
                ctx: new_ctx(&wakes[s + 1]),
                progress: progress[s + 1].clone(),
            });
        }
        let on = g.runtime.metrics;
        let metrics = Shared::new(if on { series } else { Vec::new() });
        for t in &mut threads {
            match &mut t.job {
                Job::Sequencer(sq) => {
                    sq.rec = Recorder::new(&metrics, seq_series.0, seq_series.1, on)
                }
                Job::Stage(st) => {
                    let (first, count) =
                        stage_series[t.stage.expect("a stage thread knows its stage")];
                    st.rec = Recorder::new(&metrics, first, count, on);
                }
                Job::Csv(..)
                | Job::Synthetic(..)
                | Job::Feeds(..)
                | Job::Replay(..)
                | Job::Record(_) => {}
            }
        }
        let mut all_wakes = wakes;
        all_wakes.extend(threads.iter().map(|t| t.ctx.wake.clone()));
        Ok(Engine {
            threads,
            labels: g.nodes.iter().map(|n| n.label.clone()).collect(),
            counters,
            bytes_total,
            placement: plan.note.clone(),
            shutdown,
            wakes: all_wakes,
            metrics,
            drops: drops.unwrap_or_default(),
            stop,
            ring_capacity: ring_cap,
            wait: g.runtime.wait,
        })
    }

    /// A flag that ends the run early but cleanly when set (e.g. from a signal handler): generators stop
    /// reading, everything already read is processed, sinks flush, and the report says it was interrupted.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Uses `flag` as the stop flag instead of the engine's own (one flag can serve several runs).
    pub fn set_stop(&mut self, flag: Arc<AtomicBool>) {
        for t in &mut self.threads {
            t.ctx.stop = flag.clone();
        }
        self.stop = flag;
    }

    /// Ends paced (Synthetic) generators and live feeds after `d`; the run ends when they have.
    pub fn stop_after(&mut self, d: Duration) {
        for t in &mut self.threads {
            match &mut t.job {
                Job::Synthetic(gen, _) => gen.duration = Some(d),
                Job::Feeds(feeds, _) => feeds.duration = Some(d),
                _ => {}
            }
        }
    }

    /// Records every datapoint the sequencer numbers into `writer`, on a thread of its own.
    pub fn record_to(&mut self, writer: crate::journal::Writer) {
        let cap = self.ring_capacity;
        let seq = self
            .threads
            .iter_mut()
            .find(|t| matches!(t.job, Job::Sequencer(_)))
            .expect("every engine has a sequencer");
        let (seq_wake, seq_progress) = (seq.ctx.wake.clone(), seq.progress.clone());
        let wake = Arc::new(Wake::default());
        let (tx, rx) = ring(cap);
        if let Job::Sequencer(s) = &mut seq.job {
            s.journal = Some(Outlet {
                ring: tx,
                consumer: wake.clone(),
                drops: None,
            });
        }
        let ctx = Ctx {
            wake: wake.clone(),
            waiter: Waiter::new(self.wait),
            shutdown: self.shutdown.clone(),
            stop: self.stop.clone(),
        };
        self.threads.push(Thread {
            name: "tubes-journal".into(),
            stage: None,
            core: None,
            job: Job::Record(Some(Recording {
                writer,
                inlet: Inlet {
                    ring: rx,
                    progress: seq_progress.clone(),
                    producer: seq_wake,
                },
            })),
            ctx,
            progress: Arc::new(Progress::new()),
        });
        self.wakes.push(wake);
    }

    /// Ends live feeds once no trade has arrived on any of them for `d`.
    pub fn idle_exit(&mut self, d: Duration) {
        for t in &mut self.threads {
            if let Job::Feeds(feeds, _) = &mut t.job {
                feeds.idle_exit = Some(d);
            }
        }
    }

    /// Spawns every thread; each pins itself and waits for [`Running::finish`] to start it.
    pub fn start(self) -> Result<Running, RunError> {
        let start = Arc::new(Barrier::new(self.threads.len() + 1));
        // Finished threads count themselves here and wake the caller: no allocation at the end of a run.
        let finished = Arc::new(AtomicUsize::new(0));
        let ready = Arc::new(AtomicUsize::new(0));
        let caller = std::thread::current();
        let mut handles = Vec::new();
        for t in self.threads {
            let start = start.clone();
            let finished = finished.clone();
            let ready = ready.clone();
            let caller = caller.clone();
            let shutdown = self.shutdown.clone();
            let wakes = self.wakes.clone();
            let h = std::thread::Builder::new()
                .name(t.name.clone())
                .spawn(move || {
                    let Thread {
                        core,
                        mut job,
                        mut ctx,
                        progress,
                        ..
                    } = t;
                    ctx.wake.register();
                    if let Some(c) = core {
                        pin::pin_current(c);
                    }
                    ready.fetch_add(1, Ordering::SeqCst);
                    caller.unpark();
                    start.wait();
                    let r = match &mut job {
                        Job::Csv(gen, out) => {
                            let r = gen.run(out, &mut ctx);
                            generator_ended(r, out, &progress)
                        }
                        Job::Synthetic(gen, out) => {
                            let r = gen.run(out, &mut ctx);
                            generator_ended(r, out, &progress)
                        }
                        Job::Replay(replay, out) => {
                            let r = replay.run(out, &mut ctx);
                            generator_ended(r, out, &progress)
                        }
                        Job::Feeds(feeds, out) => {
                            let r = feeds.run(out, &mut ctx);
                            generator_ended(r, out, &progress)
                        }
                        Job::Record(rec) => {
                            let mut r = rec.take().expect("a journal job runs once");
                            r.run(&mut ctx).and_then(|_| r.close()).map(Done::Journal)
                        }
                        Job::Sequencer(s) => s.run(&mut ctx).map(Done::Sequencer),
                        Job::Stage(s) => s.run(&mut ctx).map(Done::Stage),
                    };
                    if r.is_err() {
                        shutdown.store(true, Ordering::SeqCst);
                        for w in &wakes {
                            w.notify();
                        }
                    }
                    let at = Instant::now();
                    finished.fetch_add(1, Ordering::SeqCst);
                    caller.unpark();
                    (r, at)
                })
                .map_err(|e| RunError::Thread(format!("could not be started: {e}")))?;
            handles.push(h);
        }
        // Every thread has done its start-up work (pinning, thread-local set-up) before the caller goes on.
        while ready.load(Ordering::SeqCst) < handles.len() {
            std::thread::park_timeout(Duration::from_millis(10));
        }
        Ok(Running {
            handles,
            start,
            finished,
            labels: self.labels,
            counters: self.counters,
            bytes_total: self.bytes_total,
            placement: self.placement,
            metrics: self.metrics,
            drops: self.drops,
            stop: self.stop,
        })
    }
}

type Handle = JoinHandle<(Result<Done, RunError>, Instant)>;

/// Spawned threads waiting for the start signal.
pub struct Running {
    handles: Vec<Handle>,
    start: Arc<Barrier>,
    finished: Arc<AtomicUsize>,
    labels: Vec<String>,
    counters: Vec<(String, Arc<GenCounters>, Option<String>)>,
    bytes_total: u64,
    placement: String,
    metrics: Arc<Shared>,
    drops: Vec<(String, Arc<AtomicU64>)>,
    stop: Arc<AtomicBool>,
}

/// Time the waiting thread gives engine threads to flush their histograms after a new interval starts
/// (an idle thread looks at least every millisecond).
const FLUSH_GRACE: Duration = Duration::from_millis(5);

impl Running {
    /// Starts the run and waits for its end, calling `on_progress` about every 200 ms meanwhile.
    /// Call it from the thread that called [`Engine::start`]: finishing threads wake that thread.
    pub fn finish(self, on_progress: impl FnMut(Progressing)) -> Result<Report, RunError> {
        self.finish_observed(&mut OnProgress(on_progress))
    }

    /// Starts the run and waits for its end, reporting progress and latency intervals to `obs`.
    pub fn finish_observed(self, obs: &mut dyn Observer) -> Result<Report, RunError> {
        let series = self.metrics.series.clone();
        let mut totals: Vec<Histogram<u64>> = series.iter().map(|_| histogram()).collect();
        let mut interval: Vec<Histogram<u64>> = series.iter().map(|_| histogram()).collect();
        let period = obs.interval().filter(|_| !series.is_empty());
        let tick = Duration::from_millis(200);
        self.start.wait();
        let t0 = Instant::now();
        let (mut last_progress, mut interval_start) = (t0, t0);
        while self.finished.load(Ordering::SeqCst) < self.handles.len() {
            let mut wait = tick.saturating_sub(last_progress.elapsed());
            if let Some(p) = period {
                wait = wait.min(p.saturating_sub(interval_start.elapsed()));
            }
            std::thread::park_timeout(wait.max(Duration::from_millis(1)));
            if last_progress.elapsed() >= tick {
                last_progress = Instant::now();
                obs.progress(Progressing {
                    bytes_done: self
                        .counters
                        .iter()
                        .map(|(_, c, _)| c.bytes_done.load(Ordering::Relaxed))
                        .sum(),
                    bytes_total: self.bytes_total,
                    rows: self
                        .counters
                        .iter()
                        .map(|(_, c, _)| c.rows.load(Ordering::Relaxed))
                        .sum(),
                });
            }
            if let Some(p) = period {
                if interval_start.elapsed() >= p {
                    self.metrics.new_interval();
                    std::thread::sleep(FLUSH_GRACE);
                    let now = Instant::now();
                    self.report_interval(
                        obs,
                        &mut interval,
                        &mut totals,
                        interval_start - t0,
                        now - interval_start,
                    );
                    interval_start = now;
                }
            }
        }
        // Every thread flushed when it ended.
        let now = Instant::now();
        self.report_interval(
            obs,
            &mut interval,
            &mut totals,
            interval_start - t0,
            now - interval_start,
        );
        let mut first_error = None;
        let mut end = t0;
        let mut datapoints = 0;
        let mut journal = None;
        let mut sinks = Vec::new();
        for h in self.handles {
            let thread = h.thread().clone();
            match h.join() {
                Ok((r, at)) => {
                    end = end.max(at);
                    match r {
                        Ok(Done::Generator) => {}
                        Ok(Done::Journal(n)) => journal = Some(n),
                        Ok(Done::Sequencer(n)) => datapoints = n,
                        Ok(Done::Stage(rows)) => sinks.extend(rows),
                        Err(RunError::Stopped) => {}
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                Err(_) => {
                    first_error.get_or_insert(RunError::Thread(format!(
                        "{} panicked",
                        thread.name().unwrap_or("?")
                    )));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        sinks.sort_by_key(|&(id, _)| id);
        let generators = self
            .counters
            .iter()
            .map(|(label, c, feed)| GenReport {
                label: label.clone(),
                rows: c.rows.load(Ordering::Relaxed),
                skipped: c.skipped.load(Ordering::Relaxed),
                outside: c.outside.load(Ordering::Relaxed),
                max_lag_ns: c.max_lag_ns.load(Ordering::Relaxed),
                unread: c.unread.load(Ordering::Relaxed),
                feed: feed.as_ref().map(|name| FeedReport {
                    name: name.clone(),
                    reconnects: c.reconnects.load(Ordering::Relaxed),
                    gaps: c.gaps.load(Ordering::Relaxed),
                    missed: c.missed.load(Ordering::Relaxed),
                    duplicates: c.duplicates.load(Ordering::Relaxed),
                    malformed: c.malformed.load(Ordering::Relaxed),
                    last_error: c.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
                }),
            })
            .collect();
        Ok(Report {
            datapoints,
            rows: sinks.iter().map(|&(_, r)| r).sum(),
            wall: end - t0,
            generators,
            sinks: sinks
                .into_iter()
                .map(|(id, r)| (self.labels[id as usize].clone(), r))
                .collect(),
            placement: self.placement,
            series,
            latency: totals,
            drops: self
                .drops
                .iter()
                .map(|(n, c)| (n.clone(), c.load(Ordering::Relaxed)))
                .collect(),
            interrupted: self.stop.load(Ordering::Relaxed),
            journal,
        })
    }

    fn report_interval(
        &self,
        obs: &mut dyn Observer,
        interval: &mut [Histogram<u64>],
        totals: &mut [Histogram<u64>],
        start: Duration,
        length: Duration,
    ) {
        self.metrics.take(interval);
        if interval.iter().all(Histogram::is_empty) {
            return;
        }
        obs.latency(start, length, &self.metrics.series, interval);
        for (t, i) in totals.iter_mut().zip(interval.iter_mut()) {
            t.add(&*i).expect("same bounds");
            i.reset();
        }
    }
}
