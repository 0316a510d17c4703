//! Output schemas: which fields each through emits, where each reducer and sink column finds its input, and
//! which fields of a generator anyone reads.

use std::collections::HashMap;

use super::fields::{input_fields, missing_field, Input};
use super::model::{Graph, NodeKind, OpSpec, Port, SinkColumn, Texts, ThroughSpec, TriggerSpec};
use crate::base::datapoint::TubeId;
use crate::config::{closest, suggest, Diagnostics, EventDecl, ReducerDecl, ThroughDecl};
use crate::plugin::Cell;

impl Graph {
    /// Which fields of tube `id`'s output some consumer reads: a reducer's input, a sink column, or anything
    /// that passes through a NOP (which is treated as reading every field). Generators parse only these.
    pub fn used_fields(&self, id: TubeId) -> Vec<bool> {
        let n = self.nodes[id as usize].schema.len();
        let mut used = vec![false; n];
        for node in &self.nodes {
            for (p, port) in node.ports.iter().enumerate() {
                if *port != Port::Data(id) {
                    continue;
                }
                match &node.kind {
                    NodeKind::Through(t) if t.nop => return vec![true; n],
                    NodeKind::Through(t) => {
                        if let Some(s) = t.key.as_ref().and_then(|k| k.slots.get(p)) {
                            used[*s as usize] = true;
                        }
                        for op in &t.ops {
                            for slot in [op.slots.get(p), op.slots2.get(p)].into_iter().flatten() {
                                used[*slot as usize] = true;
                            }
                        }
                    }
                    NodeKind::Sink { columns, .. } => {
                        for c in columns.iter().filter(|c| c.port == p) {
                            used[c.slot as usize] = true;
                        }
                    }
                    _ => {}
                }
            }
        }
        used
    }
}

impl Graph {
    /// What each column of sink `id` holds: the count of a COUNT reducer is a whole number, every other
    /// value a double (a NOP passes values on without saying what they are).
    pub fn column_kinds(&self, id: TubeId) -> Vec<Cell> {
        let node = &self.nodes[id as usize];
        let NodeKind::Sink { columns, .. } = &node.kind else {
            return Vec::new();
        };
        let kind = |c: &SinkColumn| {
            if c.text.is_some() {
                return Cell::Text;
            }
            let Some(Port::Data(src)) = node.ports.get(c.port) else {
                return Cell::Real;
            };
            match &self.nodes[*src as usize].kind {
                NodeKind::Through(t) if !t.nop => match t.ops.get(c.slot as usize) {
                    Some(op) if op.reducer == ReducerDecl::Count => Cell::Int,
                    _ => Cell::Real,
                },
                _ => Cell::Real,
            }
        };
        columns.iter().map(kind).collect()
    }
}

pub(super) fn output_name(r: &ReducerDecl) -> String {
    match r {
        ReducerDecl::Nop => String::new(),
        ReducerDecl::Count => "count".into(),
        ReducerDecl::Sum(f) => format!("sum_{f}"),
        ReducerDecl::First(f) => format!("first_{f}"),
        ReducerDecl::Last(f) => format!("last_{f}"),
        ReducerDecl::Min(f) => format!("min_{f}"),
        ReducerDecl::Max(f) => format!("max_{f}"),
        ReducerDecl::Mean(f) => format!("mean_{f}"),
        ReducerDecl::Vwap { .. } => "vwap".into(),
    }
}

/// Whether `field`, missing from an input, is one of its unsure outputs: then the cause upstream has
/// been reported, and this would only repeat it.
fn follows_from(field: &str, unsure: &[String]) -> bool {
    unsure.iter().any(|u| u == field)
}

/// Reducer `r` with its input field `k` replaced by `with`.
fn with_field(r: &ReducerDecl, k: usize, with: &str) -> ReducerDecl {
    let w = with.to_string();
    match r {
        ReducerDecl::Vwap { quantity, .. } if k == 0 => ReducerDecl::Vwap {
            price: w,
            quantity: quantity.clone(),
        },
        ReducerDecl::Vwap { price, .. } => ReducerDecl::Vwap {
            price: price.clone(),
            quantity: w,
        },
        ReducerDecl::Sum(_) => ReducerDecl::Sum(w),
        ReducerDecl::First(_) => ReducerDecl::First(w),
        ReducerDecl::Last(_) => ReducerDecl::Last(w),
        ReducerDecl::Min(_) => ReducerDecl::Min(w),
        ReducerDecl::Max(_) => ReducerDecl::Max(w),
        ReducerDecl::Mean(_) => ReducerDecl::Mean(w),
        other => other.clone(),
    }
}

/// The names reducer `r` emits or would emit while its input field `k`, missing from `schema`, is
/// misspelt: what it emits now, and what it would emit with the closest field of `schema`.
fn unsure_outputs(r: &ReducerDecl, k: usize, field: &str, schema: &[String]) -> Vec<String> {
    let mut out = vec![output_name(r)];
    if let Some(c) = closest(field, schema.iter().map(String::as_str)) {
        out.push(output_name(&with_field(r, k, c)));
    }
    out
}

/// The YAML path of input field `k` of reducer `r` at `rpath`.
fn field_path(rpath: &str, r: &ReducerDecl, k: usize) -> String {
    let key = match (r, k) {
        (ReducerDecl::Vwap { .. }, 0) => "price",
        (ReducerDecl::Vwap { .. }, _) => "quantity",
        _ => "field",
    };
    format!("{rpath}.{key}")
}

/// A through's output schema (with what each field stands for) and spec. `Err` holds the outputs that
/// stand on a missing field (empty when the errors were of another kind); every error is reported in
/// `diag`, and `dependents` (what reads this tube) is named in the help of a missing field. `batch`:
/// the input ends (a window then closes at the end); `tick`: the event it consumes is a tick.
pub(super) fn through(
    diag: &mut Diagnostics,
    path: &str,
    (th, batch, tick): (&ThroughDecl, bool, bool),
    inputs: &[Input<'_>],
    dependents: &[String],
) -> Result<(Vec<String>, Texts, ThroughSpec), Vec<String>> {
    let rpath = format!("{path}.reducer");
    let nop = th.reducers == [ReducerDecl::Nop];
    let mut ok = true;
    let mut ops = Vec::new();
    let mut unsure = Vec::new();
    let schema: Vec<String> = if nop {
        let first = inputs[0].schema;
        for inp in &inputs[1..] {
            if inp.schema != first {
                diag.error(
                    &rpath,
                    format!(
                        "NOP passes its input through, but '{}' and '{}' emit different fields",
                        inputs[0].label, inp.label
                    ),
                    Some(
                        "feed a NOP from tubes with the same fields, or use one NOP per input"
                            .into(),
                    ),
                );
                ok = false;
            }
        }
        unsure.extend(inputs.iter().flat_map(|i| i.unsure.iter().cloned()));
        first.to_vec()
    } else {
        for (r, rp) in th.reducers.iter().zip(&th.reducer_paths) {
            let mut slots = [Vec::new(), Vec::new()];
            for (k, f) in input_fields(r).into_iter().enumerate() {
                for inp in inputs {
                    match inp.schema.iter().position(|x| x == f) {
                        Some(slot) => slots[k].push(slot as u8),
                        None => {
                            if !follows_from(f, inp.unsure) {
                                let fp = field_path(rp, r, k);
                                missing_field(diag, &fp, f, inp.label, inp.schema, dependents);
                            }
                            unsure.extend(unsure_outputs(r, k, f, inp.schema));
                            ok = false;
                        }
                    }
                }
            }
            let [slots, slots2] = slots;
            ops.push(OpSpec {
                reducer: r.clone(),
                slots,
                slots2,
            });
        }
        let names: Vec<String> = th.reducers.iter().map(output_name).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                diag.error(
                    &rpath,
                    format!("two reducers both emit '{name}'"),
                    Some("list each reducer once".into()),
                );
                ok = false;
            }
        }
        names
    };
    let mut schema = schema;
    let mut texts = if nop {
        inputs[0].texts.to_vec()
    } else {
        vec![None; schema.len()]
    };
    let added = super::window::add(
        diag,
        path,
        th,
        inputs,
        (&mut schema, &mut texts),
        (nop, batch, tick),
    );
    ok &= added.is_some();
    let trigger = trigger(diag, path, th.event.as_ref(), &schema, &unsure);
    ok &= trigger.is_some();
    match (ok, trigger, added) {
        (true, Some(trigger), Some(a)) => {
            let (window, key) = (a.window, a.key);
            let spec = ThroughSpec {
                ops,
                nop,
                trigger,
                window,
                key,
            };
            Ok((schema, texts, spec))
        }
        _ => Err(unsure),
    }
}

/// When a through emits; `None` after reporting a `Produce` field it does not emit (unless that field
/// is one of its `unsure` outputs, whose cause is reported).
fn trigger(
    diag: &mut Diagnostics,
    path: &str,
    event: Option<&EventDecl>,
    schema: &[String],
    unsure: &[String],
) -> Option<TriggerSpec> {
    let c = match event {
        None => return Some(TriggerSpec::Always),
        Some(EventDecl::Consume(_)) => return Some(TriggerSpec::Consume),
        Some(EventDecl::Produce(c)) => c,
    };
    if let Some(slot) = schema.iter().position(|x| *x == c.field) {
        return Some(TriggerSpec::Produce {
            op: c.op,
            slot: slot as u8,
            threshold: c.threshold,
        });
    }
    if follows_from(&c.field, unsure) {
        return None;
    }
    let names: Vec<&str> = schema.iter().map(String::as_str).collect();
    diag.error(
        &format!("{path}.event.Produce"),
        format!("field '{}' is not emitted by this tube", c.field),
        Some(match closest(&c.field, names.iter().copied()) {
            Some(s) => format!("did you mean '{s}'? it emits: {}", names.join(", ")),
            None => format!(
                "a Produce condition tests the tube's own output: {}",
                names.join(", ")
            ),
        }),
    );
    None
}

/// The tube a sink's `fields` key names: a label, or the market symbol one generator streams
/// (`BTCUSDT` for `market: btcusdt`, ignoring case). A key that names two tubes (a label and another
/// generator's market, or two generators' market) is refused. `None` after saying why not.
fn tube_named(
    diag: &mut Diagnostics,
    fpath: &str,
    key: &str,
    (ids, symbols): (&HashMap<&str, TubeId>, &[(String, TubeId)]),
    labels: &[&str],
) -> Option<TubeId> {
    let mut named: Vec<TubeId> = ids.get(key).copied().into_iter().collect();
    for &(ref s, id) in symbols {
        if s.eq_ignore_ascii_case(key) && !named.contains(&id) {
            named.push(id);
        }
    }
    match named.as_slice() {
        [id] => return Some(*id),
        [] => diag.error(
            fpath,
            format!("'{key}' names no tube and no generator's market"),
            Some(suggest(key, labels)),
        ),
        many => {
            let names: Vec<&str> = many.iter().map(|&i| labels[i as usize]).collect();
            let what = if ids.contains_key(key) {
                "a label and the market of another generator"
            } else {
                "the market of several generators"
            };
            diag.error(
                fpath,
                format!("'{key}' is {what}: it names {}", names.join(", ")),
                Some("name the generator by a label that is no market's symbol".into()),
            );
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
pub(super) fn sink_columns(
    diag: &mut Diagnostics,
    path: &str,
    fields: &[(String, Vec<String>)],
    (ids, symbols): (&HashMap<&str, TubeId>, &[(String, TubeId)]),
    labels: &[&str],
    data_in: &[Vec<TubeId>],
    (schemas, texts): (&[Option<Vec<String>>], &[Texts]),
    unsure: &[Vec<String>],
    me: usize,
) -> Option<Vec<SinkColumn>> {
    let mut ok = true;
    let mut columns = Vec::new();
    let inputs = &data_in[me];
    for (label, names) in fields {
        let fpath = format!("{path}.fields.{label}");
        let Some(id) = tube_named(diag, &fpath, label, (ids, symbols), labels) else {
            ok = false;
            continue;
        };
        // The sink inputs through which `id`'s data reaches the sink.
        let via: Vec<usize> = inputs
            .iter()
            .enumerate()
            .filter(|&(_, &inp)| inp == id || reaches(data_in, id, inp))
            .map(|(p, _)| p)
            .collect();
        let input_names: Vec<&str> = inputs.iter().map(|&i| labels[i as usize]).collect();
        let port = match via.as_slice() {
            [p] => *p,
            [] => {
                diag.error(
                    &fpath,
                    format!("'{label}' does not send data to this sink"),
                    Some(format!(
                        "name one of its inputs ({}) or a tube upstream of them",
                        input_names.join(", ")
                    )),
                );
                ok = false;
                continue;
            }
            many => {
                let names: Vec<&str> = many.iter().map(|&p| input_names[p]).collect();
                diag.error(
                    &fpath,
                    format!(
                        "'{label}' reaches this sink through several inputs: {}",
                        names.join(", ")
                    ),
                    Some("name the input tube itself instead".into()),
                );
                ok = false;
                continue;
            }
        };
        let src = inputs[port] as usize;
        let Some(schema) = schemas[src].as_ref() else {
            // That input had errors of its own, already reported.
            ok = false;
            continue;
        };
        for (k, f) in names.iter().enumerate() {
            match schema.iter().position(|x| x == f) {
                Some(slot) => columns.push(SinkColumn {
                    name: format!("{label}.{f}"),
                    port,
                    slot: slot as u8,
                    text: texts[src].get(slot).copied().flatten(),
                }),
                None => {
                    if !follows_from(f, &unsure[src]) {
                        let p = format!("{fpath}[{k}]");
                        missing_field(diag, &p, f, labels[src], schema, &[]);
                    }
                    ok = false;
                }
            }
        }
    }
    ok.then_some(columns)
}

/// Whether data flows from `from` to `to` (following data edges backwards from `to`).
pub(super) fn reaches(data_in: &[Vec<TubeId>], from: TubeId, to: TubeId) -> bool {
    let mut stack = vec![to];
    let mut seen = vec![false; data_in.len()];
    while let Some(t) = stack.pop() {
        for &s in &data_in[t as usize] {
            if s == from {
                return true;
            }
            if !seen[s as usize] {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{CmpOp, ConditionDecl, Positions};

    fn diag() -> Diagnostics {
        Diagnostics::new(Path::new("t.yaml"), Positions::default())
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn decl(reducers: Vec<ReducerDecl>, event: Option<EventDecl>) -> ThroughDecl {
        let reducer_paths = (0..reducers.len())
            .map(|i| format!("tubes[0].Through.reducer.MULTI[{i}].R"))
            .collect();
        ThroughDecl {
            reducers,
            reducer_paths,
            event,
            window: None,
            key: None,
        }
    }

    fn produce(field: &str) -> Option<EventDecl> {
        Some(EventDecl::Produce(ConditionDecl {
            op: CmpOp::Greater,
            field: field.into(),
            threshold: 1.0,
        }))
    }

    #[test]
    fn each_reducer_reads_its_field_from_each_ports_own_slot() {
        let (a, b) = (strings(&["p", "q"]), strings(&["q", "x", "p"]));
        let inputs = [
            Input {
                label: "a",
                texts: &[],
                schema: &a,
                unsure: &[],
            },
            Input {
                label: "b",
                texts: &[],
                schema: &b,
                unsure: &[],
            },
        ];
        let th = decl(
            vec![
                ReducerDecl::Count,
                ReducerDecl::Sum("p".into()),
                ReducerDecl::Vwap {
                    price: "p".into(),
                    quantity: "q".into(),
                },
            ],
            produce("sum_p"),
        );
        let mut d = diag();
        let (schema, _, spec) =
            through(&mut d, "tubes[0].Through", (&th, true, false), &inputs, &[]).unwrap();
        assert!(d.is_empty());
        assert_eq!(schema, ["count", "sum_p", "vwap"]);
        assert_eq!(
            spec.ops[1].slots,
            [0, 2],
            "p is slot 0 of a and slot 2 of b"
        );
        assert_eq!(
            (spec.ops[2].slots.clone(), spec.ops[2].slots2.clone()),
            (vec![0, 2], vec![1, 0])
        );
        assert_eq!(
            spec.trigger,
            TriggerSpec::Produce {
                op: CmpOp::Greater,
                slot: 1,
                threshold: 1.0
            }
        );
    }

    #[test]
    fn a_missing_field_leaves_its_output_and_the_intended_one_unsure() {
        let a = strings(&["Volume"]);
        let inputs = [Input {
            label: "a",
            texts: &[],
            schema: &a,
            unsure: &[],
        }];
        let th = decl(
            vec![ReducerDecl::Sum("Volumen".into())],
            produce("sum_Volume"),
        );
        let mut d = diag();
        let unsure =
            through(&mut d, "tubes[0].Through", (&th, true, false), &inputs, &[]).unwrap_err();
        assert_eq!(unsure, ["sum_Volumen", "sum_Volume"]);
        // The field is reported; the Produce on the intended name is not.
        let errors = d.into_errors().0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "tubes[0].Through.reducer.MULTI[0].R.field");
    }

    #[test]
    fn a_field_an_upstream_typo_leaves_unsure_is_not_reported_again() {
        let a = strings(&["sum_Volumen"]);
        let unsure = strings(&["sum_Volumen", "sum_Volume"]);
        let inputs = [Input {
            label: "a",
            texts: &[],
            schema: &a,
            unsure: &unsure,
        }];
        let th = decl(vec![ReducerDecl::Max("sum_Volume".into())], None);
        let mut d = diag();
        let out =
            through(&mut d, "tubes[0].Through", (&th, true, false), &inputs, &[]).unwrap_err();
        assert!(d.is_empty(), "no second error");
        assert!(out.contains(&"max_sum_Volume".to_string()), "{out:?}");
    }

    #[test]
    fn two_reducers_emitting_one_name_are_refused() {
        let a = strings(&["p"]);
        let inputs = [Input {
            label: "a",
            texts: &[],
            schema: &a,
            unsure: &[],
        }];
        let th = decl(
            vec![ReducerDecl::Sum("p".into()), ReducerDecl::Sum("p".into())],
            None,
        );
        let mut d = diag();
        assert_eq!(
            through(&mut d, "t", (&th, true, false), &inputs, &[]).unwrap_err(),
            Vec::<String>::new()
        );
        assert!(d.into_errors().0[0].message.contains("both emit 'sum_p'"));
    }
}
