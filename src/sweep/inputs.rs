//! Reading a sweep's distinct inputs: each is opened and parsed once, on one of a few threads, into
//! memory, where every combination that reads it finds it; and merging its streams from them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use super::expand::Expansion;
use super::merge::Stream;
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

/// Reads every input of `x` and merges each of its streams (with `merge`: a stream's index and the
/// event times of its inputs), on up to `threads` threads. The jobs are taken in turn, the reads
/// first: a thread done reading merges a stream whose inputs are read while another still reads, so
/// no thread waits for the last read to end. The first failure, or `stop` (a signal), stops the
/// others.
pub fn read_and_merge(
    x: &Expansion,
    threads: usize,
    stop: &Arc<AtomicBool>,
    merge: impl Fn(usize, &[&[i64]]) -> Stream + Sync,
) -> Result<(Vec<Read>, Vec<Stream>), RunError> {
    let (reads, merges) = (x.inputs.len(), x.streams.len());
    let next = AtomicUsize::new(0);
    let read: Vec<OnceLock<Result<Read, RunError>>> = (0..reads).map(|_| OnceLock::new()).collect();
    let merged: Vec<OnceLock<Stream>> = (0..merges).map(|_| OnceLock::new()).collect();
    // A signal for a merge waiting for its inputs to be read (or to fail).
    let done = (Mutex::new(()), Condvar::new());
    let failed = || stop.load(Ordering::Relaxed);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, (reads + merges).max(1)) {
            s.spawn(|| {
                // However the thread ends (done, stopped, or in a panic), a merge waiting for a read
                // it took is woken to look again.
                let _wake = Wake { done: &done, stop };
                let mut ctx = Ctx::detached(stop.clone());
                loop {
                    let j = next.fetch_add(1, Ordering::Relaxed);
                    if j >= reads + merges || failed() {
                        return;
                    }
                    if j < reads {
                        let r = read_one(x, j, &mut ctx);
                        if r.is_err() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        let _ = read[j].set(r);
                        let _held = done.0.lock().unwrap_or_else(|e| e.into_inner());
                        done.1.notify_all();
                        continue;
                    }
                    let stream = j - reads;
                    let wanted = &x.streams[stream];
                    let mut held = done.0.lock().unwrap_or_else(|e| e.into_inner());
                    while !failed() && wanted.iter().any(|&i| read[i].get().is_none()) {
                        held = done.1.wait(held).unwrap_or_else(|e| e.into_inner());
                    }
                    drop(held);
                    let times: Option<Vec<&[i64]>> = (wanted.iter())
                        .map(|&i| read[i].get()?.as_ref().ok().map(|r| r.points.times()))
                        .collect();
                    let Some(times) = times else { return };
                    let _ = merged[stream].set(merge(stream, &times));
                }
            });
        }
    });
    let mut out = Vec::with_capacity(reads);
    let mut first_err = None;
    for slot in read {
        match slot.into_inner() {
            Some(Ok(r)) => out.push(r),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let streams: Option<Vec<Stream>> = merged.into_iter().map(OnceLock::into_inner).collect();
    match streams {
        Some(streams) if !failed() => Ok((out, streams)),
        _ => Err(RunError::Input(
            "the sweep was stopped while it read its inputs; nothing was written".into(),
        )),
    }
}

/// Wakes every merge waiting for a read when a thread of [`read_and_merge`] ends; a panic stops the
/// others first (the panic itself comes out when the threads are joined).
struct Wake<'a> {
    done: &'a (Mutex<()>, Condvar),
    stop: &'a AtomicBool,
}

impl Drop for Wake<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.store(true, Ordering::Relaxed);
        }
        let _held = self.done.0.lock().unwrap_or_else(|e| e.into_inner());
        self.done.1.notify_all();
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
