//! Running a prepared sweep: worker threads take units of work, each the combinations of one window
//! of consecutive combinations that read the same merged stream; a unit runs them together (as lanes
//! of one pass when it can: see [`Together`]), each combination with the engine's own tubes writing
//! its rows into parts of its own ([`Part`]); the calling thread appends finished combinations to the
//! outputs in order and reports progress.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::lanes::Together;
use super::merge::Stream;
use super::output::Outputs;
use super::part::Part;
use super::tape::{Found, Tape, Tapes};
use super::Prepared;
use crate::base::points::Points;
use crate::base::RunError;
use crate::config::ParamValue;
use crate::runtime::{Fused, FusedFinished};

/// How far a running sweep has got.
#[derive(Clone, Copy, Debug)]
pub struct SweepProgress {
    /// Combinations finished.
    pub done: usize,
    /// Combinations whose rows are in the outputs (they go in in order, and may lag behind `done`:
    /// an output that re-encodes its rows, such as Parquet, takes longer than the workers).
    pub appended: usize,
    /// Combinations in all.
    pub total: usize,
    /// Datapoint-updates so far (each datapoint of a combination's stream counts once).
    pub updates: u64,
    /// Datapoint-updates in all.
    pub updates_total: u64,
}

/// What the workers share.
struct Shared<'p> {
    p: &'p Prepared,
    outputs: &'p Outputs,
    params: Vec<&'p str>,
    units: Vec<Unit>,
    next: AtomicUsize,
    stop: AtomicBool,
    done: AtomicUsize,
    updates: AtomicU64,
    /// Combinations that ran as lanes, and those of them that fired from the lanes.
    lanes: AtomicUsize,
    from_lanes: AtomicUsize,
    /// Rows written by each combination (all its sinks together).
    rows: Vec<AtomicU64>,
    /// By combination: what its throughs lost or had to grow (`bins: 2 keys, 3 late`).
    lost: Mutex<Vec<(usize, String)>>,
    /// Tapes of firings (see [`Tape`]), each recorded by the first unit that needs it.
    tapes: Tapes,
    /// Tapes recorded, and units that played one.
    recorded: AtomicUsize,
    played: AtomicUsize,
}

/// What the combinations of a sweep did.
pub struct Ran {
    /// Rows per combination.
    pub rows: Vec<u64>,
    /// What each combination's throughs lost, by combination index.
    pub lost: Vec<(usize, String)>,
    /// Combinations that ran as lanes, and of those, how many fired from the lanes.
    pub lanes: (usize, usize),
    /// Tapes of firings recorded, and units that played one.
    pub tapes: (usize, usize),
}

/// The combinations of one window of consecutive combinations that read stream `stream`.
#[derive(Debug, PartialEq)]
struct Unit {
    stream: usize,
    combos: Vec<usize>,
}

/// A finished unit: its combinations and, for each in order, its parts (one per output), or why it
/// failed.
type Finished = (Vec<usize>, Result<Vec<Vec<Option<Part>>>, RunError>);

/// Combinations of one stream run as lanes together, at most (a window holds this many times as
/// many combinations as there are streams).
const LANES: usize = 64;

/// Datapoints of a stream run through every combination of a group before the next block: a block
/// stays in the core's cache while each combination takes it.
const BLOCK: usize = 1024;

impl Shared<'_> {
    /// Combination `c`'s tubes, writing into `parts`.
    fn fused(&self, c: usize, parts: &[Option<Part>]) -> Result<Fused, RunError> {
        let g = &self.p.x.graphs[c];
        let values: Vec<&ParamValue> = self.p.values(c);
        Fused::new(g, &mut |id| {
            self.outputs.writers(c, g, id, &self.params, &values, parts)
        })
    }

    /// An error when the sweep is to stop.
    fn stopped(&self) -> Result<(), RunError> {
        match self.stop.load(Ordering::Relaxed) {
            true => Err(RunError::Stopped),
            false => Ok(()),
        }
    }

    /// Runs combinations `combos`, which share stream `s`, together: as lanes of one pass when they
    /// can be, or else block by block of the stream, each combination in turn.
    fn run_group(
        &self,
        s: usize,
        combos: &[usize],
        parts: &[Vec<Option<Part>>],
    ) -> Result<(), RunError> {
        let fused = (combos.iter().zip(parts))
            .map(|(&c, parts)| self.fused(c, parts))
            .collect::<Result<Vec<Fused>, RunError>>()?;
        let inputs = self.p.inputs_of(s);
        let finished = match Together::new(&self.p.x.graphs[combos[0]], fused) {
            Ok(together) => self.run_together(s, together, &inputs)?,
            Err(fused) => self.run_one_by_one(s, fused, &inputs)?,
        };
        let stream = &self.p.streams[s];
        for (&c, f) in combos.iter().zip(finished) {
            let (rows, losses) = f?;
            let rows: u64 = rows.iter().map(|(_, n)| n).sum();
            if !losses.is_empty() {
                let g = &self.p.x.graphs[c];
                let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
                lost.extend(
                    losses
                        .into_iter()
                        .map(|(id, note)| (c, format!("{}: {note}", g.nodes[id as usize].label))),
                );
            }
            self.rows[c].store(rows, Ordering::Relaxed);
            self.updates
                .fetch_add(stream.len() as u64, Ordering::Relaxed);
            self.done.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Runs `together`, the combinations of stream `s` (merged from `inputs`) kept as lanes, in one
    /// pass over the stream, playing the tapes it can.
    fn run_together(
        &self,
        s: usize,
        mut together: Together,
        inputs: &[&Points],
    ) -> Result<Vec<Result<FusedFinished, RunError>>, RunError> {
        let stream = &self.p.streams[s];
        self.play_tapes(s, inputs, &mut together);
        let combos = together.len();
        if combos > 1 {
            self.lanes.fetch_add(combos, Ordering::Relaxed);
            if together.fires_from_lanes() {
                self.from_lanes.fetch_add(combos, Ordering::Relaxed);
            }
        }
        let mut scratch = Stream::scratch(inputs.len());
        let mut from = vec![0; inputs.len()];
        together.starts(&mut from);
        for at in (0..stream.len()).step_by(BLOCK) {
            self.stopped()?;
            let block = at..(at + BLOCK).min(stream.len());
            stream.each_from(inputs, block, &mut scratch, &mut from, |dp, from| {
                together.push(dp, from)
            })?;
        }
        Ok(together.finish().collect())
    }

    /// Runs `fused`, combinations of stream `s` (merged from `inputs`) that cannot be lanes, block by
    /// block of the stream, each combination in turn.
    fn run_one_by_one(
        &self,
        s: usize,
        mut fused: Vec<Fused>,
        inputs: &[&Points],
    ) -> Result<Vec<Result<FusedFinished, RunError>>, RunError> {
        let stream = &self.p.streams[s];
        let mut scratch = Stream::scratch(inputs.len());
        // The block's datapoints are copied out of the inputs once, then each combination reads them
        // from the core's cache.
        let mut points = Vec::with_capacity(if fused.len() > 1 { BLOCK } else { 0 });
        for at in (0..stream.len()).step_by(BLOCK) {
            self.stopped()?;
            let block = at..(at + BLOCK).min(stream.len());
            if let [f] = &mut fused[..] {
                stream.each(inputs, block, &mut scratch, |dp| f.push(dp))?;
                continue;
            }
            points.clear();
            stream.each(inputs, block, &mut scratch, |dp| {
                points.push(*dp);
                Ok::<(), RunError>(())
            })?;
            for f in &mut fused {
                points.iter().try_for_each(|dp| f.push(dp))?;
            }
        }
        Ok(fused.into_iter().map(Fused::finish).collect())
    }

    /// Lets each shared through of `together` that can ([`Together::tapeable`]) play a tape of its
    /// firings over the input its source reads in stream `s` (one of `inputs`): the tape other units
    /// recorded, or one it records now when none has begun to. While another unit records it, the
    /// lanes add the datapoints themselves, rather than wait.
    fn play_tapes(&self, s: usize, inputs: &[&Points], together: &mut Together) {
        if !inputs.iter().all(|i| i.only_data()) {
            return;
        }
        let x = &self.p.x;
        for (k, src, port) in together.tapeable() {
            let Some(g) = (x.streams[s].iter()).position(|&i| x.inputs[i].id == src) else {
                continue;
            };
            let key = (x.streams[s][g], port, together.lanes(k).key());
            let tape = match self.tapes.find(&key) {
                Found::Ready(tape) => tape,
                Found::Recording => continue,
                Found::Start => {
                    let tape = Arc::new(Tape::record(together.lanes(k).clone(), port, inputs[g]));
                    self.tapes.done(&key, tape.clone());
                    self.recorded.fetch_add(1, Ordering::Relaxed);
                    tape
                }
            };
            self.played.fetch_add(1, Ordering::Relaxed);
            together.play(k, tape, g);
        }
    }

    /// Runs unit `k`, each combination into parts of its own.
    fn run_unit(&self, k: usize) -> Result<Vec<Vec<Option<Part>>>, RunError> {
        let u = &self.units[k];
        let parts: Vec<_> = u.combos.iter().map(|&c| self.outputs.parts(c)).collect();
        self.run_group(u.stream, &u.combos, &parts)?;
        Ok(parts)
    }

    fn worker(&self, tx: mpsc::Sender<Finished>) {
        loop {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            if k >= self.units.len() || self.stop.load(Ordering::Relaxed) {
                return;
            }
            let r = self.run_unit(k);
            if r.is_err() {
                self.stop.store(true, Ordering::Relaxed);
            }
            if tx.send((self.units[k].combos.clone(), r)).is_err() {
                return;
            }
        }
    }
}

/// The units of `p`'s combinations: windows of consecutive combinations, each split by the stream its
/// combinations read, in window order. The windows grow: the first has units an eighth of `wide`
/// (but at least 8 combinations, or `wide` when that is fewer), and each next one twice as wide, up
/// to `wide` (a window is as many units wide as `window` is for `wide`). The combinations first in
/// order are the ones the outputs wait for, and often the ones that write the most rows (a low
/// threshold fires most often): small first units let the outputs take their rows while the workers
/// go on, instead of all at the end.
fn units(stream_of: &[usize], window: usize, wide: usize) -> Vec<Unit> {
    let combos = stream_of.len();
    let mut units = Vec::new();
    let (mut start, mut shift) = (0, GROW);
    while start < combos {
        let narrow = (wide >> shift).max(wide.min(NARROWEST));
        let (window, wide) = ((window * narrow / wide).max(1), narrow);
        let mut here: Vec<Unit> = Vec::new();
        let end = (start + window).min(combos);
        for (c, &stream) in stream_of.iter().enumerate().take(end).skip(start) {
            let open = here.iter_mut().rev().find(|u| u.stream == stream);
            match open.filter(|u| u.combos.len() < wide) {
                Some(u) => u.combos.push(c),
                None => here.push(Unit {
                    stream,
                    combos: vec![c],
                }),
            }
        }
        units.extend(here);
        start += window;
        shift = shift.saturating_sub(1);
    }
    units
}

/// The first window of units is 2^GROW times narrower than the rest (see [`units`]), with units of
/// at least NARROWEST combinations (or all a unit holds, when fewer).
const GROW: u32 = 3;
const NARROWEST: usize = 8;

/// How wide a unit is, and how many consecutive combinations a window holds: up to [`LANES`]
/// combinations of a stream to a unit, fewer when that would leave a worker without two units of
/// work; a window as many units wide as there are streams, and within about a quarter of the limit on
/// open files (a part past the memory for rows holds a file from when it moves there until it is
/// appended).
fn widths(p: &Prepared, outputs: usize, threads: usize) -> (usize, usize) {
    let combos = p.x.graphs.len();
    let wide = LANES.min(combos.div_ceil(threads * 2)).max(1);
    let limit = crate::base::files::open_file_limit().unwrap_or(1024) as usize;
    let budget = limit / 4 / outputs.max(1);
    (wide, (wide * p.streams.len()).min(budget).max(1))
}

/// Runs every combination of `p` on `threads` workers, writing `outputs`; calls `on_progress` about
/// every 200 ms. Returns the rows each combination wrote.
pub fn run(
    p: &Prepared,
    outputs: &Outputs,
    threads: usize,
    stop: &AtomicBool,
    on_progress: &mut dyn FnMut(SweepProgress),
) -> Result<Ran, RunError> {
    let combos = p.x.graphs.len();
    let threads = threads.clamp(1, combos.max(1));
    let updates_total: u64 =
        p.x.stream_of
            .iter()
            .map(|&s| p.streams[s].len() as u64)
            .sum();
    let shared = Shared {
        p,
        outputs,
        params: p.params(),
        units: {
            let (wide, window) = widths(p, outputs.count(), threads);
            units(&p.x.stream_of, window, wide)
        },
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        done: AtomicUsize::new(0),
        updates: AtomicU64::new(0),
        lanes: AtomicUsize::new(0),
        from_lanes: AtomicUsize::new(0),
        rows: (0..combos).map(|_| AtomicU64::new(0)).collect(),
        lost: Default::default(),
        tapes: Default::default(),
        recorded: AtomicUsize::new(0),
        played: AtomicUsize::new(0),
    };
    let (tx, rx) = mpsc::channel::<Finished>();
    // By combination: its parts, finished, until it is appended.
    let mut finished: BTreeMap<usize, Vec<Option<Part>>> = BTreeMap::new();
    let mut appended = 0;
    let bytes = AtomicU64::new(0);
    let mut failure = None;
    let progress = |s: &Shared<'_>, appended: usize| SweepProgress {
        done: s.done.load(Ordering::Relaxed),
        appended,
        total: combos,
        updates: s.updates.load(Ordering::Relaxed),
        updates_total,
    };
    std::thread::scope(|scope| {
        for w in 0..threads {
            let tx = tx.clone();
            let shared = &shared;
            std::thread::Builder::new()
                .name(format!("tubes-sweep-{w}"))
                .spawn_scoped(scope, move || shared.worker(tx))
                .expect("a sweep worker thread starts");
        }
        drop(tx);
        while appended < combos && failure.is_none() {
            if stop.load(Ordering::Relaxed) {
                shared.stop.store(true, Ordering::Relaxed);
                failure = Some(RunError::Input(
                    "the sweep was stopped before its end; the combinations finished in order so far are in its outputs' .partial files and __partial tables (an appended table keeps them), and no output was replaced".into(),
                ));
                break;
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok((cs, Ok(parts))) => finished.extend(cs.into_iter().zip(parts)),
                Ok((_, Err(e))) => failure = Some(e),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            // After a failed append nothing more is appended: the first error is the one to tell.
            while failure.is_none() {
                let Some(parts) = finished.remove(&appended) else {
                    break;
                };
                appended += 1;
                if let Err(e) = shared.outputs.append(parts, &bytes) {
                    failure = Some(e);
                }
            }
            on_progress(progress(&shared, appended));
        }
        shared.stop.store(true, Ordering::Relaxed);
    });
    // A worker stopped because another failed says less than the failure itself, which may have
    // arrived after it: look among what the workers sent before they ended.
    if matches!(failure, Some(RunError::Stopped)) {
        if let Some(e) = rx
            .try_iter()
            .find_map(|(_, r)| r.err().filter(|e| !matches!(e, RunError::Stopped)))
        {
            failure = Some(e);
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let rows = (shared.rows.iter())
        .map(|r| r.load(Ordering::Relaxed))
        .collect();
    let mut lost = shared.lost.into_inner().unwrap_or_else(|e| e.into_inner());
    lost.sort();
    let lanes = (
        shared.lanes.load(Ordering::Relaxed),
        shared.from_lanes.load(Ordering::Relaxed),
    );
    let tapes = (
        shared.recorded.load(Ordering::Relaxed),
        shared.played.load(Ordering::Relaxed),
    );
    Ok(Ran {
        rows,
        lost,
        lanes,
        tapes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_from_an_eighth_and_every_combination_runs_once_in_a_unit_of_its_stream() {
        // 100 thresholds × 6 coins, coin innermost: combination c reads stream c % 6.
        let stream_of: Vec<usize> = (0..600).map(|c| c % 6).collect();
        let got = units(&stream_of, 64 * 6, 64);
        let sizes: Vec<usize> = got.iter().map(|u| u.combos.len()).collect();
        // Windows of 48, 96 and 192 combinations (units of 8, 16, 32), then the 264 left (44 each).
        let want: Vec<usize> = [8, 16, 32, 44]
            .iter()
            .flat_map(|&n| std::iter::repeat_n(n, 6))
            .collect();
        assert_eq!(sizes, want);
        let mut seen: Vec<usize> = got.iter().flat_map(|u| u.combos.clone()).collect();
        assert!(got
            .iter()
            .all(|u| u.combos.iter().all(|&c| stream_of[c] == u.stream)
                && u.combos.windows(2).all(|w| w[0] < w[1])));
        seen.sort_unstable();
        assert_eq!(seen, (0..600).collect::<Vec<_>>());
        // A small sweep's units are not split below 8 combinations, nor below what they hold.
        let small: Vec<usize> = (0..12).map(|c| c % 2).collect();
        let sizes: Vec<usize> = units(&small, 3 * 2, 3)
            .iter()
            .map(|u| u.combos.len())
            .collect();
        assert_eq!(sizes, [3, 3, 3, 3]);
    }
}
