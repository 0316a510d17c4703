//! Whether two paths name one file, or one lies inside a directory: asked of outputs against inputs,
//! the config, a journal being read or written, and each other.

use std::path::{Path, PathBuf};

/// `p` made absolute and cleaned of `.` and `..` without asking the file system (for paths that do not
/// exist yet).
fn lexical(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = std::env::current_dir().unwrap_or_default();
    if p.is_absolute() {
        out = PathBuf::new();
    }
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether `a` and `b` name one file: when both exist, their device and inode; otherwise both canonical paths; for a file that does not exist yet, its
/// directory's canonical path and its name; for a directory that does not exist yet either, both paths
/// cleaned of `.` and `..`.
pub fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    // Two names of one existing file (a hard link, a symbolic link): the same device and inode.
    if let (Ok(x), Ok(y)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return (x.dev(), x.ino()) == (y.dev(), y.ino());
    }
    let canonical = |p: &Path| {
        std::fs::canonicalize(p).ok().or_else(|| {
            let dir = p
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
        })
    };
    match (canonical(a), canonical(b)) {
        (Some(x), Some(y)) => x == y,
        _ => lexical(a) == lexical(b),
    }
}

/// `p` made absolute through the real directories that exist (symbolic links resolved), cleaned of `.`
/// and `..` where it does not exist yet.
fn absolute(p: &Path) -> PathBuf {
    let real = std::fs::canonicalize(p).ok().or_else(|| {
        let dir = p.parent().filter(|d| !d.as_os_str().is_empty())?;
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    });
    real.unwrap_or_else(|| lexical(p))
}

/// Whether `p` is `dir` or lies inside it.
pub fn inside(dir: &Path, p: &Path) -> bool {
    same_file(dir, p) || absolute(p).starts_with(absolute(dir))
}
