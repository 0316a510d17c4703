//! The errors of a sweep's combinations, gathered: an error that several combinations make is reported
//! once, with the parameter values of the first that made it and a count of the others.

use crate::config::{ConfigErrors, Diagnostic, Template};

/// One error, and the combinations that made it.
struct Found {
    first: Diagnostic,
    /// The message with each parameter value written as `${name}`, which is what makes two
    /// combinations' errors the same one.
    key: String,
    combos: Vec<usize>,
}

/// Every error of a sweep's combinations.
#[derive(Default)]
pub(super) struct Collected(Vec<Found>);

/// `message` with the text of each value of combination `k` replaced by `${name}`, longest first.
fn key(t: &Template, k: usize, message: &str) -> String {
    let sweep = t.sweep.as_ref().expect("a sweep");
    let mut pairs: Vec<(String, &str)> = sweep
        .values(k)
        .iter()
        .map(|v| v.to_string())
        .zip(sweep.params())
        .filter(|(v, _)| !v.is_empty())
        .collect();
    pairs.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
    let mut key = message.to_string();
    for (v, name) in pairs {
        key = key.replace(&v, &format!("${{{name}}}"));
    }
    key
}

/// `N=50, coin=ETH`: the values in combination `k` of `names`.
fn values(t: &Template, k: usize, names: &[&str]) -> String {
    let sweep = t.sweep.as_ref().expect("a sweep");
    let all = sweep.params();
    let vals = sweep.values(k);
    let with: Vec<String> = names
        .iter()
        .map(|n| {
            let i = all.iter().position(|a| a == n).expect("a parameter");
            format!("{n}={}", vals[i])
        })
        .collect();
    with.join(", ")
}

impl Collected {
    /// Adds the errors of combination `k`.
    pub(super) fn add(&mut self, t: &Template, k: usize, errors: ConfigErrors) {
        for d in errors.0 {
            let key = key(t, k, &d.message);
            let same = |f: &&mut Found| {
                (f.first.line, f.first.column, &f.first.path, &f.key)
                    == (d.line, d.column, &d.path, &key)
            };
            match self.0.iter_mut().find(same) {
                Some(f) => f.combos.push(k),
                None => self.0.push(Found {
                    first: d,
                    key,
                    combos: vec![k],
                }),
            }
        }
    }

    /// The errors, in file order, each naming the values that made it: those of the parameters its
    /// YAML entry uses, or all of them when it uses none but not every one of the `checked`
    /// combinations made it. `None` when there are none.
    pub(super) fn into_errors(self, t: &Template, checked: usize) -> Option<ConfigErrors> {
        let all = t.sweep.as_ref().expect("a sweep").params();
        let mut out: Vec<Diagnostic> = self
            .0
            .into_iter()
            .map(|f| {
                let mut d = f.first;
                let mut names = t.params_at(&d.path);
                if names.is_empty() && f.combos.len() < checked {
                    names = all.clone();
                }
                if names.is_empty() {
                    return d;
                }
                let mut with: Vec<String> = Vec::new();
                for &k in &f.combos {
                    let v = values(t, k, &names);
                    if !with.contains(&v) {
                        with.push(v);
                    }
                }
                let more = match with.len() - 1 {
                    0 => String::new(),
                    n => {
                        let shown: Vec<&str> =
                            with[1..].iter().take(3).map(String::as_str).collect();
                        let tail = match n.saturating_sub(3) {
                            0 => String::new(),
                            rest => format!(" and {rest} more"),
                        };
                        format!("; also with {}{tail}", shown.join("; "))
                    }
                };
                d.message = format!("{} (with {}{more})", d.message, with[0]);
                d
            })
            .collect();
        out.sort_by_key(|d| (d.line, d.column));
        (!out.is_empty()).then_some(ConfigErrors(out))
    }
}
