//! `Through` tubes: reducers with an optional event rule (emit on a condition, or on another tube's
//! event), optionally per key (`key:`) and over a time window (`window:`).

mod buckets;
mod keyed;
mod lanes;
mod reducers;
mod sliding;

pub use lanes::Lanes;
pub use reducers::Reducer;

use buckets::{Buckets, Closed};
use keyed::KeySlots;
use sliding::Sliding;

use crate::base::datapoint::{Datapoint, Kind, TubeId, MAX_FIELDS};
use crate::config::WindowKind;
use crate::events::condition::fires;
use crate::graph::{ThroughSpec, TriggerSpec};

/// What a through keeps its reducers' state in.
#[derive(Debug, Clone)]
enum Shape {
    /// One set of reducers per key: `reducers` for the first (or only), `more` for the others.
    Plain,
    /// Tumbling or hopping windows (taken out while they emit, put back after).
    Buckets(Option<Box<Buckets>>),
    /// Sliding windows.
    Sliding(Box<Sliding>),
}

/// A running through.
#[derive(Debug, Clone)]
pub struct Through {
    id: TubeId,
    /// The reducers of the first key (the only one without `key:`); for windows, the template.
    reducers: Vec<Reducer>,
    /// The reducers of keys after the first (plain keyed tubes).
    more: Vec<Vec<Reducer>>,
    trigger: TriggerSpec,
    /// Index of the event port, when the tube consumes an event.
    event_port: Option<u8>,
    /// For tumbling and hopping windows that consume a tick: the tick's port, which is their clock.
    clock_port: Option<u8>,
    /// How long past a window's end a tick waits before closing it (ns).
    lateness: i64,
    /// NOP: the last datapoint received (passed through, or held for `Consume`).
    held: Option<Datapoint>,
    nop: bool,
    /// By key: the condition field's value after the previous emission or input, kept across resets
    /// (for `CROSSES`).
    last_seen: Vec<f64>,
    keys: Option<KeySlots>,
    shape: Shape,
    /// Whether the end of the input closes the windows still open (Batch).
    flush_at_end: bool,
    /// Neither key, window, clock nor NOP: a data datapoint goes straight to [`Self::plain`].
    direct: bool,
}

impl Through {
    /// Builds the tube from its checked spec; `data_ports` is its number of data inputs.
    pub fn new(id: TubeId, spec: &ThroughSpec, data_ports: usize) -> Self {
        let reducers: Vec<Reducer> = spec.ops.iter().map(Reducer::new).collect();
        let keys = spec.key.as_ref().map(KeySlots::new);
        let n_keys = keys.as_ref().map_or(1, KeySlots::max);
        let known = keys.as_ref().map_or(1, |k| k.values.len());
        let shape = match spec.window.map(|w| (w.kind, w.max_items)) {
            None => Shape::Plain,
            Some((WindowKind::Tumbling { size }, _)) => {
                Shape::Buckets(Some(Box::new(Buckets::new(size, size, &reducers, n_keys))))
            }
            Some((WindowKind::Hopping { size, every }, _)) => {
                Shape::Buckets(Some(Box::new(Buckets::new(size, every, &reducers, n_keys))))
            }
            Some((WindowKind::Sliding { size }, cap)) => {
                Shape::Sliding(Box::new(Sliding::new(size, cap, &reducers, n_keys, known)))
            }
        };
        let more = match (&shape, &keys) {
            (Shape::Plain, Some(_)) => vec![reducers.clone(); n_keys - 1],
            _ => Vec::new(),
        };
        let consumes = matches!(spec.trigger, TriggerSpec::Consume).then_some(data_ports as u8);
        // A windowed tube's consumed tick is its clock: it closes windows, and rows go out as they
        // close (the trigger is then `Always`).
        let (event_port, clock_port, trigger) = match spec.window {
            Some(_) => (
                None,
                consumes,
                consumes.map_or(spec.trigger, |_| TriggerSpec::Always),
            ),
            None => (consumes, None, spec.trigger),
        };
        // A clock port exists only with a window, whose shape is not `Plain`.
        let direct = keys.is_none() && matches!(shape, Shape::Plain) && !spec.nop;
        Through {
            id,
            reducers,
            more,
            trigger,
            event_port,
            clock_port,
            lateness: spec.window.map_or(0, |w| w.lateness),
            held: None,
            nop: spec.nop,
            last_seen: vec![f64::NAN; n_keys],
            keys,
            shape,
            flush_at_end: spec.window.is_some_and(|w| w.flush_at_end),
            direct,
        }
    }

    fn set(&mut self, slot: usize) -> &mut [Reducer] {
        match slot {
            0 => &mut self.reducers,
            s => &mut self.more[s - 1],
        }
    }

    /// A datapoint caused by `cause`, of `kind`, with the values of key `slot`'s reducers.
    fn state(&self, slot: usize, cause: &Datapoint, kind: Kind) -> Option<Datapoint> {
        let mut out = Datapoint::new(kind, self.id, cause.event_time, cause.ingest_time);
        self.fill(slot, cause, &mut out).then_some(out)
    }

    /// [`Self::state`], appended to `out` (built where it lies, not copied there).
    #[inline]
    fn emit_state(&self, slot: usize, cause: &Datapoint, kind: Kind, out: &mut Vec<Datapoint>) {
        out.push(Datapoint::new(
            kind,
            self.id,
            cause.event_time,
            cause.ingest_time,
        ));
        let last = out.last_mut().expect("just pushed");
        if !self.fill(slot, cause, last) {
            out.pop();
        }
    }

    /// Fills `out`, caused by `cause`, with key `slot`'s values; false for a NOP that holds nothing.
    #[inline]
    fn fill(&self, slot: usize, cause: &Datapoint, out: &mut Datapoint) -> bool {
        out.seq = cause.seq;
        if self.nop {
            let Some(held) = self.held.as_ref() else {
                return false;
            };
            out.len = held.len;
            out.values = held.values;
            return true;
        }
        let set = if slot == 0 {
            &self.reducers
        } else {
            &self.more[slot - 1]
        };
        for (v, r) in out.values.iter_mut().zip(set) {
            *v = r.value();
        }
        out.len = set.len() as u8;
        self.push_key(out, slot);
        true
    }

    /// Appends key `slot`'s value to `out`, when the tube is keyed.
    fn push_key(&self, out: &mut Datapoint, slot: usize) {
        if let Some(k) = &self.keys {
            out.values[out.len as usize] = k.values[slot];
            out.len += 1;
        }
    }

    #[inline]
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
        for set in &mut self.more {
            for r in set {
                r.reset();
            }
        }
    }

    /// How many keys have state (1 without a key).
    fn keys_met(&self) -> usize {
        self.keys.as_ref().map_or(1, |k| k.values.len())
    }

    /// The port it consumes events on, when it emits only then, with no key, window or NOP: its state,
    /// then reset (what [`Lanes::take`] does for a lane).
    pub fn plain_consumer(&self) -> Option<u8> {
        match self.trigger {
            TriggerSpec::Consume if self.direct => self.event_port,
            _ => None,
        }
    }

    /// Takes one input datapoint on `port`; appends what the tube emits, if anything, to `out`.
    #[inline]
    pub fn on_input(&mut self, port: u8, dp: &Datapoint, out: &mut Vec<Datapoint>) {
        // The common case, kept small enough to inline where datapoints are stepped.
        if self.direct && dp.kind != Kind::Status && Some(port) != self.event_port {
            self.plain(port, dp, out);
        } else {
            self.on_other_input(port, dp, out);
        }
    }

    /// [`Self::on_input`] for a status, an event, a tick, or a tube with a key, a window or NOP.
    #[inline(never)]
    fn on_other_input(&mut self, port: u8, dp: &Datapoint, out: &mut Vec<Datapoint>) {
        if dp.kind == Kind::Status {
            // A feed's status passes on unchanged, under this tube's id; the state is not touched.
            let mut passed = *dp;
            passed.source = self.id;
            out.push(passed);
            return;
        }
        if Some(port) == self.clock_port {
            self.tick(dp, out);
            return;
        }
        if Some(port) == self.event_port {
            // Consume: emit the state of every key (a NOP: what it holds), then reset.
            for slot in 0..self.keys_met() {
                self.emit_state(slot, dp, Kind::Data, out);
            }
            self.reset();
            return;
        }
        if self.keys.is_none() && matches!(self.shape, Shape::Plain) {
            self.plain(port, dp, out);
        } else {
            self.keyed(port, dp, out);
        }
    }

    /// A tube with neither key nor window (the common case, kept short).
    #[inline]
    fn plain(&mut self, port: u8, dp: &Datapoint, out: &mut Vec<Datapoint>) {
        if self.nop {
            self.held = Some(*dp);
        } else {
            let values = &dp.values[..(dp.len as usize).min(MAX_FIELDS)];
            for r in &mut self.reducers {
                r.add(port as usize, values);
            }
        }
        match self.trigger {
            TriggerSpec::Always => self.emit_state(0, dp, Kind::Data, out),
            TriggerSpec::Consume => {}
            TriggerSpec::Produce {
                op,
                slot,
                threshold,
            } => {
                let (before, after) = (self.last_seen[0], self.field(slot));
                self.last_seen[0] = after;
                if fires(op, before, after, threshold) {
                    self.emit_state(0, dp, Kind::Event, out);
                    self.reset();
                }
            }
        }
    }

    /// A tube with a key or a window.
    fn keyed(&mut self, port: u8, dp: &Datapoint, out: &mut Vec<Datapoint>) {
        let values = &dp.values[..(dp.len as usize).min(MAX_FIELDS)];
        let slot = match &mut self.keys {
            None => 0,
            Some(k) => match k.slot(k.value(port, values)) {
                Some(s) => s,
                None => return,
            },
        };
        let t = dp.event_time;
        match &mut self.shape {
            Shape::Plain => {
                for r in self.set(slot) {
                    r.add(port as usize, values);
                }
                let Some(state) = self.state(slot, dp, Kind::Data) else {
                    return;
                };
                if self.offer(slot, state, out)
                    && matches!(self.trigger, TriggerSpec::Produce { .. })
                {
                    for r in self.set(slot) {
                        r.reset();
                    }
                }
            }
            Shape::Buckets(b) => {
                let mut b = b.take().expect("the windows are back after each datapoint");
                b.close_until(t, self.keys_met(), |c| self.closed(c, dp, out));
                b.add(t, slot, port as usize, values);
                self.shape = Shape::Buckets(Some(b));
            }
            Shape::Sliding(s) => {
                let mut o = Datapoint::new(Kind::Data, self.id, t, dp.ingest_time);
                o.seq = dp.seq;
                let n = self.reducers.len();
                let args = (&self.reducers[..], port as usize, values);
                let Some((first, last)) = s.add(t, slot, args, &mut o.values[..n]) else {
                    return;
                };
                o.len = n as u8;
                // Most datapoints do not make a condition on a reducer's value hold: the key and the
                // window's span are added only to a datapoint that is emitted.
                if let Some(fired) = self.decide_early(slot, &o.values[..n]) {
                    if fired {
                        o.kind = Kind::Event;
                        self.push_key(&mut o, slot);
                        push_span(&mut o, first, last);
                        out.push(o);
                    }
                    return;
                }
                self.push_key(&mut o, slot);
                push_span(&mut o, first, last);
                self.offer(slot, o, out);
            }
        }
    }

    /// A tick of the windows' clock at `dp.event_time`: closes every window that ended at least
    /// `allowed_lateness` before it. A datapoint for one of them that arrives later is late.
    fn tick(&mut self, dp: &Datapoint, out: &mut Vec<Datapoint>) {
        let Shape::Buckets(b) = &mut self.shape else {
            return;
        };
        let mut b = b.take().expect("the windows are back after each datapoint");
        let until = dp.event_time.saturating_sub(self.lateness);
        b.close_until(until, self.keys_met(), |c| self.closed(c, dp, out));
        self.shape = Shape::Buckets(Some(b));
    }

    /// A window of key `c.slot` closed, caused by `cause`: offers its row.
    fn closed(&mut self, c: Closed<'_>, cause: &Datapoint, out: &mut Vec<Datapoint>) {
        // The row's time is the window's last instant, so a window downstream puts it in the window
        // this one ends.
        let mut o = Datapoint::new(Kind::Data, self.id, c.end - 1, cause.ingest_time);
        o.seq = cause.seq;
        for (v, r) in o.values.iter_mut().zip(c.reducers) {
            *v = r.value();
        }
        o.len = c.reducers.len() as u8;
        self.push_key(&mut o, c.slot);
        push_span(&mut o, c.start, c.end);
        self.offer(c.slot, o, out);
    }

    /// For a `Produce` condition on one of `values` (a datapoint's values, or only its reducers'):
    /// whether it holds for key `slot` now (the value is then seen). `None` for any other trigger, or
    /// a condition on a field past `values`.
    #[inline]
    fn decide_early(&mut self, slot: usize, values: &[f64]) -> Option<bool> {
        let TriggerSpec::Produce {
            op,
            slot: field,
            threshold,
        } = self.trigger
        else {
            return None;
        };
        let after = *values.get(field as usize)?;
        let before = std::mem::replace(&mut self.last_seen[slot], after);
        Some(fires(op, before, after, threshold))
    }

    /// Emits `o`, key `slot`'s new state, as its trigger says: always, or as an event when its
    /// `Produce` condition holds. Returns whether it emitted.
    fn offer(&mut self, slot: usize, mut o: Datapoint, out: &mut Vec<Datapoint>) -> bool {
        let emits = match self.trigger {
            TriggerSpec::Always => true,
            TriggerSpec::Consume => false,
            TriggerSpec::Produce { .. } => {
                let fired = self.decide_early(slot, &o.values) == Some(true);
                if fired {
                    o.kind = Kind::Event;
                }
                fired
            }
        };
        if emits {
            out.push(o);
        }
        emits
    }

    /// At the end of the input (Batch): emits every window still open, as if a datapoint after all of
    /// them had arrived. `cause` stamps the sequence number and the ingest time.
    pub fn finish(&mut self, cause: &Datapoint, out: &mut Vec<Datapoint>) {
        let Shape::Buckets(b) = &mut self.shape else {
            return;
        };
        let mut b = b.take().expect("the windows are back after each datapoint");
        b.close_all(self.keys_met(), |c| self.closed(c, cause, out));
        self.shape = Shape::Buckets(Some(b));
    }

    /// Whether the end of the input makes it emit (open tumbling or hopping windows).
    pub fn emits_at_end(&self) -> bool {
        self.flush_at_end && matches!(self.shape, Shape::Buckets(_))
    }

    /// [`Self::report`], when it counted datapoints late, keys past `max_keys` or a sliding buffer that
    /// had to grow.
    pub fn losses(&self) -> Option<String> {
        let over = self.keys.as_ref().is_some_and(|k| k.over > 0);
        let counted = match &self.shape {
            Shape::Plain => false,
            Shape::Buckets(b) => b.as_ref().is_some_and(|b| b.late > 0),
            Shape::Sliding(s) => s.usage.late > 0 || s.usage.grew > 0,
        };
        (over || counted).then(|| self.report()).flatten()
    }

    /// What it counted that the summary should say: late datapoints, keys past `max_keys`, how full
    /// a sliding window's buffer got. `None` for a tube with neither key nor window.
    pub fn report(&self) -> Option<String> {
        let over = self
            .keys
            .as_ref()
            .map(|k| (k.over, k.max(), k.values.len()));
        let mut parts = Vec::new();
        if let Some((over, max, met)) = over {
            parts.push(format!("{met} keys"));
            if over > 0 {
                parts.push(format!(
                    "{over} datapoints of keys past max_keys ({max}) not kept: raise max_keys"
                ));
            }
        }
        match &self.shape {
            Shape::Plain => {}
            Shape::Buckets(b) => parts.push(format!("{} late", b.as_ref().map_or(0, |b| b.late))),
            Shape::Sliding(s) => {
                let u = s.usage;
                parts.push(format!("{} late", u.late));
                parts.push(format!("window held at most {} datapoints", u.high_water));
                if u.grew > 0 {
                    parts.push(format!(
                        "its buffer was full and grew {} times: raise max_items",
                        u.grew
                    ));
                }
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// Appends a window's start and end (ns) to `o`, as milliseconds (whole milliseconds are exact in a
/// double; a fraction keeps about a quarter of a microsecond).
fn push_span(o: &mut Datapoint, start: i64, end: i64) {
    let ms = |t: i64| t.div_euclid(1_000_000) as f64 + t.rem_euclid(1_000_000) as f64 / 1e6;
    let n = o.len as usize;
    o.values[n] = ms(start);
    o.values[n + 1] = ms(end);
    o.len += 2;
}

#[cfg(test)]
mod window_tests;
