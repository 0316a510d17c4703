//! A `Through`'s `window:` and `key:` (with `keys:` and `max_keys:` beside it).

use std::time::Duration;

use serde_yaml::{Mapping, Value};

use crate::config::model::{KeyDecl, WindowDecl, WindowKind};
use crate::config::reader::{field, Reader};

/// Datapoints a sliding window holds per key when `max_items` is not given.
pub const DEFAULT_MAX_ITEMS: u64 = 1 << 16;
/// Keys a keyed through keeps state for when `max_keys` is not given.
pub const DEFAULT_MAX_KEYS: usize = 256;
/// The most `max_items` or `max_keys` may ask for (state is sized before the run).
const MOST: u64 = 1 << 24;

const WINDOW_EXAMPLE: &str =
    "window: {sliding: 10m}, {tumbling: 1m} or {hopping: {size: 10m, every: 1m}}";

/// `window: {sliding: D}`, `{tumbling: D}` or `{hopping: {size: D, every: D}}`, with `max_items` and
/// `allowed_lateness` beside the kind.
pub(super) fn window(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<WindowDecl> {
    let allowed = [
        "sliding",
        "tumbling",
        "hopping",
        "max_items",
        "allowed_lateness",
    ];
    let m = r.mapping(v, path, &allowed, &[], WINDOW_EXAMPLE)?;
    let kinds: Vec<&str> = ["sliding", "tumbling", "hopping"]
        .into_iter()
        .filter(|k| m.contains_key(*k))
        .collect();
    let kind = match kinds.as_slice() {
        [one] => *one,
        [] => {
            r.diag.error(
                path,
                "a window needs its kind: sliding, tumbling or hopping",
                Some(format!("write {WINDOW_EXAMPLE}")),
            );
            return None;
        }
        _ => {
            r.diag.error(
                path,
                format!("a window has one kind, not {}", kinds.join(" and ")),
                Some(format!("write {WINDOW_EXAMPLE}")),
            );
            return None;
        }
    };
    let kind = match kind {
        "sliding" => WindowKind::Sliding {
            size: length(r, m, path, "sliding")?,
        },
        "tumbling" => WindowKind::Tumbling {
            size: length(r, m, path, "tumbling")?,
        },
        _ => hopping(r, m.get("hopping")?, &field(path, "hopping"))?,
    };
    let max_items = bound(r, m, path, "max_items", DEFAULT_MAX_ITEMS)?;
    if max_items.is_some_and(|_| !matches!(kind, WindowKind::Sliding { .. })) {
        let p = field(path, "max_items");
        let help = "only a sliding window holds its datapoints".to_string();
        r.diag
            .error(&p, "max_items is for sliding windows", Some(help));
        return None;
    }
    let allowed_lateness = match m.get("allowed_lateness") {
        Some(_) if matches!(kind, WindowKind::Sliding { .. }) => {
            let p = field(path, "allowed_lateness");
            let help = "a sliding window emits at every datapoint; it has nothing to close".into();
            r.diag.error(
                &p,
                "allowed_lateness is for tumbling and hopping windows",
                Some(help),
            );
            return None;
        }
        Some(l) => r.duration(l, &field(path, "allowed_lateness"))?,
        None => Duration::ZERO,
    };
    Some(WindowDecl {
        kind,
        max_items: max_items.unwrap_or(DEFAULT_MAX_ITEMS),
        allowed_lateness,
        path: path.to_string(),
    })
}

/// A window length under `key`: a duration longer than zero, in nanoseconds.
fn length(r: &mut Reader<'_>, m: &Mapping, path: &str, key: &str) -> Option<i64> {
    let p = field(path, key);
    let d = r.duration(m.get(key)?, &p)?;
    if d.is_zero() {
        r.diag.error(
            &p,
            "a window must be longer than zero",
            Some(format!("write e.g. {key}: 1m")),
        );
        return None;
    }
    Some(d.as_nanos() as i64)
}

/// `{size: D, every: D}`: `every` at most `size`, and dividing it.
fn hopping(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<WindowKind> {
    let example = "hopping: {size: 10m, every: 1m}";
    let m = r.mapping(v, path, &["size", "every"], &["size", "every"], example)?;
    let size = length(r, m, path, "size");
    let every = length(r, m, path, "every");
    let (size, every) = (size?, every?);
    if every > size {
        r.diag.error(
            &field(path, "every"),
            "every is longer than size: some datapoints would fall in no window",
            Some("a hopping window starts every `every` and lasts `size` ≥ every; for every = size write tumbling".into()),
        );
        return None;
    }
    if size % every != 0 {
        r.diag.error(
            &field(path, "every"),
            "size must be a whole multiple of every",
            Some(format!(
                "each datapoint then falls in exactly size/every windows; e.g. size: 10m, every: {}",
                if size % 60_000_000_000 == 0 {
                    "1m"
                } else {
                    "1s"
                }
            )),
        );
        return None;
    }
    Some(WindowKind::Hopping { size, every })
}

/// A positive whole number under `key` of `m`, at most [`MOST`]; `None` inside when absent.
fn bound(
    r: &mut Reader<'_>,
    m: &Mapping,
    path: &str,
    key: &str,
    default: u64,
) -> Option<Option<u64>> {
    let Some(v) = m.get(key) else {
        return Some(None);
    };
    let p = field(path, key);
    let n = r.uint(v, &p)?;
    if n == 0 || n > MOST {
        r.diag.error(
            &p,
            format!("{key} must be between 1 and {MOST}"),
            Some(format!("the default is {default}")),
        );
        return None;
    }
    Some(Some(n))
}

/// `key: FIELD`, with `keys: [..]` and `max_keys: N` beside it in the through's mapping `m`.
pub(super) fn key(r: &mut Reader<'_>, m: &Mapping, path: &str) -> Option<Option<KeyDecl>> {
    let Some(k) = m.get("key") else {
        for stray in ["keys", "max_keys"] {
            if m.contains_key(stray) {
                r.diag.error(
                    &field(path, stray),
                    format!("{stray} without key"),
                    Some("name the field that keys the state: key: symbol".into()),
                );
                return None;
            }
        }
        return Some(None);
    };
    let kpath = field(path, "key");
    let name = r.string(k, &kpath)?;
    let keys = match m.get("keys") {
        Some(list) => r.strings(list, &field(path, "keys")),
        None => Vec::new(),
    };
    for (i, a) in keys.iter().enumerate() {
        if keys[..i].contains(a) {
            r.diag.error(
                &format!("{}[{i}]", field(path, "keys")),
                format!("key '{a}' is listed twice"),
                None,
            );
            return None;
        }
    }
    let max_keys = bound(r, m, path, "max_keys", DEFAULT_MAX_KEYS as u64)?;
    let max_keys = max_keys.map_or(DEFAULT_MAX_KEYS.max(keys.len()), |n| n as usize);
    if keys.len() > max_keys {
        r.diag.error(
            &field(path, "max_keys"),
            format!(
                "keys lists {} keys, more than max_keys ({max_keys})",
                keys.len()
            ),
            Some("raise max_keys, or list fewer keys".into()),
        );
        return None;
    }
    Some(Some(KeyDecl {
        field: name,
        keys,
        max_keys,
        path: kpath,
    }))
}
