//! What a run's own files (`--latency-log`, `--journal`) may not be: an input, an output or the config.

use std::path::{Path, PathBuf};

use crate::graph::{inside, Graph, NodeKind};

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
        let label = &g.nodes[id as usize].label;
        if let Some(w) = o.writes() {
            out.push((format!("sink '{label}' writes"), w.to_path_buf()));
        }
        if let Some(s) = o.staged().and_then(|s| s.partial()) {
            out.push((format!("sink '{label}' writes until the run ends"), s));
        }
    }
    out
}

/// Why `flag`'s file `path` cannot be used by a run of `g` recording into `journal`, if it cannot.
pub fn file(g: &Graph, flag: &str, path: &Path, journal: Option<&Path>) -> Option<String> {
    let mut used = used(g);
    if let Some(dir) = journal {
        used.push(("the journal holds".to_string(), dir.to_path_buf()));
    }
    // The same file, or a file inside a directory the run writes (a journal).
    let (what, p) = used.into_iter().find(|(_, p)| inside(p, path))?;
    Some(format!(
        "{flag} {} is a file {what} ({}); choose another file",
        path.display(),
        p.display()
    ))
}

/// Why `flag`'s directory `dir` cannot be used by a run of `g`, if it cannot: no file of the run may be
/// the directory or lie inside it, and it may not lie inside a directory the run writes.
pub fn dir(g: &Graph, flag: &str, dir: &Path) -> Option<String> {
    let (what, p) = used(g)
        .into_iter()
        .find(|(_, p)| inside(dir, p) || inside(p, dir))?;
    Some(format!(
        "{flag} {} holds a file {what} ({}); choose another directory",
        dir.display(),
        p.display()
    ))
}
