//! Redis servers, through the `redis` crate's synchronous client (no async runtime): where a connection
//! goes, and connecting with a bound on every wait. A password in the URL is never shown: the server is
//! named as `redis://host:port/db`.

use std::fmt;
use std::time::Duration;

use redis::{Client, Connection, ConnectionInfo, IntoConnectionInfo};

/// The default server.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// A Redis server (and database) to connect to.
#[derive(Clone)]
pub struct Server {
    info: ConnectionInfo,
    shown: String,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl Server {
    /// The server of `url` (`redis://[:password@]host[:port][/db]`), [`DEFAULT_URL`] when `None`.
    pub fn parse(url: Option<&str>) -> Result<Server, String> {
        let url = url.unwrap_or(DEFAULT_URL);
        let info = url
            .into_connection_info()
            .map_err(|e| format!("'{}' is not a Redis URL: {e}", scrub_url(url)))?;
        let shown = match info.addr() {
            redis::ConnectionAddr::Tcp(h, p) => {
                format!("redis://{h}:{p}/{}", info.redis_settings().db())
            }
            other => format!("redis://{other}/{}", info.redis_settings().db()),
        };
        Ok(Server { info, shown })
    }

    /// A connection whose reads and writes wait at most `io` (a blocking `XREAD` adds its own block).
    pub fn connect(&self, io: Duration) -> Result<Connection, String> {
        let client = Client::open(self.info.clone()).map_err(|e| self.say(&e))?;
        let conn = client
            .get_connection_with_timeout(io)
            .map_err(|e| self.say(&e))?;
        conn.set_read_timeout(Some(io)).map_err(|e| self.say(&e))?;
        conn.set_write_timeout(Some(io)).map_err(|e| self.say(&e))?;
        Ok(conn)
    }

    /// A client error as a sentence naming the server.
    pub fn say(&self, e: &redis::RedisError) -> String {
        format!("Redis {}: {e}", self.shown)
    }
}

/// Appends one entry per payload to `stream`, each with the one field `field`, in a MULTI/EXEC
/// transaction: the server adds all of them or none.
pub fn append<'a>(
    conn: &mut Connection,
    stream: &str,
    field: &str,
    payloads: impl Iterator<Item = &'a [u8]>,
) -> redis::RedisResult<()> {
    adds(stream, field, payloads).query::<()>(conn)
}

/// The transaction of [`append`], not yet sent.
fn adds<'a>(
    stream: &str,
    field: &str,
    payloads: impl Iterator<Item = &'a [u8]>,
) -> redis::Pipeline {
    let mut p = redis::pipe();
    p.atomic();
    for x in payloads {
        p.cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg(field)
            .arg(x)
            .ignore();
    }
    p
}

/// The key where [`append_marked`] leaves the mark of the last batch it added to `stream`.
pub fn mark_key(stream: &str) -> String {
    format!("{stream}:tubes-last-batch")
}

/// [`append`], and in the same transaction sets [`mark_key`] to `mark` (for a day), so that a writer
/// whose connection broke before the reply came can ask [`marked`] whether the batch was added.
pub fn append_marked<'a>(
    conn: &mut Connection,
    stream: &str,
    field: &str,
    payloads: impl Iterator<Item = &'a [u8]>,
    mark: &str,
) -> redis::RedisResult<()> {
    let mut p = adds(stream, field, payloads);
    p.cmd("SET")
        .arg(mark_key(stream))
        .arg(mark)
        .arg("EX")
        .arg(86_400)
        .ignore();
    p.query::<()>(conn)
}

/// Whether the last batch [`append_marked`] added to `stream` is the one marked `mark`.
pub fn marked(conn: &mut Connection, stream: &str, mark: &str) -> redis::RedisResult<bool> {
    let last: Option<String> = redis::cmd("GET").arg(mark_key(stream)).query(conn)?;
    Ok(last.as_deref() == Some(mark))
}

/// `url` without a password, for messages about a URL that does not parse.
fn scrub_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        let s = Server::parse(Some("redis://:s3cret@127.0.0.1:6390/2")).unwrap();
        assert_eq!(s.to_string(), "redis://127.0.0.1:6390/2");
        assert_eq!(
            Server::parse(None).unwrap().to_string(),
            "redis://127.0.0.1:6379/0"
        );
        let e = Server::parse(Some("http://:s3cret@h")).unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
