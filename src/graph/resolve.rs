//! The first pass: every `datasource:` and `datasink:` tag resolved through the registry of kinds, and
//! its payload read by that kind. A tube whose plug-in has errors becomes a placeholder
//! ([`TubeKind::Invalid`]) that keeps its label, so the rest of the graph is still checked.

use crate::config::{Config, Diagnostics, PluginDecl, Reader, TubeKind};
use crate::plugin::{Kinds, SinkOutput, Source};

/// What the plug-ins of each tube resolved to, by tube index.
pub(super) struct Plugins {
    /// A generator's source and the YAML path of its payload.
    pub sources: Vec<Option<(Box<dyn Source>, String)>>,
    /// A sink's outputs.
    pub sinks: Vec<Option<Vec<Box<dyn SinkOutput>>>>,
}

/// Resolves every plug-in of `config`, recording every problem in `diag`.
pub(super) fn resolve(config: &mut Config, kinds: &Kinds, diag: &mut Diagnostics) -> Plugins {
    let n = config.tubes.len();
    let mut out = Plugins {
        sources: (0..n).map(|_| None).collect(),
        sinks: (0..n).map(|_| None).collect(),
    };
    let mut r = Reader { diag };
    for (i, t) in config.tubes.iter_mut().enumerate() {
        match &t.kind {
            TubeKind::Generator(d) => match source(&mut r, kinds, d) {
                Some(s) => out.sources[i] = Some(s),
                None => t.kind = TubeKind::Invalid("Generator"),
            },
            TubeKind::Sink(s) => {
                // Every output is read, so every mistake is reported.
                let outputs: Vec<Option<Box<dyn SinkOutput>>> =
                    s.outputs.iter().map(|o| sink(&mut r, kinds, o)).collect();
                match outputs.into_iter().collect() {
                    Some(o) => out.sinks[i] = Some(o),
                    None => t.kind = TubeKind::Invalid("Sink"),
                }
            }
            _ => {}
        }
    }
    out
}

fn source(r: &mut Reader<'_>, kinds: &Kinds, d: &PluginDecl) -> Option<(Box<dyn Source>, String)> {
    let names = kinds.source_names();
    let (tag, payload, path) = r.tagged(&d.value, &d.path, &names, "datasource")?;
    let kind = kinds.source(tag)?;
    kind.parse(r, payload, &path).map(|s| (s, path))
}

fn sink(r: &mut Reader<'_>, kinds: &Kinds, d: &PluginDecl) -> Option<Box<dyn SinkOutput>> {
    let names = kinds.sink_names();
    let (tag, payload, path) = r.tagged(&d.value, &d.path, &names, "datasink")?;
    kinds.sink(tag)?.parse(r, tag, payload, &path)
}
