//! Typed reads from a `serde_yaml::Value` that record a diagnostic (with path) instead of stopping at the first error.

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::error::{suggest, Diagnostics};
use crate::base::time::parse_timestamp;

/// A short description of a value for "expected X, found Y" messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("a boolean ({b})"),
        Value::Number(n) => format!("a number ({n})"),
        Value::String(s) => format!("a string ('{s}')"),
        Value::Sequence(_) => "a list".to_string(),
        Value::Mapping(_) => "a mapping".to_string(),
        Value::Tagged(t) => format!("a tagged value (!{})", t.tag),
    }
}

/// Joins a mapping key onto a YAML path.
pub fn field(path: &str, key: &str) -> String {
    if path.is_empty() {
        return key.to_string();
    }
    // Sized once: a sweep checks every combination's config, and builds a path for every node read.
    let mut joined = String::with_capacity(path.len() + 1 + key.len());
    joined.push_str(path);
    joined.push('.');
    joined.push_str(key);
    joined
}

/// Reads values, recording every problem in the diagnostics.
pub struct Reader<'d> {
    /// Where problems go.
    pub diag: &'d mut Diagnostics,
}

impl Reader<'_> {
    /// Records a type mismatch.
    pub fn wrong_type(&mut self, v: &Value, path: &str, expected: &str, help: Option<String>) {
        self.diag.error(
            path,
            format!("expected {expected}, found {}", describe(v)),
            help,
        );
    }

    /// The value as a mapping whose keys are all in `allowed`, with every key in `required` present.
    pub fn mapping<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        allowed: &[&str],
        required: &[&str],
        example: &str,
    ) -> Option<&'v Mapping> {
        let Value::Mapping(m) = v else {
            self.wrong_type(
                v,
                path,
                "a mapping",
                Some(format!("write it like: {example}")),
            );
            return None;
        };
        for key in m.keys() {
            match key.as_str() {
                Some(k) if allowed.contains(&k) => {}
                Some(k) => self.diag.error(
                    &field(path, k),
                    format!("unknown key '{k}'"),
                    Some(suggest(k, allowed)),
                ),
                None => self.wrong_type(key, path, "string keys", None),
            }
        }
        for key in required {
            if !m.contains_key(*key) {
                self.diag.error(
                    path,
                    format!("missing key '{key}'"),
                    Some(format!("write it like: {example}")),
                );
            }
        }
        Some(m)
    }

    /// An externally tagged enum: `Tag` (a unit variant) or `{Tag: payload}` with exactly one key.
    /// Returns the tag, the payload (`Null` for a unit variant) and the payload's path.
    pub fn tagged<'v>(
        &mut self,
        v: &'v Value,
        path: &str,
        variants: &[&'v str],
        what: &str,
    ) -> Option<(&'v str, &'v Value, String)> {
        static NULL: Value = Value::Null;
        let (tag, payload) = match v {
            Value::String(s) => (s.as_str(), &NULL),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, p) = m.iter().next()?;
                match k.as_str() {
                    Some(k) => (k, p),
                    None => {
                        self.wrong_type(k, path, &format!("the name of {what}"), None);
                        return None;
                    }
                }
            }
            Value::Mapping(m) => {
                let keys: Vec<String> = m
                    .keys()
                    .map(|k| k.as_str().unwrap_or("?").to_string())
                    .collect();
                self.diag.error(
                    path,
                    format!(
                        "{what} must have exactly one key, found {}: {}",
                        m.len(),
                        keys.join(", ")
                    ),
                    Some(format!("choose one of: {}", variants.join(", "))),
                );
                return None;
            }
            other => {
                self.wrong_type(
                    other,
                    path,
                    &format!("{what} ({})", variants.join(", ")),
                    None,
                );
                return None;
            }
        };
        match variants.iter().find(|&&var| var == tag) {
            Some(&var) => Some((var, payload, field(path, tag))),
            None => {
                let at = match v {
                    Value::Mapping(_) => field(path, tag),
                    _ => path.to_string(),
                };
                self.diag.error(
                    &at,
                    format!("unknown {what} '{tag}'"),
                    Some(suggest(tag, variants)),
                );
                None
            }
        }
    }

    /// A string.
    pub fn string(&mut self, v: &Value, path: &str) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::String(_) => {
                self.diag.error(path, "must not be empty", None);
                None
            }
            other => {
                self.wrong_type(other, path, "a string", None);
                None
            }
        }
    }

    /// A string or a list of strings.
    pub fn strings(&mut self, v: &Value, path: &str) -> Vec<String> {
        match v {
            Value::Sequence(items) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
                .collect(),
            other => self.string(other, path).into_iter().collect(),
        }
    }

    /// A finite number.
    pub fn number(&mut self, v: &Value, path: &str) -> Option<f64> {
        match v.as_f64() {
            Some(x) if x.is_finite() => Some(x),
            Some(x) => {
                self.diag.error(
                    path,
                    format!(
                        "expected a finite number, found {x} (.nan and .inf are not usable here)"
                    ),
                    None,
                );
                None
            }
            None => {
                self.wrong_type(v, path, "a number", None);
                None
            }
        }
    }

    /// A non-negative integer.
    pub fn uint(&mut self, v: &Value, path: &str) -> Option<u64> {
        match v.as_u64() {
            Some(x) => Some(x),
            None => {
                self.wrong_type(v, path, "a whole number ≥ 0", None);
                None
            }
        }
    }

    /// A point in time: RFC 3339 (`2023-03-17T00:00:00Z`), `YYYY-MM-DD[ HH:MM:SS]` or unix time.
    pub fn time(&mut self, v: &Value, path: &str) -> Option<i64> {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => {
                self.wrong_type(
                    other,
                    path,
                    "a time",
                    Some("write RFC 3339, e.g. \"2023-03-17T00:00:00Z\"".into()),
                );
                return None;
            }
        };
        let t = parse_timestamp(text.as_bytes());
        if t.is_none() {
            self.diag.error(
                path,
                format!("cannot read '{text}' as a time"),
                Some("write RFC 3339, e.g. \"2023-03-17T00:00:00Z\", between 1677 and 2262 (times are nanoseconds in 64 bits)".into()),
            );
        }
        t
    }

    /// The duration under `key` of mapping `m` (at `path`), longer than zero; `default` when absent.
    pub fn positive_duration(
        &mut self,
        m: &serde_yaml::Mapping,
        path: &str,
        key: &str,
        default: Duration,
    ) -> Option<Duration> {
        let Some(v) = m.get(key) else {
            return Some(default);
        };
        let p = field(path, key);
        let d = self.duration(v, &p)?;
        if d.is_zero() {
            self.diag
                .error(&p, "the duration must be longer than zero", None);
            return None;
        }
        Some(d)
    }

    /// A duration: `{secs: 60, nanos: 0}` (the talk's spelling) or a string like `60s`, `500ms`, `1m`, `1h`.
    pub fn duration(&mut self, v: &Value, path: &str) -> Option<Duration> {
        const HELP: &str = "write {secs: 60, nanos: 0} or a string such as 60s, 500ms, 5m, 1h";
        match v {
            Value::Mapping(_) => {
                let m = self.mapping(v, path, &["secs", "nanos"], &["secs"], HELP)?;
                let secs = self.uint(m.get("secs")?, &field(path, "secs"))?;
                let nanos = match m.get("nanos") {
                    Some(n) => self.uint(n, &field(path, "nanos"))?,
                    None => 0,
                };
                if nanos >= 1_000_000_000 {
                    let at = field(path, "nanos");
                    let help = "whole seconds go in secs".to_string();
                    self.diag
                        .error(&at, "nanos must be below 1,000,000,000", Some(help));
                    return None;
                }
                let ns = secs
                    .checked_mul(1_000_000_000)
                    .and_then(|s| s.checked_add(nanos))
                    .filter(|&ns| ns <= i64::MAX as u64);
                if ns.is_none() {
                    self.diag.error(
                        path,
                        format!("{secs} s is longer than a duration may be (292 years)"),
                        None,
                    );
                }
                ns.map(Duration::from_nanos)
            }
            Value::String(s) => {
                let d = parse_duration(s);
                if d.is_none() {
                    self.diag.error(
                        path,
                        format!("cannot read '{s}' as a duration"),
                        Some(HELP.into()),
                    );
                }
                d
            }
            other => {
                self.wrong_type(other, path, "a duration", Some(HELP.into()));
                None
            }
        }
    }
}

/// Parses `60s`, `500ms`, `250us`, `100ns`, `5m`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (num, unit) = s.split_at(split);
    let x: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    let ns = x * scale;
    (ns.is_finite() && (0.0..9e18).contains(&ns)).then(|| Duration::from_nanos(ns.round() as u64))
}
