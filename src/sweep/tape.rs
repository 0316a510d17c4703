//! Tapes of firings: what a through kept as lanes emits over one input, recorded once and played by
//! every unit whose lanes of it are the same (see [`Tape`]), and the store the workers share them in.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::base::datapoint::{Datapoint, Kind, MAX_FIELDS};
use crate::base::number::Written;
use crate::base::points::Points;
use crate::throughs::Lanes;

/// A shared through's firings over one input, worked out once for every unit whose lanes of it are
/// the same and read that input: in a sweep of N × coin, the BTC sums of a window's thresholds fire
/// at the same BTC datapoints whichever coin's stream carries them, so the six units of a window
/// (one per coin) can play one tape instead of each adding every BTC datapoint to its lanes (a unit
/// that starts while the tape is being recorded adds them itself).
pub(super) struct Tape {
    /// In order: the place in the input of the datapoint that made a lane fire, and the lane.
    pub(super) at: Vec<(usize, u32)>,
    /// What each firing emitted, `width` values each, with their texts as the rows write them: worked
    /// out once here, for every unit that plays the tape.
    pub(super) values: Vec<Written>,
    pub(super) width: usize,
    /// The lanes after the whole input (what the combinations end with).
    pub(super) end: Lanes,
}

impl Tape {
    /// Runs `lanes` over `points`, arriving on `port`, recording every firing as [`Lanes::fire`]
    /// works it out.
    pub(super) fn record(mut lanes: Lanes, port: u8, points: &Points) -> Tape {
        let width = lanes.width();
        let (mut at, mut values, mut fired) = (Vec::new(), Vec::new(), Vec::new());
        let mut out = [0.0; MAX_FIELDS];
        let mut dp = Datapoint::new(Kind::Data, 0, 0, 0);
        for place in 0..points.len() {
            points.fill(place, &mut dp);
            lanes.add(port, &dp, &mut fired);
            for &i in &fired {
                lanes.fire(i as usize, port, &dp, &mut out);
                at.push((place, i));
                values.extend(out[..width].iter().map(|&v| Written::of(v)));
            }
        }
        Tape {
            at,
            values,
            width,
            end: lanes,
        }
    }
}

/// What a tape is recorded from: the input, the port it arrives on, and the lanes' key
/// ([`Lanes::key`]).
pub(super) type TapeKey = (usize, u8, String);

/// Tapes kept at once: the oldest go first. Units run in window order and a tape serves the units of
/// one window, so by then they have all started; a unit that still needs an evicted tape records it
/// again.
const KEEP: usize = 64;

/// What [`Tapes::find`] found.
pub(super) enum Found<T = Tape> {
    /// The tape, recorded.
    Ready(Arc<T>),
    /// Another unit is recording it.
    Recording,
    /// Nobody has: the caller records it and hands it over with [`Tapes::done`].
    Start,
}

/// The tapes the workers share, by what they are recorded from, oldest first.
pub(super) struct Tapes<T = Tape> {
    inner: Mutex<Kept<T>>,
}

/// The tapes kept (`None` while one is recorded), and their keys in the order first asked for.
struct Kept<T> {
    by_key: HashMap<TapeKey, Option<Arc<T>>>,
    order: VecDeque<TapeKey>,
}

impl<T> Default for Tapes<T> {
    fn default() -> Self {
        Tapes {
            inner: Mutex::new(Kept {
                by_key: HashMap::new(),
                order: VecDeque::new(),
            }),
        }
    }
}

impl<T> Tapes<T> {
    /// The tape for `key`, or who records it.
    pub(super) fn find(&self, key: &TapeKey) -> Found<T> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Kept { by_key, order } = &mut *inner;
        match by_key.get(key) {
            Some(Some(tape)) => Found::Ready(tape.clone()),
            Some(None) => Found::Recording,
            None => {
                by_key.insert(key.clone(), None);
                order.push_back(key.clone());
                if order.len() > KEEP {
                    let oldest = order.pop_front().expect("more than KEEP");
                    by_key.remove(&oldest);
                }
                Found::Start
            }
        }
    }

    /// Keeps `tape`, recorded for `key`, unless it was evicted meanwhile.
    pub(super) fn done(&self, key: &TapeKey, tape: Arc<T>) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = inner.by_key.get_mut(key) {
            *slot = Some(tape);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: usize) -> TapeKey {
        (i, 0, format!("lanes {i}"))
    }

    #[test]
    fn a_tape_is_recorded_once_then_found_and_the_oldest_go_past_the_limit() {
        let tapes = Tapes::<usize>::default();
        assert!(matches!(tapes.find(&key(0)), Found::Start));
        // While the first unit records it, the others do not wait.
        assert!(matches!(tapes.find(&key(0)), Found::Recording));
        tapes.done(&key(0), Arc::new(7));
        assert!(matches!(tapes.find(&key(0)), Found::Ready(t) if *t == 7));
        // KEEP more keys: the first goes, the last KEEP stay.
        for i in 1..=KEEP {
            assert!(matches!(tapes.find(&key(i)), Found::Start));
            tapes.done(&key(i), Arc::new(i));
        }
        assert!(matches!(tapes.find(&key(KEEP)), Found::Ready(t) if *t == KEEP));
        assert!(matches!(tapes.find(&key(1)), Found::Ready(t) if *t == 1));
        // Key 0 was evicted: asking again starts a recording (which evicts key 1, the oldest now).
        assert!(matches!(tapes.find(&key(0)), Found::Start));
        // A recording handed over after its key was evicted is not kept.
        tapes.done(&key(1), Arc::new(100));
        assert!(matches!(tapes.find(&key(1)), Found::Start));
    }
}
