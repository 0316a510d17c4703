//! The one-line end-of-run summary.

use super::Report;
use crate::metrics::human;

/// The one-line summary (plus a line per generator that skipped or dropped rows).
pub fn summary(r: &Report) -> String {
    let secs = r.wall.as_secs_f64();
    let rate = if secs > 0.0 {
        r.datapoints as f64 / secs
    } else {
        0.0
    };
    let mut s = format!(
        "tubes: {} datapoints in, {} rows out, {:.3} s wall, {} datapoints/s",
        r.datapoints,
        r.rows,
        secs,
        human(rate)
    );
    if r.interrupted {
        s.push_str(
            "\n  interrupted: stopped early by a signal; everything read was processed and flushed",
        );
    }
    for g in &r.generators {
        if let Some(f) = &g.feed {
            s.push_str(&format!(
                "\n  {}: {} trades from {}; {} reconnects, {} gaps ({} missed trades), {} duplicates dropped, {} malformed frames",
                g.label, g.rows, f.name, f.reconnects, f.gaps, f.missed, f.duplicates, f.malformed
            ));
            if f.foreign > 0 {
                s.push_str(&format!(
                    "\n    {} messages passed over (trades of markets no generator reads, messages that are not trades)",
                    f.foreign
                ));
            }
            if let Some(e) = &f.last_error {
                s.push_str(&format!("\n    last connection error: {e}"));
            }
        }
        if !g.named.is_empty() {
            s.push_str(&format!(
                "\n  {}: the first malformed messages are at {}",
                g.label,
                g.named.join(", ")
            ));
        }
        if g.unread > 0 {
            s.push_str(&format!(
                "\n  {}: {} rows not read (stopped early)",
                g.label, g.unread
            ));
        }
        let queue = g.feed.is_none() && (g.duplicates > 0 || g.passed > 0);
        if g.skipped > 0 || g.outside > 0 || queue {
            s.push_str(&format!(
                "\n  {}: {} rows read, {} malformed rows skipped, {} rows outside the Batch range",
                g.label, g.rows, g.skipped, g.outside
            ));
            if queue {
                s.push_str(&format!(
                    ", {} duplicates dropped, {} messages passed over (other markets, not trades)",
                    g.duplicates, g.passed
                ));
            }
        }
    }
    for (label, note) in &r.throughs {
        s.push_str(&format!("\n  {label}: {note}"));
    }
    if !r.drops.is_empty() {
        let total: u64 = r.drops.iter().map(|(_, n)| n).sum();
        let each: Vec<String> = r
            .drops
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(ring, n)| format!("{ring} {n}"))
            .collect();
        s.push_str(&format!(
            "\n  dropped (backpressure: drop_newest): {total} datapoints{}",
            if each.is_empty() {
                String::new()
            } else {
                format!(" ({})", each.join(", "))
            }
        ));
    }
    s.push_str(&format!("\n  threads: {}", r.placement));
    s
}
