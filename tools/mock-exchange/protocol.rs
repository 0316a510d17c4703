//! Each exchange's subscribe protocol, as the mock speaks it: what a client must ask for, what the
//! exchange answers, and which captured messages belong to the subscription.

use std::io::{Read, Write};

use tungstenite::{Message, WebSocket};

/// The exchanges the mock can play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Exchange {
    /// Binance spot or USD-M: streams named in the URL path (`/stream?streams=btcusdt@trade/...`).
    Binance,
    /// Coinbase Exchange: `{"type":"subscribe",...}`, answered with `subscriptions`.
    Coinbase,
    /// Kraken v1: `{"event":"subscribe",...}`, answered with `subscriptionStatus` per pair.
    Kraken,
    /// Bitstamp v2: one `bts:subscribe` per channel, each answered with `bts:subscription_succeeded`.
    Bitstamp,
    /// Gemini market data v2: `{"type":"subscribe",...}`, no answer.
    Gemini,
}

/// What a client subscribed to.
pub struct Subscription {
    /// Binance: the stream names; a captured line is sent only when it belongs to one. Empty: every line.
    pub streams: Vec<String>,
    /// For the log.
    pub what: String,
}

impl Subscription {
    /// Whether a captured line belongs to the subscription.
    pub fn wants(&self, line: &str) -> bool {
        self.streams.is_empty()
            || self
                .streams
                .iter()
                .any(|s| line.starts_with(&format!("{{\"stream\":\"{s}\"")))
    }
}

/// Binance: the streams named in the request path.
pub fn binance_streams(path: &str) -> Result<Vec<String>, String> {
    let list = path
        .split_once("streams=")
        .map(|(_, l)| l)
        .or_else(|| path.strip_prefix("/ws/"))
        .ok_or_else(|| {
            format!("no streams in the path '{path}' (expected /stream?streams=btcusdt@trade)")
        })?;
    let streams: Vec<String> = list
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if streams.is_empty() {
        return Err(format!("no streams in the path '{path}'"));
    }
    Ok(streams)
}

fn field<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(|x| x.as_str())
}

/// Reads text messages until one is a subscribe request of `ex`; answers it as the exchange does.
pub fn handshake<S: Read + Write>(
    ex: Exchange,
    path: &str,
    ws: &mut WebSocket<S>,
) -> Result<Subscription, String> {
    if ex == Exchange::Binance {
        let streams = binance_streams(path)?;
        return Ok(Subscription {
            what: streams.join(", "),
            streams,
        });
    }
    if ex == Exchange::Kraken {
        send(
            ws,
            r#"{"connectionID":1,"event":"systemStatus","status":"online","version":"1.8.3"}"#
                .into(),
        )?;
    }
    loop {
        let msg = ws
            .read()
            .map_err(|e| format!("waiting for a subscribe message: {e}"))?;
        let Message::Text(text) = msg else { continue };
        let v: serde_json::Value = serde_json::from_str(text.as_str())
            .map_err(|e| format!("the subscribe message is not JSON: {e}"))?;
        match ex {
            Exchange::Coinbase if field(&v, "type") == Some("subscribe") => {
                let ids = v.get("product_ids").cloned().unwrap_or_default();
                let channels = v.get("channels").cloned().unwrap_or_default();
                let reply = serde_json::json!({"type": "subscriptions", "channels": [{"name": channels.get(0).cloned().unwrap_or_default(), "product_ids": ids}]});
                send(ws, reply.to_string())?;
                return Ok(Subscription {
                    streams: Vec::new(),
                    what: format!("{ids} on {channels}"),
                });
            }
            Exchange::Kraken if field(&v, "event") == Some("subscribe") => {
                let pairs: Vec<String> = v
                    .get("pair")
                    .and_then(|p| p.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                for (i, p) in pairs.iter().enumerate() {
                    let reply = serde_json::json!({"channelID": 100 + i, "channelName": "trade", "event": "subscriptionStatus", "pair": p, "status": "subscribed", "subscription": {"name": "trade"}});
                    send(ws, reply.to_string())?;
                }
                return Ok(Subscription {
                    streams: Vec::new(),
                    what: pairs.join(", "),
                });
            }
            Exchange::Bitstamp if field(&v, "event") == Some("bts:subscribe") => {
                let channel = v
                    .pointer("/data/channel")
                    .and_then(|c| c.as_str())
                    .unwrap_or("")
                    .to_string();
                let reply = serde_json::json!({"event": "bts:subscription_succeeded", "channel": channel, "data": {}});
                send(ws, reply.to_string())?;
                // The replay sends the whole captured session, so it can begin after the first channel.
                return Ok(Subscription {
                    streams: Vec::new(),
                    what: channel,
                });
            }
            Exchange::Gemini if field(&v, "type") == Some("subscribe") => {
                return Ok(Subscription {
                    streams: Vec::new(),
                    what: v["subscriptions"].to_string(),
                });
            }
            _ => {
                return Err(format!(
                    "not a subscribe message of this exchange: {}",
                    text.as_str()
                ))
            }
        }
    }
}

/// Sends one text frame.
pub fn send<S: Read + Write>(ws: &mut WebSocket<S>, text: String) -> Result<(), String> {
    ws.send(Message::text(text)).map_err(|e| e.to_string())
}
