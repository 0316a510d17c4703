//! Topological order of the graph, or the cycle that prevents one.

use crate::base::datapoint::TubeId;

/// Kahn's algorithm; on a cycle, returns the cycle as a path that ends where it starts.
pub(super) fn topo_order(
    n: usize,
    data_out: &[Vec<TubeId>],
    event_in: &[Option<TubeId>],
) -> Result<Vec<TubeId>, Vec<TubeId>> {
    let mut succ: Vec<Vec<TubeId>> = data_out.to_vec();
    for (i, e) in event_in.iter().enumerate() {
        if let Some(src) = e {
            succ[*src as usize].push(i as TubeId);
        }
    }
    let mut indeg = vec![0usize; n];
    for s in &succ {
        for &t in s {
            indeg[t as usize] += 1;
        }
    }
    let mut ready: std::collections::BTreeSet<TubeId> = (0..n)
        .filter(|&i| indeg[i] == 0)
        .map(|i| i as TubeId)
        .collect();
    let mut order = Vec::with_capacity(n);
    while let Some(t) = ready.pop_first() {
        order.push(t);
        for &s in &succ[t as usize] {
            indeg[s as usize] -= 1;
            if indeg[s as usize] == 0 {
                ready.insert(s);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Every node left has a predecessor that is also left: walk predecessors until one repeats.
    let left = |i: usize| indeg[i] > 0;
    let mut at = (0..n).find(|&i| left(i)).unwrap();
    let mut seen: Vec<usize> = Vec::new();
    while !seen.contains(&at) {
        seen.push(at);
        at = (0..n)
            .find(|&p| left(p) && succ[p].contains(&(at as TubeId)))
            .expect("a node left by Kahn's algorithm has a predecessor left");
    }
    let start = seen.iter().position(|&s| s == at).unwrap();
    let mut cycle: Vec<TubeId> = seen[start..].iter().rev().map(|&i| i as TubeId).collect();
    // Start at the tube declared first, so the same cycle always prints the same way.
    let first = (0..cycle.len()).min_by_key(|&k| cycle[k]).unwrap();
    cycle.rotate_left(first);
    cycle.push(cycle[0]);
    Err(cycle)
}
