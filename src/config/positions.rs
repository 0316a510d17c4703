//! Where each node of a YAML document is: YAML path → line and column.
//!
//! `serde_yaml` gives values but not their positions, so the text is walked once more with
//! `yaml-rust2`'s marked event parser to build this index.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Positions of every node and mapping key, by YAML path (`tubes[3].Through.event`).
#[derive(Clone, Default)]
pub struct Positions {
    /// Shared: a sweep's hundreds of configs locate paths in the one template.
    at: std::sync::Arc<HashMap<String, (usize, usize)>>,
}

impl Positions {
    /// Indexes `text`. A text that does not parse yields an empty index (the syntax error is reported by the parser).
    pub fn index(text: &str) -> Self {
        let mut walker = Walker::default();
        let _ = Parser::new_from_str(text).load(&mut walker, false);
        Positions {
            at: walker.at.into(),
        }
    }

    /// Line and column (1-based) of `path`, or of its closest indexed ancestor.
    pub fn locate(&self, path: &str) -> (usize, usize) {
        let mut p = path;
        loop {
            if let Some(&pos) = self.at.get(p) {
                return pos;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return self.at.get("").copied().unwrap_or((1, 1)),
            }
        }
    }
}

enum Frame {
    /// In a mapping: the path of the key waiting for its value (None when the next scalar is a key).
    Map {
        base: String,
        key: Option<String>,
    },
    Seq {
        base: String,
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    at: HashMap<String, (usize, usize)>,
}

fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else {
        format!("{base}.{key}")
    }
}

impl Walker {
    /// The path of the node that starts now; None when the node is a mapping key.
    fn node_path(&mut self) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { base, next }) => {
                let p = format!("{base}[{next}]");
                *next += 1;
                Some(p)
            }
            Some(Frame::Map { key, .. }) => key.take(),
        }
    }

    fn record(&mut self, path: &str, mark: Marker) {
        self.at
            .entry(path.to_string())
            .or_insert((mark.line(), mark.col() + 1));
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => match self.node_path() {
                Some(path) => self.record(&path, mark),
                None => {
                    if let Some(Frame::Map { base, key }) = self.stack.last_mut() {
                        let p = join(base, &value);
                        *key = Some(p.clone());
                        self.record(&p, mark);
                    }
                }
            },
            Event::Alias(_) => {
                self.node_path();
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                // A collection used as a mapping key has no path of its own: index it under "?".
                let base = self.node_path().unwrap_or_else(|| "?".to_string());
                self.record(&base, mark);
                self.stack.push(match ev {
                    Event::MappingStart(..) => Frame::Map { base, key: None },
                    _ => Frame::Seq { base, next: 0 },
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_and_flow_nodes_are_located() {
        let text = "pipeline_type:\n  Batch: [a, b]\ntubes:\n- Generator: {label: x, to_label: y}\n- Sink:\n    label: s\n";
        let p = Positions::index(text);
        assert_eq!(p.locate("pipeline_type.Batch"), (2, 3));
        assert_eq!(p.locate("pipeline_type.Batch[1]"), (2, 14));
        assert_eq!(p.locate("tubes[0].Generator.to_label"), (4, 25));
        assert_eq!(p.locate("tubes[1].Sink.label"), (6, 5));
        assert_eq!(p.locate("tubes[1].Sink.nothing"), (5, 3));
    }
}
