//! `tubes graph`: the checked graph as Graphviz DOT.

use std::fmt::Write;

use super::model::{Graph, NodeKind, Port};

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Tubes as nodes (shape by kind); data edges solid, event edges dashed.
pub fn to_dot(g: &Graph) -> String {
    to_dot_with(g, &|_| None, None)
}

/// [`to_dot`], with `note(i)` replacing the second line of tube `i`'s node when it gives one (a sweep's
/// template: the datasource as written, the parameters a tube uses), and a title under the graph.
pub fn to_dot_with(
    g: &Graph,
    note: &dyn Fn(usize) -> Option<String>,
    title: Option<&str>,
) -> String {
    let mut out =
        String::from("digraph tubes {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
    if let Some(t) = title {
        let _ = writeln!(out, "  label={};\n  labelloc=b;", quote(t));
    }
    for (i, n) in g.nodes.iter().enumerate() {
        let (shape, what) = match &n.kind {
            NodeKind::Source(s) => ("box", s.describe()),
            NodeKind::Through(t) if t.nop => ("ellipse", "NOP".to_string()),
            NodeKind::Through(t) => ("ellipse", window_note(t, n.schema.join(", "))),
            NodeKind::Sink { .. } => ("cds", "Sink".to_string()),
            NodeKind::Tick(_) => ("diamond", "StaticTimeTick".to_string()),
        };
        let what = note(i).unwrap_or(what);
        let label = format!("{}\\n{}", n.label, what.replace('"', "'"));
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label=\"{label}\"];",
            quote(&n.label)
        );
    }
    for n in &g.nodes {
        for p in &n.ports {
            let src = quote(&g.nodes[p.source() as usize].label);
            let dst = quote(&n.label);
            match p {
                Port::Data(_) => {
                    let _ = writeln!(out, "  {src} -> {dst};");
                }
                Port::Event(_) => {
                    let _ = writeln!(out, "  {src} -> {dst} [style=dashed, label=\"event\"];");
                }
            }
        }
    }
    out.push_str("}\n");
    out
}

/// A through's fields, after its window and key when it has them (`tumbling 1m, per key: …`).
fn window_note(t: &super::ThroughSpec, fields: String) -> String {
    use crate::config::WindowKind;
    let span = |ns: i64| {
        let units = [
            ("h", 3_600_000_000_000),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
        ];
        match units.iter().find(|(_, n)| ns % n == 0) {
            Some((u, n)) => format!("{}{u}", ns / n),
            None => format!("{ns}ns"),
        }
    };
    let mut parts = Vec::new();
    match t.window.map(|w| w.kind) {
        Some(WindowKind::Sliding { size }) => parts.push(format!("sliding {}", span(size))),
        Some(WindowKind::Tumbling { size }) => parts.push(format!("tumbling {}", span(size))),
        Some(WindowKind::Hopping { size, every }) => {
            parts.push(format!("hopping {} every {}", span(size), span(every)))
        }
        None => {}
    }
    if t.key.is_some() {
        parts.push("per key".into());
    }
    if parts.is_empty() {
        return fields;
    }
    format!("{}: {fields}", parts.join(", "))
}
