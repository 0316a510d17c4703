//! A through's `window:` and `key:`, checked against its inputs: the fields they add to its output
//! (`symbol`, `window_start`, `window_end`) and their specs.

use super::fields::{missing_field, Input};
use super::model::{KeySpec, TextOf, WindowSpec};
use crate::base::keys;
use crate::config::{Diagnostics, EventDecl, KeyDecl, ThroughDecl, WindowDecl, WindowKind};

/// What a window and a key add to a through.
pub(super) struct Added {
    pub window: Option<WindowSpec>,
    pub key: Option<KeySpec>,
}

/// Checks `th`'s window and key (a through at `path` whose reducers emit `schema`, one entry of
/// `texts` each) and appends the fields they add. `None` after reporting why they do not hold.
pub(super) fn add(
    diag: &mut Diagnostics,
    path: &str,
    th: &ThroughDecl,
    inputs: &[Input<'_>],
    (schema, texts): (&mut Vec<String>, &mut Vec<Option<TextOf>>),
    (nop, batch): (bool, bool),
) -> Option<Added> {
    let mut ok = true;
    if nop {
        for (what, at) in [
            ("a window", th.window.as_ref().map(|w| w.path.clone())),
            ("a key", th.key.as_ref().map(|k| k.path.clone())),
        ] {
            if let Some(at) = at {
                diag.error(
                    &at,
                    format!("{what} on a NOP: a NOP holds no state to keep per window or key"),
                    Some("give the tube a reducer, e.g. reducer: {LAST: {field: price}}".into()),
                );
                ok = false;
            }
        }
    }
    let clock = matches!(th.event, Some(EventDecl::Consume(_)));
    if let (Some(w), true) = (&th.window, clock) {
        if matches!(w.kind, WindowKind::Sliding { .. }) {
            diag.error(
                &w.path,
                "a sliding window with a Consume event: it emits at every datapoint and has no window to close",
                Some("drop the event, or use Produce to emit only when a condition holds".into()),
            );
            ok = false;
        }
    }
    if let Some(w) = th
        .window
        .as_ref()
        .filter(|w| !w.allowed_lateness.is_zero() && !clock)
    {
        diag.error(
            &format!("{}.allowed_lateness", w.path),
            "allowed_lateness without a clock: nothing would close a window by the clock",
            Some("add a tick and consume it: event: {Consume: every_second}, with an ExternalEvent StaticTimeTick every 1s".into()),
        );
        ok = false;
    }
    let key = match &th.key {
        Some(k) if ok => Some(key(diag, k, inputs, (schema, texts))?),
        _ => None,
    };
    let window = th.window.as_ref().map(|w| window(w, batch));
    if window.is_some() {
        for name in ["window_start", "window_end"] {
            if !unique(diag, path, schema, name) {
                return None;
            }
            schema.push(name.into());
            texts.push(Some(TextOf::Millis));
        }
    }
    ok.then_some(Added { window, key })
}

fn window(w: &WindowDecl, batch: bool) -> WindowSpec {
    WindowSpec {
        kind: w.kind,
        max_items: w.max_items as usize,
        flush_at_end: batch,
        lateness: w.allowed_lateness.as_nanos().min(i64::MAX as u128) as i64,
    }
}

/// Whether `name` is not yet among `schema` (reported when it is).
fn unique(diag: &mut Diagnostics, path: &str, schema: &[String], name: &str) -> bool {
    if schema.iter().any(|s| s == name) {
        diag.error(
            path,
            format!("two fields of this tube are named '{name}'"),
            Some("a reducer's output has the name of a field the window or key adds".into()),
        );
        return false;
    }
    true
}

/// The key field's slot in every input, its values for `keys:`, and the field it adds.
fn key(
    diag: &mut Diagnostics,
    k: &KeyDecl,
    inputs: &[Input<'_>],
    (schema, texts): (&mut Vec<String>, &mut Vec<Option<TextOf>>),
) -> Option<KeySpec> {
    let mut slots = Vec::new();
    let mut text = None;
    for inp in inputs {
        match inp.schema.iter().position(|f| *f == k.field) {
            Some(s) => {
                slots.push(s as u8);
                text = text.or(inp.texts.get(s).copied().flatten());
            }
            None => {
                missing_field(diag, &k.path, &k.field, inp.label, inp.schema, &[]);
                return None;
            }
        }
    }
    let mut known = Vec::new();
    for (i, name) in k.keys.iter().enumerate() {
        let value = match text {
            Some(TextOf::Key) => keys::intern(name.as_bytes()).map(|id| id as f64),
            _ => name.parse::<f64>().ok().filter(|v| v.is_finite()),
        };
        let Some(v) = value else {
            let at = format!("{}s[{i}]", k.path);
            diag.error(
                &at,
                format!(
                    "'{name}' is not a value of '{}', which holds numbers",
                    k.field
                ),
                Some("list numbers, or key by a text field".into()),
            );
            return None;
        };
        known.push(v);
    }
    if !unique(diag, &k.path, schema, &k.field) {
        return None;
    }
    schema.push(k.field.clone());
    texts.push(text);
    Some(KeySpec {
        slots,
        known,
        max_keys: k.max_keys,
    })
}
