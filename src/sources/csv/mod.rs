//! The CSV source: CryptoDataDownload files (optional URL banner, newest-first rows) and plain CSV with a
//! time column, `datasource: {CSV: path}` or `{CSV: {path, time_column, fields, on_error}}`.
//!
//! Cells are split on commas; a cell wrapped in double quotes has them removed (quoted commas are not
//! supported). `True`/`False` read as 1/0. Times: unix s/ms/µs/ns (by magnitude), RFC 3339 or
//! `YYYY-MM-DD HH:MM:SS` (UTC).

mod layout;
mod run;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_yaml::Value;

pub use layout::{inspect, CsvLayout, InspectError};
pub use run::CsvGenerator;

use crate::base::RunError;
use crate::config::{field, Diagnostics, Reader};
use crate::plugin::{CheckMemo, CheckSource, OpenSource, Source, SourceKind, SourceRun};

/// What to do with a malformed CSV row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Stop the run with an error naming file, line and column.
    Fail,
    /// Skip the row, count it and report the count at the end.
    Skip,
}

/// `CSV: path` or `CSV: {path, time_column, fields, on_error}`.
#[derive(Clone, Debug)]
pub struct CsvSource {
    /// The file, relative to the directory the command runs in.
    pub path: PathBuf,
    /// The column holding the time; detected when absent.
    pub time_column: Option<String>,
    /// Columns to expose; every numeric column when absent.
    pub fields: Option<Vec<String>>,
    /// What to do with a malformed row.
    pub on_error: OnError,
    /// What the file looked like when the graph was checked (shared by every combination of a sweep
    /// that reads the file alike).
    layout: Option<Arc<CsvLayout>>,
}

/// The `CSV` source kind.
pub struct Csv;

impl SourceKind for Csv {
    fn name(&self) -> &'static str {
        "CSV"
    }

    fn parse(&self, r: &mut Reader<'_>, payload: &Value, path: &str) -> Option<Box<dyn Source>> {
        let example =
            "CSV: path/to/file.csv, or CSV: {path: file.csv, time_column: time, on_error: skip}";
        let mut src = CsvSource {
            path: PathBuf::new(),
            time_column: None,
            fields: None,
            on_error: OnError::Fail,
            layout: None,
        };
        if let Value::String(p) = payload {
            src.path = PathBuf::from(p);
            return Some(Box::new(src));
        }
        let m = r.mapping(
            payload,
            path,
            &["path", "time_column", "fields", "on_error"],
            &["path"],
            example,
        )?;
        src.path = PathBuf::from(r.string(m.get("path")?, &field(path, "path"))?);
        src.time_column = m
            .get("time_column")
            .and_then(|t| r.string(t, &field(path, "time_column")));
        src.fields = m
            .get("fields")
            .map(|f| r.strings(f, &field(path, "fields")));
        if let Some(e) = m.get("on_error") {
            let p = field(path, "on_error");
            match r.tagged(e, &p, &["fail", "skip"], "on_error policy") {
                Some(("skip", ..)) => src.on_error = OnError::Skip,
                Some(_) => {}
                None => return None,
            }
        }
        Some(Box::new(src))
    }
}

impl Source for CsvSource {
    fn check(&mut self, cx: &CheckSource<'_>, diag: &mut Diagnostics) -> Option<Vec<String>> {
        // The layout depends on the file and on this source's settings (`layout` is what is looked
        // for). The path is written unescaped: a sweep makes this key for every combination.
        let (time, fields, on_error) = (&self.time_column, &self.fields, self.on_error);
        let path = CheckMemo::path_key("CSV", &[&self.path]);
        let key = format!("{path}|{time:?}|{fields:?}|{on_error:?}");
        match cx
            .memo
            .get_or(key, || inspect(&self.path, self).map(Arc::new))
        {
            Ok(layout) => {
                let names = layout.field_names();
                self.layout = Some(layout);
                Some(names)
            }
            Err(e) => {
                diag.error(cx.path, e.message, e.help);
                None
            }
        }
    }

    fn describe(&self) -> String {
        format!("CSV {}", self.path.display())
    }

    fn key_fields(&self) -> Vec<String> {
        let Some(l) = &self.layout else {
            return Vec::new();
        };
        (l.fields.iter().zip(&l.keys))
            .filter(|(_, &k)| k)
            .map(|((_, name), _)| name.clone())
            .collect()
    }

    fn reads(&self) -> Vec<&Path> {
        vec![&self.path]
    }

    fn open(&self, at: OpenSource) -> Result<Box<dyn SourceRun>, RunError> {
        let layout = self
            .layout
            .as_ref()
            .expect("a CSV source is checked before it is opened");
        let gen = CsvGenerator::open(at.id, self, layout, at.range, &at.used, at.counters)?;
        Ok(Box::new(gen))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
