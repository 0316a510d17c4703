//! A `Sink`: its outputs, kept as written for their kinds, and its fields.

use serde_yaml::{Mapping, Value};

use crate::config::model::*;
use crate::config::reader::{field, Reader};

/// The entries of a sink's `datasink:`, as written (one, or a list).
pub(super) fn outputs(m: &Mapping, path: &str) -> Option<Vec<PluginDecl>> {
    let dpath = field(path, "datasink");
    Some(match m.get("datasink")? {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, o)| PluginDecl {
                value: o.clone(),
                path: format!("{dpath}[{i}]"),
            })
            .collect(),
        other => vec![PluginDecl {
            value: other.clone(),
            path: dpath,
        }],
    })
}

pub(super) fn sink(r: &mut Reader<'_>, m: &Mapping, path: &str) -> Option<SinkDecl> {
    let outputs = outputs(m, path)?;
    let fpath = field(path, "fields");
    let mut fields = Vec::new();
    match m.get("fields")? {
        Value::Mapping(fm) if !fm.is_empty() => {
            for (k, v) in fm {
                let Some(label) = k.as_str() else {
                    r.wrong_type(k, &fpath, "a tube label", None);
                    continue;
                };
                let names = r.strings(v, &field(&fpath, label));
                fields.push((label.to_string(), names));
            }
        }
        other => r.wrong_type(
            other,
            &fpath,
            "a mapping of tube label to fields",
            Some("write fields: {btc_vol_sum: [sum_Volume]}".into()),
        ),
    }
    Some(SinkDecl { outputs, fields })
}
