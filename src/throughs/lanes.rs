//! One through's state across many copies of it (lanes): what a sweep keeps when combinations that
//! read the same stream run in one pass.
//!
//! A lane is one combination's copy of the through. Every lane is fed the same datapoints, so a
//! datapoint is read once and added to every lane in one tight loop, with the reducers' own arithmetic
//! ([`State::add`]); a lane's state lives here, by reducer, rather than inside its [`Through`]. Only a
//! through with neither key, window nor NOP qualifies, and only one that emits nothing on plain data
//! or emits when its `Produce` condition holds: adding a datapoint is then all it does, except in the
//! lanes whose condition holds. Those are left untouched ([`Lanes::add`] names them), for the caller
//! either to run through the lane's own tube after [`Lanes::load`] and take back with
//! [`Lanes::store`], or to fire in the lanes themselves ([`Lanes::fire`]; a through that consumes its
//! events emits and resets with [`Lanes::take`]).

use super::reducers::{Op, Reducer, State};
use super::Through;
use crate::base::datapoint::{Datapoint, MAX_FIELDS};
use crate::config::CmpOp;
use crate::events::condition::fires;
use crate::graph::TriggerSpec;

/// What must agree between lanes: each reducer's kind and input slots, and the condition's
/// comparison and reducer (thresholds may differ).
#[derive(Debug, PartialEq)]
struct Shape {
    reducers: Vec<(Op, Vec<u8>, Vec<u8>)>,
    produce: Option<(CmpOp, u8)>,
}

/// A through's state in every lane.
#[derive(Clone, Debug)]
pub struct Lanes {
    /// The first lane's reducers: where each reads its inputs (the same in every lane).
    template: Vec<Reducer>,
    /// By reducer: every lane's state.
    columns: Vec<Column>,
    /// The condition when the through produces events: the comparison and the reducer it reads.
    produce: Option<(CmpOp, usize)>,
    /// By lane: the condition's threshold.
    thresholds: Vec<f64>,
    /// By lane: the compared value after the previous input (see `Through::last_seen`).
    last_seen: Vec<f64>,
    /// By lane: the compared value after this input.
    after: Vec<f64>,
}

/// One reducer's state in every lane, in columns of plain numbers (so that a loop over the lanes
/// runs the same arithmetic on each, without looking at which reducer it is).
#[derive(Clone, Debug)]
struct Column {
    kind: u8,
    /// The value (COUNT: unused; MEAN: the sum; VWAP: price × quantity).
    a: Vec<f64>,
    /// VWAP: the quantity.
    b: Vec<f64>,
    /// MEAN: how many. COUNT: `added` less the lane's count (wrapping), so that a datapoint added
    /// to every lane is counted once, in `added`, rather than in each lane.
    n: Vec<u64>,
    /// COUNT: how many datapoints were added to every lane (see `n`).
    added: u64,
    /// The reset state's `a`, `b` and `n` (those a reducer does not use are left at 0 in every lane).
    fresh: (f64, f64, u64),
}

/// `$body` with `$k` the constant of reducer `$kind`: the body compiled once for each reducer, so its
/// loop over the lanes knows which one it runs.
macro_rules! by_kind {
    ($kind:expr, $k:ident => $body:expr) => {
        match $kind {
            COUNT => {
                const $k: u8 = COUNT;
                $body
            }
            SUM => {
                const $k: u8 = SUM;
                $body
            }
            FIRST => {
                const $k: u8 = FIRST;
                $body
            }
            LAST => {
                const $k: u8 = LAST;
                $body
            }
            MIN => {
                const $k: u8 = MIN;
                $body
            }
            MAX => {
                const $k: u8 = MAX;
                $body
            }
            MEAN => {
                const $k: u8 = MEAN;
                $body
            }
            _ => {
                const $k: u8 = VWAP;
                $body
            }
        }
    };
}

/// `$body` with `$o` the constant comparison `$op`: the body compiled once for each comparison, so
/// its loop over the lanes knows which one it makes.
macro_rules! by_op {
    ($op:expr, $o:ident => $body:expr) => {
        match $op {
            CmpOp::Greater => {
                const $o: CmpOp = CmpOp::Greater;
                $body
            }
            CmpOp::GreaterEqual => {
                const $o: CmpOp = CmpOp::GreaterEqual;
                $body
            }
            CmpOp::Less => {
                const $o: CmpOp = CmpOp::Less;
                $body
            }
            CmpOp::LessEqual => {
                const $o: CmpOp = CmpOp::LessEqual;
                $body
            }
            CmpOp::Crosses => {
                const $o: CmpOp = CmpOp::Crosses;
                $body
            }
            CmpOp::CrossesAbove => {
                const $o: CmpOp = CmpOp::CrossesAbove;
                $body
            }
            CmpOp::CrossesBelow => {
                const $o: CmpOp = CmpOp::CrossesBelow;
                $body
            }
        }
    };
}

const COUNT: u8 = Op::Count as u8;
const SUM: u8 = Op::Sum as u8;
const FIRST: u8 = Op::First as u8;
const LAST: u8 = Op::Last as u8;
const MIN: u8 = Op::Min as u8;
const MAX: u8 = Op::Max as u8;
const MEAN: u8 = Op::Mean as u8;
const VWAP: u8 = Op::Vwap as u8;

impl Column {
    /// The column of lanes in `states`, which reset to `fresh`.
    fn new(states: impl Iterator<Item = State>, fresh: State) -> Column {
        let mut c = Column {
            kind: COUNT,
            a: Vec::new(),
            b: Vec::new(),
            n: Vec::new(),
            added: 0,
            fresh: (0.0, 0.0, 0),
        };
        unpack(fresh, &mut c.fresh.0, &mut c.fresh.1, &mut c.fresh.2);
        for (i, s) in states.enumerate() {
            c.kind = s.op() as u8;
            c.a.push(0.0);
            c.b.push(0.0);
            c.n.push(0);
            c.set(i, s);
        }
        c
    }

    /// Lane `i`'s state, for a column of reducer `K`: only the arrays `K` keeps are read.
    #[inline(always)]
    fn get<const K: u8>(&self, i: usize) -> State {
        match K {
            COUNT => State::Count(self.added.wrapping_sub(self.n[i])),
            SUM | FIRST | LAST | MIN | MAX => pack::<K>(self.a[i], 0.0, 0),
            MEAN => pack::<K>(self.a[i], 0.0, self.n[i]),
            _ => pack::<K>(self.a[i], self.b[i], 0),
        }
    }

    /// Sets lane `i`'s state.
    #[inline(always)]
    fn set(&mut self, i: usize, s: State) {
        unpack(s, &mut self.a[i], &mut self.b[i], &mut self.n[i]);
        if self.kind == COUNT {
            self.n[i] = self.added.wrapping_sub(self.n[i]);
        }
    }

    /// Lane `i`'s state, whichever reducer.
    fn state(&self, i: usize) -> State {
        by_kind!(self.kind, K => self.get::<K>(i))
    }

    /// Lane `i`'s value were `(x, q)` added (the lane keeps its state).
    #[inline]
    fn value_with(&self, i: usize, x: f64, q: f64) -> f64 {
        by_kind!(self.kind, K => {
            let mut s = self.get::<K>(i);
            s.add(x, q);
            s.value()
        })
    }

    /// Resets lane `i` to the reset state, for a column of reducer `K`: only the arrays `K` keeps are
    /// written (the others stay 0 in every lane).
    #[inline(always)]
    fn reset_k<const K: u8>(&mut self, i: usize) {
        let (a, b, n) = self.fresh;
        match K {
            COUNT => self.n[i] = self.added.wrapping_sub(n),
            SUM | FIRST | LAST | MIN | MAX => self.a[i] = a,
            MEAN => (self.a[i], self.n[i]) = (a, n),
            _ => (self.a[i], self.b[i]) = (a, b),
        }
    }

    /// Resets lane `i`.
    #[inline]
    fn reset(&mut self, i: usize) {
        by_kind!(self.kind, K => self.reset_k::<K>(i))
    }

    /// Lane `i`'s value, and the lane reset: what a through emits when it consumes an event.
    #[inline]
    fn take(&mut self, i: usize) -> f64 {
        by_kind!(self.kind, K => {
            let v = self.get::<K>(i).value();
            self.reset_k::<K>(i);
            v
        })
    }

    /// Adds `(x, q)` to lanes `lanes`, for a column of reducer `K`. The common reducers run as plain
    /// loops over one or two columns, which the compiler turns into vector arithmetic.
    #[inline(always)]
    fn add_k<const K: u8>(&mut self, lanes: std::ops::Range<usize>, x: f64, q: f64) {
        match K {
            // One more counted: `added` less the count is one less.
            COUNT => (self.n[lanes].iter_mut()).for_each(|n| *n = n.wrapping_sub(1)),
            SUM => self.a[lanes].iter_mut().for_each(|a| *a += x),
            LAST => self.a[lanes].fill(x),
            MEAN => {
                self.a[lanes.clone()].iter_mut().for_each(|a| *a += x);
                self.n[lanes].iter_mut().for_each(|n| *n += 1);
            }
            VWAP => {
                self.a[lanes.clone()].iter_mut().for_each(|a| *a += x * q);
                self.b[lanes].iter_mut().for_each(|b| *b += q);
            }
            _ => {
                let (a, b) = (&mut self.a[lanes.clone()], &mut self.b[lanes.clone()]);
                for ((a, b), n) in a.iter_mut().zip(b).zip(&mut self.n[lanes]) {
                    let mut s = pack::<K>(*a, *b, *n);
                    s.add(x, q);
                    unpack(s, a, b, n);
                }
            }
        }
    }

    /// Adds `(x, q)` to lanes `lanes`.
    fn add(&mut self, lanes: std::ops::Range<usize>, x: f64, q: f64) {
        by_kind!(self.kind, K => self.add_k::<K>(lanes, x, q))
    }

    /// Adds `(x, q)` to every lane but those in `fired` (in order). A count column counts it once,
    /// in `added`, and takes it back from the lanes left out.
    fn add_all_but(&mut self, fired: &[u32], x: f64, q: f64) {
        if self.kind == COUNT {
            self.added = self.added.wrapping_add(1);
            for &i in fired {
                self.n[i as usize] = self.n[i as usize].wrapping_add(1);
            }
            return;
        }
        let mut from = 0;
        for &i in fired {
            self.add(from..i as usize, x, q);
            from = i as usize + 1;
        }
        self.add(from..self.n.len(), x, q);
    }

    /// Into `after`, each lane's value were `(x, q)` added, for a column of reducer `K` (the common
    /// reducers as plain loops, see [`Column::add_k`]).
    #[inline(always)]
    fn peek_k<const K: u8>(&self, x: f64, q: f64, after: &mut [f64]) {
        let (a, n) = (&self.a[..after.len()], &self.n[..after.len()]);
        match K {
            COUNT => (after.iter_mut().zip(n))
                .for_each(|(v, &n)| *v = (self.added.wrapping_sub(n) + 1) as f64),
            SUM => (after.iter_mut().zip(a)).for_each(|(v, &a)| *v = a + x),
            LAST => after.fill(x),
            _ => {
                let lanes = a.iter().zip(&self.b).zip(n);
                for (v, ((&a, &b), &n)) in after.iter_mut().zip(lanes) {
                    let mut s = pack::<K>(a, b, n);
                    s.add(x, q);
                    *v = s.value();
                }
            }
        }
    }

    /// Into `after`, each lane's value were `(x, q)` added.
    fn peek(&self, x: f64, q: f64, after: &mut [f64]) {
        by_kind!(self.kind, K => self.peek_k::<K>(x, q, after))
    }
}

/// A state of reducer `K` from its columns' values.
#[inline(always)]
fn pack<const K: u8>(a: f64, b: f64, n: u64) -> State {
    match K {
        COUNT => State::Count(n),
        SUM => State::Sum(a),
        FIRST => State::First(a),
        LAST => State::Last(a),
        MIN => State::Min(a),
        MAX => State::Max(a),
        MEAN => State::Mean { sum: a, n },
        _ => State::Vwap { pq: a, q: b },
    }
}

/// A state's values into its columns.
#[inline(always)]
fn unpack(s: State, a: &mut f64, b: &mut f64, n: &mut u64) {
    match s {
        State::Count(c) => *n = c,
        State::Sum(v) | State::First(v) | State::Last(v) | State::Min(v) | State::Max(v) => *a = v,
        State::Mean { sum, n: c } => (*a, *n) = (sum, c),
        State::Vwap { pq, q } => (*a, *b) = (pq, q),
    }
}

/// Puts into `fired` the lanes whose condition holds, and moves the others' compared value on.
#[inline(always)]
fn scan(
    holds: impl Fn(f64, f64, f64) -> bool,
    seen: &mut [f64],
    after: &[f64],
    thresholds: &[f64],
    fired: &mut Vec<u32>,
) {
    let lanes = seen.iter_mut().zip(after).zip(thresholds);
    for (i, ((seen, &after), &t)) in lanes.enumerate() {
        if holds(*seen, after, t) {
            fired.push(i as u32);
        } else {
            *seen = after;
        }
    }
}

impl Through {
    /// Its shape for lanes, when it can be kept as lanes at all.
    fn lane_shape(&self) -> Option<Shape> {
        let produce = match self.trigger {
            TriggerSpec::Consume => None,
            TriggerSpec::Produce { op, slot, .. } => Some((op, slot)),
            TriggerSpec::Always => return None,
        };
        self.direct.then(|| Shape {
            reducers: (self.reducers.iter())
                .map(|r| (r.op(), r.slots().0.to_vec(), r.slots().1.to_vec()))
                .collect(),
            produce,
        })
    }

    /// Whether plain data arriving on `port` is added to its reducers and nothing else: a data port
    /// (not its event port, nor a clock).
    pub fn adds_on(&self, port: u8) -> bool {
        self.direct && Some(port) != self.event_port && Some(port) != self.clock_port
    }
}

impl Lanes {
    /// The state of `lanes`, one through per lane, when they agree in shape and can be kept as lanes.
    pub fn new(lanes: &[&Through]) -> Option<Lanes> {
        let first = lanes.first()?;
        let shape = first.lane_shape()?;
        if lanes[1..]
            .iter()
            .any(|t| t.lane_shape().as_ref() != Some(&shape))
        {
            return None;
        }
        let threshold = |t: &Through| match t.trigger {
            TriggerSpec::Produce { threshold, .. } => threshold,
            _ => f64::NAN,
        };
        Some(Lanes {
            template: first.reducers.clone(),
            columns: (first.reducers.iter().enumerate())
                .map(|(k, r)| {
                    let mut fresh = r.clone();
                    fresh.reset();
                    Column::new(lanes.iter().map(|t| t.reducers[k].state()), fresh.state())
                })
                .collect(),
            produce: shape.produce.map(|(op, slot)| (op, slot as usize)),
            thresholds: lanes.iter().map(|t| threshold(t)).collect(),
            last_seen: lanes.iter().map(|t| t.last_seen[0]).collect(),
            after: vec![0.0; lanes.len()],
        })
    }

    /// Adds `dp`, arrived on data port `port`, to every lane whose condition it does not make hold;
    /// puts the others, in order, in `fired`, untouched: the caller runs `dp` through their own tube,
    /// or fires them here ([`Lanes::fire`]).
    #[inline]
    pub fn add(&mut self, port: u8, dp: &Datapoint, fired: &mut Vec<u32>) {
        let values = &dp.values[..(dp.len as usize).min(MAX_FIELDS)];
        let port = port as usize;
        fired.clear();
        if let Some((op, f)) = self.produce {
            let (x, q) = self.template[f].inputs(port, values);
            self.columns[f].peek(x, q, &mut self.after);
            let (seen, after, t) = (&mut self.last_seen, &self.after, &self.thresholds);
            by_op!(op, OP => scan(|b, a, t| fires(OP, b, a, t), seen, after, t, fired));
        }
        for (r, column) in self.template.iter().zip(&mut self.columns) {
            let (x, q) = r.inputs(port, values);
            column.add_all_but(fired, x, q);
        }
    }

    /// Whether the through emits when its `Produce` condition holds (else it consumes events).
    pub fn produces(&self) -> bool {
        self.produce.is_some()
    }

    /// How many values a firing or a take writes.
    pub fn width(&self) -> usize {
        self.template.len()
    }

    /// Everything that decides what the lanes do with the datapoints they are given, written out:
    /// lanes with the same key, given the same datapoints, fire and emit alike.
    pub fn key(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}",
            self.template, self.columns, self.produce, self.thresholds, self.last_seen
        )
    }

    /// Lane `i`, which `dp` (on `port`) made fire in [`Lanes::add`]: adds `dp`, writes the values the
    /// through emits into `out`, and resets the lane, as `Through::plain` does when its condition
    /// holds; returns how many values it wrote.
    pub fn fire(&mut self, i: usize, port: u8, dp: &Datapoint, out: &mut [f64]) -> usize {
        let values = &dp.values[..(dp.len as usize).min(MAX_FIELDS)];
        for ((r, column), o) in self
            .template
            .iter()
            .zip(&mut self.columns)
            .zip(out.iter_mut())
        {
            let (x, q) = r.inputs(port as usize, values);
            *o = column.value_with(i, x, q);
            column.reset(i);
        }
        if let Some((_, f)) = self.produce {
            self.last_seen[i] = out[f];
        }
        self.template.len()
    }

    /// Writes lane `i`'s values into `out` and resets the lane: what the through does when it consumes
    /// an event. Returns how many values it wrote.
    pub fn take(&mut self, i: usize, out: &mut [f64]) -> usize {
        for (column, o) in self.columns.iter_mut().zip(out.iter_mut()) {
            *o = column.take(i);
        }
        self.columns.len()
    }

    /// Puts lane `i`'s state into `th`, that lane's through.
    pub fn load(&self, i: usize, th: &mut Through) {
        for (r, column) in th.reducers.iter_mut().zip(&self.columns) {
            r.set_state(column.state(i));
        }
        th.last_seen[0] = self.last_seen[i];
    }

    /// Takes lane `i`'s state back from `th`, after it ran.
    pub fn store(&mut self, i: usize, th: &Through) {
        for (r, column) in th.reducers.iter().zip(&mut self.columns) {
            column.set(i, r.state());
        }
        self.last_seen[i] = th.last_seen[0];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::datapoint::Kind;
    use crate::config::ReducerDecl;
    use crate::graph::{OpSpec, ThroughSpec};

    const LANES: usize = 12;
    const OPS: [CmpOp; 7] = [
        CmpOp::Greater,
        CmpOp::GreaterEqual,
        CmpOp::Less,
        CmpOp::LessEqual,
        CmpOp::Crosses,
        CmpOp::CrossesAbove,
        CmpOp::CrossesBelow,
    ];

    /// Every reducer over datapoints `[x, q]` (VWAP: price x, quantity q).
    fn spec(trigger: TriggerSpec) -> ThroughSpec {
        let op = |reducer| OpSpec {
            reducer,
            slots: vec![0],
            slots2: vec![1],
        };
        let x = || "x".to_string();
        ThroughSpec {
            ops: vec![
                op(ReducerDecl::Count),
                op(ReducerDecl::Sum(x())),
                op(ReducerDecl::First(x())),
                op(ReducerDecl::Last(x())),
                op(ReducerDecl::Min(x())),
                op(ReducerDecl::Max(x())),
                op(ReducerDecl::Mean(x())),
                op(ReducerDecl::Vwap {
                    price: x(),
                    quantity: "q".into(),
                }),
            ],
            nop: false,
            trigger,
            window: None,
            key: None,
        }
    }

    /// A fixed stream of datapoints `[x, q]`, x in [-50, 50), q in [0, 10).
    fn stream(n: usize) -> Vec<Datapoint> {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|i| {
                let mut d = Datapoint::new(Kind::Data, 0, i as i64, 0);
                d.seq = i as u64;
                (d.values[0], d.values[1]) = (next() * 100.0 - 50.0, next() * 10.0);
                d.len = 2;
                d
            })
            .collect()
    }

    /// Lane `i`'s threshold for a condition on reducer `slot` (COUNT: counts that a lane reaches).
    fn threshold(slot: u8, i: usize) -> f64 {
        match slot {
            0 => i as f64 + 0.5,
            _ => -40.0 + 80.0 * i as f64 / (LANES - 1) as f64,
        }
    }

    /// Every emitted datapoint's (seq, kind, values), and the reducers' values at the end.
    type Seen = (Vec<(u64, bool, Vec<f64>)>, Vec<f64>);

    fn seen(out: &[Datapoint], th: &Through) -> Seen {
        let rows = out
            .iter()
            .map(|d| (d.seq, d.kind.is_event(), d.fields().to_vec()));
        let end = th.reducers.iter().map(Reducer::value).collect();
        (rows.collect(), end)
    }

    /// Same NaN-aware equality as the rows compare by (NaN equals NaN here).
    fn same(a: &Seen, b: &Seen) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn lanes_emit_and_end_exactly_as_their_own_throughs_for_every_reducer_and_condition() {
        let input = stream(400);
        let (mut fired_in_all, mut updates) = (0, 0);
        for op in OPS {
            for slot in 0..8u8 {
                let trigger = |i| TriggerSpec::Produce {
                    op,
                    slot,
                    threshold: threshold(slot, i),
                };
                // The reference: each lane's through on its own, as a single run has it.
                let mut alone: Vec<Through> = (0..LANES)
                    .map(|i| Through::new(1, &spec(trigger(i)), 1))
                    .collect();
                let mut own: Vec<Through> = alone.clone();
                let mut lanes = Lanes::new(&own.iter().collect::<Vec<_>>()).expect("one shape");
                // Lanes that fire on their own (`Lanes::fire`), without their throughs.
                let mut direct = Lanes::new(&own.iter().collect::<Vec<_>>()).expect("one shape");
                let (mut out_alone, mut out_lanes) = (vec![vec![]; LANES], vec![vec![]; LANES]);
                let mut out_direct: Vec<Vec<Datapoint>> = vec![vec![]; LANES];
                let (mut fired, mut fired_direct) = (Vec::new(), Vec::new());
                for dp in &input {
                    for (th, out) in alone.iter_mut().zip(&mut out_alone) {
                        th.on_input(0, dp, out);
                    }
                    lanes.add(0, dp, &mut fired);
                    for &i in &fired {
                        let i = i as usize;
                        lanes.load(i, &mut own[i]);
                        own[i].on_input(0, dp, &mut out_lanes[i]);
                        lanes.store(i, &own[i]);
                    }
                    direct.add(0, dp, &mut fired_direct);
                    assert_eq!(fired, fired_direct);
                    for &i in &fired_direct {
                        let mut e = Datapoint::new(Kind::Event, 1, dp.event_time, 0);
                        e.seq = dp.seq;
                        e.len = direct.fire(i as usize, 0, dp, &mut e.values) as u8;
                        out_direct[i as usize].push(e);
                    }
                    fired_in_all += fired.len();
                    updates += LANES;
                }
                for i in 0..LANES {
                    lanes.load(i, &mut own[i]);
                    let (want, got) =
                        (seen(&out_alone[i], &alone[i]), seen(&out_lanes[i], &own[i]));
                    assert!(
                        same(&want, &got),
                        "{op:?} on reducer {slot}, lane {i}:\n{want:?}\n{got:?}"
                    );
                    direct.load(i, &mut own[i]);
                    let got = seen(&out_direct[i], &own[i]);
                    assert!(
                        same(&want, &got),
                        "fired from the lanes: {op:?} on reducer {slot}, lane {i}:\n{want:?}\n{got:?}"
                    );
                }
            }
        }
        // The loop over lanes did most of the work, and the lanes' own throughs a real share of it.
        assert!(
            fired_in_all > updates / 50,
            "{fired_in_all} of {updates} fired"
        );
        assert!(
            fired_in_all < updates / 2,
            "{fired_in_all} of {updates} fired"
        );
    }

    #[test]
    fn consuming_lanes_add_data_and_emit_on_events_as_their_own_throughs() {
        let input = stream(300);
        // Port 0 takes data; port 1 (the event port) takes every 7th datapoint as an event.
        let mut alone: Vec<Through> = (0..LANES)
            .map(|_| Through::new(1, &spec(TriggerSpec::Consume), 1))
            .collect();
        let mut own = alone.clone();
        let mut lanes = Lanes::new(&own.iter().collect::<Vec<_>>()).expect("one shape");
        // Lanes that consume events on their own (`Lanes::take`), without their throughs.
        let mut direct = Lanes::new(&own.iter().collect::<Vec<_>>()).expect("one shape");
        let (mut out_alone, mut out_lanes) = (vec![vec![]; LANES], vec![vec![]; LANES]);
        let mut out_direct: Vec<Vec<Datapoint>> = vec![vec![]; LANES];
        let mut fired = Vec::new();
        for (k, dp) in input.iter().enumerate() {
            // Lane i sees an event after every (7 + i)th datapoint: the lanes' states part ways.
            for i in 0..LANES {
                if k % (7 + i) == 6 {
                    let mut ev = *dp;
                    ev.kind = Kind::Event;
                    alone[i].on_input(1, &ev, &mut out_alone[i]);
                    lanes.load(i, &mut own[i]);
                    own[i].on_input(1, &ev, &mut out_lanes[i]);
                    lanes.store(i, &own[i]);
                    let mut row = Datapoint::new(Kind::Data, 1, ev.event_time, 0);
                    row.seq = ev.seq;
                    row.len = direct.take(i, &mut row.values) as u8;
                    out_direct[i].push(row);
                }
            }
            for (th, out) in alone.iter_mut().zip(&mut out_alone) {
                th.on_input(0, dp, out);
            }
            lanes.add(0, dp, &mut fired);
            assert!(
                fired.is_empty(),
                "data never makes a consuming through emit"
            );
            direct.add(0, dp, &mut fired);
        }
        for i in 0..LANES {
            lanes.load(i, &mut own[i]);
            let (want, got) = (seen(&out_alone[i], &alone[i]), seen(&out_lanes[i], &own[i]));
            assert!(want.0.len() > 10, "lane {i} emitted {} rows", want.0.len());
            assert!(same(&want, &got), "lane {i}:\n{want:?}\n{got:?}");
            direct.load(i, &mut own[i]);
            let got = seen(&out_direct[i], &own[i]);
            assert!(
                same(&want, &got),
                "taken from the lanes, lane {i}:\n{want:?}\n{got:?}"
            );
        }
    }

    #[test]
    fn throughs_that_differ_in_more_than_thresholds_are_not_lanes() {
        let greater = |threshold| TriggerSpec::Produce {
            op: CmpOp::Greater,
            slot: 1,
            threshold,
        };
        let a = Through::new(1, &spec(greater(1.0)), 1);
        let b = Through::new(1, &spec(greater(2.0)), 1);
        assert!(Lanes::new(&[&a, &b]).is_some());
        let other_op = TriggerSpec::Produce {
            op: CmpOp::Less,
            slot: 1,
            threshold: 1.0,
        };
        let c = Through::new(1, &spec(other_op), 1);
        assert!(Lanes::new(&[&a, &c]).is_none(), "another comparison");
        let mut other_field = spec(greater(1.0));
        other_field.ops[1].slots = vec![1];
        let d = Through::new(1, &other_field, 1);
        assert!(Lanes::new(&[&a, &d]).is_none(), "another input slot");
        let e = Through::new(1, &spec(TriggerSpec::Always), 1);
        assert!(Lanes::new(&[&e]).is_none(), "emits on every datapoint");
    }
}
