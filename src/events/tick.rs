//! `StaticTimeTick {from, to, interval}`: a tick at `from`, `from + interval`, … before `to`.

use crate::base::datapoint::TubeId;

/// The remaining schedule of one tick source.
#[derive(Debug, Clone, Copy)]
pub struct TickSchedule {
    /// The external event's tube id.
    pub id: TubeId,
    /// Time of the next tick (ns since the epoch).
    pub next: i64,
    /// Ticks stop before this time.
    pub end: i64,
    /// Nanoseconds between ticks.
    pub interval: i64,
}

impl TickSchedule {
    /// The schedule of ticks in `[from, to)`, clipped to `[clip_from, clip_to)` (the Batch range).
    pub fn new(
        id: TubeId,
        from: i64,
        to: i64,
        interval: i64,
        clip_from: i64,
        clip_to: i64,
    ) -> Self {
        let mut next = from;
        if clip_from > from {
            let k = (clip_from - from + interval - 1) / interval;
            next = from.saturating_add(k.saturating_mul(interval));
        }
        TickSchedule {
            id,
            next,
            end: to.min(clip_to),
            interval,
        }
    }

    /// The next tick time, or None when the schedule is over.
    pub fn peek(&self) -> Option<i64> {
        (self.next < self.end).then_some(self.next)
    }

    /// Moves past the next tick.
    pub fn advance(&mut self) {
        self.next = self.next.saturating_add(self.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_aligns_to_the_grid() {
        let mut t = TickSchedule::new(0, 0, 100, 30, 31, 95);
        assert_eq!(t.peek(), Some(60));
        t.advance();
        assert_eq!(t.peek(), Some(90));
        t.advance();
        assert_eq!(t.peek(), None);
    }
}
