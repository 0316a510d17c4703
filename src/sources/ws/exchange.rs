//! What every exchange module provides: the [`Exchange`] trait, endpoints, trades and the helpers the
//! parsers share.

/// One exchange: everything the I/O thread needs to know of it. Each exchange module describes itself
/// with one implementation, and [`super::EXCHANGES`] lists them.
pub trait Exchange: Sync {
    /// Its name in configs (`exchange: Binance`).
    fn tag(&self) -> &'static str;
    /// Its name in status messages and the summary (`binance`).
    fn name(&self) -> &'static str;
    /// The channels a generator may ask for; the first is the default.
    fn channels(&self) -> &'static [&'static str];
    /// The exchange's endpoint for these markets on `channel`.
    fn endpoint(&self, channel: &str, markets: &[String]) -> Endpoint;
    /// The text messages to send once connected, to subscribe to these markets (none when the
    /// endpoint's URL already names them).
    fn subscribe(&self, _channel: &str, _markets: &[String]) -> Vec<String> {
        Vec::new()
    }
    /// How trade ids behave.
    fn ids(&self) -> IdRule;
    /// Parses one text message, calling `out` for every trade in it. Messages that are not trades
    /// (subscription acknowledgements, heartbeats, order-book updates) produce nothing and no error.
    fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed>;
}

/// Reads trades out of messages: an exchange's parser, or a mapping of JSON members to a trade's fields
/// (a message queue's `format: {JSON: …}`).
pub trait Parse: Send {
    /// Calls `out` for every trade of one text message; see [`Exchange::parse`].
    fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed>;
}

impl Parse for &'static dyn Exchange {
    fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
        Exchange::parse(*self, text, out)
    }
}

/// An exchange described as a table: its names, channels, id rule and the functions of its module.
/// Every shipped exchange is one (`pub const COINBASE: Table = Table { … }` at the end of its module);
/// an exchange that needs state of its own implements [`Exchange`] directly.
pub struct Table {
    /// See [`Exchange::tag`].
    pub tag: &'static str,
    /// See [`Exchange::name`].
    pub name: &'static str,
    /// See [`Exchange::channels`].
    pub channels: &'static [&'static str],
    /// See [`Exchange::ids`].
    pub ids: IdRule,
    /// See [`Exchange::endpoint`].
    pub endpoint: fn(channel: &str, markets: &[String]) -> Endpoint,
    /// See [`Exchange::subscribe`] ([`no_subscribe`] when the endpoint's URL names the markets).
    pub subscribe: fn(channel: &str, markets: &[String]) -> Vec<String>,
    /// See [`Exchange::parse`].
    pub parse: Parser,
}

/// An exchange's message parser: calls `out` for every trade of one text message.
pub type Parser = fn(text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed>;

/// For exchanges whose endpoint URL already names the markets: nothing to send.
pub fn no_subscribe(_channel: &str, _markets: &[String]) -> Vec<String> {
    Vec::new()
}

impl Exchange for Table {
    fn tag(&self) -> &'static str {
        self.tag
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn channels(&self) -> &'static [&'static str] {
        self.channels
    }

    fn endpoint(&self, channel: &str, markets: &[String]) -> Endpoint {
        (self.endpoint)(channel, markets)
    }

    fn subscribe(&self, channel: &str, markets: &[String]) -> Vec<String> {
        (self.subscribe)(channel, markets)
    }

    fn ids(&self) -> IdRule {
        self.ids
    }

    fn parse(&self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
        (self.parse)(text, out)
    }
}

impl std::fmt::Debug for dyn Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.tag())
    }
}

impl PartialEq for dyn Exchange {
    fn eq(&self, other: &Self) -> bool {
        self.tag() == other.tag()
    }
}

/// How an exchange numbers its trades, per market.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdRule {
    /// Ids go up by exactly one: a jump is a gap of that many trades, a repeat is a duplicate.
    Contiguous,
    /// Ids only go up: a repeat is a duplicate, but a jump says nothing.
    Increasing,
    /// No trade id: trades older than the last one seen are duplicates.
    None,
    /// Not checked as trades come (a Batch read of a message queue checks after ordering them).
    Unchecked,
}

/// A `url:` that cannot replace an exchange's endpoint.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    /// Neither `ws://` nor `wss://`.
    #[error("'{0}' does not start with ws:// or wss://; write e.g. ws://127.0.0.1:9001")]
    Scheme(String),
    /// The port is not a number from 1 to 65535.
    #[error("'{port}' in '{url}' is not a port number (1 to 65535)")]
    Port {
        /// The port as written.
        port: String,
        /// The URL.
        url: String,
    },
    /// No host before the port.
    #[error("'{0}' names no host")]
    Host(String),
}

/// Where an exchange listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `wss://` (true) or `ws://`.
    pub tls: bool,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Endpoint {
    /// `wss://host:443` and `path`: where most exchanges listen.
    pub fn wss(host: &str, path: &str) -> Endpoint {
        Endpoint {
            tls: true,
            host: host.into(),
            port: 443,
            path: path.into(),
        }
    }

    /// The URL, e.g. `wss://stream.binance.com:9443/stream?streams=btcusdt@trade`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
    }

    /// Replaces scheme, host and port with those of `url` (`ws://127.0.0.1:9001`); the path stays.
    pub fn with_base(&self, url: &str) -> Result<Endpoint, UrlError> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else {
            return Err(UrlError::Scheme(url.to_string()));
        };
        let hostport = rest.split('/').next().unwrap_or("");
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p.parse::<u16>().map_err(|_| UrlError::Port {
                    port: p.to_string(),
                    url: url.to_string(),
                })?;
                (h.to_string(), port)
            }
            _ => (hostport.to_string(), if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(UrlError::Host(url.to_string()));
        }
        Ok(Endpoint {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            path: self.path.clone(),
        })
    }
}

/// One trade as an exchange reported it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trade<'a> {
    /// The market as the exchange spells it in the message (`BTCUSDT`, `BTC-USD`, `XBT/USD`, `btcusd`).
    pub market: &'a str,
    /// Price.
    pub price: f64,
    /// Quantity in the base asset.
    pub quantity: f64,
    /// +1 when the taker bought, −1 when the taker sold.
    pub side: f64,
    /// The exchange's trade id, when it has one.
    pub id: Option<u64>,
    /// The exchange's trade time, ns since the Unix epoch.
    pub time_ns: i64,
}

/// A message that looked like a trade but could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Malformed {
    /// A JSON decoding error.
    pub fn json(e: serde_json::Error) -> Self {
        Malformed(format!("not a trade message this exchange sends: {e}"))
    }
}

/// Reads a price or a quantity: a decimal string holding a finite number above zero. Anything else
/// (`NaN`, `inf`, `-1`, `0`) would poison every reducer it reached, so the message is malformed.
pub fn number(field: &str, s: &str) -> Result<f64, Malformed> {
    let shown: String = s.chars().take(40).collect();
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(Malformed(format!(
            "{field} '{shown}' is not a finite number above zero"
        ))),
        Err(_) => Err(Malformed(format!("{field} '{shown}' is not a number"))),
    }
}

/// Whether `needle` occurs in `text` (a cheap test before decoding).
pub fn contains(text: &str, needle: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Whether `text` holds the member `"key":"value"`, with or without JSON whitespace around the colon:
/// the cheap test before decoding (exchanges send no spaces, but a message with them is valid JSON).
pub fn has_member(text: &str, key: &str, value: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, key.as_bytes()).any(|at| {
        let end = at + key.len();
        if at == 0 || b[at - 1] != b'"' || b.get(end) != Some(&b'"') {
            return false;
        }
        let i = skip_ws(b, end + 1);
        if b.get(i) != Some(&b':') {
            return false;
        }
        let i = skip_ws(b, i + 1);
        b.get(i) == Some(&b'"')
            && b[i + 1..].starts_with(value.as_bytes())
            && b.get(i + 1 + value.len()) == Some(&b'"')
    })
}

/// Whether `text` holds `"value"` as an element of an array between two others (`,"trade",`), with
/// or without JSON whitespace.
pub fn has_element(text: &str, value: &str) -> bool {
    let b = text.as_bytes();
    memchr::memmem::find_iter(b, value.as_bytes()).any(|at| {
        let end = at + value.len();
        if at < 2 || b[at - 1] != b'"' || b.get(end) != Some(&b'"') {
            return false;
        }
        let before = b[..at - 1].iter().rev().find(|c| !c.is_ascii_whitespace());
        let after = skip_ws(b, end + 1);
        before == Some(&b',') && b.get(after) == Some(&b',')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::ws::binance::SPOT;

    #[test]
    fn prices_and_quantities_are_finite_and_above_zero() {
        assert_eq!(number("price", "6.5"), Ok(6.5));
        for bad in ["NaN", "nan", "inf", "-inf", "-1", "0", "0.0", "1e999"] {
            let e = number("price", bad).unwrap_err().0;
            assert!(e.contains("not a finite number above zero"), "{bad}: {e}");
        }
        assert!(number("quantity", "x")
            .unwrap_err()
            .0
            .contains("not a number"));
    }

    #[test]
    fn members_and_elements_are_found_with_or_without_whitespace() {
        assert!(has_member(r#"{"e":"trade","s":"X"}"#, "e", "trade"));
        assert!(has_member("{\"e\" :\n \"trade\"}", "e", "trade"));
        assert!(!has_member(r#"{"e":"trades"}"#, "e", "trade"));
        assert!(!has_member(r#"{"ee":"trade"}"#, "e", "trade"));
        assert!(!has_member(r#"{"x":"e","y":"trade"}"#, "e", "trade"));
        assert!(has_element(r#"[1,[],"trade","XBT/USD"]"#, "trade"));
        assert!(has_element(r#"[1, [], "trade" , "XBT/USD"]"#, "trade"));
        assert!(!has_element(r#"{"channel":"trade"}"#, "trade"));
    }

    #[test]
    fn a_base_url_replaces_scheme_host_and_port_but_keeps_the_path() {
        let e = SPOT.endpoint("trade", &["btcusdt".into(), "ethusdt".into()]);
        assert_eq!(
            e.url(),
            "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"
        );
        let m = e.with_base("ws://127.0.0.1:9001").unwrap();
        assert_eq!(
            m.url(),
            "ws://127.0.0.1:9001/stream?streams=btcusdt@trade/ethusdt@trade"
        );
        assert_eq!(e.with_base("wss://localhost").unwrap().port, 443);
        assert!(e
            .with_base("http://x")
            .unwrap_err()
            .to_string()
            .contains("ws://"));
        assert!(e
            .with_base("ws://h:99999")
            .unwrap_err()
            .to_string()
            .contains("port"));
    }
}
