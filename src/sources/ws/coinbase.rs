//! Coinbase Exchange: the `matches` channel.
//!
//! Subscribe with `{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches"]}`. A trade, as
//! captured:
//!
//! ```text
//! {"type":"match","trade_id":280232,"maker_order_id":"2a0d…","taker_order_id":"3c82…","side":"sell",
//!  "size":"985","price":"0.00001305","product_id":"SKL-BTC","sequence":177100030,
//!  "time":"2021-04-17T16:43:37.089723Z"}
//! ```
//!
//! `side` is the **maker's** side, so `"sell"` means the taker bought. `trade_id` counts up by one per
//! product. The `last_match` sent on subscribing is the trade before the connection opened and is not
//! emitted; a gap across a reconnect is still found from the next `match`.

use serde::Deserialize;

use super::exchange::{has_member, number, Endpoint, IdRule, Malformed, Table, Trade};

#[derive(Deserialize)]
struct Match<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    trade_id: u64,
    side: &'a str,
    size: &'a str,
    price: &'a str,
    product_id: &'a str,
    time: &'a str,
}

fn endpoint(_channel: &str, _markets: &[String]) -> Endpoint {
    Endpoint::wss("ws-feed.exchange.coinbase.com", "/")
}

fn subscribe(channel: &str, markets: &[String]) -> Vec<String> {
    let ids: Vec<String> = markets.iter().map(|m| format!("\"{m}\"")).collect();
    vec![format!(
        "{{\"type\":\"subscribe\",\"product_ids\":[{}],\"channels\":[\"{channel}\"]}}",
        ids.join(",")
    )]
}

fn parse(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
    if !has_member(text, "type", "match") {
        return Ok(());
    }
    let m: Match<'_> = serde_json::from_str(text).map_err(Malformed::json)?;
    if m.kind != "match" {
        return Ok(());
    }
    let side = match m.side {
        "sell" => 1.0,
        "buy" => -1.0,
        other => return Err(Malformed(format!("side '{other}' is neither buy nor sell"))),
    };
    let time_ns = crate::base::time::parse_timestamp(m.time.as_bytes())
        .ok_or_else(|| Malformed(format!("time '{}' is not an RFC 3339 time", m.time)))?;
    out(Trade {
        market: m.product_id,
        price: number("price", m.price)?,
        quantity: number("size", m.size)?,
        side,
        id: Some(m.trade_id),
        time_ns,
    });
    Ok(())
}

/// Coinbase Exchange (`ws-feed.exchange.coinbase.com`).
pub const COINBASE: Table = Table {
    tag: "Coinbase",
    name: "coinbase",
    channels: &["matches"],
    ids: IdRule::Contiguous,
    endpoint,
    subscribe,
    parse,
};

#[cfg(test)]
mod tests {
    use super::super::fixtures::{assert_one_trade_per_message, check_fixture, raw_field, Expect};
    use super::COINBASE;

    fn expect(line: &str) -> Vec<Expect> {
        if raw_field(line, "type").as_deref() != Some("match") {
            return Vec::new();
        }
        let f = |k| raw_field(line, k).unwrap();
        // 2021-04-17T16:43:37.089723Z: whole seconds from the date, then the microseconds as written.
        let time = f("time");
        let (secs, micros) = time.trim_end_matches('Z').split_once('.').unwrap();
        let whole = crate::base::time::parse_timestamp(format!("{secs}Z").as_bytes()).unwrap();
        vec![Expect {
            market: f("product_id"),
            price: f("price").parse().unwrap(),
            quantity: f("size").parse().unwrap(),
            side: if f("side") == "sell" { 1.0 } else { -1.0 },
            id: f("trade_id").parse().ok(),
            time_ns: whole + micros.parse::<i64>().unwrap() * 1000,
        }]
    }

    #[test]
    fn matches_among_level2_ticker_and_last_match() {
        let path = "testdata/ws/coinbase_exchange_2021-04-17.ndjson";
        let n = check_fixture(&COINBASE, path, expect);
        assert_one_trade_per_message(&n, path, |l| l.contains("\"type\":\"match\""));
    }

    #[test]
    fn a_match_with_an_unknown_side_is_malformed() {
        let bad = r#"{"type":"match","trade_id":1,"side":"up","size":"1","price":"2","product_id":"X-Y","time":"2021-04-17T16:43:37Z"}"#;
        assert!(super::parse(bad, &mut |_| {})
            .unwrap_err()
            .0
            .contains("side"));
    }
}
