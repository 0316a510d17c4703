//! `format: {JSON: {time: T, price: p, quantity: q, market: s}}`: messages that are JSON objects of some
//! other shape than an exchange's payload, each member named for the trade field it holds.
//!
//! `time`, `price`, `quantity` and `market` are required; `id` (the trade id, whole numbers that only
//! go up: a repeat is a duplicate) and `maker` (a boolean, true when the buyer was the maker, so the
//! taker sold: `side` −1) are optional. Numbers may be JSON numbers or numeric strings. The time is a
//! number (or numeric string) of `unit` (`ms`, the default, `us`, `ns` or `s`) since the epoch, or an
//! RFC 3339 string. Without `id`, a trade older than the last one of its market is a duplicate.

use serde_json::Value as Json;
use serde_yaml::Value;

use crate::base::time::parse_timestamp;
use crate::config::{field, Reader};
use crate::sources::ws::{number, IdRule, Malformed, Parse, Trade};

/// Which member holds each trade field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonMap {
    time: String,
    price: String,
    quantity: String,
    market: String,
    id: Option<String>,
    maker: Option<String>,
    /// ns per unit of a numeric time.
    unit: i64,
}

impl JsonMap {
    /// Reads the mapping at `path`.
    pub fn read(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<JsonMap> {
        let example =
            "format: {JSON: {time: T, price: p, quantity: q, market: s, id: t, maker: m}}";
        let keys = ["time", "price", "quantity", "market", "id", "maker", "unit"];
        let m = r.mapping(v, path, &keys, &keys[..4], example)?;
        let mut member = |key: &str| match m.get(key) {
            None => Some(None),
            Some(x) => r.string(x, &field(path, key)).map(Some),
        };
        let (time, price, quantity) = (member("time")?, member("price")?, member("quantity")?);
        let (market, id, maker) = (member("market")?, member("id")?, member("maker")?);
        let unit = match member("unit")?.as_deref() {
            None | Some("ms") => 1_000_000,
            Some("us") => 1_000,
            Some("ns") => 1,
            Some("s") => 1_000_000_000,
            Some(other) => {
                r.diag.error(
                    &field(path, "unit"),
                    format!("unknown unit '{other}'"),
                    Some("the unit of a numeric time member: s, ms, us or ns".into()),
                );
                return None;
            }
        };
        Some(JsonMap {
            time: time?,
            price: price?,
            quantity: quantity?,
            market: market?,
            id,
            maker,
            unit,
        })
    }

    /// How its trade ids behave.
    pub fn ids(&self) -> IdRule {
        if self.id.is_some() {
            IdRule::Increasing
        } else {
            IdRule::None
        }
    }

    fn time(&self, v: &Json) -> Result<i64, Malformed> {
        let bad = || Malformed(format!("member '{}' is not a time", self.time));
        match v {
            // Whole numbers in integers (a double holds ns since the epoch only to 256 ns).
            Json::Number(n) => match n.as_i64() {
                Some(x) => x.checked_mul(self.unit).ok_or_else(bad),
                None => {
                    let ns = n.as_f64().ok_or_else(bad)? * self.unit as f64;
                    let fits = ns.is_finite() && ns.abs() < 9.2e18;
                    fits.then_some(ns.round() as i64).ok_or_else(bad)
                }
            },
            Json::String(s) => match s.parse::<i64>() {
                Ok(x) => x.checked_mul(self.unit).ok_or_else(bad),
                Err(_) => parse_timestamp(s.as_bytes()).ok_or_else(bad),
            },
            _ => Err(bad()),
        }
    }
}

/// A member that must be there.
fn member<'j>(obj: &'j serde_json::Map<String, Json>, key: &str) -> Result<&'j Json, Malformed> {
    obj.get(key)
        .ok_or_else(|| Malformed(format!("the message has no member '{key}'")))
}

/// A price or quantity: a number, or a string holding one, finite and above zero.
fn positive(what: &str, v: &Json) -> Result<f64, Malformed> {
    match v {
        Json::Number(n) => number(what, &n.to_string()),
        Json::String(s) => number(what, s),
        _ => Err(Malformed(format!("{what} is not a number"))),
    }
}

impl Parse for JsonMap {
    fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
        let v: Json = serde_json::from_str(text).map_err(Malformed::json)?;
        let obj = v
            .as_object()
            .ok_or_else(|| Malformed("the message is not a JSON object".into()))?;
        let market = match member(obj, &self.market)? {
            Json::String(s) => s.as_str(),
            _ => return Err(Malformed(format!("member '{}' is not text", self.market))),
        };
        let id = match self.id.as_deref().map(|k| member(obj, k)).transpose()? {
            None => None,
            Some(Json::Number(n)) => Some(
                n.as_u64()
                    .ok_or_else(|| Malformed("the trade id is not a whole number".into()))?,
            ),
            Some(Json::String(s)) => Some(
                s.parse()
                    .map_err(|_| Malformed("the trade id is not a whole number".into()))?,
            ),
            Some(_) => return Err(Malformed("the trade id is not a whole number".into())),
        };
        let side = match self.maker.as_deref().map(|k| member(obj, k)).transpose()? {
            None => f64::NAN,
            Some(Json::Bool(true)) => -1.0,
            Some(Json::Bool(false)) => 1.0,
            Some(_) => return Err(Malformed("the maker member is not true or false".into())),
        };
        out(Trade {
            market,
            price: positive("price", member(obj, &self.price)?)?,
            quantity: positive("quantity", member(obj, &self.quantity)?)?,
            side,
            id,
            time_ns: self.time(member(obj, &self.time)?)?,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(id: bool) -> JsonMap {
        JsonMap {
            time: "ts".into(),
            price: "px".into(),
            quantity: "qty".into(),
            market: "sym".into(),
            id: id.then(|| "tid".into()),
            maker: Some("m".into()),
            unit: 1_000_000,
        }
    }

    /// A trade's market, price, quantity, side, id and time.
    type Got = (String, f64, f64, f64, Option<u64>, i64);

    fn one(m: &JsonMap, text: &str) -> Result<Got, Malformed> {
        let mut got = None;
        m.parse(text, &mut |t| {
            got = Some((
                t.market.to_string(),
                t.price,
                t.quantity,
                t.side,
                t.id,
                t.time_ns,
            ))
        })?;
        Ok(got.expect("one trade"))
    }

    #[test]
    fn members_are_read_as_numbers_or_numeric_strings_and_times_in_any_spelling() {
        let m = map(true);
        let t = one(
            &m,
            r#"{"ts":1723161255342,"px":"61837.63","qty":0.02,"sym":"BTCUSDT","tid":"7","m":true}"#,
        );
        assert_eq!(
            t.unwrap(),
            (
                "BTCUSDT".into(),
                61837.63,
                0.02,
                -1.0,
                Some(7),
                1_723_161_255_342_000_000
            )
        );
        let t = one(
            &m,
            r#"{"ts":"2024-08-09T00:00:00.5Z","px":1,"qty":2,"sym":"x","tid":8,"m":false}"#,
        );
        assert_eq!(t.unwrap().5, 1_723_161_600_500_000_000);
        assert_eq!(m.ids(), IdRule::Increasing);
        assert_eq!(map(false).ids(), IdRule::None);
    }

    #[test]
    fn a_message_without_its_members_or_with_bad_values_is_malformed() {
        let m = map(true);
        for (bad, why) in [
            (
                r#"{"px":1,"qty":2,"sym":"x","tid":1,"m":true}"#,
                "no member 'ts'",
            ),
            (
                r#"{"ts":1,"px":"NaN","qty":2,"sym":"x","tid":1,"m":true}"#,
                "price",
            ),
            (
                r#"{"ts":1,"px":1,"qty":-2,"sym":"x","tid":1,"m":true}"#,
                "quantity",
            ),
            (
                r#"{"ts":"soon","px":1,"qty":2,"sym":"x","tid":1,"m":true}"#,
                "not a time",
            ),
            (
                r#"{"ts":1,"px":1,"qty":2,"sym":3,"tid":1,"m":true}"#,
                "not text",
            ),
            (
                r#"{"ts":1,"px":1,"qty":2,"sym":"x","tid":-1,"m":true}"#,
                "trade id",
            ),
            (r#"[1,2]"#, "not a JSON object"),
        ] {
            let e = one(&m, bad).unwrap_err().0;
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
