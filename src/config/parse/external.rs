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
    Some(ExternalDecl::StaticTimeTick { from, to, interval })
}
