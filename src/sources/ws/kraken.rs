//! Kraken WebSocket v1: the `trade` channel.
//!
//! Subscribe with `{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"trade"}}`. Trades come
//! in arrays, several per message, as captured:
//!
//! ```text
//! [993,[["354.55000000","1.25690315","1618678145.715785","b","m",""]],"trade","XMR/USD"]
//! ```
//!
//! Each trade is `[price, volume, time (seconds, µs decimals), side (b: taker bought, s: taker sold),
//! order type, misc]`. Kraken v1 sends no trade id, so gaps cannot be detected; after a reconnect, trades
//! older than the last one seen are dropped as duplicates. Heartbeats arrive every second.

use std::fmt;

use serde::de::{self, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::exchange::{has_element, number, Endpoint, IdRule, Malformed, Table, Trade};

/// The first four strings of a trade array; the rest is ignored.
struct Row<'a>([&'a str; 4]);

impl<'de: 'a, 'a> Deserialize<'de> for Row<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Row<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[price, volume, time, side, ...]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Row<'a>, A::Error> {
                let mut cells = [""; 4];
                for (i, c) in cells.iter_mut().enumerate() {
                    *c = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Row(cells))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Message<'a>(IgnoredAny, #[serde(borrow)] Vec<Row<'a>>, &'a str, &'a str);

fn endpoint(_channel: &str, _markets: &[String]) -> Endpoint {
    Endpoint::wss("ws.kraken.com", "/")
}

fn subscribe(_channel: &str, markets: &[String]) -> Vec<String> {
    let pairs: Vec<String> = markets.iter().map(|m| format!("\"{m}\"")).collect();
    vec![format!(
        "{{\"event\":\"subscribe\",\"pair\":[{}],\"subscription\":{{\"name\":\"trade\"}}}}",
        pairs.join(",")
    )]
}

/// `1618678145.715785` (seconds) → ns, exactly.
fn seconds(s: &str) -> Result<i64, Malformed> {
    let bad = || Malformed(format!("time '{s}' is not seconds since the epoch"));
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| bad())? * 10i64.pow(9 - frac.len() as u32)
    };
    Ok(w * 1_000_000_000 + f)
}

fn parse(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
    if !text.starts_with('[') || !has_element(text, "trade") {
        return Ok(());
    }
    let m: Message<'_> = serde_json::from_str(text).map_err(Malformed::json)?;
    if m.2 != "trade" {
        return Ok(());
    }
    for Row([price, volume, time, side]) in m.1 {
        let side = match side {
            "b" => 1.0,
            "s" => -1.0,
            other => return Err(Malformed(format!("side '{other}' is neither b nor s"))),
        };
        out(Trade {
            market: m.3,
            price: number("price", price)?,
            quantity: number("volume", volume)?,
            side,
            id: None,
            time_ns: seconds(time)?,
        });
    }
    Ok(())
}

/// Kraken WebSocket v1 (`ws.kraken.com`).
pub const KRAKEN: Table = Table {
    tag: "Kraken",
    name: "kraken",
    channels: &["trade"],
    ids: IdRule::None,
    endpoint,
    subscribe,
    parse,
};

#[cfg(test)]
mod tests {
    use super::super::fixtures::{check_fixture, line_count, Expect};
    use super::KRAKEN;

    /// Splits `[id,[[...],[...]],"trade","PAIR"]` by hand.
    fn expect(line: &str) -> Vec<Expect> {
        if !line.starts_with('[') || !line.contains("\"trade\"") {
            return Vec::new();
        }
        let pair = line.rsplit('"').nth(1).unwrap().to_string();
        let inner = &line[line.find("[[").unwrap() + 2..line.find("]]").unwrap()];
        inner
            .split("],[")
            .map(|t| {
                let c: Vec<&str> = t.split(',').map(|c| c.trim_matches('"')).collect();
                let (s, us) = c[2].split_once('.').unwrap();
                Expect {
                    market: pair.clone(),
                    price: c[0].parse().unwrap(),
                    quantity: c[1].parse().unwrap(),
                    side: if c[3] == "b" { 1.0 } else { -1.0 },
                    id: None,
                    time_ns: s.parse::<i64>().unwrap() * 1_000_000_000
                        + us.parse::<i64>().unwrap() * 1000,
                }
            })
            .collect()
    }

    /// (trades, frames holding them): frames are the arrays tagged "trade", each trade one `["…` in it.
    fn trade_frames(path: &str) -> (usize, usize) {
        let text = std::fs::read_to_string(path).unwrap();
        let frames: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with('[') && l.contains(",\"trade\","))
            .collect();
        let trades = frames.iter().map(|l| l.matches("[\"").count()).sum();
        (trades, frames.len())
    }

    #[test]
    fn trade_arrays_among_heartbeats_and_status() {
        let path = "testdata/ws/kraken_v1_trade_2021-04-17.ndjson";
        let n = check_fixture(&KRAKEN, path, expect);
        let (trades, frames) = trade_frames(path);
        assert!(trades > 0);
        assert_eq!(n.trades, trades);
        assert_eq!(n.ignored, line_count(path) - frames);
    }

    #[test]
    fn times_are_exact_and_bad_rows_are_malformed() {
        assert_eq!(
            super::seconds("1618678145.715785"),
            Ok(1_618_678_145_715_785_000)
        );
        assert_eq!(super::seconds("12"), Ok(12_000_000_000));
        let short = r#"[1,[["1.0","2.0"]],"trade","XBT/USD"]"#;
        assert!(super::parse(short, &mut |_| {}).is_err());
        let side = r#"[1,[["1.0","2.0","3.5","x","l",""]],"trade","XBT/USD"]"#;
        assert!(super::parse(side, &mut |_| {})
            .unwrap_err()
            .0
            .contains("side"));
    }
}
