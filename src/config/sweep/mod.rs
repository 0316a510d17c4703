//! Parameter sweeps in the config: the `sweep:` section, `${name}` placeholders, and the config of one
//! combination (the template with its placeholders replaced).

mod axes;
mod subst;

pub use axes::{is_name, Axis, ParamValue, MAX_COMBINATIONS};
pub use subst::{placeholders, substitute, Filled, Placeholder};

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::error::{ConfigErrors, Diagnostic, Diagnostics};
use super::model::Config;
use super::positions::Positions;
use super::reader::Reader;

/// The axes of a sweep; their product is its combinations, the first axis outermost.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The axes, in the order they are listed.
    pub axes: Vec<Axis>,
}

impl Sweep {
    /// How many combinations run.
    pub fn len(&self) -> usize {
        self.axes.iter().map(|a| a.points.len()).product()
    }

    /// Whether it runs nothing (never, for a checked sweep).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every parameter, in column order.
    pub fn params(&self) -> Vec<&str> {
        self.axes
            .iter()
            .flat_map(|a| a.params.iter().map(String::as_str))
            .collect()
    }

    /// The values of combination `k`, one per parameter in column order. The last axis varies fastest.
    pub fn values(&self, k: usize) -> Vec<&ParamValue> {
        let mut idx = vec![0; self.axes.len()];
        let mut rest = k;
        for (i, a) in self.axes.iter().enumerate().rev() {
            idx[i] = rest % a.points.len();
            rest /= a.points.len();
        }
        self.axes
            .iter()
            .zip(idx)
            .flat_map(|(a, i)| a.points[i].iter())
            .collect()
    }

    /// `N: 100 values × coin: 6 values`.
    pub fn shape(&self) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .map(|a| {
                let n = a.points.len();
                let what = if a.params.len() > 1 {
                    "records"
                } else {
                    "values"
                };
                format!(
                    "{}: {n} {}",
                    a.name,
                    if n == 1 {
                        &what[..what.len() - 1]
                    } else {
                        what
                    }
                )
            })
            .collect();
        parts.join(" × ")
    }
}

/// A config as written: its YAML (without `sweep:`), the sweep if it has one, and where every node is.
pub struct Template {
    /// The file it was read from.
    pub file: PathBuf,
    /// Its text.
    pub text: std::sync::Arc<str>,
    /// The YAML without its `sweep:` section.
    pub doc: Value,
    /// The sweep, if the config has a `sweep:` section.
    pub sweep: Option<Sweep>,
    /// Every `${name}` in the YAML, with its path.
    pub placeholders: Vec<Placeholder>,
    positions: Positions,
}

/// Reads config text: its YAML, and its sweep if it has one. `Err` when the text is not YAML or the sweep
/// or a placeholder is wrong.
pub fn template(text: &str, file: &Path) -> Result<Template, ConfigErrors> {
    let refuse = |(line, column), message: String, help: &str| {
        ConfigErrors(vec![Diagnostic {
            file: file.to_path_buf(),
            line,
            column,
            path: String::new(),
            message,
            help: Some(help.into()),
        }])
    };
    if let Some(at) = super::text::too_deep(text) {
        return Err(refuse(
            at,
            format!(
                "the config nests deeper than {} levels here",
                super::text::MAX_DEPTH
            ),
            "a config nests a few levels; check the brackets and the indentation",
        ));
    }
    let mut doc: Value = serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        let (at, key) = message
            .split_once("duplicate entry with key \"")
            .map_or((message.as_str(), ""), |(at, k)| (at, k));
        let key = key.split('"').next().unwrap_or("");
        match super::text::duplicate_key(text, key, line, column) {
            Some(second) => refuse(
                second,
                format!("{at}the key '{key}' appears twice in one mapping (first at line {line})"),
                "keep one of them",
            ),
            None if message.contains("repetition limit") => refuse(
                (line, column),
                format!("not valid YAML: {e}"),
                "its aliases (*name) expand to too many nodes; write the values out",
            ),
            None => refuse(
                (line, column),
                format!("not valid YAML: {e}"),
                "check the indentation and the brackets near this line",
            ),
        }
    })?;
    let positions = Positions::index(text);
    let mut diag = Diagnostics::new(file, positions.clone());
    let section = match &mut doc {
        Value::Mapping(m) => m.remove("sweep"),
        _ => None,
    };
    let sweep = section
        .and_then(|s| axes::sweep(&mut Reader { diag: &mut diag }, &s).map(|axes| Sweep { axes }));
    let found = placeholders(&doc, &mut diag);
    let defined = sweep.as_ref().map(Sweep::params);
    for p in &found {
        match &defined {
            Some(names) if names.contains(&p.name.as_str()) => {}
            Some(names) => diag.error(
                &p.path,
                format!("unknown parameter '${{{}}}'", p.name),
                Some(super::suggest(&p.name, names)),
            ),
            None if diag.is_empty() => diag.error(
                &p.path,
                format!(
                    "'${{{}}}' names a sweep parameter, but the config has no sweep: section",
                    p.name
                ),
                Some(format!(
                    "add sweep: {{{}: [a, b]}} at the top level, or write the value itself",
                    p.name
                )),
            ),
            None => {}
        }
    }
    diag.finish(())?;
    Ok(Template {
        file: file.to_path_buf(),
        text: text.into(),
        doc,
        sweep,
        placeholders: found,
        positions,
    })
}

impl Template {
    /// A collector of diagnostics located in this config's text.
    pub fn diagnostics(&self) -> Diagnostics {
        Diagnostics::new(&self.file, self.positions.clone())
    }

    /// The config, when it is not a sweep: a sweep is refused here (its callers run it as one).
    pub fn single(&self) -> Result<(Config, Diagnostics), ConfigErrors> {
        if let Some(s) = &self.sweep {
            let mut diag = Diagnostics::new(&self.file, self.positions.clone());
            diag.error(
                "sweep",
                format!(
                    "this config is a parameter sweep ({} combinations), which this command cannot run",
                    s.len()
                ),
                Some("run it with `tubes run`, check it with `tubes check`; a journal replay takes one config without sweep:".into()),
            );
            return Err(diag.into_errors());
        }
        self.config(None)
    }

    /// Points every WebSocket generator of `exchange` (its `exchange:` tag, ignoring case) at `url`, as
    /// if each had `url: URL`; the file is left as it is. Returns how many generators it changed.
    pub fn set_endpoint(&mut self, exchange: &str, url: &str) -> usize {
        let mut changed = 0;
        let Some(Value::Sequence(tubes)) = self.doc.get_mut("tubes") else {
            return 0;
        };
        for tube in tubes {
            let ws = tube
                .get_mut("Generator")
                .and_then(|g| g.get_mut("datasource"))
                .and_then(|d| d.get_mut("WebSocket"));
            let Some(Value::Mapping(ws)) = ws else {
                continue;
            };
            let theirs = ws.get("exchange").and_then(Value::as_str).unwrap_or("");
            if theirs.eq_ignore_ascii_case(exchange) {
                ws.insert(Value::from("url"), Value::from(url));
                changed += 1;
            }
        }
        changed
    }

    /// The config of combination `k` of the sweep (or the config itself, with `None`), with the
    /// diagnostics found while reading it; errors point at the template's lines.
    pub fn config(&self, k: Option<usize>) -> Result<(Config, Diagnostics), ConfigErrors> {
        self.config_in(k, &mut None)
    }

    /// [`Self::config`], filling in `filled` (made on first use, and kept by the caller for the
    /// next combination: see [`Filled`]).
    pub fn config_in(
        &self,
        k: Option<usize>,
        filled: &mut Option<Filled>,
    ) -> Result<(Config, Diagnostics), ConfigErrors> {
        let mut diag = Diagnostics::new(&self.file, self.positions.clone());
        let mut clashes = Vec::new();
        let substituted;
        let doc = match (k, &self.sweep) {
            (Some(k), Some(s)) => {
                let names = s.params();
                let values = s.values(k);
                let value = |name: &str| names.iter().position(|n| *n == name).map(|i| values[i]);
                if filled.is_none() {
                    *filled = Filled::new(&self.doc);
                }
                match filled {
                    Some(f) => f.fill(&value),
                    None => {
                        substituted = substitute(&self.doc, &value, &mut clashes);
                        &substituted
                    }
                }
            }
            // No values: only `$${` becomes `${`.
            _ => {
                substituted = substitute(&self.doc, &|_| None, &mut clashes);
                &substituted
            }
        };
        for at in clashes {
            diag.error(
                &at,
                "with these values this key becomes the same as another key of its mapping",
                Some("keys that hold placeholders must stay distinct for every combination".into()),
            );
        }
        let config = super::parse::config(&mut Reader { diag: &mut diag }, doc);
        match config {
            Some(mut c) => {
                c.text = self.text.clone();
                Ok((c, diag))
            }
            None => {
                if diag.is_empty() {
                    diag.error("", "the config is incomplete", None);
                }
                Err(diag.into_errors())
            }
        }
    }

    /// The parameters a YAML path's top-level entry (`tubes[3]`, `pipeline_type`) uses, in column order.
    pub fn params_at(&self, path: &str) -> Vec<&str> {
        let top = top_entry(path);
        let mut used: Vec<&str> = Vec::new();
        for p in &self.placeholders {
            if top_entry(&p.path) == top && !used.contains(&p.name.as_str()) {
                used.push(&p.name);
            }
        }
        match &self.sweep {
            Some(s) => s
                .params()
                .into_iter()
                .filter(|n| used.contains(n))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// `tubes[3]` of `tubes[3].Through.reducer`; `pipeline_type` of `pipeline_type.Batch[0]`.
fn top_entry(path: &str) -> &str {
    let end = path.find('.').unwrap_or(path.len());
    let head = &path[..end];
    match head.find(']') {
        Some(i) => &head[..=i],
        None => head,
    }
}
