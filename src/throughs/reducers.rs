//! The reducers. Each keeps a running state over the datapoints it is given and can report and reset it.
//! Adding one: a variant here, its output name in `graph::check`, its keyword in `config::parse`.

use crate::config::ReducerDecl;
use crate::graph::OpSpec;

/// Running state of one reducer, with the slot of its input field on each data port.
#[derive(Debug, Clone)]
pub struct Reducer {
    kind: State,
    /// Slot of the input field (price for VWAP) per data port.
    slots: Vec<u8>,
    /// Slot of the quantity field per data port (VWAP only).
    slots2: Vec<u8>,
}

/// Which reducer a [`Reducer`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Count,
    Sum,
    First,
    Last,
    Min,
    Max,
    Mean,
    Vwap,
}

/// A reducer's running state: the arithmetic every reducer runs, wherever its state is kept.
#[derive(Debug, Clone, Copy)]
pub(super) enum State {
    Count(u64),
    Sum(f64),
    First(f64),
    Last(f64),
    Min(f64),
    Max(f64),
    Mean { sum: f64, n: u64 },
    Vwap { pq: f64, q: f64 },
}

impl State {
    /// Which reducer it is the state of.
    pub(super) fn op(&self) -> Op {
        match self {
            State::Count(_) => Op::Count,
            State::Sum(_) => Op::Sum,
            State::First(_) => Op::First,
            State::Last(_) => Op::Last,
            State::Min(_) => Op::Min,
            State::Max(_) => Op::Max,
            State::Mean { .. } => Op::Mean,
            State::Vwap { .. } => Op::Vwap,
        }
    }

    /// Adds one input: the field's value `x` and, for VWAP, the quantity `q`.
    #[inline(always)]
    pub(super) fn add(&mut self, x: f64, q: f64) {
        match self {
            State::Count(n) => *n += 1,
            State::Sum(s) => *s += x,
            State::First(v) => {
                if v.is_nan() {
                    *v = x
                }
            }
            State::Last(v) => *v = x,
            State::Min(v) => {
                if v.is_nan() || x < *v {
                    *v = x
                }
            }
            State::Max(v) => {
                if v.is_nan() || x > *v {
                    *v = x
                }
            }
            State::Mean { sum, n } => {
                *sum += x;
                *n += 1;
            }
            State::Vwap { pq, q: qs } => {
                *pq += x * q;
                *qs += q;
            }
        }
    }

    /// The value it stands for (NaN when it has none, e.g. MIN of nothing).
    #[inline(always)]
    pub(super) fn value(&self) -> f64 {
        match *self {
            State::Count(n) => n as f64,
            State::Sum(s) => s,
            State::First(v) | State::Last(v) | State::Min(v) | State::Max(v) => v,
            State::Mean { sum, n } => {
                if n == 0 {
                    f64::NAN
                } else {
                    sum / n as f64
                }
            }
            State::Vwap { pq, q } => {
                if q == 0.0 {
                    f64::NAN
                } else {
                    pq / q
                }
            }
        }
    }
}

impl Reducer {
    /// A reducer in its reset state.
    pub fn new(spec: &OpSpec) -> Self {
        let kind = match spec.reducer {
            ReducerDecl::Count => State::Count(0),
            ReducerDecl::Sum(_) => State::Sum(0.0),
            ReducerDecl::First(_) => State::First(f64::NAN),
            ReducerDecl::Last(_) => State::Last(f64::NAN),
            ReducerDecl::Min(_) => State::Min(f64::NAN),
            ReducerDecl::Max(_) => State::Max(f64::NAN),
            ReducerDecl::Mean(_) => State::Mean { sum: 0.0, n: 0 },
            ReducerDecl::Vwap { .. } => State::Vwap { pq: 0.0, q: 0.0 },
            ReducerDecl::Nop => unreachable!("NOP has no reducer state"),
        };
        Reducer {
            kind,
            slots: spec.slots.clone(),
            slots2: spec.slots2.clone(),
        }
    }

    /// Adds the values of a datapoint that arrived on data port `port`.
    #[inline]
    pub fn add(&mut self, port: usize, values: &[f64]) {
        let x = self.slots.get(port).map_or(0.0, |&s| values[s as usize]);
        let q = match self.kind {
            State::Vwap { .. } => values[self.slots2[port] as usize],
            _ => 0.0,
        };
        self.kind.add(x, q);
    }

    /// Its input values in a datapoint that arrived on `port`: the field (the price for VWAP) and, for
    /// VWAP, the quantity.
    #[inline]
    pub fn inputs(&self, port: usize, values: &[f64]) -> (f64, f64) {
        let x = self.slots.get(port).map_or(0.0, |&s| values[s as usize]);
        let q = self.slots2.get(port).map_or(0.0, |&s| values[s as usize]);
        (x, q)
    }

    /// Which reducer it is.
    pub fn op(&self) -> Op {
        self.kind.op()
    }

    /// The current value (NaN when it has none, e.g. MIN of nothing).
    #[inline]
    pub fn value(&self) -> f64 {
        self.kind.value()
    }

    /// Its running state.
    #[inline]
    pub(super) fn state(&self) -> State {
        self.kind
    }

    /// Sets its running state (one of the same reducer, kept elsewhere).
    #[inline]
    pub(super) fn set_state(&mut self, s: State) {
        debug_assert_eq!(
            std::mem::discriminant(&s),
            std::mem::discriminant(&self.kind)
        );
        self.kind = s;
    }

    /// Slots of its input fields, by data port (the field; the quantity for VWAP).
    pub(super) fn slots(&self) -> (&[u8], &[u8]) {
        (&self.slots, &self.slots2)
    }

    /// Back to the state before any datapoint.
    pub fn reset(&mut self) {
        self.kind = match self.kind {
            State::Count(_) => State::Count(0),
            State::Sum(_) => State::Sum(0.0),
            State::First(_) => State::First(f64::NAN),
            State::Last(_) => State::Last(f64::NAN),
            State::Min(_) => State::Min(f64::NAN),
            State::Max(_) => State::Max(f64::NAN),
            State::Mean { .. } => State::Mean { sum: 0.0, n: 0 },
            State::Vwap { .. } => State::Vwap { pq: 0.0, q: 0.0 },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reduced field sits in slot 2 of each row and the quantity in slot 3; the other slots hold
    /// values that would show if the wrong slot were read.
    const SLOT: u8 = 2;
    const QTY: u8 = 3;
    const XS: [f64; 5] = [3.0, -2.5, 7.0, -4.0, 1.5];
    const QS: [f64; 5] = [2.0, 1.0, 0.5, 4.0, 3.0];

    fn row(x: f64, q: f64) -> [f64; 4] {
        [1000.0, -1000.0, x, q]
    }

    fn reducer(decl: ReducerDecl) -> Reducer {
        Reducer::new(&OpSpec {
            reducer: decl,
            slots: vec![SLOT],
            slots2: vec![QTY],
        })
    }

    fn fed(decl: ReducerDecl, xs: &[f64], qs: &[f64]) -> Reducer {
        let mut r = reducer(decl);
        for (&x, &q) in xs.iter().zip(qs) {
            r.add(0, &row(x, q));
        }
        r
    }

    fn f(name: &str) -> String {
        name.to_string()
    }

    #[test]
    fn count_is_the_number_of_datapoints() {
        assert_eq!(fed(ReducerDecl::Count, &XS, &QS).value(), XS.len() as f64);
    }

    #[test]
    fn sum_adds_the_field_including_negative_values() {
        let mut want = 0.0;
        for x in XS {
            want += x;
        }
        assert_eq!(want, 5.0);
        assert_eq!(fed(ReducerDecl::Sum(f("x")), &XS, &QS).value(), want);
    }

    #[test]
    fn first_keeps_the_first_value() {
        assert_eq!(fed(ReducerDecl::First(f("x")), &XS, &QS).value(), 3.0);
    }

    #[test]
    fn last_keeps_the_latest_value() {
        assert_eq!(fed(ReducerDecl::Last(f("x")), &XS, &QS).value(), 1.5);
    }

    #[test]
    fn min_is_the_smallest_value_wherever_it_arrives() {
        let mut want = XS[0];
        for x in XS {
            if x < want {
                want = x;
            }
        }
        assert_eq!(want, -4.0);
        assert_eq!(fed(ReducerDecl::Min(f("x")), &XS, &QS).value(), want);
    }

    #[test]
    fn max_is_the_largest_value_wherever_it_arrives() {
        let mut want = XS[0];
        for x in XS {
            if x > want {
                want = x;
            }
        }
        assert_eq!(want, 7.0);
        assert_eq!(fed(ReducerDecl::Max(f("x")), &XS, &QS).value(), want);
    }

    #[test]
    fn mean_is_the_sum_over_the_count() {
        let mut sum = 0.0;
        for x in XS {
            sum += x;
        }
        let want = sum / XS.len() as f64;
        assert_eq!(want, 1.0);
        assert_eq!(fed(ReducerDecl::Mean(f("x")), &XS, &QS).value(), want);
    }

    #[test]
    fn vwap_is_the_quantity_weighted_mean_of_prices() {
        let (mut pq, mut q) = (0.0, 0.0);
        for (x, w) in XS.iter().zip(QS) {
            pq += x * w;
            q += w;
        }
        // (6 − 2.5 + 3.5 − 16 + 4.5) / 10.5 = −4.5 / 10.5
        assert!((pq / q - (-4.5 / 10.5)).abs() < 1e-12);
        let vwap = ReducerDecl::Vwap {
            price: f("p"),
            quantity: f("q"),
        };
        assert_eq!(fed(vwap, &XS, &QS).value(), pq / q);
    }

    #[test]
    fn each_data_port_reads_the_field_from_its_own_slot() {
        let mut r = Reducer::new(&OpSpec {
            reducer: ReducerDecl::Sum(f("x")),
            slots: vec![0, 1],
            slots2: vec![],
        });
        r.add(0, &[10.0, 100.0]);
        r.add(1, &[20.0, -3.0]);
        assert_eq!(r.value(), 10.0 - 3.0);
    }

    #[test]
    fn reset_starts_the_next_window_afresh() {
        // Window 1 holds values beyond window 2's range on both sides, so a MIN, MAX or FIRST that kept
        // anything from it would show.
        let (w1, q1) = ([-20.0, 30.0], [5.0, 5.0]);
        let (w2, q2) = ([10.0, -6.0], [1.0, 3.0]);
        let vwap = ReducerDecl::Vwap {
            price: f("p"),
            quantity: f("q"),
        };
        // (value before any input, value over window 2), by hand; (10·1 − 6·3) / 4 = −2 for VWAP.
        let cases = [
            (ReducerDecl::Count, 0.0, 2.0),
            (ReducerDecl::Sum(f("x")), 0.0, 4.0),
            (ReducerDecl::First(f("x")), f64::NAN, 10.0),
            (ReducerDecl::Last(f("x")), f64::NAN, -6.0),
            (ReducerDecl::Min(f("x")), f64::NAN, -6.0),
            (ReducerDecl::Max(f("x")), f64::NAN, 10.0),
            (ReducerDecl::Mean(f("x")), f64::NAN, 2.0),
            (vwap, f64::NAN, -2.0),
        ];
        for (decl, empty, want) in cases {
            let mut r = fed(decl.clone(), &w1, &q1);
            r.reset();
            let got = r.value();
            assert!(
                got == empty || (got.is_nan() && empty.is_nan()),
                "{decl:?} after reset: {got}, want {empty}"
            );
            for (&x, &q) in w2.iter().zip(&q2) {
                r.add(0, &row(x, q));
            }
            assert_eq!(r.value(), want, "{decl:?} over the second window");
        }
    }
}
