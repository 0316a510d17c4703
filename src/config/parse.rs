//! `serde_yaml::Value` → [`Config`], recording every problem.

use std::path::PathBuf;

use serde_yaml::{Mapping, Value};

use super::model::*;
use super::reader::{field, Reader};

const TUBE_KINDS: &[&str] = &["Generator", "Through", "Sink", "ExternalEvent"];
const REDUCERS: &[&str] = &[
    "NOP", "COUNT", "SUM", "FIRST", "LAST", "MIN", "MAX", "MEAN", "VWAP", "MULTI",
];
const CONDITIONS: &[&str] = &["GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL", "CROSSES"];

/// Reads a whole config document.
pub fn config(r: &mut Reader<'_>, doc: &Value) -> Option<Config> {
    let file = r.diag.file().to_path_buf();
    let top = r.mapping(
        doc,
        "",
        &["pipeline_type", "tubes", "runtime", "journal"],
        &["pipeline_type", "tubes"],
        "pipeline_type: {Batch: [from, to]} and tubes: [...]",
    )?;
    let pipeline = top.get("pipeline_type").and_then(|v| pipeline(r, v));
    let tubes = match top.get("tubes") {
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, t)| tube(r, t, &format!("tubes[{i}]")))
            .collect(),
        Some(other) => {
            r.wrong_type(other, "tubes", "a list of tubes", None);
            Vec::new()
        }
        None => Vec::new(),
    };
    let runtime = match top.get("runtime") {
        Some(v) => runtime(r, v).unwrap_or_default(),
        None => RuntimeConfig::default(),
    };
    let journal = top.get("journal").and_then(|j| journal(r, j));
    // With an unusable pipeline_type (already reported) the graph is still checked, as a Stream.
    Some(Config {
        file,
        pipeline: pipeline.unwrap_or(PipelineType::Stream),
        tubes,
        runtime,
        journal,
    })
}

/// `journal: DIR` or `journal: {dir, sync: never|segment|{every: 100ms}, segment_records}`.
fn journal(r: &mut Reader<'_>, v: &Value) -> Option<JournalDecl> {
    use crate::journal::SyncPolicy;
    let mut decl = JournalDecl {
        dir: PathBuf::new(),
        sync: SyncPolicy::Never,
        segment_records: SEGMENT_RECORDS,
    };
    if let Value::String(d) = v {
        decl.dir = PathBuf::from(d);
        return Some(decl);
    }
    let m = r.mapping(
        v,
        "journal",
        &["dir", "sync", "segment_records"],
        &["dir"],
        "journal: {dir: out/journal, sync: segment}",
    )?;
    decl.dir = PathBuf::from(r.string(m.get("dir")?, "journal.dir")?);
    if let Some(s) = m.get("sync") {
        let (tag, payload, p) = r.tagged(
            s,
            "journal.sync",
            &["never", "segment", "every"],
            "sync policy",
        )?;
        decl.sync = match tag {
            "never" => SyncPolicy::Never,
            "segment" => SyncPolicy::Segment,
            _ => {
                let ns = r.duration(payload, &p)?;
                if ns <= 0 {
                    r.diag.error(
                        &p,
                        "the interval must be longer than zero",
                        Some("write sync: {every: 100ms}".into()),
                    );
                    return None;
                }
                SyncPolicy::Every(std::time::Duration::from_nanos(ns as u64))
            }
        };
    }
    if let Some(n) = m.get("segment_records") {
        let n = r.uint(n, "journal.segment_records")?;
        if n == 0 {
            r.diag.error(
                "journal.segment_records",
                "a segment must hold at least one record",
                Some("the default is 65536".into()),
            );
            return None;
        }
        decl.segment_records = n;
    }
    Some(decl)
}

fn pipeline(r: &mut Reader<'_>, v: &Value) -> Option<PipelineType> {
    let (tag, payload, path) =
        r.tagged(v, "pipeline_type", &["Batch", "Stream"], "pipeline type")?;
    if tag == "Stream" {
        if !payload.is_null() {
            r.wrong_type(
                payload,
                &path,
                "nothing",
                Some("write `pipeline_type: Stream`".into()),
            );
        }
        return Some(PipelineType::Stream);
    }
    let help = "write Batch: [\"2023-03-17T00:00:00Z\", \"2023-05-01T00:00:00Z\"]";
    let Some(range) = payload.as_sequence().filter(|s| s.len() == 2) else {
        r.wrong_type(
            payload,
            &path,
            "a list of two times [from, to]",
            Some(help.into()),
        );
        return None;
    };
    let from = r.time(&range[0], &format!("{path}[0]"));
    let to = r.time(&range[1], &format!("{path}[1]"));
    let (from, to) = (from?, to?);
    if from >= to {
        r.diag.error(
            &path,
            format!(
                "the Batch range is {}: from {} is not before to {}",
                if from == to { "empty" } else { "inverted" },
                crate::base::time::rfc3339(from),
                crate::base::time::rfc3339(to)
            ),
            Some("a Batch range is [from, to): put the earlier time first".into()),
        );
        return None;
    }
    Some(PipelineType::Batch { from, to })
}

fn tube(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<TubeDecl> {
    let (tag, body, path) = r.tagged(v, path, TUBE_KINDS, "tube kind")?;
    let (allowed, required, example): (&[&str], &[&str], &str) = match tag {
        "Generator" => (
            &["label", "datasource", "to_label"],
            &["label", "datasource"],
            "Generator: {label: btc, datasource: {CSV: file.csv}, to_label: next}",
        ),
        "Through" => (
            &["label", "reducer", "event", "to_label"],
            &["label", "reducer"],
            "Through: {label: sum, reducer: {SUM: {field: Volume}}, to_label: sink}",
        ),
        "Sink" => (
            &["label", "datasink", "fields"],
            &["label", "datasink", "fields"],
            "Sink: {label: sink, datasink: Stdout, fields: {tube: [field]}}",
        ),
        _ => (
            &["label", "condition"],
            &["label", "condition"],
            "ExternalEvent: {label: tick, condition: {StaticTimeTick: {from: …, to: …, interval: 60s}}}",
        ),
    };
    let m = r.mapping(body, &path, allowed, required, example)?;
    let label = m
        .get("label")
        .and_then(|l| r.string(l, &field(&path, "label")));
    let to = m
        .get("to_label")
        .map(|t| r.strings(t, &field(&path, "to_label")))
        .unwrap_or_default();
    let kind = match tag {
        "Generator" => m.get("datasource").map(|d| {
            TubeKind::Generator(PluginDecl {
                value: d.clone(),
                path: field(&path, "datasource"),
            })
        }),
        "Through" => through(r, m, &path).map(TubeKind::Through),
        "Sink" => sink(r, m, &path).map(TubeKind::Sink),
        _ => m
            .get("condition")
            .and_then(|c| external(r, c, &field(&path, "condition")))
            .map(TubeKind::ExternalEvent),
    };
    // A body with errors (already reported) keeps its label, so the rest of the graph is still checked.
    let name = TUBE_KINDS
        .iter()
        .copied()
        .find(|k| *k == tag)
        .unwrap_or("tube");
    let kind = kind.unwrap_or(TubeKind::Invalid(name));
    Some(TubeDecl {
        label: label?,
        to,
        kind,
        path,
    })
}

fn through(r: &mut Reader<'_>, m: &Mapping, path: &str) -> Option<ThroughDecl> {
    let reducers = reducers(r, m.get("reducer")?, &field(path, "reducer"));
    let event = match m.get("event") {
        Some(e) => Some(event(r, e, &field(path, "event"))?),
        None => None,
    };
    Some(ThroughDecl {
        reducers: reducers?,
        event,
    })
}

fn reducers(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<Vec<ReducerDecl>> {
    let list = match v {
        Value::Sequence(items) => Some((items, path.to_string())),
        _ => None,
    };
    let (items, base) = match list {
        Some(l) => l,
        None => {
            let (tag, payload, ppath) = r.tagged(v, path, REDUCERS, "reducer")?;
            if tag != "MULTI" {
                return reducer(r, tag, payload, &ppath).map(|x| vec![x]);
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
                Some(x) => out.push(x),
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
        _ => CmpOp::Crosses,
    };
    Some(EventDecl::Produce(ConditionDecl {
        op,
        field: f?,
        threshold: threshold?,
    }))
}

fn sink(r: &mut Reader<'_>, m: &Mapping, path: &str) -> Option<SinkDecl> {
    let dpath = field(path, "datasink");
    let outputs: Vec<PluginDecl> = match m.get("datasink")? {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, o)| PluginDecl {
                value: o.clone(),
                path: format!("{dpath}[{i}]"),
            })
            .collect(),
        other => vec![PluginDecl {
            value: other.clone(),
            path: dpath,
        }],
    };
    let fpath = field(path, "fields");
    let mut fields = Vec::new();
    match m.get("fields")? {
        Value::Mapping(fm) if !fm.is_empty() => {
            for (k, v) in fm {
                let Some(label) = k.as_str() else {
                    r.wrong_type(k, &fpath, "a tube label", None);
                    continue;
                };
                let names = r.strings(v, &field(&fpath, label));
                fields.push((label.to_string(), names));
            }
        }
        other => r.wrong_type(
            other,
            &fpath,
            "a mapping of tube label to fields",
            Some("write fields: {btc_vol_sum: [sum_Volume]}".into()),
        ),
    }
    Some(SinkDecl { outputs, fields })
}

fn external(r: &mut Reader<'_>, v: &Value, path: &str) -> Option<ExternalDecl> {
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
    if interval <= 0 {
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

fn runtime(r: &mut Reader<'_>, v: &Value) -> Option<RuntimeConfig> {
    let m = r.mapping(
        v,
        "runtime",
        &[
            "wait",
            "placement",
            "ring_capacity",
            "metrics",
            "backpressure",
        ],
        &[],
        "runtime: {wait: adaptive, placement: auto}",
    )?;
    let mut rt = RuntimeConfig::default();
    if let Some(w) = m.get("wait") {
        rt.wait = match r
            .tagged(
                w,
                "runtime.wait",
                &["spin", "yield", "park", "adaptive"],
                "wait strategy",
            )?
            .0
        {
            "spin" => WaitStrategy::Spin,
            "yield" => WaitStrategy::Yield,
            "park" => WaitStrategy::Park,
            _ => WaitStrategy::Adaptive,
        };
    }
    if let Some(p) = m.get("placement") {
        rt.placement = placement(r, p)?;
    }
    if let Some(b) = m.get("backpressure") {
        rt.drop_newest =
            r.tagged(
                b,
                "runtime.backpressure",
                &["block", "drop_newest"],
                "backpressure policy",
            )?
            .0 == "drop_newest";
    }
    if let Some(x) = m.get("metrics") {
        rt.metrics = match x {
            Value::Bool(b) => *b,
            _ => {
                r.tagged(x, "runtime.metrics", &["on", "off"], "metrics setting")?
                    .0
                    == "on"
            }
        };
    }
    if let Some(c) = m.get("ring_capacity") {
        let n = r.uint(c, "runtime.ring_capacity")?;
        if !(2..=1 << 24).contains(&n) || !n.is_power_of_two() {
            r.diag.error(
                "runtime.ring_capacity",
                format!("{n} is not a power of two between 2 and 16777216"),
                Some("use e.g. 1024 or 4096".into()),
            );
            return None;
        }
        rt.ring_capacity = n as usize;
    }
    Some(rt)
}

fn placement(r: &mut Reader<'_>, v: &Value) -> Option<Placement> {
    let path = "runtime.placement";
    let stages = match v {
        Value::Sequence(s) => (s, path.to_string()),
        Value::Mapping(_) => {
            let m = r.mapping(
                v,
                path,
                &["stages"],
                &["stages"],
                "placement: {stages: [{tubes: [a, b], core: 1}]}",
            )?;
            match m.get("stages")? {
                Value::Sequence(s) => (s, format!("{path}.stages")),
                other => {
                    r.wrong_type(other, &format!("{path}.stages"), "a list of stages", None);
                    return None;
                }
            }
        }
        _ => {
            return match r
                .tagged(v, path, &["auto", "single", "per_tube"], "placement")?
                .0
            {
                "auto" => Some(Placement::Auto),
                "single" => Some(Placement::Single),
                _ => Some(Placement::PerTube),
            };
        }
    };
    let (items, base) = stages;
    let mut out = Vec::new();
    for (i, s) in items.iter().enumerate() {
        let p = format!("{base}[{i}]");
        let Some(m) = r.mapping(
            s,
            &p,
            &["tubes", "core"],
            &["tubes"],
            "{tubes: [btc_vol_sum, sink], core: 1}",
        ) else {
            continue;
        };
        let tubes = m
            .get("tubes")
            .map(|t| r.strings(t, &field(&p, "tubes")))
            .unwrap_or_default();
        let core = m
            .get("core")
            .and_then(|c| r.uint(c, &field(&p, "core")))
            .map(|c| c as usize);
        out.push(StageDecl {
            tubes,
            core,
            path: p,
        });
    }
    Some(Placement::Explicit(out))
}
