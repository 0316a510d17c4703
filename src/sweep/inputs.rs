//! Reading a sweep's distinct inputs: each is opened and parsed once, on one of a few threads, into
//! memory, where every combination that reads it finds it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::expand::Expansion;
use crate::base::points::Points;
use crate::base::{Ctx, GenCounters, RunError};
use crate::graph::NodeKind;
use crate::plugin::OpenSource;

/// One input, read.
pub struct Read {
    /// Its datapoints, in the order its source emitted them (the fields the graph reads of them).
    pub points: Points,
    /// What its source counted (rows read, skipped, outside the range).
    pub counters: Arc<GenCounters>,
}

/// Reads every input of `x` on up to `threads` threads; the first failure, or `stop` (a signal), stops
/// the others.
pub fn read_all(
    x: &Expansion,
    threads: usize,
    stop: &Arc<AtomicBool>,
) -> Result<Vec<Read>, RunError> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Read, RunError>>>> =
        x.inputs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, x.inputs.len().max(1)) {
            s.spawn(|| {
                let mut ctx = Ctx::detached(stop.clone());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= x.inputs.len() || ctx.stop_requested() {
                        return;
                    }
                    let r = read_one(x, i, &mut ctx);
                    if r.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    *slots[i].lock().expect("no panic holds the lock") = Some(r);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(slots.len());
    let mut first_err = None;
    for slot in slots {
        match slot.into_inner().expect("no panic holds the lock") {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    match first_err {
        Some(e) => Err(e),
        None if stop.load(Ordering::Relaxed) => Err(RunError::Input(
            "the sweep was stopped while it read its inputs; nothing was written".into(),
        )),
        None => Ok(out),
    }
}

fn read_one(x: &Expansion, i: usize, ctx: &mut Ctx) -> Result<Read, RunError> {
    let input = &x.inputs[i];
    let g = &x.graphs[input.combo];
    let NodeKind::Source(source) = &g.nodes[input.id as usize].kind else {
        unreachable!("an input is a generator")
    };
    let range = match g.pipeline {
        crate::config::PipelineType::Batch { from, to } => Some((from, to)),
        crate::config::PipelineType::Stream => None,
    };
    let counters = Arc::new(GenCounters::default());
    let used = g.used_fields(input.id);
    let mut points = Points::new(&used);
    let mut run = source.open(OpenSource {
        id: input.id,
        range,
        used,
        counters: counters.clone(),
    })?;
    run.collect(&mut points, ctx)?;
    points.shrink();
    Ok(Read { points, counters })
}
