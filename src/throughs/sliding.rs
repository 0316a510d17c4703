//! Sliding windows: at each datapoint at `t`, the aggregate over the datapoints of its key in
//! `(t - size, t]`. Each key holds its window's datapoints in a ring buffer (sized before the run from
//! `max_items`, rounded up to a power of two; a burst beyond it doubles the buffer once per overflow,
//! counted and reported). SUM,
//! MEAN and VWAP keep running sums with Neumaier's compensation (started afresh from the window when
//! they stop being finite); COUNT is the ring's length; FIRST and LAST read its ends; MIN and MAX keep
//! monotonic queues, so no datapoint is looked at twice. Lateness is per key: a datapoint older than
//! the newest of its own key is late.

use super::reducers::{Op, Reducer};

/// A sum kept with Neumaier's compensation, so that adding and taking away values leaves no drift
/// beyond a few units in the last place.
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    sum: f64,
    comp: f64,
}

impl Sum {
    #[inline]
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// A ring of absolute indices (the monotonic queue of a MIN or MAX).
#[derive(Debug, Clone)]
struct Mono {
    idx: Vec<u64>,
    head: usize,
    len: usize,
}

impl Mono {
    /// An empty queue of `cap` places (a power of two).
    fn new(cap: usize) -> Self {
        debug_assert!(cap.is_power_of_two());
        Mono {
            idx: vec![0; cap],
            head: 0,
            len: 0,
        }
    }

    fn at(&self, k: usize) -> u64 {
        self.idx[(self.head + k) & (self.idx.len() - 1)]
    }

    fn front(&self) -> Option<u64> {
        (self.len > 0).then(|| self.at(0))
    }

    fn push_back(&mut self, i: u64) {
        if self.len == self.idx.len() {
            self.grow();
        }
        let cap = self.idx.len();
        self.idx[(self.head + self.len) & (cap - 1)] = i;
        self.len += 1;
    }

    fn pop_back(&mut self) {
        self.len -= 1;
    }

    fn pop_front(&mut self) {
        self.head = (self.head + 1) & (self.idx.len() - 1);
        self.len -= 1;
    }

    fn grow(&mut self) {
        let items: Vec<u64> = (0..self.len).map(|k| self.at(k)).collect();
        self.idx = vec![0; self.idx.len() * 2];
        self.idx[..items.len()].copy_from_slice(&items);
        self.head = 0;
    }
}

/// One reducer's running state over a key's window.
#[derive(Debug, Clone)]
enum Running {
    /// COUNT, FIRST, LAST: read from the ring.
    Ring,
    /// SUM and MEAN.
    Sum(Sum),
    /// VWAP: Σ price·quantity and Σ quantity.
    Vwap(Sum, Sum),
    /// MIN (`true`: keeps the smallest) or MAX.
    Mono(Mono, bool),
}

/// One key's window.
#[derive(Debug, Clone)]
pub(super) struct Window {
    times: Vec<i64>,
    /// By position · reducers + reducer: the reducer's input (price for VWAP), then the same for
    /// quantities.
    xs: Vec<f64>,
    qs: Vec<f64>,
    /// Absolute indices of the oldest datapoint held and of the next one.
    head: u64,
    tail: u64,
    running: Vec<Running>,
    /// The newest time taken: an older datapoint of this key is late.
    newest: i64,
}

/// What a window's buffers did over the run.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Usage {
    /// The most datapoints one key's window held.
    pub high_water: usize,
    /// How often a buffer was full and doubled.
    pub grew: u64,
    /// Datapoints older than the newest one already taken: counted, not added.
    pub late: u64,
}

impl Window {
    /// An empty window holding up to `cap` datapoints (a power of two) before it grows.
    pub fn new(reducers: &[Reducer], cap: usize) -> Self {
        debug_assert!(cap.is_power_of_two());
        let running = reducers
            .iter()
            .map(|r| match r.op() {
                Op::Sum | Op::Mean => Running::Sum(Sum::default()),
                Op::Vwap => Running::Vwap(Sum::default(), Sum::default()),
                Op::Min => Running::Mono(Mono::new(cap), true),
                Op::Max => Running::Mono(Mono::new(cap), false),
                Op::Count | Op::First | Op::Last => Running::Ring,
            })
            .collect();
        Window {
            times: vec![0; cap],
            xs: vec![0.0; cap * reducers.len()],
            qs: vec![0.0; cap * reducers.len()],
            head: 0,
            tail: 0,
            running,
            newest: i64::MIN,
        }
    }

    fn cap(&self) -> usize {
        self.times.len()
    }

    /// Where absolute index `i` lies in the buffers (their length is a power of two).
    #[inline]
    fn pos(&self, i: u64) -> usize {
        i as usize & (self.times.len() - 1)
    }

    fn len(&self) -> usize {
        (self.tail - self.head) as usize
    }

    fn x(&self, i: u64, r: usize) -> f64 {
        self.xs[self.pos(i) * self.running.len() + r]
    }

    /// Takes away every datapoint at or before `t - size`.
    fn evict(&mut self, cut: i64) {
        while self.head < self.tail && self.times[self.pos(self.head)] <= cut {
            let i = self.head;
            let w = self.running.len();
            let at = self.pos(i) * w;
            for (r, run) in self.running.iter_mut().enumerate() {
                let (x, q) = (self.xs[at + r], self.qs[at + r]);
                match run {
                    Running::Sum(s) => s.add(-x),
                    Running::Vwap(pq, qs) => {
                        pq.add(-(x * q));
                        qs.add(-q);
                    }
                    Running::Mono(m, _) => {
                        if m.front() == Some(i) {
                            m.pop_front();
                        }
                    }
                    Running::Ring => {}
                }
            }
            self.head += 1;
        }
        self.resum();
    }

    /// Starts the running sums afresh from what the window holds, when they can no longer be
    /// corrected by taking values away: an overflow (∞ − ∞ is NaN) or a NaN input that has left.
    fn resum(&mut self) {
        let stale = |s: &Sum| !s.value().is_finite();
        let any = self.running.iter().any(|r| match r {
            Running::Sum(s) => stale(s),
            Running::Vwap(pq, q) => stale(pq) || stale(q),
            _ => false,
        });
        if !any {
            return;
        }
        let (w, mask) = (self.running.len(), self.cap() - 1);
        for (r, run) in self.running.iter_mut().enumerate() {
            let (mut a, mut b) = (Sum::default(), Sum::default());
            for i in self.head..self.tail {
                let at = (i as usize & mask) * w + r;
                let (x, q) = (self.xs[at], self.qs[at]);
                match run {
                    Running::Vwap(..) => {
                        a.add(x * q);
                        b.add(q);
                    }
                    _ => a.add(x),
                }
            }
            match run {
                Running::Sum(s) => *s = a,
                Running::Vwap(pq, q) => (*pq, *q) = (a, b),
                _ => {}
            }
        }
    }

    fn grow(&mut self) {
        let (cap, w) = (self.cap(), self.running.len());
        let (mut times, mut xs, mut qs) = (
            vec![0; cap * 2],
            vec![0.0; cap * 2 * w],
            vec![0.0; cap * 2 * w],
        );
        for i in self.head..self.tail {
            let (from, to) = (i as usize & (cap - 1), i as usize & (cap * 2 - 1));
            times[to] = self.times[from];
            xs[to * w..(to + 1) * w].copy_from_slice(&self.xs[from * w..(from + 1) * w]);
            qs[to * w..(to + 1) * w].copy_from_slice(&self.qs[from * w..(from + 1) * w]);
        }
        (self.times, self.xs, self.qs) = (times, xs, qs);
    }

    /// Adds a datapoint at `t` (after evicting what `t` pushes out), reading each reducer's inputs.
    fn push(
        &mut self,
        t: i64,
        reducers: &[Reducer],
        port: usize,
        values: &[f64],
        usage: &mut Usage,
    ) {
        if self.len() == self.cap() {
            self.grow();
            usage.grew += 1;
        }
        let i = self.tail;
        let pos = self.pos(i);
        self.times[pos] = t;
        let w = self.running.len();
        for (r, red) in reducers.iter().enumerate() {
            let (x, q) = red.inputs(port, values);
            self.xs[pos * w + r] = x;
            self.qs[pos * w + r] = q;
        }
        self.tail += 1;
        for r in 0..w {
            let (x, q) = (self.xs[pos * w + r], self.qs[pos * w + r]);
            let mut pops = 0;
            if let Running::Mono(m, smallest) = &self.running[r] {
                // Drop from the back every index whose value the new one beats (or ties): it can
                // never be the extreme again while the new one is in the window.
                let smallest = *smallest;
                let mut k = m.len;
                while k > 0 {
                    let b = m.at(k - 1);
                    let v = self.x(b, r);
                    let beaten = if smallest { v >= x } else { v <= x };
                    if !beaten {
                        break;
                    }
                    k -= 1;
                    pops += 1;
                }
            }
            match &mut self.running[r] {
                Running::Sum(s) => s.add(x),
                Running::Vwap(pq, qs) => {
                    pq.add(x * q);
                    qs.add(q);
                }
                Running::Mono(m, _) => {
                    for _ in 0..pops {
                        m.pop_back();
                    }
                    if !x.is_nan() {
                        m.push_back(i);
                    }
                }
                Running::Ring => {}
            }
        }
        usage.high_water = usage.high_water.max(self.len());
    }

    /// The value of reducer `r` (which is `op`) over the window.
    fn value(&self, r: usize, op: Op) -> f64 {
        let n = self.len();
        match (&self.running[r], op) {
            (_, Op::Count) => n as f64,
            (_, Op::First) if n > 0 => self.x(self.head, r),
            (_, Op::Last) if n > 0 => self.x(self.tail - 1, r),
            (Running::Sum(s), Op::Sum) => s.value(),
            (Running::Sum(s), Op::Mean) if n > 0 => s.value() / n as f64,
            (Running::Vwap(pq, q), _) if q.value() != 0.0 => pq.value() / q.value(),
            (Running::Mono(m, _), _) => m.front().map_or(f64::NAN, |i| self.x(i, r)),
            _ => f64::NAN,
        }
    }

    /// Times of the oldest and newest datapoint held.
    fn span(&self) -> (i64, i64) {
        (
            self.times[self.pos(self.head)],
            self.times[self.pos(self.tail - 1)],
        )
    }
}

/// The sliding windows of every key of one through.
#[derive(Debug, Clone)]
pub(super) struct Sliding {
    size: i64,
    cap: usize,
    /// By key slot; a key's window is made when the key is first met.
    windows: Vec<Option<Window>>,
    pub usage: Usage,
}

impl Sliding {
    /// Windows of `size` ns, each holding `cap` datapoints (rounded up to a power of two, so that a
    /// place in the buffers is a mask, not a division) before it grows; the first `ready` keys'
    /// windows are made now, before the run.
    pub fn new(size: i64, cap: usize, reducers: &[Reducer], keys: usize, ready: usize) -> Self {
        let cap = cap.max(1).next_power_of_two();
        let mut windows = vec![None; keys];
        for w in windows.iter_mut().take(ready) {
            *w = Some(Window::new(reducers, cap));
        }
        Sliding {
            size,
            cap,
            windows,
            usage: Usage::default(),
        }
    }

    /// Takes a datapoint at `t` of key `slot`; writes the window's values into `out` (one per reducer)
    /// and returns the times of its oldest and newest datapoint. `None` for a late datapoint (counted).
    pub fn add(
        &mut self,
        t: i64,
        slot: usize,
        (reducers, port, values): (&[Reducer], usize, &[f64]),
        out: &mut [f64],
    ) -> Option<(i64, i64)> {
        let cap = self.cap;
        let w = self.windows[slot].get_or_insert_with(|| Window::new(reducers, cap));
        if t < w.newest {
            self.usage.late += 1;
            return None;
        }
        w.newest = t;
        w.evict(t.saturating_sub(self.size));
        w.push(t, reducers, port, values, &mut self.usage);
        for (r, (o, red)) in out.iter_mut().zip(reducers).enumerate() {
            *o = w.value(r, red.op());
        }
        Some(w.span())
    }
}
