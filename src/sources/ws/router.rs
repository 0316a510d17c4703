//! Trades out of exchange messages, to their generators: each message is parsed by its exchange's
//! parser, each trade goes to the generator of its market, a trade already seen is dropped and counted
//! as a duplicate, and a jump in contiguous trade ids becomes a gap status. The WebSocket connections
//! and the message-queue readers (a Kafka topic, a Redis stream of exchange payloads) share it.

use std::sync::atomic::Ordering;

use super::exchange::{IdRule, Parse, Trade};
use super::market::{Market, MAX_LEAP};
use crate::base::datapoint::{Datapoint, Kind};
use crate::base::status;
use crate::base::time::wall_ns;
use crate::base::{Ctx, Push, RunError};

/// What reading needs, apart from the socket.
pub struct Router {
    /// How messages are read: the exchange's parser, or a JSON mapping.
    pub exchange: Box<dyn Parse>,
    /// How its trade ids behave.
    pub ids: IdRule,
    /// The markets read, each with its generator.
    pub markets: Vec<Market>,
    /// Take ingest times from the mock exchange's `mock_sent_ns` stamps.
    pub stamps: bool,
    /// Drop duplicates and report gaps as trades come. A Batch read of a message queue sets it off
    /// and drops duplicates after ordering the trades by time.
    pub checked: bool,
}

/// What one message held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Routed {
    /// Trades the parser found in it, of any market.
    pub parsed: u32,
    /// Trades taken (new, of a market read).
    pub taken: u32,
    /// It could not be read, or held a trade with an implausible id.
    pub malformed: bool,
}

/// `…,"mock_sent_ns":1723161255343000000}` → the stamp (wall-clock ns).
fn sent_stamp(text: &str) -> Option<i64> {
    const KEY: &str = "\"mock_sent_ns\":";
    let at = text.rfind(KEY)? + KEY.len();
    let digits = text[at..].trim_end_matches(['}', ']', ' ', '\n']);
    digits.parse().ok()
}

/// `…,"mock_wrote_ns":1723161255343000900,…` → when the mock actually wrote the frame (wall-clock ns).
fn wrote_stamp(text: &str) -> Option<i64> {
    const KEY: &str = "\"mock_wrote_ns\":";
    let at = text.rfind(KEY)? + KEY.len();
    let rest = &text[at..];
    rest[..rest.find([',', '}'])?].parse().ok()
}

pub(super) fn push<P: Push>(out: &mut P, dp: Datapoint, ctx: &mut Ctx) -> Result<(), RunError> {
    let now = out.ingest_now();
    out.push(dp, now, ctx)
}

impl Router {
    /// The mock exchange wrote a frame `lag` ns after it was due. The sender's lag belongs to the
    /// connection, so the largest is every market's on it (`tubes bench --feed` reports it beside the
    /// latency, which includes it).
    fn sender_lag(&self, lag: u64) {
        for m in &self.markets {
            if lag
                > m.counters
                    .max_lag_ns
                    .load(std::sync::atomic::Ordering::Relaxed)
            {
                m.counters
                    .max_lag_ns
                    .store(lag, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Emits every new trade of one text frame; `recv` is when it was read (monotonic ns).
    pub fn on_text<P: Push>(
        &mut self,
        text: &str,
        recv: u64,
        out: &mut P,
        ctx: &mut Ctx,
    ) -> Result<Routed, RunError> {
        let sent = self.stamps.then(|| sent_stamp(text)).flatten();
        let ingest = match sent {
            Some(sent) => recv.saturating_sub(wall_ns().saturating_sub(sent).max(0) as u64),
            None => recv,
        };
        if let Some(sent) = sent {
            if let Some(wrote) = wrote_stamp(text) {
                self.sender_lag(wrote.saturating_sub(sent).max(0) as u64);
            }
        }
        let (ids, markets, checked) = (self.ids, &mut self.markets, self.checked);
        let mut failed = None;
        let mut routed = Routed::default();
        let mut foreign = 0;
        let parsed = self.exchange.parse(text, &mut |t: Trade<'_>| {
            if failed.is_some() {
                return;
            }
            routed.parsed += 1;
            let Some(m) = markets
                .iter_mut()
                .find(|m| m.name.eq_ignore_ascii_case(t.market))
            else {
                foreign += 1;
                return;
            };
            let ids = if checked { ids } else { IdRule::Unchecked };
            if let (IdRule::Contiguous | IdRule::Increasing, Some(id), Some(last)) =
                (ids, t.id, m.last_id)
            {
                if id > last.saturating_add(MAX_LEAP) && !m.leap_confirmed(id) {
                    m.counters.malformed.fetch_add(1, Ordering::Relaxed);
                    routed.malformed = true;
                    return;
                }
            }
            let duplicate = match (ids, t.id, m.last_id) {
                (IdRule::Contiguous | IdRule::Increasing, Some(id), Some(last)) => id <= last,
                (IdRule::None, ..) => t.time_ns < m.last_time,
                _ => false,
            };
            if duplicate {
                m.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                return;
            }
            if let (IdRule::Contiguous, Some(id), Some(last)) = (ids, t.id, m.last_id) {
                if id > last + 1 {
                    let missing = id - last - 1;
                    m.counters.gaps.fetch_add(1, Ordering::Relaxed);
                    m.counters.missed.fetch_add(missing, Ordering::Relaxed);
                    let gap = status::gap(m.id, missing, t.time_ns, ingest);
                    m.counters.note_status(&gap);
                    if let Err(e) = push(out, gap, ctx) {
                        failed = Some(e);
                        return;
                    }
                }
            }
            m.last_id = t.id.or(m.last_id);
            m.last_time = m.last_time.max(t.time_ns);
            m.leap = None;
            let mut dp = Datapoint::new(Kind::Data, m.id, t.time_ns, ingest);
            dp.len = 5;
            dp.values[..5].copy_from_slice(&[
                t.price,
                t.quantity,
                t.side,
                t.id.map_or(f64::NAN, |i| i as f64),
                maker(t.side),
            ]);
            if let Some(k) = m.key {
                dp.values[5] = k;
                dp.len = 6;
            }
            if let Err(e) = push(out, dp, ctx) {
                failed = Some(e);
                return;
            }
            m.counters.rows.fetch_add(1, Ordering::Relaxed);
            routed.taken += 1;
        });
        if let Some(e) = failed {
            return Err(e);
        }
        routed.malformed |= parsed.is_err();
        for m in &self.markets {
            if parsed.is_err() {
                m.counters.malformed.fetch_add(1, Ordering::Relaxed);
            }
            if foreign > 0 {
                m.counters.foreign.fetch_add(foreign, Ordering::Relaxed);
            }
        }
        Ok(routed)
    }
}

/// The buyer-is-maker flag: 1 when the taker sold (the buyer's order was resting), 0 when it bought,
/// none (NaN) when the side is not known (a JSON message without one).
pub fn maker(side: f64) -> f64 {
    if side.is_nan() {
        f64::NAN
    } else if side < 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::exchange::{Endpoint, Exchange, Malformed};
    use super::*;
    use crate::base::datapoint::TubeId;
    use crate::base::ring::ring;
    use crate::base::wait::{WaitStrategy, Waiter, Wake};
    use crate::base::GenCounters;
    use crate::base::Outlet;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// An exchange with the given id rule whose frames are space-separated `id@time` trades of BTCUSDT
    /// (`-` for no id), so each test spells out exactly the ids and times the router sees.
    struct Fake(IdRule);

    static CONTIGUOUS: Fake = Fake(IdRule::Contiguous);
    static INCREASING: Fake = Fake(IdRule::Increasing);
    static NO_IDS: Fake = Fake(IdRule::None);

    impl Exchange for Fake {
        fn tag(&self) -> &'static str {
            "Fake"
        }
        fn name(&self) -> &'static str {
            "fake"
        }
        fn channels(&self) -> &'static [&'static str] {
            &["trade"]
        }
        fn endpoint(&self, _: &str, _: &[String]) -> Endpoint {
            Endpoint {
                tls: false,
                host: "127.0.0.1".into(),
                port: 9,
                path: "/".into(),
            }
        }
        fn ids(&self) -> IdRule {
            self.0
        }
        fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
            for t in text.split_whitespace() {
                let (id, time) = t.split_once('@').ok_or(Malformed(t.into()))?;
                out(Trade {
                    market: "BTCUSDT",
                    price: 100.0,
                    quantity: 1.0,
                    side: 1.0,
                    id: id.parse().ok(),
                    time_ns: time.parse().map_err(|_| Malformed(t.into()))?,
                });
            }
            Ok(())
        }
    }

    const TUBE: TubeId = 7;

    /// Routes `frames` through a router for one market, `btcusdt`; returns what it pushed and its counters.
    fn route(exchange: &'static Fake, frames: &[&str]) -> (Vec<Datapoint>, Arc<GenCounters>) {
        let counters = Arc::new(GenCounters::default());
        let mut router = Router {
            exchange: Box::new(exchange as &'static dyn Exchange),
            ids: exchange.ids(),
            markets: vec![Market::new("btcusdt".into(), TUBE, counters.clone())],
            stamps: false,
            checked: true,
        };
        let (tx, mut rx) = ring(64);
        let mut out = Outlet {
            ring: tx,
            consumer: Arc::new(Wake::default()),
            drops: None,
        };
        let mut ctx = Ctx {
            wake: Arc::new(Wake::default()),
            waiter: Waiter::new(WaitStrategy::Spin),
            shutdown: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        for f in frames {
            router.on_text(f, 0, &mut out, &mut ctx).unwrap();
        }
        let mut pushed = Vec::new();
        while let Some(dp) = rx.pop() {
            pushed.push(dp);
        }
        (pushed, counters)
    }

    fn trade_ids(pushed: &[Datapoint]) -> Vec<f64> {
        pushed
            .iter()
            .filter(|d| d.kind == Kind::Data)
            .map(|d| d.values[3])
            .collect()
    }

    fn count(c: &std::sync::atomic::AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    #[test]
    fn the_mock_stamp_is_read_from_the_end_of_a_frame() {
        assert_eq!(
            sent_stamp(r#"{"a":1,"mock_sent_ns":1723161255343000001}"#),
            Some(1_723_161_255_343_000_001)
        );
        assert_eq!(sent_stamp(r#"{"a":1}"#), None);
        let both =
            r#"{"a":1,"mock_wrote_ns":1723161255343000900,"mock_sent_ns":1723161255343000001}"#;
        assert_eq!(sent_stamp(both), Some(1723161255343000001));
        assert_eq!(wrote_stamp(both), Some(1723161255343000900));
        assert_eq!(wrote_stamp(r#"{"a":1,"mock_sent_ns":5}"#), None);
    }

    #[test]
    fn a_repeated_trade_id_is_dropped_and_counted_as_a_duplicate() {
        let frames = ["5@100", "6@200", "6@200", "5@100"];
        let (pushed, c) = route(&CONTIGUOUS, &frames);
        assert_eq!(trade_ids(&pushed), [5.0, 6.0]);
        assert!(pushed
            .iter()
            .all(|d| d.kind == Kind::Data && d.source == TUBE));
        assert_eq!(count(&c.duplicates), frames.len() as u64 - 2);
        assert_eq!(count(&c.rows), 2);
        assert_eq!(count(&c.gaps), 0);
    }

    #[test]
    fn a_jump_of_k_contiguous_ids_is_one_gap_of_k_minus_1_missed_trades() {
        let (a, b) = (10u64, 14u64);
        let (before, after) = (format!("{a}@1"), format!("{b}@2"));
        let (pushed, c) = route(&CONTIGUOUS, &[before.as_str(), after.as_str()]);
        let missed = b - a - 1;
        assert_eq!(count(&c.gaps), 1);
        assert_eq!(count(&c.missed), missed);
        assert_eq!(count(&c.rows), 2);
        // The trade before the jump, the gap status (at the time of the trade after it), then that trade.
        assert_eq!(pushed.len(), 3);
        assert_eq!(pushed[0].values[3], a as f64);
        let gap = pushed[1];
        assert_eq!(
            (gap.kind, gap.source, gap.event_time),
            (Kind::Status, TUBE, 2)
        );
        assert_eq!(
            &gap.values[..4],
            &[status::GAP, missed as f64, 0.0, TUBE as f64]
        );
        assert_eq!(pushed[2].values[3], b as f64);
    }

    #[test]
    fn one_absurd_trade_id_is_malformed_and_does_not_make_later_trades_duplicates() {
        let (pushed, c) = route(&CONTIGUOUS, &["5@1", "1000000000000@2", "6@3 7@4"]);
        assert_eq!(trade_ids(&pushed), [5.0, 6.0, 7.0]);
        assert_eq!(
            (count(&c.malformed), count(&c.duplicates), count(&c.gaps)),
            (1, 0, 0)
        );
        // A feed that really moved that far: the third trade in a row with consecutive ids is taken,
        // with a gap for every id between (the two before it among them, also counted as malformed).
        let far = 5 + MAX_LEAP + 10;
        let frames: Vec<String> = (0..4).map(|k| format!("{}@{}", far + k, 2 + k)).collect();
        let mut all = vec!["5@1".to_string()];
        all.extend(frames);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let (pushed, c) = route(&CONTIGUOUS, &all);
        let data: Vec<f64> = pushed
            .iter()
            .filter(|d| d.kind == Kind::Data)
            .map(|d| d.values[3])
            .collect();
        assert_eq!(data, [5.0, (far + 2) as f64, (far + 3) as f64]);
        assert_eq!(
            (count(&c.malformed), count(&c.gaps), count(&c.missed)),
            (2, 1, far + 2 - 5 - 1)
        );
    }

    #[test]
    fn consecutive_contiguous_ids_make_no_gap() {
        let (pushed, c) = route(&CONTIGUOUS, &["1@1 2@2", "3@3"]);
        assert_eq!(trade_ids(&pushed), [1.0, 2.0, 3.0]);
        assert_eq!(pushed.len(), 3);
        assert_eq!((count(&c.gaps), count(&c.missed)), (0, 0));
    }

    #[test]
    fn increasing_ids_may_jump_without_a_gap_but_a_repeat_is_a_duplicate() {
        let (pushed, c) = route(&INCREASING, &["10@1 14@2", "14@3 12@4", "20@5"]);
        assert_eq!(trade_ids(&pushed), [10.0, 14.0, 20.0]);
        assert!(pushed.iter().all(|d| d.kind == Kind::Data));
        assert_eq!((count(&c.gaps), count(&c.missed)), (0, 0));
        assert_eq!(count(&c.duplicates), 2);
    }

    #[test]
    fn without_ids_an_older_trade_time_is_a_duplicate_but_an_equal_one_is_kept() {
        let (pushed, c) = route(&NO_IDS, &["-@100 -@200", "-@150", "-@200"]);
        let times: Vec<i64> = pushed.iter().map(|d| d.event_time).collect();
        assert_eq!(times, [100, 200, 200]);
        assert!(pushed
            .iter()
            .all(|d| d.kind == Kind::Data && d.values[3].is_nan()));
        assert_eq!(count(&c.duplicates), 1);
        assert_eq!(count(&c.gaps), 0);
    }

    #[test]
    fn a_frame_that_cannot_be_read_is_counted_as_malformed() {
        let (pushed, c) = route(&CONTIGUOUS, &["1@1", "garbage"]);
        assert_eq!(trade_ids(&pushed), [1.0]);
        assert_eq!(count(&c.malformed), 1);
    }
}
