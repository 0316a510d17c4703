//! Replaying a journal: its records feed the sequencer in their recorded order, in place of the graph's
//! generators and tick sources, so every tube sees exactly what it saw when the journal was recorded.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::base::datapoint::{Kind, TubeId};
use crate::base::time::monotonic_ns;
use crate::base::GenCounters;
use crate::base::{Ctx, Outlet, RunError};
use crate::graph::{Graph, NodeKind};
use crate::journal::{Damage, Next, Reader};
use crate::plugin::SourceRun;

/// A config that has none of the journal's generators.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NoMatch(String);

/// Every field `g` reads of a generator replayed from the journal was recorded: a field the recorded
/// run did not read was not parsed, and replaying it would feed nothing but empty values.
fn fields_were_recorded(reader: &Reader, map: &[Option<TubeId>], g: &Graph) -> Result<(), NoMatch> {
    for (t, id) in reader.meta().tubes.iter().zip(map) {
        let (Some(id), Some(recorded)) = (id, &t.recorded) else {
            continue;
        };
        let used = g.used_fields(*id);
        let schema = &g.nodes[*id as usize].schema;
        let read = schema.iter().zip(used).filter(|(_, u)| *u);
        if let Some((missing, _)) = read.into_iter().find(|(f, _)| !recorded.contains(f)) {
            return Err(NoMatch(format!(
                "field '{missing}' of generator '{}' was not recorded: the recorded run read only {} of it. Replay a config that reads those fields, or record again with a config that reads '{missing}'",
                t.label,
                if recorded.is_empty() { "none".to_string() } else { recorded.join(", ") }
            )));
        }
    }
    Ok(())
}

/// No sink of `g` writes inside the journal being replayed (it would change the input as it is read).
fn no_output_in(journal: &Path, g: &Graph) -> Result<(), NoMatch> {
    for (id, _, o) in g.sink_outputs() {
        let Some(w) = o.writes() else { continue };
        if crate::graph::inside(journal, w) {
            return Err(NoMatch(format!(
                "sink '{}' writes {}, inside the journal being replayed ({}); write the replay's rows elsewhere",
                g.nodes[id as usize].label,
                w.display(),
                journal.display()
            )));
        }
    }
    Ok(())
}

/// What a replay did besides feeding the graph.
#[derive(Default, Debug)]
pub struct ReplayStats {
    /// Records replayed.
    pub records: AtomicU64,
    /// Records whose tube the graph does not have (a different config), skipped.
    pub skipped: AtomicU64,
    /// 1 when the journal ended in a torn record (damage), which was not replayed.
    pub torn: AtomicU64,
    /// Records in damaged stretches skipped (`--skip-damaged`).
    pub damaged: AtomicU64,
}

/// A journal as the source of a run.
pub struct Replay {
    reader: Reader,
    /// By recorded tube id: the same tube (by label) in this graph.
    map: Vec<Option<TubeId>>,
    speed: Option<f64>,
    /// Damaged stretches still ahead, to step over.
    skip: Vec<Damage>,
    /// By tube id of this graph: the counters of each generator (set when the run is built, see
    /// `api::replay`).
    pub counters: Vec<Option<Arc<GenCounters>>>,
    /// Shared with whoever started the replay.
    pub stats: Arc<ReplayStats>,
}

impl Replay {
    /// Replays `reader` into graph `g`, matching the journal's generators and tick sources to `g`'s by
    /// label. `speed`: None for as fast as possible, Some(x) for x times the recorded pace. The records
    /// of each stretch of `skip` (damage found by a survey) are stepped over and counted.
    pub fn new(
        reader: Reader,
        g: &Graph,
        speed: Option<f64>,
        skip: Vec<Damage>,
    ) -> Result<Replay, NoMatch> {
        let mut map = Vec::new();
        let mut matched = 0;
        for t in &reader.meta().tubes {
            let id = g.nodes.iter().position(|n| {
                n.label == t.label && (n.kind.is_generator() || matches!(n.kind, NodeKind::Tick(_)))
            });
            matched += usize::from(id.is_some());
            map.push(id.map(|i| i as TubeId));
        }
        if matched == 0 {
            return Err(NoMatch(format!(
                "the config has none of the journal's generators ({}); replay needs a config over the same generator labels",
                reader
                    .meta()
                    .tubes
                    .iter()
                    .filter(|t| t.kind == "Generator")
                    .map(|t| t.label.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        fields_were_recorded(&reader, &map, g)?;
        no_output_in(reader.dir(), g)?;
        Ok(Replay {
            reader,
            map,
            speed,
            skip,
            counters: vec![None; g.nodes.len()],
            stats: Arc::default(),
        })
    }

    fn target(&self, recorded: u16) -> Option<TubeId> {
        self.map.get(recorded as usize).copied().flatten()
    }

    /// Feeds every record to the sequencer, then ends.
    fn run_records(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        let t0 = monotonic_ns();
        let mut first = None;
        let mut n = 0u64;
        loop {
            if ctx.stopped() {
                return Err(RunError::Stopped);
            }
            if ctx.stop_requested() {
                break;
            }
            if self
                .skip
                .first()
                .is_some_and(|d| d.from == self.reader.position())
            {
                let d = self.skip.remove(0);
                self.stats
                    .damaged
                    .fetch_add(d.to - d.from, Ordering::Relaxed);
                self.reader.seek(d.to);
            }
            let rec = self
                .reader
                .next_record()
                .map_err(|e| RunError::Journal(Box::new(e)))?;
            let mut dp = match rec {
                Next::Record(dp) => dp,
                Next::End => break,
                Next::Torn => {
                    self.stats.torn.store(1, Ordering::Relaxed);
                    break;
                }
            };
            let Some(id) = self.target(dp.source) else {
                self.stats.skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if dp.kind == Kind::Status {
                // The status names its generator by id: that generator's id in this graph.
                match self.target(dp.values[3] as u16) {
                    Some(origin) => dp.values[3] = f64::from(origin),
                    None => continue,
                }
            }
            if let Some(x) = self.speed {
                let f = *first.get_or_insert(dp.ingest_time);
                let due = t0 + (dp.ingest_time.saturating_sub(f) as f64 / x) as u64;
                let now = monotonic_ns();
                if due > now {
                    out.notify();
                    // In slices, so that a stop request is heard during a long recorded pause.
                    while monotonic_ns() < due && !ctx.stop_requested() && !ctx.stopped() {
                        let left = due.saturating_sub(monotonic_ns());
                        std::thread::sleep(Duration::from_nanos(left.min(50_000_000)));
                    }
                    if ctx.stop_requested() || ctx.stopped() {
                        break;
                    }
                }
            }
            let now = monotonic_ns();
            (dp.source, dp.seq, dp.ingest_time) = (id, 0, now);
            out.push(dp, now, ctx)?;
            if let Some(c) = &self.counters[id as usize] {
                c.rows.fetch_add(1, Ordering::Relaxed);
            }
            n += 1;
            if n.is_multiple_of(64) {
                out.notify();
                self.stats.records.store(n, Ordering::Relaxed);
            }
        }
        self.stats.records.store(n, Ordering::Relaxed);
        Ok(())
    }
}

impl SourceRun for Replay {
    fn run(&mut self, out: &mut Outlet, ctx: &mut Ctx) -> Result<(), RunError> {
        self.run_records(out, ctx)
    }
}
