//! `Through` tubes: reducers with an optional event rule (emit on a condition, or on another tube's event).

mod reducers;

pub use reducers::Reducer;

use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::events::condition::fires;
use crate::graph::{ThroughSpec, TriggerSpec};

/// A running through.
#[derive(Debug, Clone)]
pub struct Through {
    id: TubeId,
    reducers: Vec<Reducer>,
    trigger: TriggerSpec,
    /// Index of the event port, when the tube consumes an event.
    event_port: Option<u8>,
    /// NOP: the last datapoint received (passed through, or held for `Consume`).
    held: Option<Datapoint>,
    nop: bool,
    /// The condition field's value after the previous data input, kept across resets (for `CROSSES`).
    last_seen: f64,
}

impl Through {
    /// Builds the tube from its checked spec; `data_ports` is its number of data inputs.
    pub fn new(id: TubeId, spec: &ThroughSpec, data_ports: usize) -> Self {
        Through {
            id,
            reducers: spec.ops.iter().map(Reducer::new).collect(),
            trigger: spec.trigger,
            event_port: matches!(spec.trigger, TriggerSpec::Consume).then_some(data_ports as u8),
            held: None,
            nop: spec.nop,
            last_seen: f64::NAN,
        }
    }

    /// The tube's output for the cause `cause`, in its current state.
    fn state(&self, cause: &Datapoint, kind: Kind) -> Option<Datapoint> {
        let mut out = Datapoint::new(kind, self.id, cause.event_time, cause.ingest_time);
        out.seq = cause.seq;
        if self.nop {
            let held = self.held.as_ref()?;
            out.len = held.len;
            out.values = held.values;
        } else {
            out.len = self.reducers.len() as u8;
            for (v, r) in out.values.iter_mut().zip(&self.reducers) {
                *v = r.value();
            }
        }
        Some(out)
    }

    fn field(&self, slot: u8) -> f64 {
        if self.nop {
            self.held.map_or(f64::NAN, |h| h.values[slot as usize])
        } else {
            self.reducers[slot as usize].value()
        }
    }

    fn reset(&mut self) {
        for r in &mut self.reducers {
            r.reset();
        }
    }

    /// Takes one input datapoint on `port`; returns what the tube emits, if anything.
    #[inline]
    pub fn on_input(&mut self, port: u8, dp: &Datapoint) -> Option<Datapoint> {
        if dp.kind == Kind::Status {
            // A feed's status passes on unchanged, under this tube's id; the state is not touched.
            let mut passed = *dp;
            passed.source = self.id;
            return Some(passed);
        }
        if Some(port) == self.event_port {
            // Consume: emit the state (a NOP: what it holds), then reset.
            let out = self.state(dp, Kind::Data);
            self.reset();
            return out;
        }
        if self.nop {
            self.held = Some(*dp);
        } else {
            let values = &dp.values[..(dp.len as usize).min(MAX_FIELDS)];
            for r in &mut self.reducers {
                r.add(port as usize, values);
            }
        }
        match self.trigger {
            TriggerSpec::Always => self.state(dp, Kind::Data),
            TriggerSpec::Consume => None,
            TriggerSpec::Produce {
                op,
                slot,
                threshold,
            } => {
                let (before, after) = (self.last_seen, self.field(slot));
                self.last_seen = after;
                if fires(op, before, after, threshold) {
                    let out = self.state(dp, Kind::Event);
                    self.reset();
                    out
                } else {
                    None
                }
            }
        }
    }
}
