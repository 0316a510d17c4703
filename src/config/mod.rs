//! Step 1 of a run: YAML text → [`Config`], with every error located by file, line, column and YAML path.

mod error;
mod model;
mod parse;
mod positions;
pub mod reader;

pub use error::{closest, suggest, ConfigErrors, Diagnostic, Diagnostics};
pub use model::*;
pub use positions::Positions;
pub use reader::{field, parse_duration, Reader};

use std::path::Path;

/// Reads and parses a config file. Graph-level checks (labels, fields, cycles, files) are [`crate::graph::check`]'s.
///
/// Returns the config and the diagnostics collected so far, which may already hold errors: the graph is
/// checked anyway so that every error is reported at once ([`crate::graph::check`] returns them all).
/// `Err` only when the text is not YAML or its top level is unusable.
pub fn load(path: &Path) -> Result<(Config, Diagnostics), ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            path: String::new(),
            message: format!("cannot read the config: {e}"),
            help: Some(
                "check the path; relative paths resolve against the current directory".into(),
            ),
        }])
    })?;
    parse_str(&text, path)
}

/// Parses config text; `file` is the name used in diagnostics.
pub fn parse_str(text: &str, file: &Path) -> Result<(Config, Diagnostics), ConfigErrors> {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ConfigErrors(vec![Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            path: String::new(),
            message: format!("not valid YAML: {e}"),
            help: Some("check the indentation and the brackets near this line".into()),
        }])
    })?;
    let mut diag = Diagnostics::new(file, Positions::index(text));
    let config = parse::config(&mut reader::Reader { diag: &mut diag }, &doc);
    match config {
        Some(c) => Ok((c, diag)),
        None => {
            if diag.is_empty() {
                diag.error("", "the config is incomplete", None);
            }
            Err(diag.into_errors())
        }
    }
}
