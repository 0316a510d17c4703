//! Bitstamp WebSocket v2: `live_trades_<pair>` channels.
//!
//! Subscribe with one `{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}` per market. A
//! trade, as captured:
//!
//! ```text
//! {"data":{"id":216000477,"timestamp":"1641343699","amount":0.0792,"amount_str":"0.07920000",
//!  "price":3805.44,"price_str":"3805.44","type":0,"microtimestamp":"1641343699596000",
//!  "buy_order_id":1443875737346049,"sell_order_id":1443875731320832},
//!  "channel":"live_trades_ethusd","event":"trade"}
//! ```
//!
//! `type` 0 is a taker buy, 1 a taker sell. Prices and amounts are read from the exact `_str` fields.
//! Trade ids rise across all pairs, so they find duplicates but not gaps.

use serde::Deserialize;

use super::exchange::{has_member, number, Endpoint, IdRule, Malformed, Table, Trade};

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    data: Data<'a>,
    channel: &'a str,
    event: &'a str,
}

#[derive(Deserialize)]
struct Data<'a> {
    id: u64,
    amount_str: &'a str,
    price_str: &'a str,
    #[serde(rename = "type")]
    side: u8,
    microtimestamp: &'a str,
}

const PREFIX: &str = "live_trades_";

fn endpoint(_channel: &str, _markets: &[String]) -> Endpoint {
    Endpoint::wss("ws.bitstamp.net", "/")
}

fn subscribe(_channel: &str, markets: &[String]) -> Vec<String> {
    markets
        .iter()
        .map(|m| {
            format!(
                "{{\"event\":\"bts:subscribe\",\"data\":{{\"channel\":\"{PREFIX}{}\"}}}}",
                m.to_ascii_lowercase()
            )
        })
        .collect()
}

fn parse(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
    if !has_member(text, "event", "trade") {
        return Ok(());
    }
    let m: Message<'_> = serde_json::from_str(text).map_err(Malformed::json)?;
    if m.event != "trade" {
        return Ok(());
    }
    let market = m.channel.strip_prefix(PREFIX).ok_or_else(|| {
        Malformed(format!(
            "channel '{}' is not a live_trades channel",
            m.channel
        ))
    })?;
    let micros: i64 = m.data.microtimestamp.parse().map_err(|_| {
        Malformed(format!(
            "microtimestamp '{}' is not a number",
            m.data.microtimestamp
        ))
    })?;
    let side = match m.data.side {
        0 => 1.0,
        1 => -1.0,
        other => return Err(Malformed(format!("type {other} is neither 0 nor 1"))),
    };
    out(Trade {
        market,
        price: number("price_str", m.data.price_str)?,
        quantity: number("amount_str", m.data.amount_str)?,
        side,
        id: Some(m.data.id),
        time_ns: micros * 1000,
    });
    Ok(())
}

/// Bitstamp WebSocket v2 (`ws.bitstamp.net`).
pub const BITSTAMP: Table = Table {
    tag: "Bitstamp",
    name: "bitstamp",
    channels: &["live_trades"],
    ids: IdRule::Increasing,
    endpoint,
    subscribe,
    parse,
};

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_one_trade_per_message, check_fixture, raw_field, Expect};
    use super::BITSTAMP;

    fn expect(line: &str) -> Vec<Expect> {
        if raw_field(line, "event").as_deref() != Some("trade") {
            return Vec::new();
        }
        let f = |k| raw_field(line, k).unwrap();
        vec![Expect {
            market: f("channel").trim_start_matches("live_trades_").to_string(),
            price: f("price_str").parse().unwrap(),
            quantity: f("amount_str").parse().unwrap(),
            side: if f("type") == "0" { 1.0 } else { -1.0 },
            id: f("id").parse().ok(),
            time_ns: f("microtimestamp").parse::<i64>().unwrap() * 1000,
        }]
    }

    #[test]
    fn live_trades_among_order_book_data_and_acknowledgements() {
        let path = "testdata/ws/bitstamp_v2_2022-01-05.ndjson";
        let n = check_fixture(&BITSTAMP, path, expect);
        assert_one_trade_per_message(&n, path, |l| l.contains("\"event\":\"trade\""));
    }
}
