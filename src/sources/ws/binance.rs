//! Binance spot and USD-M futures: `trade` and `aggTrade` streams, raw or combined.
//!
//! The streams are named in the URL (`/stream?streams=btcusdt@trade/ethusdt@trade`), so nothing is sent
//! after connecting. Binance pings every few minutes and drops a connection that does not answer; the
//! WebSocket layer answers pings. A combined-stream message, as captured from spot:
//!
//! ```text
//! {"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,
//!  "p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}
//! ```
//!
//! and an `aggTrade` from USD-M: `{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"CTKUSDT",
//! "p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}`. `m` is true when the
//! buyer was the maker, so the taker sold. `t` (trade) and `a` (aggTrade) count up by one per symbol.

use serde::Deserialize;

use super::exchange::{
    has_member, no_subscribe, number, Endpoint, IdRule, Malformed, Table, Trade,
};

#[derive(Deserialize)]
struct Combined<'a> {
    #[serde(borrow)]
    data: Event<'a>,
}

#[derive(Deserialize)]
struct Event<'a> {
    e: &'a str,
    s: &'a str,
    #[serde(default)]
    t: Option<u64>,
    #[serde(default)]
    a: Option<u64>,
    p: &'a str,
    q: &'a str,
    #[serde(rename = "T")]
    time_ms: i64,
    m: bool,
}

fn endpoint(futures: bool, channel: &str, markets: &[String]) -> Endpoint {
    let streams: Vec<String> = markets
        .iter()
        .map(|m| format!("{}@{channel}", m.to_ascii_lowercase()))
        .collect();
    let (host, port) = if futures {
        ("fstream.binance.com", 443)
    } else {
        ("stream.binance.com", 9443)
    };
    Endpoint {
        tls: true,
        host: host.into(),
        port,
        path: format!("/stream?streams={}", streams.join("/")),
    }
}

fn parse(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
    if !has_member(text, "e", "trade") && !has_member(text, "e", "aggTrade") {
        return Ok(());
    }
    let ev: Event<'_> = if text.starts_with("{\"stream\"") {
        serde_json::from_str::<Combined<'_>>(text)
            .map_err(Malformed::json)?
            .data
    } else {
        serde_json::from_str(text).map_err(Malformed::json)?
    };
    let id = if ev.e == "aggTrade" { ev.a } else { ev.t };
    if id.is_none() {
        return Err(Malformed(format!("a {} message without its id", ev.e)));
    }
    out(Trade {
        market: ev.s,
        price: number("price", ev.p)?,
        quantity: number("quantity", ev.q)?,
        side: if ev.m { -1.0 } else { 1.0 },
        id,
        time_ns: ev.time_ms * 1_000_000,
    });
    Ok(())
}

/// Binance spot (`stream.binance.com`).
pub const SPOT: Table = Table {
    tag: "Binance",
    name: "binance",
    channels: &["trade", "aggTrade"],
    ids: IdRule::Contiguous,
    endpoint: spot_endpoint,
    subscribe: no_subscribe,
    parse,
};

/// Binance USD-M futures (`fstream.binance.com`): the same protocol.
pub const USDM: Table = Table {
    tag: "BinanceUsdm",
    name: "binance-usdm",
    endpoint: usdm_endpoint,
    ..SPOT
};

fn spot_endpoint(channel: &str, markets: &[String]) -> Endpoint {
    endpoint(false, channel, markets)
}

fn usdm_endpoint(channel: &str, markets: &[String]) -> Endpoint {
    endpoint(true, channel, markets)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_one_trade_per_message, check_fixture, raw_field, Expect};
    use super::*;

    fn expect(line: &str) -> Vec<Expect> {
        one(line).into_iter().collect()
    }

    fn one(line: &str) -> Option<Expect> {
        let data = line.split("\"data\":").nth(1).unwrap_or(line);
        let e = raw_field(data, "e")?;
        if e != "trade" && e != "aggTrade" {
            return None;
        }
        Some(Expect {
            market: raw_field(data, "s")?,
            price: raw_field(data, "p")?.parse().ok()?,
            quantity: raw_field(data, "q")?.parse().ok()?,
            side: if raw_field(data, "m")? == "true" {
                -1.0
            } else {
                1.0
            },
            id: raw_field(data, if e == "trade" { "t" } else { "a" })?
                .parse()
                .ok(),
            time_ns: raw_field(data, "T")?.parse::<i64>().ok()? * 1_000_000,
        })
    }

    #[test]
    fn spot_trade_stream_every_message_is_a_trade() {
        let path = "testdata/ws/binance_spot_btcusdt_ethusdt_trade.ndjson";
        let n = check_fixture(&SPOT, path, expect);
        assert_one_trade_per_message(&n, path, |l| l.contains("\"e\":\"trade\""));
        assert_eq!(n.ignored, 0);
    }

    #[test]
    fn usdm_trade_stream() {
        let path = "testdata/ws/binance_usdm_btcusdt_ethusdt_trade_first2000.ndjson";
        let n = check_fixture(&USDM, path, expect);
        assert_one_trade_per_message(&n, path, |l| l.contains("\"e\":\"trade\""));
    }

    #[test]
    fn spot_and_usdm_agg_trades_among_depth_book_ticker_and_klines() {
        let agg = |l: &str| l.contains("\"e\":\"aggTrade\"");
        let path = "testdata/ws/binance_spot_aggtrade_2021-10-12.ndjson";
        assert_one_trade_per_message(&check_fixture(&SPOT, path, expect), path, agg);
        let path = "testdata/ws/binance_usdm_aggtrade_2021-07-22.ndjson";
        assert_one_trade_per_message(&check_fixture(&USDM, path, expect), path, agg);
    }

    #[test]
    fn a_trade_with_spaces_parses_and_one_with_a_nan_quantity_is_malformed() {
        let spaced = r#"{"e": "trade", "E": 1, "s": "BTCUSDT", "t": 3, "p": "6.5", "q": "2", "T": 5, "m": true}"#;
        let mut got = Vec::new();
        parse(spaced, &mut |t| got.push((t.price, t.quantity, t.side))).unwrap();
        assert_eq!(got, [(6.5, 2.0, -1.0)]);
        for q in ["NaN", "inf", "-2", "0"] {
            let bad = spaced.replace(r#""q": "2""#, &format!(r#""q": "{q}""#));
            let e = parse(&bad, &mut |_| panic!("{q} is not a quantity")).unwrap_err();
            assert!(
                e.0.contains("not a finite number above zero"),
                "{q}: {}",
                e.0
            );
        }
    }

    #[test]
    fn a_truncated_trade_is_malformed_and_a_raw_trade_parses() {
        let mut n = 0;
        let bad =
            r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":3,"p":"6"#;
        assert!(parse(bad, &mut |_| n += 1).is_err());
        let no_price = r#"{"e":"trade","s":"BTCUSDT","t":3,"p":"x","q":"1","T":5,"m":false}"#;
        assert!(parse(no_price, &mut |_| n += 1)
            .unwrap_err()
            .0
            .contains("price"));
        let raw = r#"{"e":"trade","E":1,"s":"BTCUSDT","t":3,"p":"6.5","q":"1","T":5,"m":false}"#;
        parse(raw, &mut |t| {
            assert_eq!(
                (t.price, t.side, t.id, t.time_ns),
                (6.5, 1.0, Some(3), 5_000_000)
            );
            n += 1
        })
        .unwrap();
        assert_eq!(n, 1);
    }
}
