//! Gemini market data v2: trades on the `l2` subscription.
//!
//! Subscribe with `{"type":"subscribe","subscriptions":[{"name":"l2","symbols":["BTCUSD"]}]}`. A trade,
//! as captured:
//!
//! ```text
//! {"type":"trade","symbol":"ANKRUSD","event_id":45465818387,"timestamp":1624493670759,
//!  "price":"0.07946","quantity":"1020.482111","side":"buy"}
//! ```
//!
//! `side` is the taker's side; `timestamp` is in ms. The first `l2_updates` of a subscription carries
//! the market's recent trades, from before the connection; they are not emitted. `event_id` rises, so it
//! finds duplicates but not gaps.

use serde::Deserialize;

use super::exchange::{contains, has_member, number, Endpoint, IdRule, Malformed, Table, Trade};

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    symbol: &'a str,
    event_id: u64,
    timestamp: i64,
    price: &'a str,
    quantity: &'a str,
    side: &'a str,
}

fn endpoint(_channel: &str, _markets: &[String]) -> Endpoint {
    Endpoint::wss("api.gemini.com", "/v2/marketdata")
}

fn subscribe(_channel: &str, markets: &[String]) -> Vec<String> {
    let symbols: Vec<String> = markets.iter().map(|m| format!("\"{m}\"")).collect();
    vec![format!(
        "{{\"type\":\"subscribe\",\"subscriptions\":[{{\"name\":\"l2\",\"symbols\":[{}]}}]}}",
        symbols.join(",")
    )]
}

fn parse(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
    // The recent trades inside l2_updates also say "type":"trade", so only a message that *is* a trade.
    if !has_member(text, "type", "trade") || contains(text, "\"changes\"") {
        return Ok(());
    }
    let m: Message<'_> = serde_json::from_str(text).map_err(Malformed::json)?;
    if m.kind != "trade" {
        return Ok(());
    }
    let side = match m.side {
        "buy" => 1.0,
        "sell" => -1.0,
        other => return Err(Malformed(format!("side '{other}' is neither buy nor sell"))),
    };
    out(Trade {
        market: m.symbol,
        price: number("price", m.price)?,
        quantity: number("quantity", m.quantity)?,
        side,
        id: Some(m.event_id),
        time_ns: m.timestamp * 1_000_000,
    });
    Ok(())
}

/// Gemini market data v2 (`api.gemini.com/v2/marketdata`).
pub const GEMINI: Table = Table {
    tag: "Gemini",
    name: "gemini",
    channels: &["l2"],
    ids: IdRule::Increasing,
    endpoint,
    subscribe,
    parse,
};

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_one_trade_per_message, check_fixture, raw_field, Expect};
    use super::GEMINI;

    fn expect(line: &str) -> Vec<Expect> {
        if !line.starts_with("{\"type\":\"trade\"") {
            return Vec::new();
        }
        let f = |k| raw_field(line, k).unwrap();
        vec![Expect {
            market: f("symbol"),
            price: f("price").parse().unwrap(),
            quantity: f("quantity").parse().unwrap(),
            side: if f("side") == "buy" { 1.0 } else { -1.0 },
            id: f("event_id").parse().ok(),
            time_ns: f("timestamp").parse::<i64>().unwrap() * 1_000_000,
        }]
    }

    #[test]
    fn standalone_trades_not_the_snapshot_history_inside_l2_updates() {
        let path = "testdata/ws/gemini_v2_marketdata_2021-06-24.ndjson";
        let n = check_fixture(&GEMINI, path, expect);
        assert_one_trade_per_message(&n, path, |l| l.starts_with("{\"type\":\"trade\""));
    }
}
