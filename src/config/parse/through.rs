//! A `Through`: its reducers (one, or `MULTI`) and its event rule.

use serde_yaml::{Mapping, Value};

use crate::config::model::*;
use crate::config::reader::{field, Reader};

const REDUCERS: &[&str] = &[
    "NOP", "COUNT", "SUM", "FIRST", "LAST", "MIN", "MAX", "MEAN", "VWAP", "MULTI",
];
const CONDITIONS: &[&str] = &[
    "GREATER",
    "GREATER_EQUAL",
    "LESS",
    "LESS_EQUAL",
    "CROSSES",
    "CROSSES_ABOVE",
    "CROSSES_BELOW",
];

pub(super) fn through(r: &mut Reader<'_>, m: &Mapping, path: &str) -> Option<ThroughDecl> {
    let reducers = reducers(r, m.get("reducer")?, &field(path, "reducer"));
    let (reducers, reducer_paths) = match reducers {
        Some(list) => list.into_iter().unzip(),
        None => (Vec::new(), Vec::new()),
    };
    let event = match m.get("event") {
        Some(e) => Some(event(r, e, &field(path, "event"))?),
        None => None,
    };
    let window = match m.get("window") {
        Some(w) => Some(super::window::window(r, w, &field(path, "window"))?),
        None => None,
    };
    let key = super::window::key(r, m, path)?;
    if reducers.is_empty() {
        return None;
    }
    Some(ThroughDecl {
        reducers,
        reducer_paths,
        event,
        window,
        key,
    })
}

/// The reducers with the YAML path of each.
fn reducers(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Vec<(ReducerDecl, String)>> {
    let list = match v {
        Value::Sequence(items) => Some((items, path.to_string())),
        _ => None,
    };
    let (items, base) = match list {
        Some(l) => l,
        None => {
            let (tag, payload, ppath) = r.tagged(v, path, REDUCERS, "reducer")?;
            if tag != "MULTI" {
                return reducer(r, tag, payload, &ppath).map(|x| vec![(x, ppath)]);
            }
            match payload {
                Value::Sequence(items) => (items, ppath),
                other => {
                    r.wrong_type(
                        other,
                        &ppath,
                        "a list of reducers",
                        Some("write MULTI: [COUNT, {SUM: {field: Volume}}]".into()),
                    );
                    return None;
                }
            }
        }
    };
    let mut out = Vec::new();
    let mut ok = true;
    for (i, item) in items.iter().enumerate() {
        let p = format!("{base}[{i}]");
        match r.tagged(item, &p, REDUCERS, "reducer") {
            Some(("MULTI" | "NOP", ..)) => {
                r.diag.error(
                    &p,
                    "MULTI may not contain MULTI or NOP",
                    Some("list plain reducers: [COUNT, {SUM: {field: Volume}}]".into()),
                );
                ok = false;
            }
            Some((tag, payload, ppath)) => match reducer(r, tag, payload, &ppath) {
                Some(x) => out.push((x, ppath)),
                None => ok = false,
            },
            None => ok = false,
        }
    }
    if out.is_empty() && ok {
        r.diag
            .error(&base, "MULTI needs at least one reducer", None);
        return None;
    }
    ok.then_some(out)
}

fn reducer(r: &mut Reader<'_>, tag: &str, payload: &Value, path: &str) -> Option<ReducerDecl> {
    match tag {
        "NOP" | "COUNT" => {
            if !payload.is_null() {
                r.wrong_type(
                    payload,
                    path,
                    "nothing",
                    Some(format!("write `reducer: {tag}`")),
                );
                return None;
            }
            Some(if tag == "NOP" {
                ReducerDecl::Nop
            } else {
                ReducerDecl::Count
            })
        }
        "VWAP" => {
            let m = r.mapping(
                payload,
                path,
                &["price", "quantity"],
                &["price", "quantity"],
                "VWAP: {price: price, quantity: quantity}",
            )?;
            let price = r.string(m.get("price")?, &field(path, "price"));
            let quantity = r.string(m.get("quantity")?, &field(path, "quantity"));
            Some(ReducerDecl::Vwap {
                price: price?,
                quantity: quantity?,
            })
        }
        _ => {
            let example = format!("{tag}: {{field: Volume}}");
            let m = r.mapping(payload, path, &["field"], &["field"], &example)?;
            let f = r.string(m.get("field")?, &field(path, "field"))?;
            Some(match tag {
                "SUM" => ReducerDecl::Sum(f),
                "FIRST" => ReducerDecl::First(f),
                "LAST" => ReducerDecl::Last(f),
                "MIN" => ReducerDecl::Min(f),
                "MAX" => ReducerDecl::Max(f),
                _ => ReducerDecl::Mean(f),
            })
        }
    }
}

fn event(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<EventDecl> {
    let (tag, payload, path) = r.tagged(v, path, &["Produce", "Consume"], "event rule")?;
    if tag == "Consume" {
        return r.string(payload, &path).map(EventDecl::Consume);
    }
    let (op, body, cpath) = r.tagged(payload, &path, CONDITIONS, "condition")?;
    let example = format!("{op}: {{field: sum_Volume, threshold: 1000}}");
    let m = r.mapping(
        body,
        &cpath,
        &["field", "threshold"],
        &["field", "threshold"],
        &example,
    )?;
    let f = r.string(m.get("field")?, &field(&cpath, "field"));
    let threshold = r.number(m.get("threshold")?, &field(&cpath, "threshold"));
    let op = match op {
        "GREATER" => CmpOp::Greater,
        "GREATER_EQUAL" => CmpOp::GreaterEqual,
        "LESS" => CmpOp::Less,
        "LESS_EQUAL" => CmpOp::LessEqual,
        "CROSSES_ABOVE" => CmpOp::CrossesAbove,
        "CROSSES_BELOW" => CmpOp::CrossesBelow,
        _ => CmpOp::Crosses,
    };
    Some(EventDecl::Produce(ConditionDecl {
        op,
        field: f?,
        threshold: threshold?,
    }))
}
