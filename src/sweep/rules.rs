//! What a sweep asks of its combinations beyond being valid configs: a Batch range and no journal,
//! outputs a sweep can write, the same columns in every combination that writes a file, and parameter
//! names that are not column names. (That no two outputs of one combination write a file is every
//! config's rule.)

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use crate::config::{field, ConfigErrors, PipelineType, Template};
use crate::graph::{Graph, NodeKind};
use crate::plugin::SinkOutput;

/// The files written so far: by normalised target, the first combination writing it, its header, and
/// its settings (the output's description).
#[derive(Default)]
pub(super) struct Outputs(HashMap<String, (usize, Vec<String>, String)>);

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
    for node in &g.nodes {
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
                    Some("write a sweep's rows to CSV, NDJSON, Parquet, SQLite or Stdout".into()),
                );
                continue;
            }
            let settings = format!("{o:?}");
            match outputs.0.get(&target) {
                Some((first, _, was)) if *was != settings => diag.error(
                    &at,
                    format!(
                        "{} is written here with other settings than by combination {} ({settings}, there {was})",
                        o.target(),
                        first + 1
                    ),
                    Some("combinations that write one file write it alike (the same table, mode, row group): put the parameter in the file's path instead, e.g. out/${coin}.sqlite".into()),
                ),
                Some((first, cols, _)) if *cols != header => diag.error(
                    &at,
                    format!(
                        "{} gets the columns [{}] here, but [{}] from combination {}",
                        o.target(),
                        header.join(", "),
                        cols.join(", "),
                        first + 1
                    ),
                    Some("combinations that write one file must write the same columns: put the parameters that change the columns in the file's path, e.g. out/${coin}.csv".into()),
                ),
                Some(_) => {}
                None => {
                    outputs.0.insert(target, (k, header.clone(), settings));
                }
            }
        }
    }
    diag.into_errors()
}
