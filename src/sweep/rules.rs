//! What a sweep asks of its combinations beyond being valid configs: a Batch range and no journal,
//! outputs a sweep can write, the same columns in every combination that writes a file, and parameter
//! names that are not column names, and one sink to each output of a combination. (That no two
//! outputs of one combination write a file is every config's rule; a single run may print two sinks
//! to stdout, a sweep may not.)

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::config::{field, ConfigErrors, Diagnostics, PipelineType, Template};
use crate::graph::{Graph, NodeKind};
use crate::plugin::{Cell, SinkOutput};

/// The files written so far: by normalised target, the first combination writing it, its header, its
/// settings (the output's description) and which of its columns hold text.
#[derive(Default)]
pub(super) struct Outputs(HashMap<String, Written>);

/// What the first combination writing a file writes to it.
struct Written {
    first: usize,
    header: Vec<String>,
    /// What the output is (`out/s.sqlite (table t_ETH)`), and its settings in full.
    target: String,
    settings: String,
    text: Vec<bool>,
}

/// `a/./b` and `a/b` name one file.
fn normalised(p: &Path) -> String {
    let clean: PathBuf = p.components().filter(|c| *c != Component::CurDir).collect();
    clean.display().to_string()
}

/// What identifies an output across combinations: its file, normalised, or its target (`stdout`).
pub(super) fn target_key(o: &dyn SinkOutput) -> String {
    o.writes().map_or_else(|| o.target(), normalised)
}

/// The errors of combination `k` (graph `g`) against the sweep's rules; `outputs` remembers what
/// earlier combinations wrote.
pub(super) fn combination(
    t: &Template,
    k: usize,
    g: &Graph,
    outputs: &mut Outputs,
) -> ConfigErrors {
    let mut diag = t.diagnostics();
    if g.pipeline == PipelineType::Stream {
        diag.error(
            "pipeline_type",
            "a sweep runs over history, not live",
            Some("write pipeline_type: {Batch: [from, to]}".into()),
        );
    }
    if g.journal.is_some() {
        diag.error(
            "journal",
            "a sweep does not record a journal",
            Some("remove journal:, or record a single run of one combination".into()),
        );
    }
    let params = t.sweep.as_ref().map_or(Vec::new(), |s| s.params());
    // The stdout outputs this combination writes, and the sink that writes each first.
    let mut here: HashMap<String, String> = HashMap::new();
    for (id, node) in g.nodes.iter().enumerate() {
        let NodeKind::Sink {
            outputs: outs,
            columns,
        } = &node.kind
        else {
            continue;
        };
        let at = field(&node.path, "datasink");
        let mut header: Vec<String> = vec!["timestamp".into()];
        header.extend(columns.iter().map(|c| c.name.clone()));
        for p in params
            .iter()
            .filter(|p| header.iter().any(|h| h == *p) || **p == "status")
        {
            diag.error(
                "sweep",
                format!("the parameter '{p}' has the name of an output column of sink '{}'", node.label),
                Some("rename the parameter: its column comes first in every row, and two columns may not share a name".into()),
            );
        }
        for o in outs {
            let target = target_key(o.as_ref());
            if !o.can_sweep() {
                diag.error(
                    &at,
                    format!("{} cannot be a sweep's output: its records have no room for the parameter columns", o.target()),
                    Some("write a sweep's rows to CSV, NDJSON, Parquet, SQLite, Postgres or Stdout".into()),
                );
                continue;
            }
            // A file written twice is refused when the graph is checked; stdout may be, in a single
            // run, but a combination's output is one part, which one writer fills.
            let first = (o.is_stdout())
                .then(|| here.insert(target.clone(), node.path.clone()))
                .flatten();
            if let Some(first) = first {
                diag.error(
                    &at,
                    format!("{} is also written by the sink at {first}: in a sweep, each output of a combination has one sink", o.target()),
                    Some("give one of the sinks a file of its own".into()),
                );
                continue;
            }
            let settings = format!("{o:?}");
            // Which columns hold text matters only to outputs whose columns have one type.
            let text: Vec<bool> = if o.typed_columns() {
                let kinds = g.column_kinds(id as _);
                kinds.iter().map(|k| *k == Cell::Text).collect()
            } else {
                Vec::new()
            };
            let now = Written {
                first: k,
                header: header.clone(),
                target: o.target(),
                settings,
                text,
            };
            match outputs.0.get(&target) {
                Some(was) => differs(o.as_ref(), &now, was, &at, &mut diag),
                None => {
                    outputs.0.insert(target, now);
                }
            }
        }
    }
    diag.into_errors()
}

/// The errors of output `o` written by a combination as `now`, against how an earlier combination
/// wrote it (`was`): one file is written alike, with the same columns, holding the same types.
fn differs(o: &dyn SinkOutput, now: &Written, was: &Written, at: &str, diag: &mut Diagnostics) {
    let first = was.first + 1;
    let (settings, header, text) = (&now.settings, &now.header, &now.text);
    if was.settings != *settings {
        // The target names what differs (the table) when it does; the settings in full otherwise.
        let (here, there) = match now.target != was.target {
            true => (&now.target, &was.target),
            false => (settings, &was.settings),
        };
        diag.error(
            at,
            format!(
                "{} is written here with other settings than by combination {first} (here {here}, there {there})",
                o.target(),
            ),
            Some("combinations that write one file write it alike (the same table, mode, row group): put the parameter in the file's path instead, e.g. out/${coin}.sqlite".into()),
        );
    } else if was.header != *header {
        diag.error(
            at,
            format!(
                "{} gets the columns [{}] here, but [{}] from combination {first}",
                o.target(),
                header.join(", "),
                was.header.join(", "),
            ),
            Some("combinations that write one file must write the same columns: put the parameters that change the columns in the file's path, e.g. out/${coin}.csv".into()),
        );
    } else if was.text != *text {
        let i = (0..text.len())
            .find(|&i| text[i] != was.text[i])
            .unwrap_or(0);
        let kind = |t: bool| if t { "text" } else { "numbers" };
        diag.error(
            at,
            format!(
                "{} gets {} in column '{}' here, but {} from combination {first}",
                o.target(),
                kind(text[i]),
                header[i + 1],
                kind(was.text[i]),
            ),
            Some("a Parquet, SQLite or Postgres column holds one type: put the parameter that changes it in the file's path or the table's name, e.g. out/${coin}.parquet".into()),
        );
    }
}
