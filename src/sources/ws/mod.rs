//! Live trades from exchange WebSockets (DESIGN §6): the `WebSocket` source kind.
//!
//! One I/O thread ([`FeedLoop`]) runs a `mio` event loop over every connection of the graph, with
//! `tungstenite` on non-blocking sockets and `rustls` for `wss://`. Generators on the same exchange,
//! channel and endpoint share one connection, so their trades reach the engine in the exchange's own
//! order. Each exchange is one module that describes itself with a [`Table`] implementing the
//! [`Exchange`] trait (endpoint, subscribe messages, trade-id rule, parser, tested on real captured
//! messages) and one line of [`EXCHANGES`].

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
mod market;
mod net;
mod router;
mod source;

pub mod tls;

pub use exchange::{
    contains, no_subscribe, number, Endpoint, Exchange, IdRule, Malformed, Parse, Table, Trade,
    UrlError,
};
pub use feed::{FeedLoop, FeedSpec, WsSource};
pub use market::Market;
pub use router::{Routed, Router};
pub use source::WebSocket;

/// Every exchange a config may name, in the order errors list them.
pub static EXCHANGES: &[&dyn Exchange] = &[
    &binance::SPOT,
    &binance::USDM,
    &coinbase::COINBASE,
    &kraken::KRAKEN,
    &bitstamp::BITSTAMP,
    &gemini::GEMINI,
];
