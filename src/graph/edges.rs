//! Labels and edges: every label unique, every `to_label` and `Consume` naming a tube that can take it.

use std::collections::HashMap;

use crate::base::datapoint::TubeId;
use crate::config::{closest, Config, Diagnostics, EventDecl, TubeKind};

/// The edges of a config, by tube index.
pub(super) struct Edges<'c> {
    /// Tube id by label.
    pub ids: HashMap<&'c str, TubeId>,
    /// Labels by tube id.
    pub labels: Vec<&'c str>,
    /// Data inputs of each tube, sorted by tube id.
    pub data_in: Vec<Vec<TubeId>>,
    /// The event each tube consumes.
    pub event_in: Vec<Option<TubeId>>,
    /// Where each tube's data goes, in `to_label` order.
    pub data_out: Vec<Vec<TubeId>>,
    /// A `to_label` named no tube (already reported): "no input" errors would only repeat it.
    pub unresolved_to_label: bool,
}

fn label_path(decl_path: &str) -> String {
    format!("{decl_path}.label")
}

impl<'c> Edges<'c> {
    /// Reads the labels and edges of `config`.
    pub fn of(config: &'c Config, diag: &mut Diagnostics) -> Edges<'c> {
        let n = config.tubes.len();
        let mut e = Edges {
            ids: HashMap::new(),
            labels: config.tubes.iter().map(|t| t.label.as_str()).collect(),
            data_in: vec![Vec::new(); n],
            event_in: vec![None; n],
            data_out: vec![Vec::new(); n],
            unresolved_to_label: false,
        };
        for (i, t) in config.tubes.iter().enumerate() {
            if let Some(&first) = e.ids.get(t.label.as_str()) {
                let first = &config.tubes[first as usize];
                diag.error(
                    &label_path(&t.path),
                    format!(
                        "duplicate label '{}' (also used by {})",
                        t.label, first.path
                    ),
                    Some("every tube needs its own label".into()),
                );
            } else {
                e.ids.insert(&t.label, i as TubeId);
            }
        }
        for i in 0..n {
            e.read_to_labels(config, i, diag);
            e.consume(config, i, diag);
        }
        for ins in &mut e.data_in {
            ins.sort_unstable();
        }
        e
    }

    /// The tube named `label`, or an error at `path` with the closest label.
    pub fn resolve(
        &self,
        diag: &mut Diagnostics,
        label: &str,
        path: &str,
        what: &str,
    ) -> Option<TubeId> {
        let id = self.ids.get(label).copied();
        if id.is_none() {
            let help = match closest(label, self.labels.iter().copied()) {
                Some(c) => format!("did you mean '{c}'?"),
                None => format!("labels are: {}", self.labels.join(", ")),
            };
            diag.error(path, format!("{what} '{label}' names no tube"), Some(help));
        }
        id
    }

    /// The YAML path of tube `i`'s `to_label` entry `k`.
    pub fn to_label_path(config: &Config, i: usize, k: usize) -> String {
        let t = &config.tubes[i];
        let to_path = format!("{}.to_label", t.path);
        if t.to.len() > 1 {
            format!("{to_path}[{k}]")
        } else {
            to_path
        }
    }

    fn read_to_labels(&mut self, config: &'c Config, i: usize, diag: &mut Diagnostics) {
        let t = &config.tubes[i];
        for (k, target) in t.to.iter().enumerate() {
            let p = Self::to_label_path(config, i, k);
            let Some(j) = self.resolve(diag, target, &p, "to_label") else {
                self.unresolved_to_label = true;
                continue;
            };
            match config.tubes[j as usize].kind {
                TubeKind::Generator(_) | TubeKind::ExternalEvent(_) => diag.error(
                    &p,
                    format!(
                        "'{target}' is a {} and takes no input",
                        config.tubes[j as usize].kind.name()
                    ),
                    Some("send data to a Through or a Sink".into()),
                ),
                _ if j as usize == i => diag.error(&p, "a tube cannot send data to itself", None),
                _ if self.data_in[j as usize].contains(&(i as TubeId)) => {
                    diag.error(&p, format!("'{target}' is listed twice"), None)
                }
                _ => {
                    self.data_in[j as usize].push(i as TubeId);
                    self.data_out[i].push(j);
                }
            }
        }
        if let TubeKind::Generator(_) = t.kind {
            if t.to.is_empty() {
                diag.error(
                    &t.path,
                    format!("generator '{}' sends its data nowhere", t.label),
                    Some("add to_label: <the tube that should receive it>".into()),
                );
            }
        }
    }

    fn consume(&mut self, config: &'c Config, i: usize, diag: &mut Diagnostics) {
        let t = &config.tubes[i];
        let TubeKind::Through(th) = &t.kind else {
            return;
        };
        let Some(EventDecl::Consume(src)) = &th.event else {
            return;
        };
        let p = format!("{}.event.Consume", t.path);
        let Some(j) = self.resolve(diag, src, &p, "Consume") else {
            return;
        };
        let produces = match &config.tubes[j as usize].kind {
            TubeKind::Through(o) => matches!(o.event, Some(EventDecl::Produce(_))),
            TubeKind::ExternalEvent(_) | TubeKind::Invalid(_) => true,
            _ => false,
        };
        if !produces {
            diag.error(
                &p,
                format!("'{src}' produces no event, so there is nothing to consume"),
                Some(format!(
                    "give '{src}' an event: {{Produce: ...}} rule, or consume an ExternalEvent"
                )),
            );
        } else if j as usize == i {
            diag.error(&p, "a tube cannot consume its own event", None);
        } else {
            self.event_in[i] = Some(j);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::{parse_str, Diagnostic};
    use crate::graph::testing::{line_of, BASE};

    struct Read {
        errors: Vec<Diagnostic>,
        data_in: Vec<Vec<TubeId>>,
        data_out: Vec<Vec<TubeId>>,
        event_in: Vec<Option<TubeId>>,
        unresolved: bool,
    }

    /// `BASE` with `from` replaced by `to`, read by the edges pass.
    fn edges(from: &str, to: &str) -> (String, Read) {
        assert!(BASE.contains(from), "the base holds '{from}'");
        let text = BASE.replacen(from, to, 1);
        let (config, mut diag) = parse_str(&text, Path::new("t.yaml")).unwrap();
        let e = Edges::of(&config, &mut diag);
        let read = Read {
            data_in: e.data_in,
            data_out: e.data_out,
            event_in: e.event_in,
            unresolved: e.unresolved_to_label,
            errors: diag.into_errors().0,
        };
        (text, read)
    }

    /// The single error, checked for its path, message and line.
    fn only_error(r: &Read, path: &str, message: &str, line: usize) -> Diagnostic {
        assert_eq!(r.errors.len(), 1, "{:#?}", r.errors);
        let d = r.errors[0].clone();
        assert_eq!((d.path.as_str(), d.message.as_str()), (path, message));
        assert_eq!(d.line, line);
        d
    }

    #[test]
    fn the_base_config_has_every_edge_and_no_error() {
        let (_, r) = edges("", "");
        assert!(r.errors.is_empty(), "{:#?}", r.errors);
        assert_eq!(r.data_out, [vec![2], vec![3], vec![4], vec![4], vec![]]);
        assert_eq!(r.data_in, [vec![], vec![], vec![0], vec![1], vec![2, 3]]);
        assert_eq!(r.event_in, [None, None, None, Some(2), None]);
        assert!(!r.unresolved);
    }

    #[test]
    fn a_duplicate_label_is_reported_where_it_is_used_again() {
        let (text, r) = edges("label: eth", "label: btc");
        let line = line_of(&text, "to_label: count}");
        only_error(
            &r,
            "tubes[1].Generator.label",
            "duplicate label 'btc' (also used by tubes[0].Generator)",
            line,
        );
    }

    #[test]
    fn a_to_label_naming_no_tube_suggests_the_closest_label() {
        let (text, r) = edges("to_label: vol}", "to_label: vool}");
        let d = only_error(
            &r,
            "tubes[0].Generator.to_label",
            "to_label 'vool' names no tube",
            line_of(&text, "to_label: vool"),
        );
        assert_eq!(d.help.as_deref(), Some("did you mean 'vol'?"));
        assert!(r.unresolved);
        assert!(r.data_out[0].is_empty());
    }

    #[test]
    fn a_tube_cannot_send_data_to_a_generator() {
        let (text, r) = edges(
            "to_label: sink\n    reducer: COUNT",
            "to_label: eth\n    reducer: COUNT",
        );
        only_error(
            &r,
            "tubes[3].Through.to_label",
            "'eth' is a Generator and takes no input",
            line_of(&text, "to_label: eth"),
        );
        assert!(r.data_in[1].is_empty());
        assert!(r.data_out[3].is_empty());
    }

    #[test]
    fn a_target_listed_twice_is_reported_at_its_second_entry_and_wired_once() {
        let (text, r) = edges(
            "to_label: sink\n    reducer: {SUM",
            "to_label: [sink, sink]\n    reducer: {SUM",
        );
        only_error(
            &r,
            "tubes[2].Through.to_label[1]",
            "'sink' is listed twice",
            line_of(&text, "[sink, sink]"),
        );
        assert_eq!(r.data_out[2], [4]);
        assert_eq!(r.data_in[4], [2, 3]);
    }

    #[test]
    fn consuming_a_tube_that_produces_no_event_is_an_error() {
        let (text, r) = edges("Consume: vol", "Consume: eth");
        let d = only_error(
            &r,
            "tubes[3].Through.event.Consume",
            "'eth' produces no event, so there is nothing to consume",
            line_of(&text, "Consume: eth"),
        );
        assert!(d.help.unwrap().contains("Produce"));
        assert_eq!(r.event_in[3], None);
    }
}
