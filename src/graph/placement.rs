//! Validation of an explicit `runtime.placement`: every through and sink in exactly one stage, cores that
//! exist, and no two stages feeding each other.

use std::collections::HashMap;

use crate::base::datapoint::TubeId;
use crate::config::{Config, Diagnostics, Placement, TubeKind};

pub(super) fn check_placement(
    diag: &mut Diagnostics,
    placement: &Placement,
    ids: &HashMap<&str, TubeId>,
    config: &Config,
    data_out: &[Vec<TubeId>],
    event_in: &[Option<TubeId>],
) {
    let cores = crate::base::pin::core_count();
    let Placement::Explicit(stages) = placement else {
        return;
    };
    let mut placed: Vec<Option<usize>> = vec![None; config.tubes.len()];
    for (s, stage) in stages.iter().enumerate() {
        if let Some(core) = stage.core {
            if core >= cores {
                diag.error(
                    &format!("{}.core", stage.path),
                    format!(
                        "core {core} does not exist: this machine has {cores} core{} (0–{})",
                        if cores == 1 { "" } else { "s" },
                        cores.saturating_sub(1)
                    ),
                    Some(
                        "pick an existing core, or leave core out to let the OS schedule the stage"
                            .into(),
                    ),
                );
            }
        }
        if stage.tubes.is_empty() {
            diag.error(&stage.path, "a stage must run at least one tube", None);
        }
        for (k, label) in stage.tubes.iter().enumerate() {
            let p = format!("{}.tubes[{k}]", stage.path);
            match ids.get(label.as_str()) {
                None => diag.error(&p, format!("'{label}' names no tube"), None),
                Some(&id) => match config.tubes[id as usize].kind {
                    TubeKind::Through(_) | TubeKind::Sink(_) | TubeKind::Invalid(_) => {
                        if let Some(prev) = placed[id as usize] {
                            diag.error(&p, format!("'{label}' is already placed in stage {prev}"), None);
                        }
                        placed[id as usize] = Some(s);
                    }
                    _ => diag.error(
                        &p,
                        format!("'{label}' is a {}: generators and external events run on their own threads", config.tubes[id as usize].kind.name()),
                        Some("list only Throughs and Sinks in stages".into()),
                    ),
                },
            }
        }
    }
    let missing: Vec<&str> = config
        .tubes
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            matches!(
                t.kind,
                TubeKind::Through(_) | TubeKind::Sink(_) | TubeKind::Invalid("Through" | "Sink")
            ) && placed[*i].is_none()
        })
        .map(|(_, t)| t.label.as_str())
        .collect();
    if !missing.is_empty() {
        diag.error(
            "runtime.placement",
            format!("these tubes are in no stage: {}", missing.join(", ")),
            Some("list every Through and Sink in exactly one stage".into()),
        );
    }
    check_stage_loops(diag, stages.len(), &placed, config, data_out, event_in);
}

/// Stages must not feed each other in a loop: each would wait for the other's progress forever.
fn check_stage_loops(
    diag: &mut Diagnostics,
    stage_count: usize,
    placed: &[Option<usize>],
    config: &Config,
    data_out: &[Vec<TubeId>],
    event_in: &[Option<TubeId>],
) {
    let mut edges = vec![vec![false; stage_count]; stage_count];
    let mut example = vec![vec![(0, 0); stage_count]; stage_count];
    for (src, outs) in data_out.iter().enumerate() {
        let consumers = outs.iter().copied().chain(
            event_in
                .iter()
                .enumerate()
                .filter(|(_, e)| **e == Some(src as TubeId))
                .map(|(c, _)| c as TubeId),
        );
        for dst in consumers {
            if let (Some(a), Some(b)) = (placed[src], placed[dst as usize]) {
                if a != b {
                    edges[a][b] = true;
                    example[a][b] = (src, dst as usize);
                }
            }
        }
    }
    // Floyd–Warshall reachability is plenty for a handful of stages.
    let mut reach = edges.clone();
    for k in 0..stage_count {
        for a in 0..stage_count {
            for b in 0..stage_count {
                reach[a][b] |= reach[a][k] && reach[k][b];
            }
        }
    }
    if let Some(a) = (0..stage_count).find(|&a| reach[a][a]) {
        let b = (0..stage_count)
            .find(|&b| b != a && edges[a][b] && reach[b][a])
            .unwrap_or(a);
        let (x, y) = example[a][b];
        let back = (0..stage_count)
            .flat_map(|c| (0..stage_count).map(move |d| (c, d)))
            .find(|&(c, d)| edges[c][d] && d == a && (c == b || reach[b][c]))
            .map(|(c, d)| example[c][d])
            .unwrap_or((y, x));
        diag.error(
            "runtime.placement",
            format!(
                "stages {a} and {b} feed each other: {} → {} goes from stage {a} to stage {b}, and {} → {} comes back",
                config.tubes[x].label, config.tubes[y].label, config.tubes[back.0].label, config.tubes[back.1].label
            ),
            Some("each stage waits for the other's progress; put these tubes in one stage, or split stages along the graph's order".into()),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{parse_str, Diagnostic};
    use crate::graph::testing::{line_of, BASE};

    /// The whole check of `BASE` with `placement` as its runtime placement: its text and its errors.
    fn check(placement: &str) -> (String, Vec<Diagnostic>) {
        let text = format!("{BASE}runtime:\n  placement: {placement}\n");
        let (config, diag) = parse_str(&text, Path::new("t.yaml")).unwrap();
        let errors = match crate::graph::check(config, diag, &crate::api::KINDS) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        (text, errors)
    }

    #[test]
    fn one_stage_with_every_through_and_sink_checks_clean() {
        let (_, errors) = check("[{tubes: [vol, count, sink]}]");
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn a_stage_may_not_name_a_generator() {
        let (text, errors) = check("[{tubes: [btc, vol, count, sink]}]");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let d = &errors[0];
        assert_eq!(d.path, "runtime.placement[0].tubes[0]");
        assert_eq!(
            d.message,
            "'btc' is a Generator: generators and external events run on their own threads"
        );
        assert_eq!(d.line, line_of(&text, "placement:"));
    }

    #[test]
    fn a_through_in_no_stage_is_named() {
        let (text, errors) = check("[{tubes: [vol, sink]}]");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let d = &errors[0];
        assert_eq!(d.path, "runtime.placement");
        assert_eq!(d.message, "these tubes are in no stage: count");
        assert_eq!(d.line, line_of(&text, "placement:"));
    }

    #[test]
    fn two_stages_feeding_each_other_are_rejected_with_both_edges() {
        // vol (stage 0) sends its event to count (stage 1), and count sends data back to sink (stage 0).
        let (text, errors) = check("[{tubes: [vol, sink]}, {tubes: [count]}]");
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let d = &errors[0];
        assert_eq!(d.path, "runtime.placement");
        assert_eq!(
            d.message,
            "stages 0 and 1 feed each other: vol → count goes from stage 0 to stage 1, and count → sink comes back"
        );
        assert_eq!(d.line, line_of(&text, "placement:"));
    }

    #[test]
    fn stages_along_the_graph_order_are_accepted() {
        let (_, errors) = check("[{tubes: [vol]}, {tubes: [count, sink]}]");
        assert!(errors.is_empty(), "{errors:#?}");
    }
}
