//! Live trades from exchange WebSockets (DESIGN §6).
//!
//! One I/O thread ([`FeedLoop`]) runs a `mio` event loop over every connection of the graph, with
//! `tungstenite` on non-blocking sockets and `rustls` for `wss://`. Generators on the same exchange,
//! channel and endpoint share one connection, so their trades reach the engine in the exchange's own
//! order. Each exchange is one module: its endpoint, subscribe messages, trade-id rule and parser, tested
//! on real captured messages.

mod binance;
mod bitstamp;
mod coinbase;
mod conn;
mod exchange;
mod feed;
#[cfg(test)]
mod fixtures;
mod gemini;
mod kraken;
mod net;

pub mod tls;

pub use exchange::{contains, Endpoint, Exchange, IdRule, Malformed, Trade, EXCHANGES};
pub use feed::{FeedLoop, FeedSpec};
