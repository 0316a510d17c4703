//! Wiring a plan: which unit (the sequencer, or a stage) hosts each tube, the rings between units, each
//! stage's tubes and inboxes, and the latency series and drop counters of every ring.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::sink::Sink;
use super::stage::{Local, Route, Stage, Tube};
use crate::base::datapoint::{Datapoint, TubeId};
use crate::base::ring::{ring, Gauge, Progress};
use crate::base::wait::Wake;
use crate::base::{Inlet, Outlet, RunError};
use crate::graph::{journal_meta, Graph, NodeKind, Plan, Port, StagePlan};
use crate::metrics::live::Board;
use crate::metrics::{Recorder, Series, SeriesKind, Shared};
use crate::throughs::Through;

/// Unit 0 is the sequencer; unit s + 1 is stage s.
pub(super) const SEQ: usize = 0;

/// Records per segment of a Journal sink output.
const OUTPUT_SEGMENT_RECORDS: u64 = crate::config::SEGMENT_RECORDS;

/// Everything built so far, shared by the building steps.
pub(super) struct Wiring<'g> {
    pub g: &'g Graph,
    pub ring_cap: usize,
    /// The unit of each tube (generators and ticks: the sequencer's).
    unit_of: Vec<usize>,
    /// Each unit's doorbell and published progress.
    pub wakes: Vec<Arc<Wake>>,
    pub progress: Vec<Arc<Progress>>,
    /// By unit: its outgoing rings, and by source tube id the (outlet, carries data) pairs.
    pub outlets: Vec<Vec<Outlet>>,
    pub out_routes: Vec<Vec<Vec<(u16, bool)>>>,
    /// Under drop_newest, one counter per ring, named like its latency series.
    pub drops: Option<Vec<(String, Arc<AtomicU64>)>>,
    /// Latency series: the sequencer's input rings first, then per stage its rings, tubes and sinks.
    pub series: Vec<Series>,
    /// By stage: (first series, count).
    pub stage_series: Vec<(usize, usize)>,
    /// Every ring between threads, named like its latency series, for the live view.
    pub gauges: Vec<(String, Gauge<Datapoint>)>,
    /// Rows written by each sink, by label, for the live view.
    pub sink_rows: Vec<(String, Arc<AtomicU64>)>,
    /// The run's live figures, which sinks that show them are given.
    pub board: Arc<Board>,
}

fn unit_name(unit: usize) -> String {
    if unit == SEQ {
        "sequencer".to_string()
    } else {
        format!("stage {}", unit - 1)
    }
}

/// Feed names by tube id, when a live feed is upstream of `t` through data edges (its sink then has a
/// `status` column).
pub(super) fn feed_names(g: &Graph, t: TubeId) -> Option<Vec<String>> {
    let mut seen = vec![false; g.nodes.len()];
    let mut todo = vec![t];
    let mut found = false;
    while let Some(x) = todo.pop() {
        if std::mem::replace(&mut seen[x as usize], true) {
            continue;
        }
        found |= g.feed(x).is_some();
        for p in &g.nodes[x as usize].ports {
            if let Port::Data(src) = p {
                todo.push(*src);
            }
        }
    }
    found.then(|| {
        (0..g.nodes.len())
            .map(|id| {
                g.feed(id as TubeId)
                    .unwrap_or_else(|| g.nodes[id].label.clone())
            })
            .collect()
    })
}

/// Opens the sink with tube id `t`.
pub(super) type OpenSinkFn<'a> = dyn FnMut(TubeId) -> Result<Sink, RunError> + 'a;

/// A stage's tubes with their inboxes, the routes from each source tube to their ports, and the scratch
/// capacity the stage needs; `open_sink` opens its sinks.
#[allow(clippy::type_complexity)]
pub(super) fn stage_tubes(
    g: &Graph,
    st: &StagePlan,
    bound: &[usize],
    open_sink: &mut OpenSinkFn<'_>,
) -> Result<(Vec<Local>, Vec<Vec<Route>>, usize), RunError> {
    let mut routes: Vec<Vec<Route>> = vec![Vec::new(); g.nodes.len()];
    let mut tubes = Vec::new();
    // Every datapoint a sequence number brings in, and every one the tubes emit (at most one per
    // input), fits at once.
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
            NodeKind::Sink { .. } => Tube::Sink(open_sink(t)?),
            _ => unreachable!("only throughs and sinks are placed in stages"),
        };
        scratch += 2 * bound[t as usize];
        tubes.push(Local {
            id: t,
            tube,
            inbox: Vec::with_capacity(bound[t as usize]),
        });
    }
    Ok((tubes, routes, scratch))
}

/// How many datapoints one sequence number can put in each tube's inbox (at most 4096 are reserved:
/// a burst beyond, such as many keys' windows closing at once, grows the buffers once).
pub(super) fn inbox_bounds(g: &Graph) -> Vec<usize> {
    let mut bound = vec![1usize; g.nodes.len()];
    // By tube: how many datapoints it can emit for one sequence number.
    let mut out = vec![1usize; g.nodes.len()];
    for &t in &g.topo {
        let node = &g.nodes[t as usize];
        if !node.ports.is_empty() {
            bound[t as usize] = node
                .ports
                .iter()
                .map(|p| out[p.source() as usize])
                .sum::<usize>()
                .min(4096);
        }
        let fanout = match &node.kind {
            NodeKind::Through(spec) => spec.fanout(),
            _ => 1,
        };
        out[t as usize] = bound[t as usize].saturating_mul(fanout).min(4096);
    }
    bound
}

impl<'g> Wiring<'g> {
    /// Units and doorbells for `plan`; `source_rings` names the sequencer's input rings in order.
    pub fn new(g: &'g Graph, plan: &Plan, source_rings: &[&str]) -> Self {
        let n = g.nodes.len();
        let mut unit_of = vec![SEQ; n];
        for (s, st) in plan.stages.iter().enumerate() {
            for &t in &st.tubes {
                unit_of[t as usize] = s + 1;
            }
        }
        let units = plan.stages.len() + 1;
        Wiring {
            g,
            ring_cap: g.runtime.ring_capacity,
            unit_of,
            wakes: (0..units).map(|_| Arc::new(Wake::default())).collect(),
            progress: (0..units).map(|_| Arc::new(Progress::new())).collect(),
            outlets: (0..units).map(|_| Vec::new()).collect(),
            out_routes: (0..units).map(|_| vec![Vec::new(); n]).collect(),
            drops: g.runtime.drop_newest.then(Vec::new),
            series: source_rings
                .iter()
                .map(|name| Series {
                    kind: SeriesKind::Queue,
                    name: format!("{name}→sequencer"),
                })
                .collect(),
            stage_series: Vec::new(),
            gauges: Vec::new(),
            sink_rows: Vec::new(),
            board: Arc::new(Board::default()),
        }
    }

    /// A new drop counter named `ring`, when drops are on.
    pub fn drop_counter(&mut self, ring: String) -> Option<Arc<AtomicU64>> {
        let list = self.drops.as_mut()?;
        let c = Arc::new(AtomicU64::new(0));
        list.push((ring, c.clone()));
        Some(c)
    }

    /// Builds every stage of `plan` (its tubes opened, its input rings made), with its core.
    pub fn stages(&mut self, plan: &Plan) -> Result<Vec<(Option<usize>, Stage)>, RunError> {
        let bound = inbox_bounds(self.g);
        let placeholder = Shared::new(Vec::new());
        let mut stages = Vec::new();
        for (s, st) in plan.stages.iter().enumerate() {
            let g = self.g;
            let (board, sink_rows) = (&self.board, &mut self.sink_rows);
            let (tubes, routes, scratch) = stage_tubes(g, st, &bound, &mut |t| {
                let node = &g.nodes[t as usize];
                let NodeKind::Sink { outputs, columns } = &node.kind else {
                    unreachable!("only sinks are opened")
                };
                let meta = || journal_meta(g, "output", OUTPUT_SEGMENT_RECORDS);
                let sink = Sink::open(
                    t,
                    &node.label,
                    outputs,
                    (columns, &g.column_kinds(t)),
                    feed_names(g, t),
                    &meta,
                    board,
                )?;
                sink_rows.push((node.label.clone(), sink.rows_counter()));
                Ok(sink)
            })?;
            let st_len = tubes.len();
            // Inline, the sequencer runs the stage itself: no ring between them.
            let (inlets, inlet_names) = if plan.inline {
                (Vec::new(), Vec::new())
            } else {
                self.stage_inlets(s + 1, st)
            };
            let e2e = self.stage_series(s, st, &inlet_names);
            stages.push((
                st.core,
                Stage {
                    inlets,
                    outlets: Vec::new(),
                    tubes,
                    filled: vec![false; st_len],
                    routes: routes.into(),
                    out_routes: Vec::new(),
                    progress: self.progress[s + 1].clone(),
                    published: 0,
                    scratch: Vec::with_capacity(scratch),
                    emitted: Vec::with_capacity(scratch),
                    rec: Recorder::off(&placeholder),
                    e2e,
                },
            ));
        }
        for (s, (_, stage)) in stages.iter_mut().enumerate() {
            stage.outlets = std::mem::take(&mut self.outlets[s + 1]);
            stage.out_routes = std::mem::take(&mut self.out_routes[s + 1]);
        }
        Ok(stages)
    }

    /// One ring from every other unit that hosts a source of the stage's tubes; returns the stage's
    /// inlets and the names of the units they come from.
    fn stage_inlets(&mut self, me: usize, st: &StagePlan) -> (Vec<Inlet>, Vec<String>) {
        let mut inlets = Vec::new();
        let mut names = Vec::new();
        for producer in 0..self.wakes.len() {
            if producer == me {
                continue;
            }
            let mut sources: Vec<(TubeId, bool)> = Vec::new();
            for &t in &st.tubes {
                for p in &self.g.nodes[t as usize].ports {
                    let src = p.source();
                    if self.unit_of[src as usize] != producer {
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
            let (tx, rx) = ring(self.ring_cap);
            let idx = self.outlets[producer].len() as u16;
            let from = unit_name(producer);
            self.gauges
                .push((format!("{from}→stage {}", me - 1), tx.gauge()));
            let drops = self.drop_counter(format!("{from}→stage {}", me - 1));
            self.outlets[producer].push(Outlet {
                ring: tx,
                consumer: self.wakes[me].clone(),
                drops,
            });
            for (src, data) in sources {
                self.out_routes[producer][src as usize].push((idx, data));
            }
            inlets.push(Inlet {
                ring: rx,
                progress: self.progress[producer].clone(),
                producer: self.wakes[producer].clone(),
            });
            names.push(from);
        }
        (inlets, names)
    }

    /// Stage `s`'s latency series: its rings' queue waits, its tubes' service times, its sinks'
    /// end-to-end times. Returns, by local tube, the end-to-end series of sinks.
    fn stage_series(&mut self, s: usize, st: &StagePlan, inlets: &[String]) -> Vec<Option<usize>> {
        let first = self.series.len();
        for from in inlets {
            self.series.push(Series {
                kind: SeriesKind::Queue,
                name: format!("{from}→stage {s}"),
            });
        }
        for &t in &st.tubes {
            self.series.push(Series {
                kind: SeriesKind::Service,
                name: self.g.nodes[t as usize].label.clone(),
            });
        }
        let mut e2e = vec![None; st.tubes.len()];
        for (local, &t) in st.tubes.iter().enumerate() {
            if matches!(self.g.nodes[t as usize].kind, NodeKind::Sink { .. }) {
                e2e[local] = Some(self.series.len() - first);
                self.series.push(Series {
                    kind: SeriesKind::EndToEnd,
                    name: self.g.nodes[t as usize].label.clone(),
                });
            }
        }
        self.stage_series.push((first, self.series.len() - first));
        e2e
    }

    /// A ring from a generator thread to the sequencer. The sequencer's end joins `inlets`; returns the
    /// generator's end, its doorbell and the progress it publishes.
    pub fn ring_to_sequencer(
        &mut self,
        ring_name: &str,
        inlets: &mut Vec<Inlet>,
    ) -> (Outlet, Arc<Wake>, Arc<Progress>) {
        let drops = self.drop_counter(format!("{ring_name}→sequencer"));
        let (tx, rx) = ring(self.ring_cap);
        self.gauges
            .push((format!("{ring_name}→sequencer"), tx.gauge()));
        let wake = Arc::new(Wake::default());
        let progress = Arc::new(Progress::new());
        inlets.push(Inlet {
            ring: rx,
            progress: progress.clone(),
            producer: wake.clone(),
        });
        let outlet = Outlet {
            ring: tx,
            consumer: self.wakes[SEQ].clone(),
            drops,
        };
        (outlet, wake, progress)
    }
}
