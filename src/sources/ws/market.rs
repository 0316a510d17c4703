//! One market of a live connection: the generator it feeds, and the last trade id and time it has seen,
//! by which the connection tells duplicates, gaps and implausible ids.

use std::sync::Arc;

use crate::base::datapoint::TubeId;
use crate::base::GenCounters;

/// One market of a connection: the generator it feeds and what it has seen.
pub struct Market {
    /// As configured (compared with the message's market ignoring case).
    pub name: String,
    /// The generator tube.
    pub id: TubeId,
    /// Its counters.
    pub counters: Arc<GenCounters>,
    /// The id of the last trade taken.
    pub last_id: Option<u64>,
    /// The latest trade time taken.
    pub last_time: i64,
    /// The run of trades whose ids leapt implausibly far ahead: the last one's id and how many.
    pub leap: Option<(u64, u32)>,
    /// For a generator of several markets: the key number of this one's symbol, which its trades
    /// carry in a sixth field.
    pub key: Option<f64>,
}

/// A trade id this far ahead of the last is not believed on its own: no outage explains it (the busiest
/// markets make a few million trades a day), and taking it would make every later trade a duplicate.
pub(super) const MAX_LEAP: u64 = 1_000_000_000;
/// How many such trades with consecutive ids show that the feed really moved on.
const LEAP_CONFIRMED: u32 = 3;

impl Market {
    /// Market `name` of generator `id`, nothing seen yet.
    pub fn new(name: String, id: TubeId, counters: Arc<GenCounters>) -> Self {
        Market {
            name,
            id,
            counters,
            last_id: None,
            last_time: i64::MIN,
            leap: None,
            key: None,
        }
    }

    /// Whether trade `id`, which leapt more than [`MAX_LEAP`] ahead of the last, may be taken: only as
    /// the [`LEAP_CONFIRMED`]th of a run of such trades with consecutive ids.
    pub fn leap_confirmed(&mut self, id: u64) -> bool {
        let n = match self.leap {
            Some((prev, n)) if id == prev.wrapping_add(1) => n + 1,
            _ => 1,
        };
        self.leap = (n < LEAP_CONFIRMED).then_some((id, n));
        n >= LEAP_CONFIRMED
    }
}
