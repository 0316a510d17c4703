//! An `ExternalEvent`: a `StaticTimeTick`.

use serde_yaml::Value;

use crate::config::model::*;
use crate::config::reader::{field, Reader};

pub(super) fn external(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<ExternalDecl> {
    let (_, payload, path) = r.tagged(v, path, &["StaticTimeTick"], "external event")?;
    let example = "StaticTimeTick: {from: \"2023-03-17T00:00:00Z\", to: \"2023-05-01T00:00:00Z\", interval: 60s}";
    let m = r.mapping(
        payload,
        &path,
        &["from", "to", "interval"],
        &["from", "to", "interval"],
        example,
    )?;
    let from = r.time(m.get("from")?, &field(&path, "from"));
    let to = r.time(m.get("to")?, &field(&path, "to"));
    let interval = r.duration(m.get("interval")?, &field(&path, "interval"));
    let (from, to, interval) = (from?, to?, interval?);
    if interval.is_zero() {
        r.diag.error(
            &field(&path, "interval"),
            "the interval must be longer than zero",
            None,
        );
        return None;
    }
    if from >= to {
        r.diag.error(
            &path,
            "the tick range is empty or inverted: from must be before to",
            None,
        );
        return None;
    }
    let ticks = (i128::from(to) - i128::from(from)) as u128 / interval.as_nanos().max(1);
    if ticks > MAX_TICKS {
        r.diag.error(
            &field(&path, "interval"),
            format!("this tick fires {ticks} times between from and to, more than the {MAX_TICKS} a tick may"),
            Some("use a longer interval or a shorter range; a tick per second over a year is 31.5 million".into()),
        );
        return None;
    }
    Some(ExternalDecl::StaticTimeTick { from, to, interval })
}

/// At most this many ticks from one `StaticTimeTick` (one per second for about three years): more is
/// almost surely a mistake (`interval: 1ns` over a day), which would write rows by the billion.
pub const MAX_TICKS: u128 = 100_000_000;
