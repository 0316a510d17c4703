//! `serde_yaml::Value` → [`Config`], recording every problem.

use std::path::PathBuf;

use serde_yaml::Value;

mod external;
mod runtime;
mod sink;
mod through;
mod window;

use super::model::*;
use super::reader::{field, Reader};

const TUBE_KINDS: &[&str] = &["Generator", "Through", "Sink", "ExternalEvent"];

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
    let mut unchecked = Vec::new();
    let tubes = match top.get("tubes") {
        Some(Value::Sequence(items)) => {
            let mut tubes = Vec::new();
            for (i, t) in items.iter().enumerate() {
                tubes.extend(tube(r, t, &format!("tubes[{i}]"), &mut unchecked));
            }
            tubes
        }
        Some(other) => {
            r.wrong_type(other, "tubes", "a list of tubes", None);
            Vec::new()
        }
        None => Vec::new(),
    };
    let runtime = match top.get("runtime") {
        Some(v) => runtime::runtime(r, v).unwrap_or_default(),
        None => RuntimeConfig::default(),
    };
    let journal = top.get("journal").and_then(|j| journal(r, j));
    // With an unusable pipeline_type (already reported) the graph is still checked, as a Stream.
    Some(Config {
        file,
        text: "".into(),
        pipeline: pipeline.unwrap_or(PipelineType::Stream),
        tubes,
        runtime,
        journal,
        unchecked,
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
                let every = r.duration(payload, &p)?;
                if every.is_zero() {
                    r.diag.error(
                        &p,
                        "the interval must be longer than zero",
                        Some("write sync: {every: 100ms}".into()),
                    );
                    return None;
                }
                SyncPolicy::Every(every)
            }
        };
    }
    if let Some(n) = m.get("segment_records") {
        let n = r.uint(n, "journal.segment_records")?;
        let most = crate::journal::format::MAX_SEGMENT_RECORDS;
        if n == 0 || n > most {
            r.diag.error(
                "journal.segment_records",
                format!("a segment holds 1 to {most} records, not {n}"),
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

/// Reads one tube. The plug-in entries of a tube that is dropped (no label) or left a placeholder go to
/// `unchecked`, so their kinds still read them and their mistakes are reported too.
fn tube(
    r: &mut Reader<'_>,
    v: &Value,
    path: &str,
    unchecked: &mut Vec<(PluginRole, PluginDecl)>,
) -> Option<TubeDecl> {
    let (tag, body, path) = r.tagged(v, path, TUBE_KINDS, "tube kind")?;
    let (allowed, required, example): (&[&str], &[&str], &str) = match tag {
        "Generator" => (
            &["label", "datasource", "to_label"],
            &["label", "datasource"],
            "Generator: {label: btc, datasource: {CSV: file.csv}, to_label: next}",
        ),
        "Through" => (
            &[
                "label", "reducer", "event", "to_label", "window", "key", "keys", "max_keys",
            ],
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
        "Through" => through::through(r, m, &path).map(TubeKind::Through),
        "Sink" => sink::sink(r, m, &path).map(TubeKind::Sink),
        _ => m
            .get("condition")
            .and_then(|c| external::external(r, c, &field(&path, "condition")))
            .map(TubeKind::ExternalEvent),
    };
    // A body with errors (already reported) keeps its label, so the rest of the graph is still checked.
    let name = TUBE_KINDS
        .iter()
        .copied()
        .find(|k| *k == tag)
        .unwrap_or("tube");
    let kind = kind.unwrap_or(TubeKind::Invalid(name));
    let Some(label) = label else {
        match kind {
            TubeKind::Generator(d) => unchecked.push((PluginRole::Source, d)),
            TubeKind::Sink(s) => {
                unchecked.extend(s.outputs.into_iter().map(|o| (PluginRole::Sink, o)))
            }
            TubeKind::Invalid("Sink") => unchecked.extend(
                sink::outputs(m, &path)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|o| (PluginRole::Sink, o)),
            ),
            _ => {}
        }
        return None;
    };
    if let TubeKind::Invalid("Sink") = kind {
        let outputs = sink::outputs(m, &path).unwrap_or_default();
        unchecked.extend(outputs.into_iter().map(|o| (PluginRole::Sink, o)));
    }
    Some(TubeDecl {
        label,
        to,
        kind,
        path,
    })
}
