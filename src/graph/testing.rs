//! What the graph's unit tests share: a small pipeline with every kind of edge, and line lookups.

/// Tube ids: btc 0, eth 1, vol 2, count 3, sink 4.
pub const BASE: &str = "pipeline_type: Stream
tubes:
- Generator: {label: btc, datasource: {Synthetic: {rate: 10}}, to_label: vol}
- Generator: {label: eth, datasource: {Synthetic: {rate: 10}}, to_label: count}
- Through:
    label: vol
    to_label: sink
    reducer: {SUM: {field: quantity}}
    event: {Produce: {GREATER: {field: sum_quantity, threshold: 10}}}
- Through:
    label: count
    to_label: sink
    reducer: COUNT
    event: {Consume: vol}
- Sink:
    label: sink
    datasink: Discard
    fields:
      vol: [sum_quantity]
      count: [count]
";

/// 1-based number of the only line of `text` that contains `needle`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let hits: Vec<usize> = (1..)
        .zip(text.lines())
        .filter(|(_, l)| l.contains(needle))
        .map(|(n, _)| n)
        .collect();
    assert_eq!(hits.len(), 1, "'{needle}' is on exactly one line");
    hits[0]
}
