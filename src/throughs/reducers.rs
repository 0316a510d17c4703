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

#[derive(Debug, Clone, Copy)]
enum State {
    Count(u64),
    Sum(f64),
    First(f64),
    Last(f64),
    Min(f64),
    Max(f64),
    Mean { sum: f64, n: u64 },
    Vwap { pq: f64, q: f64 },
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
        match &mut self.kind {
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
            State::Vwap { pq, q } => {
                let qty = values[self.slots2[port] as usize];
                *pq += x * qty;
                *q += qty;
            }
        }
    }

    /// The current value (NaN when it has none, e.g. MIN of nothing).
    #[inline]
    pub fn value(&self) -> f64 {
        match self.kind {
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
