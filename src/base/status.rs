//! Status datapoints: what a live feed tells the graph about itself.
//!
//! A status travels like data (through the sequencer, through every tube downstream, to the sinks), so a
//! window that spans an outage is followed by a row that says so. Its values are
//! `[code, n, reason, origin]`: `origin` is the generator's tube id, kept when a through passes the
//! status on under its own id.

use std::fmt;

use crate::base::datapoint::{Datapoint, Kind, TubeId};

/// The feed is connected and subscribed; `n` is the reconnect count (0 the first time).
pub const UP: f64 = 1.0;
/// The feed lost its connection; `reason` says why.
pub const DOWN: f64 = 2.0;
/// `n` trades are missing: the exchange's trade ids jumped.
pub const GAP: f64 = 3.0;

/// Why a feed went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The exchange closed the connection.
    Closed = 0,
    /// A read or write failed.
    Error = 1,
    /// Nothing arrived for longer than `stale_after` (the watchdog).
    Stale = 2,
    /// The exchange could not be reached or the handshake failed.
    Unreachable = 3,
}

impl Reason {
    fn text(code: f64) -> &'static str {
        match code as i64 {
            0 => "closed by the exchange",
            1 => "connection error",
            2 => "silent longer than stale_after",
            _ => "exchange unreachable",
        }
    }
}

fn status(origin: TubeId, code: f64, n: f64, reason: f64, time: i64, now: u64) -> Datapoint {
    let mut dp = Datapoint::new(Kind::Status, origin, time, now);
    dp.len = 4;
    dp.values[..4].copy_from_slice(&[code, n, reason, f64::from(origin)]);
    dp
}

/// Feed up after `reconnects` reconnects.
pub fn up(origin: TubeId, reconnects: u64, time: i64, now: u64) -> Datapoint {
    status(origin, UP, reconnects as f64, 0.0, time, now)
}

/// Feed down.
pub fn down(origin: TubeId, reason: Reason, time: i64, now: u64) -> Datapoint {
    status(origin, DOWN, 0.0, reason as i32 as f64, time, now)
}

/// `missing` trades skipped by the exchange's ids.
pub fn gap(origin: TubeId, missing: u64, time: i64, now: u64) -> Datapoint {
    status(origin, GAP, missing as f64, 0.0, time, now)
}

/// The generator a status came from.
pub fn origin(dp: &Datapoint) -> usize {
    dp.values[3] as usize
}

/// A status as a sentence, e.g. `gap 100 trades on binance btcusdt`. `feeds[origin]` names each
/// generator's feed (`binance btcusdt`). No commas, so it is a plain CSV cell.
pub struct Text<'a> {
    /// The status datapoint.
    pub dp: &'a Datapoint,
    /// Feed names by tube id.
    pub feeds: &'a [String],
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.dp.values;
        let feed = self.feeds.get(origin(self.dp)).map_or("?", String::as_str);
        match v[0] {
            UP if v[1] == 0.0 => write!(f, "feed up on {feed}"),
            UP => write!(f, "feed up on {feed} (reconnect #{})", v[1]),
            DOWN => write!(f, "feed down on {feed} ({})", Reason::text(v[2])),
            _ => write!(f, "gap {} trades on {feed}", v[1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_sentences_without_commas() {
        let feeds = vec!["csv".to_string(), "binance btcusdt".to_string()];
        let said = |dp: Datapoint| {
            Text {
                dp: &dp,
                feeds: &feeds,
            }
            .to_string()
        };
        assert_eq!(said(up(1, 0, 0, 0)), "feed up on binance btcusdt");
        assert_eq!(
            said(up(1, 3, 0, 0)),
            "feed up on binance btcusdt (reconnect #3)"
        );
        assert_eq!(
            said(down(1, Reason::Stale, 0, 0)),
            "feed down on binance btcusdt (silent longer than stale_after)"
        );
        assert_eq!(said(gap(1, 100, 0, 0)), "gap 100 trades on binance btcusdt");
        let mut passed_on = gap(1, 7, 0, 0);
        passed_on.source = 5;
        assert_eq!(said(passed_on), "gap 7 trades on binance btcusdt");
    }
}
