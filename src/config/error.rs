//! Config diagnostics: every error names the file, line, column and YAML path, says what is wrong and how to fix it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::positions::Positions;

/// One problem found in a config.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line of the offending node (0 when the file could not be read).
    pub line: usize,
    /// 1-based column of the offending node.
    pub column: usize,
    /// YAML path of the offending node, e.g. `tubes[3].Through.event`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A problem with the file as a whole (it cannot be read) has no line.
        match self.line {
            0 => write!(f, "{}: ", self.file.display())?,
            _ => write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?,
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Every problem found in a config, in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error: {d}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "\n{n} error{} found; the pipeline was not started",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects diagnostics while a config is parsed and checked, locating each YAML path in the file.
pub struct Diagnostics {
    file: PathBuf,
    positions: Positions,
    errors: Vec<Diagnostic>,
}

impl Diagnostics {
    /// A collector for `file`, locating paths with `positions`.
    pub fn new(file: &Path, positions: Positions) -> Self {
        Diagnostics {
            file: file.to_path_buf(),
            positions,
            errors: Vec::new(),
        }
    }

    /// The config file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Records an error at `path`.
    pub fn error(&mut self, path: &str, message: impl Into<String>, help: Option<String>) {
        let (line, column) = self.positions.locate(path);
        self.errors.push(Diagnostic {
            file: self.file.clone(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
            help,
        });
    }

    /// Whether no error has been recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every recorded error, sorted by position.
    pub fn into_errors(mut self) -> ConfigErrors {
        self.errors.sort_by_key(|d| (d.line, d.column));
        self.errors.dedup();
        ConfigErrors(self.errors)
    }

    /// Ends collection: `Ok(value)` when nothing was wrong, else every error sorted by position.
    pub fn finish<T>(self, value: T) -> Result<T, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(value)
        } else {
            Err(self.into_errors())
        }
    }
}

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (levenshtein(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, c)| d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// "did you mean 'x'?" when a close candidate exists, else the list of valid choices.
pub fn suggest(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean '{c}'? (valid: {})", candidates.join(", ")),
        None => format!("valid: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_only() {
        assert_eq!(closest("Consme", ["Produce", "Consume"]), Some("Consume"));
        assert_eq!(closest("to_lable", ["label", "to_label"]), Some("to_label"));
        assert_eq!(closest("banana", ["label", "to_label"]), None);
    }
}
