//! What a journal records about the graph whose datapoints it holds.

use super::model::{Graph, NodeKind};
use crate::journal::{format, Meta, TubeMeta};

/// The description of a journal recording the input of graph `g`: its config's text and hash, and every
/// tube's label, kind and fields.
pub fn journal_meta(g: &Graph, content: &str, segment_records: u64) -> Meta {
    let config = std::fs::read_to_string(&g.file).unwrap_or_default();
    Meta {
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
            .map(|n| TubeMeta {
                label: n.label.clone(),
                kind: match n.kind {
                    NodeKind::Through(_) => "Through",
                    NodeKind::Sink { .. } => "Sink",
                    NodeKind::Tick(_) => "ExternalEvent",
                    _ => "Generator",
                }
                .into(),
                fields: n.schema.clone(),
            })
            .collect(),
    }
}
