//! The registry of kinds: what the graph resolves `datasource:` and `datasink:` tags against.

use super::{SinkKind, SourceKind};

/// Every source and sink kind a config may name, in the order their names are listed in errors.
#[derive(Clone, Copy)]
pub struct Kinds {
    /// Source kinds, by YAML tag.
    pub sources: &'static [&'static dyn SourceKind],
    /// Sink kinds, by YAML tag.
    pub sinks: &'static [&'static dyn SinkKind],
}

impl Kinds {
    /// The source kind named `tag`.
    pub fn source(&self, tag: &str) -> Option<&'static dyn SourceKind> {
        self.sources.iter().copied().find(|k| k.name() == tag)
    }

    /// The sink kind one of whose names is `tag`.
    pub fn sink(&self, tag: &str) -> Option<&'static dyn SinkKind> {
        self.sinks
            .iter()
            .copied()
            .find(|k| k.names().contains(&tag))
    }

    /// Every source tag.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|k| k.name()).collect()
    }

    /// Every sink tag.
    pub fn sink_names(&self) -> Vec<&'static str> {
        self.sinks
            .iter()
            .flat_map(|k| k.names().iter().copied())
            .collect()
    }
}
