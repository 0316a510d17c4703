//! What every exchange module provides, and the enum that dispatches to them (one arm per exchange).

use super::{binance, bitstamp, coinbase, gemini, kraken};

/// A supported exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// Binance spot (`stream.binance.com`).
    Binance,
    /// Binance USD-M futures (`fstream.binance.com`).
    BinanceUsdm,
    /// Coinbase Exchange (`ws-feed.exchange.coinbase.com`).
    Coinbase,
    /// Kraken WebSocket v1 (`ws.kraken.com`).
    Kraken,
    /// Bitstamp WebSocket v2 (`ws.bitstamp.net`).
    Bitstamp,
    /// Gemini market data v2 (`api.gemini.com/v2/marketdata`).
    Gemini,
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
    /// The URL, e.g. `wss://stream.binance.com:9443/stream?streams=btcusdt@trade`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}:{}{}", self.host, self.port, self.path)
    }

    /// Replaces scheme, host and port with those of `url` (`ws://127.0.0.1:9001`); the path stays.
    pub fn with_base(&self, url: &str) -> Result<Endpoint, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (false, r)
        } else {
            return Err(format!(
                "'{url}' does not start with ws:// or wss://; write e.g. ws://127.0.0.1:9001"
            ));
        };
        let hostport = rest.split('/').next().unwrap_or("");
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .map_err(|_| format!("'{p}' in '{url}' is not a port number (1 to 65535)"))?;
                (h.to_string(), port)
            }
            _ => (hostport.to_string(), if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("'{url}' names no host"));
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

/// Reads a decimal string as a number.
pub fn number(field: &str, s: &str) -> Result<f64, Malformed> {
    s.parse::<f64>()
        .map_err(|_| Malformed(format!("{field} '{s}' is not a number")))
}

/// Whether `needle` occurs in `text` (a cheap test before decoding).
pub fn contains(text: &str, needle: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), needle.as_bytes()).is_some()
}

/// Every exchange, by the name written in configs.
pub const EXCHANGES: &[(&str, Exchange)] = &[
    ("Binance", Exchange::Binance),
    ("BinanceUsdm", Exchange::BinanceUsdm),
    ("Coinbase", Exchange::Coinbase),
    ("Kraken", Exchange::Kraken),
    ("Bitstamp", Exchange::Bitstamp),
    ("Gemini", Exchange::Gemini),
];

impl Exchange {
    /// The exchange's name in status messages (`binance`).
    pub fn name(self) -> &'static str {
        match self {
            Exchange::Binance => "binance",
            Exchange::BinanceUsdm => "binance-usdm",
            Exchange::Coinbase => "coinbase",
            Exchange::Kraken => "kraken",
            Exchange::Bitstamp => "bitstamp",
            Exchange::Gemini => "gemini",
        }
    }

    /// The channels a generator may ask for; the first is the default.
    pub fn channels(self) -> &'static [&'static str] {
        match self {
            Exchange::Binance | Exchange::BinanceUsdm => &["trade", "aggTrade"],
            Exchange::Coinbase => &["matches"],
            Exchange::Kraken => &["trade"],
            Exchange::Bitstamp => &["live_trades"],
            Exchange::Gemini => &["l2"],
        }
    }

    /// The exchange's endpoint for these markets on `channel`.
    pub fn endpoint(self, channel: &str, markets: &[String]) -> Endpoint {
        match self {
            Exchange::Binance | Exchange::BinanceUsdm => binance::endpoint(self, channel, markets),
            Exchange::Coinbase => coinbase::endpoint(),
            Exchange::Kraken => kraken::endpoint(),
            Exchange::Bitstamp => bitstamp::endpoint(),
            Exchange::Gemini => gemini::endpoint(),
        }
    }

    /// The text messages to send once connected, to subscribe to these markets.
    pub fn subscribe(self, channel: &str, markets: &[String]) -> Vec<String> {
        match self {
            Exchange::Binance | Exchange::BinanceUsdm => Vec::new(),
            Exchange::Coinbase => coinbase::subscribe(channel, markets),
            Exchange::Kraken => kraken::subscribe(markets),
            Exchange::Bitstamp => bitstamp::subscribe(markets),
            Exchange::Gemini => gemini::subscribe(markets),
        }
    }

    /// How trade ids behave.
    pub fn ids(self) -> IdRule {
        match self {
            Exchange::Binance | Exchange::BinanceUsdm | Exchange::Coinbase => IdRule::Contiguous,
            Exchange::Bitstamp | Exchange::Gemini => IdRule::Increasing,
            Exchange::Kraken => IdRule::None,
        }
    }

    /// Parses one text message, calling `out` for every trade in it. Messages that are not trades
    /// (subscription acknowledgements, heartbeats, order-book updates) produce nothing and no error.
    pub fn parse(self, text: &str, out: &mut dyn FnMut(Trade<'_>)) -> Result<(), Malformed> {
        match self {
            Exchange::Binance | Exchange::BinanceUsdm => binance::parse(text, out),
            Exchange::Coinbase => coinbase::parse(text, out),
            Exchange::Kraken => kraken::parse(text, out),
            Exchange::Bitstamp => bitstamp::parse(text, out),
            Exchange::Gemini => gemini::parse(text, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_replaces_scheme_host_and_port_but_keeps_the_path() {
        let e = Exchange::Binance.endpoint("trade", &["btcusdt".into(), "ethusdt".into()]);
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
        assert!(e.with_base("http://x").unwrap_err().contains("ws://"));
        assert!(e.with_base("ws://h:99999").unwrap_err().contains("port"));
    }
}
