//! What a sweep did: combinations, rows per combination, inputs read once, datapoint-updates.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::Prepared;
use crate::graph::NodeKind;
use crate::metrics::human;

/// One input of a finished sweep.
#[derive(Debug, Clone)]
pub struct InputReport {
    /// The generator's label.
    pub label: String,
    /// Its source (`CSV testdata/x.csv`).
    pub source: String,
    /// Rows read.
    pub rows: u64,
    /// Malformed rows skipped.
    pub skipped: u64,
    /// Rows outside the Batch range.
    pub outside: u64,
    /// How many combinations it fed.
    pub feeds: usize,
}

/// The numbers of a finished sweep.
#[derive(Debug, Clone)]
pub struct SweepReport {
    /// `N: 100 values × coin: 6 values`.
    pub shape: String,
    /// The first combination run (0 unless sharded) and the total in the sweep.
    pub first: usize,
    /// Combinations in the whole sweep.
    pub total: usize,
    /// Rows each combination run wrote (all its sinks together).
    pub rows: Vec<u64>,
    /// Each combination's parameters, `N=50, coin=ETH`.
    pub labels: Vec<String>,
    /// The inputs, each read once.
    pub inputs: Vec<InputReport>,
    /// Datapoints read (all inputs).
    pub datapoints: u64,
    /// Datapoints times the combinations they fed.
    pub updates: u64,
    /// Worker threads.
    pub threads: usize,
    /// Combinations that ran as lanes of one pass over the stream they share with others (the rest
    /// ran one by one: see the README's "What a sweep computes").
    pub lanes: usize,
    /// Of those, combinations that fired from the lanes: what a firing emits was worked out in the
    /// lanes' state and handed to the combination's own sinks (see the same section).
    pub from_lanes: usize,
    /// Tapes of firings recorded over an input, and units that played one instead of adding that
    /// input's datapoints to their lanes (see the same section).
    pub tapes: (usize, usize),
    /// Distinct merged streams.
    pub streams: usize,
    /// Parts that went on in files past the memory for rows waiting to be appended, and that memory
    /// (bytes).
    pub spilled: (u64, usize),
    /// Wall time of the run (after the inputs were read).
    pub wall: Duration,
    /// Wall time of checking every combination, reading the inputs and merging the streams.
    pub prepared_in: Duration,
    /// What throughs lost or had to grow, by combination (`N=50: bins: 3 keys, 12 datapoints of keys
    /// past max_keys (2) not kept`), in combination order.
    pub lost: Vec<String>,
}

impl SweepReport {
    /// The report of `p`'s run.
    pub fn new(p: &Prepared, rows: Vec<u64>, threads: usize, wall: Duration) -> SweepReport {
        let x = &p.x;
        let sweep = p.template.sweep.as_ref().expect("a sweep");
        let names = sweep.params();
        let labels = (0..rows.len())
            .map(|c| {
                let v = p.values(c);
                let parts: Vec<String> = names
                    .iter()
                    .zip(v)
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                parts.join(", ")
            })
            .collect();
        let inputs = x
            .inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let node = &x.graphs[input.combo].nodes[input.id as usize];
                let source = match &node.kind {
                    NodeKind::Source(s) => s.describe(),
                    _ => String::new(),
                };
                let c = &p.reads[i].counters;
                InputReport {
                    label: node.label.clone(),
                    source,
                    rows: c.rows.load(Ordering::Relaxed),
                    skipped: c.skipped.load(Ordering::Relaxed),
                    outside: c.outside.load(Ordering::Relaxed),
                    feeds: x
                        .stream_of
                        .iter()
                        .filter(|&&s| x.streams[s].contains(&i))
                        .count(),
                }
            })
            .collect();
        SweepReport {
            shape: sweep.shape(),
            first: x.first,
            total: sweep.len(),
            labels,
            inputs,
            datapoints: p.reads.iter().map(|r| r.points.len() as u64).sum(),
            updates: x.stream_of.iter().map(|&s| p.streams[s].len() as u64).sum(),
            threads,
            lanes: 0,
            from_lanes: 0,
            tapes: (0, 0),
            streams: x.streams.len(),
            spilled: (0, 0),
            wall,
            prepared_in: p.prepared_in,
            rows,
            lost: Vec::new(),
        }
    }
}

/// `1 combination`, `2 combinations`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The report as printed after a sweep (stderr).
pub fn summary(r: &SweepReport) -> String {
    let mut s = String::new();
    let total: u64 = r.rows.iter().sum();
    let secs = r.wall.as_secs_f64().max(1e-9);
    let n = r.rows.len();
    let which = if n == r.total {
        count(n, "combination")
    } else {
        format!(
            "combinations {}–{} of {}",
            r.first + 1,
            r.first + n,
            r.total
        )
    };
    let _ = writeln!(
        s,
        "tubes sweep: {which} ({}), {total} rows out, {:.3} s wall ({:.3} s checking, reading and merging, {:.3} s running), {} datapoint-updates/s",
        r.shape,
        (r.prepared_in + r.wall).as_secs_f64(),
        r.prepared_in.as_secs_f64(),
        r.wall.as_secs_f64(),
        human(r.updates as f64 / secs)
    );
    if let (Some(lo), Some(hi)) = (
        (0..n).min_by_key(|&c| (r.rows[c], c)),
        (0..n).max_by_key(|&c| (r.rows[c], std::cmp::Reverse(c))),
    ) {
        let _ = writeln!(
            s,
            "  rows per combination: fewest {} ({}), most {} ({}), {:.0} on average",
            r.rows[lo],
            r.labels[lo],
            r.rows[hi],
            r.labels[hi],
            total as f64 / n.max(1) as f64
        );
    }
    let _ = writeln!(
        s,
        "  inputs: {} read once each, {} datapoints; {} datapoint-updates over {}",
        r.inputs.len(),
        r.datapoints,
        r.updates,
        count(r.streams, "merged stream")
    );
    for i in &r.inputs {
        let _ = writeln!(
            s,
            "  {}: {} — {} rows read, {} malformed rows skipped, {} rows outside the Batch range; feeds {}",
            i.label,
            i.source,
            i.rows,
            i.skipped,
            i.outside,
            count(i.feeds, "combination")
        );
    }
    for l in r.lost.iter().take(20) {
        let _ = writeln!(s, "  {l}");
    }
    if r.lost.len() > 20 {
        let _ = writeln!(s, "  … and {} more such lines", r.lost.len() - 20);
    }
    if r.spilled.0 > 0 {
        let _ = writeln!(
            s,
            "  rows waiting to be appended: past {} MiB in memory, {} waited in files",
            r.spilled.1 >> 20,
            count(r.spilled.0 as usize, "part")
        );
    }
    let _ = write!(
        s,
        "  threads: {} sweep workers, each running whole combinations; {} of {} ran as lanes of one pass over a shared stream",
        r.threads,
        r.lanes,
        r.rows.len(),
    );
    if r.lanes > 0 {
        let _ = write!(s, ", {} of them firing from the lanes", r.from_lanes);
    }
    if r.tapes.1 > 0 {
        let _ = write!(
            s,
            "; {} played {} of firings over an input they share",
            count(r.tapes.1, "unit"),
            count(r.tapes.0, "tape"),
        );
    }
    s
}
