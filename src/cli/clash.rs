//! What a run's own files (`--latency-log`, `--journal`) may not be: an input, an output or the config.

use std::path::{Path, PathBuf};

use crate::graph::{inside, same_file, Graph, NodeKind};

/// Every file the run reads or writes, named for a message: its inputs, its outputs and its config.
fn used(g: &Graph) -> Vec<(String, PathBuf)> {
    let mut out = vec![("the config".to_string(), g.file.clone())];
    for n in &g.nodes {
        if let NodeKind::Source(s) = &n.kind {
            let reads = s.reads().into_iter();
            out.extend(reads.map(|p| (format!("generator '{}' reads", n.label), p.to_path_buf())));
        }
    }
    for (id, _, o) in g.sink_outputs() {
        if let Some(w) = o.writes() {
            let label = &g.nodes[id as usize].label;
            out.push((format!("sink '{label}' writes"), w.to_path_buf()));
        }
    }
    out
}

/// Why `flag`'s file `path` cannot be used by a run of `g`, if it cannot.
pub fn file(g: &Graph, flag: &str, path: &Path) -> Option<String> {
    let (what, p) = used(g).into_iter().find(|(_, p)| same_file(p, path))?;
    Some(format!(
        "{flag} {} is a file {what} ({}); choose another file",
        path.display(),
        p.display()
    ))
}

/// Why `flag`'s directory `dir` cannot be used by a run of `g`, if it cannot: no file of the run may be
/// the directory or lie inside it.
pub fn dir(g: &Graph, flag: &str, dir: &Path) -> Option<String> {
    let (what, p) = used(g).into_iter().find(|(_, p)| inside(dir, p))?;
    Some(format!(
        "{flag} {} holds a file {what} ({}); choose another directory",
        dir.display(),
        p.display()
    ))
}
