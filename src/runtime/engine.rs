//! Building and starting the threads of a plan.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use super::live::Watched;
use super::recording::Recording;
use super::running::{Done, Running};
use super::sequencer::Sequencer;
use super::stage::Stage;
use super::wiring::{Wiring, SEQ};
use crate::base::datapoint::TubeId;
use crate::base::ring::{ring, Progress};
use crate::base::wait::{Waiter, Wake};
use crate::base::{pin, Ctx, GenCounters, Inlet, Outlet, RunError};
use crate::config::{ExternalDecl, PipelineType, WaitStrategy};
use crate::events::tick::TickSchedule;
use crate::graph::{Graph, NodeKind, Plan};
use crate::metrics::{Recorder, Shared};
use crate::plugin::{Commit, Limits, OpenSource, Source, SourceRun, Thread as SourceThread};

/// What a thread does.
enum Job {
    /// A source's run loop and its ring to the sequencer.
    Source(Box<dyn SourceRun>, Outlet),
    Record(Option<Recording>),
    Sequencer(Box<Sequencer>),
    Stage(Stage),
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

/// Counters of one generator: its label, its counters and, for a live feed, the feed's name.
type Counted = (String, Arc<GenCounters>, Option<String>);

/// A built pipeline: every ring allocated, every file opened, no thread started.
pub struct Engine {
    threads: Vec<Thread>,
    labels: Vec<String>,
    counters: Vec<Counted>,
    bytes_total: u64,
    placement: String,
    shutdown: Arc<AtomicBool>,
    wakes: Vec<Arc<Wake>>,
    metrics: Arc<Shared>,
    drops: Vec<(String, Arc<AtomicU64>)>,
    stop: Arc<AtomicBool>,
    ring_capacity: usize,
    wait: WaitStrategy,
    /// The outputs written under temporary names, committed after a clean end.
    staged: Vec<Box<dyn Commit>>,
    /// What the live view reads.
    live: Watched,
}

/// What a panic said (its message, when it has one).
fn panic_text(p: &(dyn std::any::Any + Send)) -> &str {
    p.downcast_ref::<&str>()
        .copied()
        .or_else(|| p.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The outputs of `g` that are written under a temporary name.
fn staged_outputs(g: &Graph) -> Vec<Box<dyn Commit>> {
    g.sink_outputs()
        .filter_map(|(_, _, o)| o.staged())
        .collect()
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

/// Name of a replay's ring.
const JOURNAL: &str = "journal";

/// The threads that feed the sequencer: a source run loop each, with its ring's and thread's names.
type Feeders = Vec<(String, String, Box<dyn SourceRun>)>;

/// The generators of `g`, with their counters, in declaration order.
fn generator_counters(g: &Graph, replaying: bool) -> Vec<Option<Counted>> {
    g.nodes
        .iter()
        .enumerate()
        .map(|(id, n)| {
            n.kind.is_generator().then(|| {
                let feed = if replaying {
                    None
                } else {
                    g.feed(id as TubeId)
                };
                (n.label.clone(), Arc::new(GenCounters::default()), feed)
            })
        })
        .collect()
}

/// Opens every source of `g`: one run loop per thread of [`Graph::source_threads`].
fn open_sources(g: &Graph, counters: &[Option<Counted>]) -> Result<Feeders, RunError> {
    let range = batch_range(g);
    let at = |id: TubeId| OpenSource {
        id,
        range,
        used: g.used_fields(id),
        counters: counters[id as usize]
            .as_ref()
            .expect("a generator has counters")
            .1
            .clone(),
    };
    let source = |id: TubeId| -> &dyn Source {
        match &g.nodes[id as usize].kind {
            NodeKind::Source(s) => s.as_ref(),
            _ => unreachable!("source threads run sources"),
        }
    };
    let mut feeders = Vec::new();
    for (thread, ids) in g.source_threads() {
        let first = source(ids[0]);
        match thread {
            SourceThread::Own => {
                let label = &g.nodes[ids[0] as usize].label;
                let run = first.open(at(ids[0]))?;
                feeders.push((label.clone(), format!("tubes-gen-{label}"), run));
            }
            SourceThread::Shared { ring, thread } => {
                let group = ids.iter().map(|&id| (at(id), source(id))).collect();
                let run = first.open_shared(group)?;
                feeders.push((ring.to_string(), thread.to_string(), run));
            }
        }
    }
    Ok(feeders)
}

fn batch_range(g: &Graph) -> Option<(i64, i64)> {
    match g.pipeline {
        PipelineType::Batch { from, to } => Some((from, to)),
        PipelineType::Stream => None,
    }
}

/// The tick schedules of `g`'s external events, clipped to its Batch range; in Stream, ticks start
/// now (a schedule that began in the past does not fire its past ticks all at once).
pub fn ticks(g: &Graph) -> Vec<TickSchedule> {
    let (lo, hi) = batch_range(g).unwrap_or((crate::base::time::wall_ns(), i64::MAX));
    g.nodes
        .iter()
        .enumerate()
        .filter_map(|(id, n)| match &n.kind {
            NodeKind::Tick(ExternalDecl::StaticTimeTick { from, to, interval }) => Some(
                TickSchedule::new(id as TubeId, *from, *to, interval.as_nanos() as i64, lo, hi),
            ),
            _ => None,
        })
        .collect()
}

/// Builds the counters of a replay's generators into the replay's run loop.
pub type ReplayInto = Box<dyn FnOnce(Vec<Option<Arc<GenCounters>>>) -> Box<dyn SourceRun>>;

impl Engine {
    /// Builds everything a run needs before the first datapoint flows.
    pub fn build(g: &Graph, plan: &Plan) -> Result<Engine, RunError> {
        Self::build_with(g, plan, None)
    }

    /// Builds a run whose input is a journal: `replay`, given every generator's counters by tube id,
    /// returns the run loop that feeds the sequencer in place of every generator and tick source of `g`.
    pub fn build_replay(g: &Graph, plan: &Plan, replay: ReplayInto) -> Result<Engine, RunError> {
        Self::build_with(g, plan, Some(replay))
    }

    fn build_with(g: &Graph, plan: &Plan, replay: Option<ReplayInto>) -> Result<Engine, RunError> {
        let staged = staged_outputs(g);
        let built = Self::build_opened(g, plan, replay);
        match built {
            Ok(mut e) => {
                e.staged = staged;
                Ok(e)
            }
            Err(e) => {
                // A run that never started replaces nothing and leaves nothing behind.
                staged.iter().for_each(|s| s.discard());
                Err(e)
            }
        }
    }

    fn build_opened(
        g: &Graph,
        plan: &Plan,
        replay: Option<ReplayInto>,
    ) -> Result<Engine, RunError> {
        // Calibrate the clock now rather than on the first datapoint.
        crate::base::time::monotonic_ns();
        let replaying = replay.is_some();
        let counters = generator_counters(g, replaying);
        // One ring per source thread (the journal's alone when replaying).
        let ring_names: Vec<String> = if replaying {
            vec![JOURNAL.into()]
        } else {
            g.source_threads()
                .iter()
                .map(|(t, ids)| match t {
                    SourceThread::Own => g.nodes[ids[0] as usize].label.clone(),
                    SourceThread::Shared { ring, .. } => ring.to_string(),
                })
                .collect()
        };
        let names: Vec<&str> = ring_names.iter().map(String::as_str).collect();
        let mut w = Wiring::new(g, plan, &names);
        let seq_series = (0, w.series.len());
        let stages = w.stages(plan)?;
        let feeders = match replay {
            Some(r) => {
                let by_id = counters
                    .iter()
                    .map(|c| c.as_ref().map(|c| c.1.clone()))
                    .collect();
                vec![(JOURNAL.into(), "tubes-replay".into(), r(by_id))]
            }
            None => open_sources(g, &counters)?,
        };
        let gen_ids: Vec<TubeId> = (counters.iter().enumerate())
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i as TubeId)
            .collect();
        let mut e = Engine {
            threads: Vec::new(),
            labels: g.nodes.iter().map(|n| n.label.clone()).collect(),
            counters: counters.into_iter().flatten().collect(),
            bytes_total: feeders.iter().map(|(_, _, r)| r.bytes()).sum(),
            placement: plan.note.clone(),
            shutdown: Arc::new(AtomicBool::new(false)),
            wakes: Vec::new(),
            metrics: Shared::new(Vec::new()),
            drops: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            ring_capacity: w.ring_cap,
            wait: g.runtime.wait,
            staged: Vec::new(),
            live: Watched::default(),
        };
        let mut seq_inlets = Vec::new();
        for (ring_name, thread, run) in feeders {
            let (outlet, wake, prog) = w.ring_to_sequencer(&ring_name, &mut seq_inlets);
            let ctx = e.ctx(&wake);
            e.threads.push(Thread {
                name: thread,
                stage: None,
                core: None,
                job: Job::Source(run, outlet),
                ctx,
                progress: prog,
            });
        }
        // A journal holds the ticks it recorded: a replay makes none of its own.
        let ticks = if replaying { Vec::new() } else { ticks(g) };
        let mut stages = stages;
        let inline = if plan.inline {
            stages.pop().map(|(_, s)| s)
        } else {
            None
        };
        e.sequencer(&mut w, seq_inlets, ticks, replaying, inline);
        for (s, (core, stage)) in stages.into_iter().enumerate() {
            let ctx = e.ctx(&w.wakes[s + 1]);
            e.threads.push(Thread {
                name: format!("tubes-stage-{s}"),
                stage: Some(s),
                core,
                job: Job::Stage(stage),
                ctx,
                progress: w.progress[s + 1].clone(),
            });
        }
        e.attach_recorders(&mut w, seq_series);
        e.live = Watched {
            board: w.board.clone(),
            gauges: std::mem::take(&mut w.gauges),
            sink_rows: std::mem::take(&mut w.sink_rows),
            pipeline: match g.pipeline {
                PipelineType::Stream => "Stream",
                PipelineType::Batch { .. } => "Batch",
            },
            config: g.file.display().to_string(),
            ids: gen_ids,
            ..Watched::default()
        };
        Ok(e)
    }

    fn ctx(&self, wake: &Arc<Wake>) -> Ctx {
        Ctx {
            wake: wake.clone(),
            waiter: Waiter::new(self.wait),
            shutdown: self.shutdown.clone(),
            stop: self.stop.clone(),
        }
    }

    /// The sequencer thread: it merges `inlets` (by event time in Batch; a replay keeps the journal's
    /// order, which is the recorded merge order) and numbers every datapoint.
    fn sequencer(
        &mut self,
        w: &mut Wiring<'_>,
        inlets: Vec<Inlet>,
        ticks: Vec<TickSchedule>,
        replaying: bool,
        inline: Option<Stage>,
    ) {
        let n = w.g.nodes.len();
        let mut routes: Vec<Vec<u16>> = vec![Vec::new(); n];
        for (src, r) in w.out_routes[SEQ].iter().enumerate() {
            routes[src] = r.iter().map(|&(o, _)| o).collect();
        }
        let placeholder = Shared::new(Vec::new());
        let waiting = vec![false; inlets.len()];
        let ctx = self.ctx(&w.wakes[SEQ]);
        self.threads.push(Thread {
            name: "tubes-sequencer".into(),
            stage: None,
            core: None,
            job: Job::Sequencer(Box::new(Sequencer {
                inlets,
                ticks,
                outlets: std::mem::take(&mut w.outlets[SEQ]),
                routes,
                progress: w.progress[SEQ].clone(),
                batch: batch_range(w.g).is_some() && !replaying,
                seq: 0,
                waiting,
                rec: Recorder::off(&placeholder),
                journal: None,
                inline,
            })),
            ctx,
            progress: w.progress[SEQ].clone(),
        });
    }

    /// Gives the sequencer and every stage their latency recorders, and keeps every doorbell for the
    /// failure path.
    fn attach_recorders(&mut self, w: &mut Wiring<'_>, seq_series: (usize, usize)) {
        let on = w.g.runtime.metrics;
        let series = std::mem::take(&mut w.series);
        self.metrics = Shared::new(if on { series } else { Vec::new() });
        for t in &mut self.threads {
            match &mut t.job {
                Job::Sequencer(sq) => {
                    sq.rec = Recorder::new(&self.metrics, seq_series.0, seq_series.1, on);
                    if let Some(st) = &mut sq.inline {
                        let (first, count) = w.stage_series[0];
                        st.rec = Recorder::new(&self.metrics, first, count, on);
                    }
                }
                Job::Stage(st) => {
                    let (first, count) =
                        w.stage_series[t.stage.expect("a stage thread knows its stage")];
                    st.rec = Recorder::new(&self.metrics, first, count, on);
                }
                Job::Source(..) | Job::Record(_) => {}
            }
        }
        self.drops = w.drops.take().unwrap_or_default();
        self.wakes = std::mem::take(&mut w.wakes);
        let own: Vec<Arc<Wake>> = self.threads.iter().map(|t| t.ctx.wake.clone()).collect();
        self.wakes.extend(own);
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
            if let Job::Source(src, _) = &mut t.job {
                src.limit(Limits {
                    duration: Some(d),
                    idle_exit: None,
                });
            }
        }
    }

    /// The board the run puts its live figures on (the `Visual` sink reads it).
    pub fn board(&self) -> Arc<crate::metrics::live::Board> {
        self.live.board.clone()
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
            if let Job::Source(src, _) = &mut t.job {
                src.limit(Limits {
                    duration: None,
                    idle_exit: Some(d),
                });
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
            let name = t.name.clone();
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
                    // A panic is this thread's failure like any other: it stops the run, and the
                    // thread still counts itself finished, so the caller never waits for it forever.
                    let run = std::panic::AssertUnwindSafe(|| match &mut job {
                        Job::Source(src, out) => {
                            let r = src.run(out, &mut ctx);
                            generator_ended(r, out, &progress)
                        }
                        Job::Record(rec) => {
                            let mut r = rec.take().expect("a journal job runs once");
                            r.run(&mut ctx).and_then(|_| r.close()).map(Done::Journal)
                        }
                        Job::Sequencer(s) => s.run(&mut ctx).map(|(n, rows)| {
                            let notes = s.inline.as_ref().map_or(Vec::new(), Stage::notes);
                            Done::Sequencer(n, rows, notes)
                        }),
                        Job::Stage(s) => {
                            let rows = s.run(&mut ctx)?;
                            Ok(Done::Stage(rows, s.notes()))
                        }
                    });
                    let r = std::panic::catch_unwind(run).unwrap_or_else(|p| {
                        if let Job::Source(_, out) = &job {
                            generator_ended(Ok(()), out, &progress).ok();
                        }
                        Err(RunError::Thread(format!(
                            "{name} panicked: {}",
                            panic_text(&*p)
                        )))
                    });
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
            staged: self.staged,
            live: self.live,
        })
    }
}
