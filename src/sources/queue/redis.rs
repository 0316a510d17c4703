//! The `Redis` source kind: `{Redis: {url: "redis://127.0.0.1:6379", stream: trades, format: Binance,
//! market: btcusdt}}`: a Redis stream whose entries hold one exchange payload each, in the field `data`.
//!
//! Read with `XREAD` (Stream: blocking at most 100 ms at a time) or `XRANGE` (Batch: up to the last
//! entry of the run's start), 1,000 entries at a time, through the `redis` crate's synchronous client.
//! `start` is `earliest` (the default), `latest`, or `{id: "1723161255342-0"}` (the entries after it).
//! After a lost connection, reading resumes after the last entry read, so nothing is read twice or
//! passed over while the server keeps the stream.

use std::fmt;
use std::time::Duration;

use redis::{Connection, Value as RValue};
use serde_yaml::Value;

use super::{common, Fault, Log, LogSpec, Message, Read};
use crate::base::RunError;
use crate::config::{field, Reader};
use crate::connect::redis::Server;
use crate::plugin::{Source, SourceKind};

/// Entries taken per command.
const PER_READ: usize = 1_000;
/// How long a command may wait on the server (a blocking `XREAD` adds its block).
const IO: Duration = Duration::from_secs(2);

/// The `Redis` source kind.
pub struct Redis;

/// Where reading starts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Start {
    Earliest,
    Latest,
    After(Id),
}

/// A stream entry id, `ms-seq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Id(u64, u64);

impl Id {
    /// `1723161255342-0` (or `1723161255342`, sequence 0).
    pub fn parse(s: &str) -> Option<Id> {
        let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
        Some(Id(ms.parse().ok()?, seq.parse().ok()?))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// A stream on a server.
#[derive(Clone, Debug)]
struct StreamAt {
    server: Server,
    stream: String,
    start: Start,
}

impl SourceKind for Redis {
    fn name(&self) -> &'static str {
        "Redis"
    }

    fn parse(&self, r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example = "Redis: {url: \"redis://127.0.0.1:6379\", stream: trades, format: Binance, market: btcusdt}";
        let mut keys = vec!["url", "stream", "start"];
        keys.extend(super::COMMON);
        let m = r.mapping(v, path, &keys, &["stream", "format", "market"], example)?;
        let server = match m.get("url") {
            None => Server::parse(None).ok(),
            Some(u) => {
                let p = field(path, "url");
                let url = r.string(u, &p)?;
                match Server::parse(Some(&url)) {
                    Ok(s) => Some(s),
                    Err(why) => {
                        r.diag.error(
                            &p,
                            why,
                            Some("write e.g. url: \"redis://127.0.0.1:6379\"".into()),
                        );
                        None
                    }
                }
            }
        };
        let stream = m
            .get("stream")
            .and_then(|s| r.string(s, &field(path, "stream")));
        let start = match m.get("start") {
            None => Some(Start::Earliest),
            Some(s) => start(r, s, &field(path, "start")),
        };
        let spec = match (server, stream, start) {
            (Some(server), Some(stream), Some(start)) => Some(Box::new(StreamAt {
                server,
                stream,
                start,
            }) as Box<dyn LogSpec>),
            _ => None,
        };
        common(r, m, path, spec)
    }
}

fn start(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Start> {
    let hint = "start: earliest, latest or {id: \"1723161255342-0\"}";
    match v {
        Value::String(s) if s == "earliest" => Some(Start::Earliest),
        Value::String(s) if s == "latest" => Some(Start::Latest),
        Value::Mapping(m) if m.len() == 1 && m.get("id").is_some() => {
            let p = field(path, "id");
            let s = r.string(m.get("id")?, &p)?;
            match Id::parse(&s) {
                Some(id) => Some(Start::After(id)),
                None => {
                    r.diag.error(
                        &p,
                        format!("'{s}' is not a stream entry id"),
                        Some(hint.into()),
                    );
                    None
                }
            }
        }
        _ => {
            r.diag.error(path, "unknown start", Some(hint.into()));
            None
        }
    }
}

impl LogSpec for StreamAt {
    fn key(&self) -> String {
        format!("redis {} {} {:?}", self.server, self.stream, self.start)
    }

    fn name(&self) -> String {
        format!("redis {}", self.stream)
    }

    fn open(&self, live: bool) -> Box<dyn Log> {
        Box::new(StreamLog {
            s: self.clone(),
            live,
            conn: None,
            last: None,
            end: None,
        })
    }
}

/// A stream being read.
struct StreamLog {
    s: StreamAt,
    live: bool,
    conn: Option<Connection>,
    /// The last entry read (`None` before the start is resolved).
    last: Option<Id>,
    /// Batch: the stream's last entry at the start (`Some(None)`: it was empty).
    end: Option<Option<Id>>,
}

/// The id of a reply's entry and its `data` field.
fn entry(v: &RValue) -> Option<(Id, Option<&[u8]>)> {
    let RValue::Array(parts) = v else { return None };
    let id = match parts.first()? {
        RValue::BulkString(b) => Id::parse(std::str::from_utf8(b).ok()?)?,
        RValue::SimpleString(s) => Id::parse(s)?,
        _ => return None,
    };
    let RValue::Array(fields) = parts.get(1)? else {
        return Some((id, None));
    };
    let data = fields.chunks(2).find_map(|kv| match kv {
        [RValue::BulkString(k), RValue::BulkString(v)] if k == b"data" => Some(v.as_slice()),
        _ => None,
    });
    Some((id, data))
}

impl StreamLog {
    fn fault(&mut self, e: redis::RedisError) -> Fault {
        self.conn = None;
        Fault::Down(self.s.server.say(&e))
    }

    /// The stream's last entry, `None` when it is empty.
    fn newest(&mut self) -> Result<Option<Id>, Fault> {
        let conn = self.conn.as_mut().expect("connected");
        let r: Result<RValue, _> = redis::cmd("XREVRANGE")
            .arg(&self.s.stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query(conn);
        match r {
            Ok(RValue::Array(items)) => Ok(items.first().and_then(entry).map(|(id, _)| id)),
            Ok(_) => Ok(None),
            Err(e) => Err(self.fault(e)),
        }
    }

    /// The entries after `self.last` (up to `end` in Batch), blocking at most `wait` in Stream.
    fn fetch(&mut self, wait: Duration) -> Result<Vec<RValue>, Fault> {
        let after = self.last.expect("resolved at connect");
        let conn = self.conn.as_mut().expect("connected");
        let r: Result<RValue, _> = if self.live {
            redis::cmd("XREAD")
                .arg("COUNT")
                .arg(PER_READ)
                .arg("BLOCK")
                .arg(wait.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(&self.s.stream)
                .arg(after.to_string())
                .query(conn)
        } else {
            let end = self.end.flatten().expect("read only while entries remain");
            redis::cmd("XRANGE")
                .arg(&self.s.stream)
                .arg(format!("({after}"))
                .arg(end.to_string())
                .arg("COUNT")
                .arg(PER_READ)
                .query(conn)
        };
        let v = r.map_err(|e| self.fault(e))?;
        Ok(match v {
            // XREAD: [[stream, [entries]]]; XRANGE: [entries].
            RValue::Array(mut a) if self.live => match a.pop() {
                Some(RValue::Array(mut kv)) if kv.len() == 2 => match kv.pop() {
                    Some(RValue::Array(entries)) => entries,
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            },
            RValue::Map(mut m) if self.live => match m.pop() {
                Some((_, RValue::Array(entries))) => entries,
                _ => Vec::new(),
            },
            RValue::Array(entries) => entries,
            _ => Vec::new(),
        })
    }
}

impl Log for StreamLog {
    fn connect(&mut self) -> Result<(), Fault> {
        let first = self.last.is_none();
        self.conn = Some(self.s.server.connect(IO).map_err(Fault::Down)?);
        let conn = self.conn.as_mut().expect("set above");
        let kind: String = redis::cmd("TYPE")
            .arg(&self.s.stream)
            .query(conn)
            .map_err(|e| self.fault(e))?;
        let missing = match kind.as_str() {
            "stream" => None,
            "none" => Some(format!(
                "stream '{}' does not exist on {}; publish to it first (tubes publish)",
                self.s.stream, self.s.server
            )),
            other => Some(format!(
                "key '{}' on {} is a {other}, not a stream",
                self.s.stream, self.s.server
            )),
        };
        if let Some(why) = missing {
            return Err(if first {
                Fault::Fatal(RunError::Input(format!("Redis: {why}")))
            } else {
                Fault::Down(why)
            });
        }
        if first {
            self.last = Some(match &self.s.start {
                Start::Earliest => Id(0, 0),
                Start::Latest => self.newest()?.unwrap_or(Id(0, 0)),
                Start::After(id) => *id,
            });
            if !self.live {
                self.end = Some(self.newest()?);
            }
        }
        Ok(())
    }

    fn read(
        &mut self,
        wait: Duration,
        each: &mut dyn FnMut(Message<'_>) -> Result<(), RunError>,
    ) -> Result<Read, Fault> {
        if !self.live && self.end.flatten().is_none_or(|end| self.last >= Some(end)) {
            return Ok(Read::End);
        }
        let entries = self.fetch(wait)?;
        if entries.is_empty() && !self.live {
            return Ok(Read::End);
        }
        for v in &entries {
            let Some((id, data)) = entry(v) else {
                return Err(Fault::Fatal(RunError::Input(format!(
                    "Redis {}: an entry of stream '{}' could not be read",
                    self.s.server, self.s.stream
                ))));
            };
            self.last = Some(id);
            let text = data.and_then(|b| std::str::from_utf8(b).ok());
            each(Message {
                text,
                at: &format_args!("id {id}"),
                published_ms: i64::try_from(id.0).ok(),
            })
            .map_err(Fault::Fatal)?;
        }
        Ok(Read::More)
    }
}
