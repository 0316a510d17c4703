//! A through's `window:` and `key:`, checked against its inputs: the fields they add to its output
//! (`symbol`, `window_start`, `window_end`) and their specs.

use super::fields::{input_fields, missing_field, Input};
use super::model::{KeySpec, TextOf, WindowSpec};
use crate::base::keys;
use crate::config::{
    Diagnostics, EventDecl, KeyDecl, ReducerDecl, ThroughDecl, WindowDecl, WindowKind,
};

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
    (nop, batch, tick): (bool, bool, bool),
) -> Option<Added> {
    let mut ok = text_inputs(diag, path, th, inputs);
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
    if let (Some(w), true, false) = (&th.window, clock, tick) {
        diag.error(
            &w.path,
            "a window's clock must be an ExternalEvent tick: this one consumes another tube's event",
            Some("consume a StaticTimeTick (event: {Consume: every_second}), or drop the event".into()),
        );
        ok = false;
    }
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
    if let Some(w) = &th.window {
        let keys = th.key.as_ref().map_or(1, |k| k.max_keys);
        let queues = (th.reducers.iter())
            .filter(|r| matches!(r, ReducerDecl::Min(_) | ReducerDecl::Max(_)))
            .count();
        ok &= state_fits(diag, w, keys, (th.reducers.len(), queues));
    }
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

/// The most bytes a window's state may take when every key is met (`max_keys` keys, each with its
/// windows or its sliding buffer): beyond it, a config error says how much it would take.
const MAX_STATE_BYTES: u64 = 4 << 30;

/// Whether window `w` over `keys` keys with `reducers` reducers, `queues` of them MIN or MAX, stays
/// within [`MAX_STATE_BYTES`] (reported when not).
fn state_fits(
    diag: &mut Diagnostics,
    w: &WindowDecl,
    keys: usize,
    (reducers, queues): (usize, usize),
) -> bool {
    let (per_key, what) = match w.kind {
        // A time, then each reducer's input and quantity, and an index in each MIN or MAX queue.
        // The buffer's length is `max_items` rounded up to a power of two.
        WindowKind::Sliding { .. } => (
            (w.max_items
                .max(1)
                .checked_next_power_of_two()
                .unwrap_or(u64::MAX))
            .saturating_mul(8 + 16 * reducers as u64 + 8 * queues as u64),
            "max_items",
        ),
        // One set of reducers (about 192 bytes each, with their slot lists) per window a datapoint falls in.
        WindowKind::Tumbling { .. } => (192 * reducers as u64 + 32, "max_keys"),
        WindowKind::Hopping { size, every } => (
            ((size / every) as u64).saturating_mul(192 * reducers as u64 + 32),
            "size/every",
        ),
    };
    let bytes = per_key.saturating_mul(keys as u64);
    if bytes <= MAX_STATE_BYTES {
        return true;
    }
    diag.error(
        &w.path,
        format!(
            "this window would hold up to {} MiB of state with all {keys} keys met, more than the {} MiB a tube may",
            bytes >> 20,
            MAX_STATE_BYTES >> 20
        ),
        Some(match w.kind {
            WindowKind::Sliding { .. } => format!(
                "lower max_items (a buffer is max_items rounded up to a power of two: {} here) or max_keys",
                w.max_items.max(1).checked_next_power_of_two().unwrap_or(u64::MAX)
            ),
            _ => format!("lower {what} or max_keys"),
        }),
    );
    false
}

/// Whether no reducer, condition or key reads a text field as a number (reported when one does): a
/// key's number is not a value, and it differs from run to run.
fn text_inputs(diag: &mut Diagnostics, path: &str, th: &ThroughDecl, inputs: &[Input<'_>]) -> bool {
    let text = |f: &str| {
        inputs
            .iter()
            .any(|i| (i.schema.iter().zip(i.texts)).any(|(n, t)| n == f && t.is_some()))
    };
    let mut ok = true;
    for (r, rp) in th.reducers.iter().zip(&th.reducer_paths) {
        for f in input_fields(r) {
            if text(f) {
                diag.error(
                    rp,
                    format!("'{f}' holds text (keys such as BTCUSDT, or times): a reducer reads numbers"),
                    Some(format!("key the tube by it instead (key: {f}), or reduce a numeric field")),
                );
                ok = false;
            }
        }
    }
    if let (Some(EventDecl::Produce(c)), true) = (&th.event, th.reducers == [ReducerDecl::Nop]) {
        if text(&c.field) {
            diag.error(
                &format!("{path}.event.Produce"),
                format!("'{}' holds text: a condition compares numbers", c.field),
                None,
            );
            ok = false;
        }
    }
    if let Some(k) = &th.key {
        let kinds: Vec<bool> = (inputs.iter())
            .filter_map(|i| {
                let s = i.schema.iter().position(|n| *n == k.field)?;
                Some(i.texts.get(s).copied().flatten().is_some())
            })
            .collect();
        if kinds.contains(&true) && kinds.contains(&false) {
            diag.error(
                &k.path,
                format!(
                    "'{}' holds text in some inputs and numbers in others: their keys would mix",
                    k.field
                ),
                Some("key the tube by a field that is text (or numbers) in every input".into()),
            );
            ok = false;
        }
    }
    ok
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
