//! The first pass: every `datasource:` and `datasink:` tag resolved through the registry of kinds, and
//! its payload read by that kind. A tube whose plug-in has errors becomes a placeholder
//! ([`TubeKind::Invalid`]) that keeps its label, so the rest of the graph is still checked.

use super::paths::same_file;
use std::path::{Path, PathBuf};

use crate::config::{Config, Diagnostics, PluginDecl, PluginRole, Reader, TubeKind};
use crate::plugin::{CheckMemo, Kinds, SinkOutput, Source, Staged};

/// What the plug-ins of each tube resolved to, by tube index.
pub(super) struct Plugins {
    /// A generator's source and the YAML path of its payload.
    pub sources: Vec<Option<(Box<dyn Source>, String)>>,
    /// A sink's outputs.
    pub sinks: Vec<Option<Vec<Box<dyn SinkOutput>>>>,
}

/// Resolves every plug-in of `config`, recording every problem in `diag`; whether two paths name one
/// file is looked up in `memo`.
pub(super) fn resolve(
    config: &mut Config,
    kinds: &Kinds,
    diag: &mut Diagnostics,
    memo: &CheckMemo,
) -> Plugins {
    let n = config.tubes.len();
    let mut out = Plugins {
        sources: (0..n).map(|_| None).collect(),
        sinks: (0..n).map(|_| None).collect(),
    };
    let mut r = Reader { diag };
    // (YAML path of a sink output, what it writes).
    let mut written: Vec<(String, PathBuf)> = Vec::new();
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
                match outputs.into_iter().collect::<Option<Vec<_>>>() {
                    Some(o) => {
                        for (decl, output) in s.outputs.iter().zip(&o) {
                            if let Some(w) = output.writes() {
                                written.push((decl.path.clone(), w.to_path_buf()));
                            }
                        }
                        out.sinks[i] = Some(o);
                    }
                    None => t.kind = TubeKind::Invalid("Sink"),
                }
            }
            _ => {}
        }
    }
    let same = |a: &Path, b: &Path| {
        memo.get_or(CheckMemo::path_key("same_file", &[a, b]), || {
            same_file(a, b)
        })
    };
    no_output_is_an_input(config, &out, &written, r.diag, &same);
    no_file_is_written_twice(&written, r.diag, &same);
    // Entries of tubes that did not survive parsing: read for their diagnostics only.
    for (role, d) in &config.unchecked {
        match role {
            PluginRole::Source => drop(source(&mut r, kinds, d)),
            PluginRole::Sink => drop(sink(&mut r, kinds, d)),
        }
    }
    out
}

/// A sink that writes a file a generator of the same run reads would destroy that input (the file is
/// truncated when the sink opens, while the generator maps it).
fn no_output_is_an_input(
    config: &Config,
    plugins: &Plugins,
    written: &[(String, PathBuf)],
    diag: &mut Diagnostics,
    same_file: &dyn Fn(&Path, &Path) -> bool,
) {
    for (path, w) in written {
        // The output, and the `.partial` file its rows go to until the run ends.
        let targets = [w.clone(), Staged::beside(w).partial];
        let hits = |input: &Path| targets.iter().any(|t| same_file(input, t));
        if hits(&config.file) {
            diag.error(
                path,
                format!(
                    "'{}' is this config: writing rows to it would destroy it",
                    w.display()
                ),
                Some("write the rows to another file".into()),
            );
        }
        for (i, s) in plugins.sources.iter().enumerate() {
            let Some((src, _)) = s else { continue };
            if let Some(input) = src.reads().into_iter().find(|input| hits(input)) {
                diag.error(
                    path,
                    format!(
                        "'{}' writes '{}', the file generator '{}' reads: writing rows there would destroy that input",
                        w.display(),
                        input.display(),
                        config.tubes[i].label
                    ),
                    Some("write the rows to another file".into()),
                );
            }
        }
    }
}

/// Two outputs writing one file would interleave their rows (and the second to open would truncate what
/// the first wrote).
fn no_file_is_written_twice(
    written: &[(String, PathBuf)],
    diag: &mut Diagnostics,
    same_file: &dyn Fn(&Path, &Path) -> bool,
) {
    for (k, (path, w)) in written.iter().enumerate() {
        if let Some((first, _)) = written[..k].iter().find(|(_, v)| same_file(v, w)) {
            diag.error(
                path,
                format!(
                    "'{}' is also written by the output at {first}: two outputs would interleave their rows in one file",
                    w.display()
                ),
                Some("give each output a file of its own".into()),
            );
        }
    }
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
    kinds.sink(tag)?.parse(r, payload, &path)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::parse_str;

    const BASE: &str = "pipeline_type: Stream
tubes:
- Generator: {label: a, datasource: {Synthetic: {rate: 10}}, to_label: s}
- Sink: {label: s, datasink: [Discard, {CSV: out.csv}], fields: {a: [price]}}
";

    /// Resolves `text`; returns what resolved and every diagnostic (path, message, help).
    fn resolved(text: &str) -> (Config, Plugins, Vec<(String, String, String)>) {
        let (mut config, mut diag) = parse_str(text, Path::new("t.yaml")).unwrap();
        let plugins = resolve(
            &mut config,
            &crate::api::KINDS,
            &mut diag,
            &Default::default(),
        );
        let errors = diag
            .into_errors()
            .0
            .into_iter()
            .map(|d| (d.path, d.message, d.help.unwrap_or_default()))
            .collect();
        (config, plugins, errors)
    }

    #[test]
    fn every_source_and_sink_output_resolves_to_its_kind() {
        let (config, plugins, errors) = resolved(BASE);
        assert!(errors.is_empty(), "{errors:?}");
        let (src, path) = plugins.sources[0].as_ref().expect("a source");
        assert_eq!(src.describe(), "Synthetic 10 /s");
        assert_eq!(path, "tubes[0].Generator.datasource.Synthetic");
        let outputs = plugins.sinks[1].as_ref().expect("the outputs");
        let targets: Vec<String> = outputs.iter().map(|o| o.target()).collect();
        assert_eq!(targets, ["nowhere", "out.csv"]);
        assert!(matches!(config.tubes[0].kind, TubeKind::Generator(_)));
    }

    #[test]
    fn an_unknown_source_tag_names_the_closest_kind_and_leaves_a_placeholder() {
        let (config, plugins, errors) = resolved(&BASE.replace("Synthetic:", "Synthetc:"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (path, message, help) = &errors[0];
        assert_eq!(path, "tubes[0].Generator.datasource.Synthetc");
        assert!(message.contains("'Synthetc'"), "{message}");
        assert!(help.contains("did you mean 'Synthetic'?"), "{help}");
        assert!(plugins.sources[0].is_none());
        // The label stays, so edges to and from it still resolve.
        assert!(matches!(
            config.tubes[0].kind,
            TubeKind::Invalid("Generator")
        ));
        assert_eq!(config.tubes[0].label, "a");
    }

    #[test]
    fn every_bad_sink_output_is_reported_and_the_sink_becomes_a_placeholder() {
        let text = BASE.replace("[Discard, {CSV: out.csv}]", "[Dicard, {CSV: [x]}]");
        let (config, plugins, errors) = resolved(&text);
        let paths: Vec<&str> = errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            ["tubes[1].Sink.datasink[0]", "tubes[1].Sink.datasink[1].CSV"],
            "{errors:?}"
        );
        assert!(
            errors[0].2.contains("did you mean 'Discard'?"),
            "{errors:?}"
        );
        assert!(plugins.sinks[1].is_none());
        assert!(matches!(config.tubes[1].kind, TubeKind::Invalid("Sink")));
    }

    #[test]
    fn a_kind_reads_its_own_payload_with_every_problem_located() {
        let text = BASE.replace("{rate: 10}", "{rate: 0, sede: 3}");
        let (_, plugins, errors) = resolved(&text);
        let paths: Vec<&str> = errors.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "tubes[0].Generator.datasource.Synthetic.rate",
                "tubes[0].Generator.datasource.Synthetic.sede"
            ],
            "{errors:?}"
        );
        assert!(plugins.sources[0].is_none());
    }
}
