//! The `runtime:` section: waiting, placement, ring capacity, metrics, backpressure.

use serde_yaml::Value;

use crate::config::model::*;
use crate::config::reader::{field, Reader};

pub(super) fn runtime(r: &mut Reader<'_>, v: &Value) -> Option<RuntimeConfig> {
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
                .tagged(
                    v,
                    path,
                    &["auto", "single", "inline", "per_tube"],
                    "placement",
                )?
                .0
            {
                "auto" => Some(Placement::Auto),
                "single" => Some(Placement::Single),
                "inline" => Some(Placement::Inline),
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
