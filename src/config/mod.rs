//! Step 1 of a run: YAML text → [`Config`], with every error located by file, line, column and YAML path.

mod error;
mod file;
mod model;
mod parse;
mod positions;
pub mod reader;
mod sweep;
mod text;

pub use error::{closest, suggest, ConfigErrors, Diagnostic, Diagnostics};
pub use model::*;
pub use positions::Positions;
pub use reader::{field, parse_duration, Reader};
pub use sweep::{
    is_name, template, Axis, Filled, ParamValue, Placeholder, Sweep, Template, MAX_COMBINATIONS,
};

use std::path::Path;

/// The longest config read, in bytes.
pub const MAX_CONFIG: u64 = 16 << 20;

/// Reads a config file as written: its YAML, and its sweep if it has one.
pub fn load_template(path: &Path) -> Result<Template, ConfigErrors> {
    let whole = |message: String, help: &str| {
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            path: String::new(),
            message,
            help: Some(help.into()),
        }])
    };
    let bytes = file::read_bounded(path, MAX_CONFIG).map_err(|e| match e {
        file::ReadError::Io(e) => {
            let help = match e.kind() {
                std::io::ErrorKind::IsADirectory => "give the config file, not a directory",
                std::io::ErrorKind::PermissionDenied => "check the file's permissions",
                _ if e.raw_os_error() == Some(6) => {
                    "it is a socket or a device that cannot be read; give the config file"
                }
                _ => "check the path; relative paths resolve against the current directory",
            };
            whole(format!("cannot read the config: {e}"), help)
        }
        file::ReadError::TooLong => whole(
            format!("the config is longer than {} MiB", MAX_CONFIG >> 20),
            "a config is a page or two of YAML; is this the right file?",
        ),
        file::ReadError::NoWriter => whole(
            format!(
                "the config is a named pipe (FIFO) that nothing was written to in {} s",
                file::WRITER_WAIT.as_secs()
            ),
            "start the program that writes the pipe before tubes, or give a regular file",
        ),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        // Columns count characters, as YAML positions do.
        let column = 1 + String::from_utf8_lossy(&bytes[line_start..at])
            .chars()
            .count();
        ConfigErrors(vec![Diagnostic {
            file: path.to_path_buf(),
            line,
            column,
            path: String::new(),
            message: format!(
                "the config is not UTF-8 text: byte 0x{:02x} here starts no character",
                bytes[at]
            ),
            help: Some("save the config as UTF-8".into()),
        }])
    })?;
    sweep::template(&text, path)
}

/// Reads and parses a config file that is not a sweep. Graph-level checks (labels, fields, cycles,
/// files) are [`crate::graph::check`]'s.
///
/// Returns the config and the diagnostics collected so far, which may already hold errors: the graph is
/// checked anyway so that every error is reported at once ([`crate::graph::check`] returns them all).
/// `Err` only when the text is not YAML, its top level is unusable, or it is a sweep.
pub fn load(path: &Path) -> Result<(Config, Diagnostics), ConfigErrors> {
    load_template(path)?.single()
}

/// Parses config text that is not a sweep; `file` is the name used in diagnostics.
pub fn parse_str(text: &str, file: &Path) -> Result<(Config, Diagnostics), ConfigErrors> {
    sweep::template(text, file)?.single()
}
