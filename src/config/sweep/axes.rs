//! The `sweep:` section: named axes whose product is the set of combinations a sweep runs.
//!
//! ```yaml
//! sweep:
//!   N: {from: 50, to: 5000, step: 50}      # a range: from, from + step, … up to `to` (included when the step lands on it)
//!   coin: [ETH, BNB, LTC]                   # a list of values
//!   market:                                 # a list of records: each record's keys are parameters, zipped
//!   - {coin: ETH, bars: 1m_2021-04-02_2021-05-14}
//!   - {coin: XLM, bars: 5m_2020-12-01_2021-07-17}
//! ```

use std::fmt;

use serde_yaml::Value;

use crate::config::reader::{describe, field, Reader};

/// At most this many combinations in one sweep: every combination's checked graph is held while the
/// sweep runs (a few kilobytes each). Split a larger sweep over several configs.
pub const MAX_COMBINATIONS: usize = 100_000;

/// One value of a parameter: a number as written in the config, or text.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// A whole number.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Text(String),
}

impl ParamValue {
    /// The value as YAML, for a scalar that is exactly `${name}`: numbers stay numbers.
    pub fn yaml(&self) -> Value {
        match self {
            ParamValue::Int(i) => Value::Number((*i).into()),
            ParamValue::Float(x) => Value::Number((*x).into()),
            ParamValue::Text(s) => Value::String(s.clone()),
        }
    }

    /// Whether it is a number (written bare in JSON, not quoted).
    pub fn is_number(&self) -> bool {
        !matches!(self, ParamValue::Text(_))
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

/// One axis: the parameters it defines (one, or a record's keys) and its points, each a value per
/// parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The axis's name (its key under `sweep:`).
    pub name: String,
    /// The parameters it defines: its own name, or the keys of its records.
    pub params: Vec<String>,
    /// Its points, in order; each holds one value per parameter.
    pub points: Vec<Vec<ParamValue>>,
}

/// Whether `name` can be a parameter: letters, digits and `_`, not starting with a digit.
pub fn is_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// A scalar as a parameter value.
fn scalar(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<ParamValue> {
    match v {
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => ParamValue::Int(i),
            None => ParamValue::Float(n.as_f64().filter(|x| x.is_finite())?),
        }),
        Value::String(s) => Some(ParamValue::Text(s.clone())),
        Value::Bool(b) => Some(ParamValue::Text(b.to_string())),
        other => {
            r.wrong_type(
                other,
                path,
                "a number or a string",
                Some("a list axis holds plain values: coin: [ETH, BNB]; a record axis holds mappings: pair: [{coin: ETH, bars: 1m}]".into()),
            );
            None
        }
    }
}

/// Decimal places of a number as written (`0.05` → 2), at most 15.
fn decimals(v: &Value) -> i32 {
    let text = match v {
        Value::Number(n) => n.to_string(),
        _ => return 0,
    };
    match text.split_once('.') {
        Some((_, frac)) if !text.contains(['e', 'E']) => frac.len().min(15) as i32,
        _ => 15,
    }
}

/// `{from, to, step}`: the values from `from` towards `to` by `step`; `to` is included when a step lands
/// on it. Whole numbers stay whole; otherwise value *i* is `from + i·step`, rounded to the decimals
/// `from` and `step` are written with (so `{from: 0.1, to: 0.3, step: 0.1}` is 0.1, 0.2, 0.3).
fn range(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Vec<ParamValue>> {
    let m = r.mapping(
        v,
        path,
        &["from", "to", "step"],
        &["from", "to", "step"],
        "N: {from: 50, to: 5000, step: 50}",
    )?;
    let (fv, tv, sv) = (m.get("from")?, m.get("to")?, m.get("step")?);
    let from = r.number(fv, &field(path, "from"));
    let to = r.number(tv, &field(path, "to"));
    let step = r.number(sv, &field(path, "step"));
    let (from, to, step) = (from?, to?, step?);
    let step_path = field(path, "step");
    if step == 0.0 {
        r.diag.error(
            &step_path,
            "the step is 0: the range would never reach its end",
            Some(format!("write a step that goes from {from} towards {to}")),
        );
        return None;
    }
    if (to - from) * step < 0.0 {
        r.diag.error(
            &step_path,
            format!("a step of {step} goes away from to ({to}): from {from} it never gets there"),
            Some(format!("write step: {}", -step)),
        );
        return None;
    }
    let count = ((to - from) / step + 1e-9).floor() as u64 + 1;
    if count as usize > MAX_COMBINATIONS {
        r.diag.error(
            path,
            format!(
                "this range has {count} values, more than the {MAX_COMBINATIONS} a sweep may run"
            ),
            Some("use a larger step".into()),
        );
        return None;
    }
    if let (Some(f), Some(s)) = (fv.as_i64(), sv.as_i64()) {
        let values: Option<Vec<ParamValue>> = (0..count as i64)
            .map(|i| {
                i.checked_mul(s)
                    .and_then(|x| x.checked_add(f))
                    .map(ParamValue::Int)
            })
            .collect();
        if values.is_none() {
            r.diag.error(
                path,
                "the range goes beyond the whole numbers a parameter can hold (±9.2·10¹⁸)",
                None,
            );
        }
        return values;
    }
    let scale = 10f64.powi(decimals(fv).max(decimals(sv)));
    Some(
        (0..count)
            .map(|i| ParamValue::Float(((from + i as f64 * step) * scale).round() / scale))
            .collect(),
    )
}

/// A list of records: every record has the same keys, which become parameters.
fn records(
    r: &mut Reader<'_>,
    items: &[Value],
    path: &str,
) -> Option<(Vec<String>, Vec<Vec<ParamValue>>)> {
    let keys: Vec<String> = match &items[0] {
        Value::Mapping(m) if m.is_empty() => {
            r.diag.error(
                &format!("{path}[0]"),
                "a record with no keys defines no parameter",
                Some("write each record's parameters: [{coin: ETH, bars: 1m}, …]".into()),
            );
            return None;
        }
        Value::Mapping(m) => {
            let mut keys = Vec::new();
            for k in m.keys() {
                match k.as_str() {
                    Some(k) => keys.push(k.to_string()),
                    None => {
                        r.wrong_type(
                            k,
                            &format!("{path}[0]"),
                            "parameter names (strings) as keys",
                            None,
                        );
                        return None;
                    }
                }
            }
            keys
        }
        _ => return None,
    };
    let mut points = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Value::Mapping(m) = item else {
            r.wrong_type(
                item,
                &at,
                "a record like the first one",
                Some("every item of a record axis is a mapping with the same keys".into()),
            );
            ok = false;
            continue;
        };
        let these: Vec<&str> = m.keys().filter_map(|k| k.as_str()).collect();
        if these.len() != keys.len() || keys.iter().any(|k| !these.contains(&k.as_str())) {
            r.diag.error(
                &at,
                format!(
                    "this record has the keys [{}], the first one [{}]",
                    these.join(", "),
                    keys.join(", ")
                ),
                Some("every record of an axis names the same parameters".into()),
            );
            ok = false;
            continue;
        }
        let point: Vec<Option<ParamValue>> = keys
            .iter()
            .map(|k| scalar(r, &m[k.as_str()], &field(&at, k)))
            .collect();
        ok &= point.iter().all(Option::is_some);
        points.push(point.into_iter().flatten().collect());
    }
    ok.then_some((keys, points))
}

/// One axis under `sweep:`.
fn axis(r: &mut Reader<'_>, name: &str, v: &Value, path: &str) -> Option<Axis> {
    let (params, points) = match v {
        Value::Mapping(_) => (
            vec![name.to_string()],
            range(r, v, path)?.into_iter().map(|x| vec![x]).collect(),
        ),
        Value::Sequence(items) if items.is_empty() => {
            r.diag.error(
                path,
                "the axis has no values: the sweep would run nothing",
                Some(format!("list at least one value: {name}: [a, b]")),
            );
            return None;
        }
        Value::Sequence(items) if items[0].is_mapping() => records(r, items, path)?,
        Value::Sequence(items) => {
            let values: Vec<Option<ParamValue>> = items
                .iter()
                .enumerate()
                .map(|(i, x)| scalar(r, x, &format!("{path}[{i}]")))
                .collect();
            if values.iter().any(Option::is_none) {
                return None;
            }
            (
                vec![name.to_string()],
                values.into_iter().flatten().map(|x| vec![x]).collect(),
            )
        }
        other => {
            r.diag.error(
                path,
                format!(
                    "expected a range, a list or a list of records, found {}",
                    describe(other)
                ),
                Some(format!(
                    "write {name}: {{from: 50, to: 5000, step: 50}}, or {name}: [a, b, c]"
                )),
            );
            return None;
        }
    };
    if matches!(v, Value::Sequence(_)) && !listed_once(r, &params, &points, path) {
        return None;
    }
    Some(Axis {
        name: name.to_string(),
        params,
        points,
    })
}

/// Refuses a value (or a record) listed twice on one axis: its combinations would write the same
/// rows under the same parameter columns, with nothing to tell them apart.
fn listed_once(
    r: &mut Reader<'_>,
    params: &[String],
    points: &[Vec<ParamValue>],
    path: &str,
) -> bool {
    let mut seen = std::collections::HashMap::new();
    for (j, point) in points.iter().enumerate() {
        // As the outputs write them: 1 and 1.0, or 1 and "1", are one value there.
        let key: Vec<String> = point.iter().map(ToString::to_string).collect();
        let Some(&i) = seen.get(&key) else {
            seen.insert(key, j);
            continue;
        };
        let shown: Vec<String> = (params.iter().zip(point))
            .map(|(p, v)| format!("{p}={v}"))
            .collect();
        r.diag.error(
            &format!("{path}[{j}]"),
            format!(
                "{} is listed twice (items {i} and {j}): its combinations would write the same rows under the same parameters",
                shown.join(", ")
            ),
            Some("list each value once".into()),
        );
        return false;
    }
    true
}

/// Reads the `sweep:` section (at YAML path `sweep`). Every parameter name is defined once.
pub fn sweep(r: &mut Reader<'_>, v: &Value) -> Option<Vec<Axis>> {
    let Value::Mapping(m) = v else {
        r.wrong_type(
            v,
            "sweep",
            "a mapping of axes",
            Some("write sweep: {N: {from: 50, to: 5000, step: 50}, coin: [ETH, BNB]}".into()),
        );
        return None;
    };
    if m.is_empty() {
        r.diag.error(
            "sweep",
            "the sweep has no axes",
            Some("name at least one: sweep: {N: [50, 100]}".into()),
        );
        return None;
    }
    let mut axes = Vec::new();
    let mut ok = true;
    let mut seen: Vec<(String, String)> = Vec::new();
    for (k, v) in m {
        let Some(name) = k.as_str() else {
            r.wrong_type(k, "sweep", "axis names (strings)", None);
            ok = false;
            continue;
        };
        let path = field("sweep", name);
        let Some(a) = axis(r, name, v, &path) else {
            ok = false;
            continue;
        };
        for p in &a.params {
            let at = if a.params.len() == 1 {
                path.clone()
            } else {
                format!("{path}[0].{p}")
            };
            if !is_name(p) {
                r.diag.error(
                    &at,
                    format!("'{p}' cannot be a parameter name"),
                    Some("use letters, digits and _, starting with a letter: ${coin}".into()),
                );
                ok = false;
            } else if let Some((_, first)) = seen.iter().find(|(q, _)| q == p) {
                r.diag.error(
                    &at,
                    format!("the parameter '{p}' is defined twice (first at {first})"),
                    Some("give each parameter one name: rename one of them".into()),
                );
                ok = false;
            }
            seen.push((p.clone(), at));
        }
        axes.push(a);
    }
    let total = axes
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.points.len()));
    if ok && total.is_none_or(|t| t > MAX_COMBINATIONS) {
        let sizes: Vec<String> = axes
            .iter()
            .map(|a| format!("{}: {}", a.name, a.points.len()))
            .collect();
        r.diag.error(
            "sweep",
            format!("the sweep has {} combinations ({}), more than the {MAX_COMBINATIONS} a sweep may run", total.map_or("too many".into(), |t| t.to_string()), sizes.join(" × ")),
            Some("split it over several configs, or use fewer values per axis".into()),
        );
        ok = false;
    }
    ok.then_some(axes)
}
