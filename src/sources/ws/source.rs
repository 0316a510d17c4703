//! The `WebSocket` source kind: `datasource: {WebSocket: {exchange, market, channel, url, tls, ...}}`.

use std::any::Any;
use std::path::PathBuf;
use std::time::Duration;

use serde_yaml::Value;

use super::{FeedLoop, FeedSpec, WsSource, EXCHANGES};
use crate::base::RunError;
use crate::config::{field, Diagnostics, PipelineType, Reader};
use crate::plugin::{CheckSource, OpenSource, Source, SourceKind, SourceRun, Thread};
use crate::sources::TRADE_FIELDS;

/// The `WebSocket` source kind.
pub struct WebSocket;

impl SourceKind for WebSocket {
    fn name(&self) -> &'static str {
        "WebSocket"
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example = "WebSocket: {exchange: Binance, market: btcusdt}";
        let m = r.mapping(
            v,
            path,
            &[
                "exchange",
                "market",
                "markets",
                "channel",
                "url",
                "tls",
                "stale_after",
                "ping_every",
                "reconnect",
                "mock_stamps",
            ],
            &["exchange"],
            example,
        )?;
        let names: Vec<&str> = EXCHANGES.iter().map(|x| x.tag()).collect();
        let exchange = m.get("exchange").and_then(|e| {
            let (tag, ..) = r.tagged(e, &field(path, "exchange"), &names, "exchange")?;
            EXCHANGES.iter().copied().find(|x| x.tag() == tag)
        });
        let (market, more, keyed) = markets(r, m, path)?;
        let channel = match (exchange, m.get("channel")) {
            (Some(x), Some(c)) => r
                .tagged(c, &field(path, "channel"), x.channels(), "channel")
                .map(|(c, ..)| c.to_string()),
            (Some(x), None) => Some(x.channels()[0].to_string()),
            (None, _) => None,
        };
        let url = m.get("url").and_then(|u| r.string(u, &field(path, "url")));
        let ca_file = match m.get("tls") {
            None => None,
            Some(t) => {
                let tp = field(path, "tls");
                let tm = r.mapping(t, &tp, &["ca_file"], &["ca_file"], "tls: {ca_file: ca.pem}")?;
                Some(PathBuf::from(
                    r.string(tm.get("ca_file")?, &field(&tp, "ca_file"))?,
                ))
            }
        };
        let stale_after = r.positive_duration(m, path, "stale_after", Duration::from_secs(30));
        let ping_every = r.positive_duration(m, path, "ping_every", Duration::from_secs(15));
        let backoff = match m.get("reconnect") {
            None => Some((Duration::from_millis(100), Duration::from_secs(30))),
            Some(b) => {
                let bp = field(path, "reconnect");
                let bm = r.mapping(
                    b,
                    &bp,
                    &["min", "max"],
                    &["min", "max"],
                    "reconnect: {min: 100ms, max: 30s}",
                )?;
                let lo = r.duration(bm.get("min")?, &field(&bp, "min"));
                let hi = r.duration(bm.get("max")?, &field(&bp, "max"));
                match (lo, hi) {
                    (Some(lo), Some(hi)) if !lo.is_zero() && lo <= hi => Some((lo, hi)),
                    (Some(_), Some(_)) => {
                        r.diag.error(
                            &bp,
                            "the back-off needs 0 < min <= max",
                            Some("write e.g. reconnect: {min: 100ms, max: 30s}".into()),
                        );
                        None
                    }
                    _ => None,
                }
            }
        };
        let sent_stamps = match m.get("mock_stamps") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                r.wrong_type(other, &field(path, "mock_stamps"), "true or false", None);
                return None;
            }
        };
        Some(Box::new(WsSource {
            exchange: exchange?,
            market,
            more,
            keyed,
            channel: channel?,
            url,
            ca_file,
            stale_after: stale_after?,
            ping_every: ping_every?,
            backoff: backoff?,
            sent_stamps,
        }))
    }
}

/// `market: m`, or `markets: [a, b, ..]`: (the first market, the others, whether `markets:` was used).
fn markets(
    r: &mut Reader<'_>,
    m: &serde_yaml::Mapping,
    path: &str,
) -> Option<(String, Vec<String>, bool)> {
    match (m.get("market"), m.get("markets")) {
        (Some(one), None) => Some((r.string(one, &field(path, "market"))?, Vec::new(), false)),
        (None, Some(list)) => {
            let p = field(path, "markets");
            let mut all = r.strings(list, &p);
            if all.is_empty() {
                r.diag.error(
                    &p,
                    "markets lists no market",
                    Some("write markets: [btcusdt, ethusdt]".into()),
                );
                return None;
            }
            let first = all.remove(0);
            Some((first, all, true))
        }
        (Some(_), Some(_)) => {
            r.diag.error(
                path,
                "market and markets both given",
                Some("one market: market: btcusdt; several on one connection: markets: [btcusdt, ethusdt]".into()),
            );
            None
        }
        (None, None) => {
            r.diag.error(
                path,
                "missing key 'market'",
                Some("write market: btcusdt, or markets: [btcusdt, ethusdt] for several whose trades carry their symbol".into()),
            );
            None
        }
    }
}

impl Source for WsSource {
    fn check(&mut self, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> Option<Vec<String>> {
        let mut fields: Vec<String> = TRADE_FIELDS.iter().map(|f| f.to_string()).collect();
        if self.keyed {
            fields.push("symbol".into());
        }
        check_websocket(self, cx, diag).then_some(fields)
    }

    fn key_fields(&self) -> Vec<String> {
        if self.keyed {
            vec!["symbol".into()]
        } else {
            Vec::new()
        }
    }

    fn describe(&self) -> String {
        self.feed_name()
    }

    fn feed(&self) -> Option<String> {
        Some(self.feed_name())
    }

    fn symbol(&self) -> Option<String> {
        (!self.keyed).then(|| self.market.clone())
    }

    fn thread(&self) -> Thread {
        Thread::Shared {
            ring: "feeds",
            thread: "tubes-io",
        }
    }

    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        self.open_shared(vec![(at, self)])
    }

    fn open_shared(
        &self,
        group: Vec<(OpenSource, &dyn Source)>,
    ) -> Result<Box<dyn SourceRun>, RunError> {
        let feeds = group
            .into_iter()
            .map(|(o, s)| FeedSpec {
                id: o.id,
                source: s
                    .as_any()
                    .downcast_ref::<WsSource>()
                    .expect("sources on the feeds thread are WebSocket sources")
                    .clone(),
                counters: o.counters,
            })
            .collect();
        Ok(Box::new(FeedLoop::new(feeds)?))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Checks what parsing could not: the pipeline type, the URL and the CA file.
fn check_websocket(src: &WsSource, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> bool {
    let (path, pipeline) = (cx.path, cx.pipeline);
    let mut ok = true;
    if let PipelineType::Batch { .. } = pipeline {
        diag.error(
            path,
            "a WebSocket source is live and cannot run in a Batch pipeline",
            Some(
                "use pipeline_type: Stream (end the run with --duration, --idle-exit or Ctrl-C)"
                    .into(),
            ),
        );
        ok = false;
    }
    if let Some(url) = &src.url {
        let endpoint = src.exchange.endpoint(&src.channel, &src.markets());
        if let Err(e) = endpoint.with_base(url) {
            diag.error(&format!("{path}.url"), e.to_string(), None);
            ok = false;
        }
    }
    if let Some(ca) = &src.ca_file {
        if let Err(e) = super::tls::load_certs(ca) {
            diag.error(
                &format!("{path}.tls.ca_file"),
                e.to_string(),
                Some("name a PEM file of CA certificates; relative paths resolve against the current directory".into()),
            );
            ok = false;
        }
    }
    ok
}
