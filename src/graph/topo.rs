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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every edge `a → b` (data out, or the event `b` consumes from `a`) of the graph.
    fn all_edges(data_out: &[Vec<TubeId>], event_in: &[Option<TubeId>]) -> Vec<(TubeId, TubeId)> {
        let mut e = Vec::new();
        for (a, outs) in data_out.iter().enumerate() {
            for &b in outs {
                e.push((a as TubeId, b));
            }
        }
        for (b, src) in event_in.iter().enumerate() {
            if let Some(a) = src {
                e.push((*a, b as TubeId));
            }
        }
        e
    }

    #[test]
    fn a_dag_is_ordered_with_every_edge_forward_and_ties_by_declaration_order() {
        // 3 → 1 → 4, 0 → 2 → 4, and 4 consumes an event of 0.
        let data_out = vec![vec![2], vec![4], vec![4], vec![1], vec![]];
        let event_in = vec![None, None, None, None, Some(0)];
        let order = topo_order(5, &data_out, &event_in).unwrap();
        let mut pos = [usize::MAX; 5];
        for (k, &t) in order.iter().enumerate() {
            pos[t as usize] = k;
        }
        assert!(pos.iter().all(|&p| p < 5), "each tube once: {order:?}");
        for (a, b) in all_edges(&data_out, &event_in) {
            assert!(pos[a as usize] < pos[b as usize], "{a} → {b} in {order:?}");
        }
        // By hand, always taking the lowest ready id: {0,3} → 0; {2,3} → 2; {3} → 3; {1} → 1; {4} → 4.
        assert_eq!(order, [0, 2, 3, 1, 4]);
    }

    #[test]
    fn an_event_edge_orders_its_producer_before_an_earlier_declared_consumer() {
        // 0 → 2 by data; 0 consumes 1's event, so 1 comes first although declared later.
        let order = topo_order(3, &[vec![2], vec![], vec![]], &[Some(1), None, None]).unwrap();
        assert_eq!(order, [1, 0, 2]);
    }

    #[test]
    fn a_cycle_is_returned_from_its_lowest_id_back_to_it() {
        // 0 → 2 leads into the cycle 2 → 3 → 1 → 2; 4 hangs off it.
        let data_out = vec![vec![2], vec![2], vec![3], vec![1, 4], vec![]];
        let event_in = vec![None; 5];
        let cycle = topo_order(5, &data_out, &event_in).unwrap_err();
        assert_eq!(cycle, [1, 2, 3, 1]);
        let edges = all_edges(&data_out, &event_in);
        for w in cycle.windows(2) {
            assert!(
                edges.contains(&(w[0], w[1])),
                "{} → {} is an edge",
                w[0],
                w[1]
            );
        }
    }

    #[test]
    fn a_cycle_closed_by_an_event_edge_is_found() {
        // 1 → 2 by data, 2 → 3 by data, and 1 consumes 3's event.
        let data_out = vec![vec![], vec![2], vec![3], vec![]];
        let event_in = vec![None, Some(3), None, None];
        assert_eq!(
            topo_order(4, &data_out, &event_in).unwrap_err(),
            [1, 2, 3, 1]
        );
    }
}
