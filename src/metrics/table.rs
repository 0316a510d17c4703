//! Percentile tables: count, p50, p90, p99, p99.9, max per series.

use hdrhistogram::Histogram;

use super::Series;

/// `850ns`, `12.3µs`, `4.56ms`, `1.20s`.
pub fn duration_ns(ns: u64) -> String {
    let x = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}µs", x / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", x / 1e6)
    } else {
        format!("{:.2}s", x / 1e9)
    }
}

/// One line per series with data: count, p50, p90, p99, p99.9, max.
pub fn latency_table(title: &str, series: &[Series], hists: &[Histogram<u64>]) -> String {
    let labels: Vec<String> = series.iter().map(Series::label).collect();
    let w = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .max(title.len());
    let mut out = format!(
        "{title:<w$}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}\n",
        "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for (label, h) in labels.iter().zip(hists) {
        if h.is_empty() {
            continue;
        }
        let pad = w - label.chars().count();
        out.push_str(&format!(
            "{label}{:pad$}  {:>10}  {:>9}  {:>9}  {:>9}  {:>9}  {:>9}\n",
            "",
            h.len(),
            duration_ns(h.value_at_quantile(0.50)),
            duration_ns(h.value_at_quantile(0.90)),
            duration_ns(h.value_at_quantile(0.99)),
            duration_ns(h.value_at_quantile(0.999)),
            duration_ns(h.max()),
        ));
    }
    out
}

/// 1234567.0 → "1.23 M".
pub fn human(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
