//! Where a PostgreSQL connection goes: a `postgresql://` URL, completed by the standard `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE` variables as `psql` completes it. The password is
//! never shown: the target is named as `postgresql://user@host:port/database`, and messages from the
//! client library are scrubbed of it.
//!
//! The `postgres` crate drives an async client on a small runtime of its own, on the thread that calls
//! it; Tubes calls it only from a generator's own thread and from a sink's writer thread.

use std::fmt;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

/// A PostgreSQL server, database and role to connect as.
#[derive(Clone)]
pub struct Target {
    config: Config,
    /// The URL without its password.
    shown: String,
    password: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Target {
    /// The target of `url` (the `PG*` variables alone when `None`).
    pub fn parse(url: Option<&str>) -> Result<Target, String> {
        let mut config = match url {
            Some(u) => u.parse::<Config>().map_err(|e| {
                format!("not a PostgreSQL URL ({e}); write it like postgresql://user@127.0.0.1:5432/database")
            })?,
            None => Config::new(),
        };
        if config.get_hosts().is_empty() {
            config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
        }
        if config.get_ports().is_empty() {
            let port = env("PGPORT").and_then(|p| p.parse().ok()).unwrap_or(5432);
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into());
            config.user(&user);
        }
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
            }
        }
        if config.get_dbname().is_none() {
            let db = env("PGDATABASE")
                .unwrap_or_else(|| config.get_user().unwrap_or("postgres").to_string());
            config.dbname(&db);
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let shown = format!(
            "postgresql://{}@{}:{}/{}",
            config.get_user().unwrap_or(""),
            host,
            config.get_ports().first().copied().unwrap_or(5432),
            config.get_dbname().unwrap_or("")
        );
        let password = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .filter(|p| !p.is_empty());
        Ok(Target {
            config,
            shown,
            password,
        })
    }

    /// Connects (without TLS: connect over loopback, a private network or a tunnel).
    pub fn connect(&self) -> Result<Client, String> {
        self.config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect to {self}: {}", self.scrub(&e)))
    }

    /// A client library's message, without the password.
    pub fn scrub(&self, e: &dyn fmt::Display) -> String {
        let text = e.to_string();
        match &self.password {
            Some(p) => text.replace(p.as_str(), "***"),
            None => text,
        }
    }
}
