//! `${name}` placeholders: finding them in a config's YAML, and replacing them with a combination's values.
//!
//! A scalar that is exactly `${name}` becomes the value itself (a number stays a number: `threshold:
//! "${N}"` is the number 50); a placeholder inside longer text is replaced by the value's text
//! (`"testdata/binance_${coin}USDT.csv"`). Mapping keys are replaced too. `$${` writes a literal `${`.

use serde_yaml::Value;

use super::axes::{is_name, ParamValue};
use crate::config::error::Diagnostics;
use crate::config::reader::field;

/// One `${name}` of a config.
#[derive(Clone, Debug, PartialEq)]
pub struct Placeholder {
    /// The parameter it names.
    pub name: String,
    /// The YAML path of the scalar that holds it.
    pub path: String,
}

/// A piece of a scalar: literal text or a parameter.
enum Piece<'a> {
    Text(&'a str),
    Param(&'a str),
}

/// Splits `s` into text and `${name}` pieces; `Err` describes a malformed placeholder.
fn pieces(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        if rest[..i].ends_with('$') {
            // `$${` is a literal `${`.
            out.push(Piece::Text(&rest[..i]));
            out.push(Piece::Text("{"));
            rest = &rest[i + 2..];
            continue;
        }
        out.push(Piece::Text(&rest[..i]));
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("'${{' without a closing '}}' in '{s}'"));
        };
        let name = &after[..end];
        if !is_name(name) {
            return Err(format!("'${{{name}}}' is not a parameter name"));
        }
        out.push(Piece::Param(name));
        rest = &after[end + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Every placeholder in `doc`, in document order; malformed ones are reported in `diag`.
pub fn placeholders(doc: &Value, diag: &mut Diagnostics) -> Vec<Placeholder> {
    let mut found = Vec::new();
    walk(doc, "", &mut |s, path| {
        if !s.contains("${") {
            return;
        }
        match pieces(s) {
            Ok(ps) => found.extend(ps.into_iter().filter_map(|p| match p {
                Piece::Param(name) => Some(Placeholder {
                    name: name.to_string(),
                    path: path.to_string(),
                }),
                Piece::Text(_) => None,
            })),
            Err(e) => diag.error(
                path,
                e,
                Some("write a parameter as ${name}, and a literal ${ as $${".into()),
            ),
        }
    });
    found
}

fn walk(v: &Value, path: &str, f: &mut dyn FnMut(&str, &str)) {
    match v {
        Value::String(s) => f(s, path),
        Value::Sequence(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), f);
            }
        }
        Value::Mapping(m) => {
            for (k, x) in m {
                let key = k.as_str().unwrap_or("?");
                let at = field(path, key);
                if let Value::String(s) = k {
                    f(s, &at);
                }
                walk(x, &at, f);
            }
        }
        Value::Tagged(t) => walk(&t.value, path, f),
        _ => {}
    }
}

/// `doc` with every placeholder replaced by `value(name)` (names the template check found defined), and
/// `$${` by `${`. A mapping whose keys become equal keeps the first; the YAML path of each later one
/// goes to `clashes`.
pub fn substitute<'a>(
    doc: &Value,
    value: &dyn Fn(&str) -> Option<&'a ParamValue>,
    clashes: &mut Vec<String>,
) -> Value {
    if !key_holds_placeholder(doc) {
        // No mapping changes its keys: the template's copy is filled in where it stands.
        let mut out = doc.clone();
        fill(&mut out, value);
        return out;
    }
    walk_subst(doc, &At::Root, value, clashes)
}

/// Whether a mapping key anywhere in `doc` holds a placeholder (or a `$${`).
fn key_holds_placeholder(doc: &Value) -> bool {
    match doc {
        Value::Sequence(items) => items.iter().any(key_holds_placeholder),
        Value::Mapping(m) => m
            .iter()
            .any(|(k, x)| k.as_str().is_some_and(|k| k.contains("${")) || key_holds_placeholder(x)),
        Value::Tagged(t) => key_holds_placeholder(&t.value),
        _ => false,
    }
}

/// Replaces, in place, every scalar of `doc` that holds a placeholder (keys excepted).
fn fill<'a>(doc: &mut Value, value: &dyn Fn(&str) -> Option<&'a ParamValue>) {
    match doc {
        Value::String(s) if s.contains("${") => *doc = replace(s, value),
        Value::Sequence(items) => items.iter_mut().for_each(|x| fill(x, value)),
        Value::Mapping(m) => m.values_mut().for_each(|x| fill(x, value)),
        Value::Tagged(t) => fill(&mut t.value, value),
        _ => {}
    }
}

/// The template's document with one combination's values written in, kept from one combination to
/// the next: only the scalars that hold placeholders are written again. Copying the whole document
/// for each combination, and dropping it after, was most of what checking a combination cost.
pub struct Filled {
    doc: Value,
    /// Each scalar that holds a placeholder: the way to it from the root, and its template text.
    sites: Vec<(Vec<Step>, String)>,
}

/// One step from a node to a node inside it.
#[derive(Clone)]
enum Step {
    Index(usize),
    Key(Value),
    Tagged,
}

impl Filled {
    /// A copy of `doc`, to be filled; `None` when a mapping key holds a placeholder (a key that
    /// changes may clash with another, which [`substitute`] reports).
    pub fn new(doc: &Value) -> Option<Filled> {
        if key_holds_placeholder(doc) {
            return None;
        }
        let mut sites = Vec::new();
        find_sites(doc, &mut Vec::new(), &mut sites);
        Some(Filled {
            doc: doc.clone(),
            sites,
        })
    }

    /// The document with every placeholder replaced by `value(name)`, and `$${` by `${`, as
    /// [`substitute`] gives it.
    pub fn fill<'a>(&mut self, value: &dyn Fn(&str) -> Option<&'a ParamValue>) -> &Value {
        for (route, text) in &self.sites {
            let mut at = &mut self.doc;
            for step in route {
                at = match (step, at) {
                    (Step::Index(i), Value::Sequence(items)) => &mut items[*i],
                    (Step::Key(k), Value::Mapping(m)) => m.get_mut(k).expect("a template key"),
                    (Step::Tagged, Value::Tagged(t)) => &mut t.value,
                    _ => unreachable!("a route follows the template's shape"),
                };
            }
            *at = replace(text, value);
        }
        &self.doc
    }
}

/// Records in `sites` the way to every scalar of `doc` (not a key) that holds a placeholder.
fn find_sites(doc: &Value, route: &mut Vec<Step>, sites: &mut Vec<(Vec<Step>, String)>) {
    let mut inside = |step: Step, v: &Value| {
        route.push(step);
        find_sites(v, route, sites);
        route.pop();
    };
    match doc {
        Value::String(s) if s.contains("${") => sites.push((route.clone(), s.clone())),
        Value::Sequence(items) => {
            for (i, x) in items.iter().enumerate() {
                inside(Step::Index(i), x);
            }
        }
        Value::Mapping(m) => {
            for (k, x) in m {
                inside(Step::Key(k.clone()), x);
            }
        }
        Value::Tagged(t) => inside(Step::Tagged, &t.value),
        _ => {}
    }
}

/// Where a node lies in the document, as the chain of keys and indexes to it: written out as a YAML
/// path only when a clash names it (a sweep substitutes its template once per combination).
enum At<'p> {
    Root,
    Key(&'p At<'p>, &'p str),
    Index(&'p At<'p>, usize),
}

impl At<'_> {
    fn path(&self) -> String {
        match self {
            At::Root => String::new(),
            At::Key(up, key) => field(&up.path(), key),
            At::Index(up, i) => format!("{}[{i}]", up.path()),
        }
    }
}

fn walk_subst<'a>(
    doc: &Value,
    at: &At<'_>,
    value: &dyn Fn(&str) -> Option<&'a ParamValue>,
    clashes: &mut Vec<String>,
) -> Value {
    match doc {
        Value::String(s) if s.contains("${") => replace(s, value),
        Value::Sequence(items) => Value::Sequence(
            (items.iter().enumerate())
                .map(|(i, x)| walk_subst(x, &At::Index(at, i), value, clashes))
                .collect(),
        ),
        Value::Mapping(m) => {
            let mut out = serde_yaml::Mapping::with_capacity(m.len());
            for (k, x) in m {
                let here = At::Key(at, k.as_str().unwrap_or("?"));
                let key = walk_subst(k, &here, value, clashes);
                if out.contains_key(&key) {
                    clashes.push(here.path());
                    continue;
                }
                let x = walk_subst(x, &here, value, clashes);
                out.insert(key, x);
            }
            Value::Mapping(out)
        }
        Value::Tagged(t) => {
            let mut t = t.clone();
            t.value = walk_subst(&t.value, at, value, clashes);
            Value::Tagged(t)
        }
        other => other.clone(),
    }
}

fn replace<'a>(s: &str, value: &dyn Fn(&str) -> Option<&'a ParamValue>) -> Value {
    let Ok(ps) = pieces(s) else {
        return Value::String(s.to_string());
    };
    if let [Piece::Text(""), Piece::Param(name), Piece::Text("")] = ps.as_slice() {
        if let Some(v) = value(name) {
            return v.yaml();
        }
    }
    let mut out = String::with_capacity(s.len());
    for p in ps {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Param(name) => match value(name) {
                Some(v) => out.push_str(&v.to_string()),
                None => {
                    out.push_str("${");
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Positions;
    use std::path::Path;

    fn values(name: &str) -> Option<&'static ParamValue> {
        static N: ParamValue = ParamValue::Int(50);
        static COIN: std::sync::OnceLock<ParamValue> = std::sync::OnceLock::new();
        match name {
            "N" => Some(&N),
            "coin" => Some(COIN.get_or_init(|| ParamValue::Text("ETH".into()))),
            _ => None,
        }
    }

    #[test]
    fn a_whole_scalar_keeps_its_type_and_text_is_interpolated() {
        let doc: Value = serde_yaml::from_str(
            "a: '${N}'\nb: 'x_${coin}_${N}.csv'\nc: ['$${N}', 3]\n'${coin}': k",
        )
        .unwrap();
        let out = substitute(&doc, &values, &mut Vec::new());
        let want: Value =
            serde_yaml::from_str("a: 50\nb: x_ETH_50.csv\nc: ['${N}', 3]\nETH: k").unwrap();
        assert_eq!(out, want);
    }

    /// A kept document filled again and again reads as a fresh substitution of each combination's
    /// values, in any order: every scalar that holds a placeholder is written anew each time.
    #[test]
    fn a_kept_document_filled_again_equals_a_fresh_substitution() {
        let doc: Value = serde_yaml::from_str(
            "a: '${N}'\nb: ['x_${coin}_${N}.csv', 3, {c: '${coin}', d: !T '${N}'}]\ne: '$${N}'\nf: 7",
        )
        .unwrap();
        let combos = [(50, "ETH"), (1000, "XTZ"), (50, "ETH"), (7, "BNB")];
        let mut filled = Filled::new(&doc).expect("no key holds a placeholder");
        for (n, coin) in combos {
            let (n, coin) = (ParamValue::Int(n), ParamValue::Text(coin.into()));
            let value = |name: &str| match name {
                "N" => Some(&n),
                "coin" => Some(&coin),
                _ => None,
            };
            let fresh = substitute(&doc, &value, &mut Vec::new());
            assert_eq!(filled.fill(&value), &fresh);
        }
        let keyed: Value = serde_yaml::from_str("'${coin}': 1").unwrap();
        assert!(
            Filled::new(&keyed).is_none(),
            "a key that changes is substituted afresh"
        );
    }

    #[test]
    fn keys_that_become_equal_keep_the_first_and_name_the_later_ones() {
        let doc: Value = serde_yaml::from_str(
            "t:\n- {'${coin}': 1, ETH: 2, x: 3}\n- [{'y_${N}': a, y_50: b}]\nETH: 4\n'${coin}': 5",
        )
        .unwrap();
        let mut clashes = Vec::new();
        let out = substitute(&doc, &values, &mut clashes);
        assert_eq!(clashes, ["t[0].ETH", "t[1][0].y_50", "${coin}"]);
        let want: Value = serde_yaml::from_str("t: [{ETH: 1, x: 3}, [{y_50: a}]]\nETH: 4").unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn placeholders_are_found_with_their_paths_and_malformed_ones_reported() {
        let doc: Value = serde_yaml::from_str("t: [{x: 'a${N}'}, '${coin}']\nu: '${bad'").unwrap();
        let mut diag = Diagnostics::new(Path::new("c.yaml"), Positions::default());
        let found = placeholders(&doc, &mut diag);
        let got: Vec<(&str, &str)> = found
            .iter()
            .map(|p| (p.name.as_str(), p.path.as_str()))
            .collect();
        assert_eq!(got, [("N", "t[0].x"), ("coin", "t[1]")]);
        let errors = diag.into_errors().0;
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "u");
        assert!(
            errors[0].message.contains("without a closing"),
            "{}",
            errors[0].message
        );
    }
}
