//! What a journal records about the graph whose datapoints it holds.

use super::model::{Graph, NodeKind};
use crate::base::datapoint::TubeId;
use crate::journal::{format, Meta, TubeMeta};

/// The description of a journal recording the input of graph `g`: its config's text and hash, and every
/// tube's label, kind and fields.
pub fn journal_meta(g: &Graph, content: &str, segment_records: u64) -> Meta {
    let config = g.text.to_string();
    Meta {
        id: 0,
        format: "tubes-journal".into(),
        version: format::VERSION,
        content: content.into(),
        segment_records,
        config_hash: format::hash_text(&config),
        config_file: g.file.display().to_string(),
        config,
        tubes: g
            .nodes
            .iter()
            .enumerate()
            .map(|(id, n)| TubeMeta {
                label: n.label.clone(),
                kind: match n.kind {
                    NodeKind::Through(_) => "Through",
                    NodeKind::Sink { .. } => "Sink",
                    NodeKind::Tick(_) => "ExternalEvent",
                    _ => "Generator",
                }
                .into(),
                fields: n.schema.clone(),
                recorded: (content == "input" && n.kind.is_generator()).then(|| {
                    let used = g.used_fields(id as TubeId);
                    let read = n.schema.iter().zip(used).filter(|(_, u)| *u);
                    read.map(|(f, _)| f.clone()).collect()
                }),
            })
            .collect(),
    }
}
