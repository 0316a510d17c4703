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
