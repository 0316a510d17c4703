//! The panels both views draw from a [`Snapshot`]: the run's title line, its feeds, its sinks with
//! their end-to-end latency, its rings and every latency series.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Row, Table};
use ratatui::Frame;

use crate::metrics::live::{FeedStats, Snapshot};
use crate::metrics::{duration_ns, human};

/// A feed this long without a trade says so in its status.
pub const QUIET_MS: u64 = 2000;

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// The height of a bordered table of `n` rows with a header.
pub fn rows_high(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX).saturating_add(3)
}

/// One line: the config, the kind of run, how long it has run, its process and the keys.
pub fn title(f: &mut Frame<'_>, area: Rect, s: &Snapshot, keys: &str) {
    let state = if s.ended { "ended" } else { "running" };
    let text = format!(
        " tubes · {} · {} · {state} {:.1} s · pid {} · {keys}",
        s.config,
        s.pipeline,
        s.elapsed_ms as f64 / 1000.0,
        s.pid
    );
    f.render_widget(Paragraph::new(Line::styled(text, bold())), area);
}

fn feed_cells(feed: Option<&FeedStats>) -> (String, String, Style) {
    let Some(feed) = feed else {
        return ("file".into(), String::new(), Style::default());
    };
    let color = match feed.state.as_str() {
        "up" if feed.gaps > 0 => Color::Yellow,
        "up" => Color::Green,
        "down" => Color::Red,
        _ => Color::Cyan,
    };
    let gaps = if feed.gaps > 0 {
        format!(
            "{} gaps ({} trades), {} reconnects",
            feed.gaps, feed.missed, feed.reconnects
        )
    } else {
        format!("{} reconnects", feed.reconnects)
    };
    let mut status = if feed.status.is_empty() {
        gaps
    } else {
        format!("{} · {gaps}", feed.status)
    };
    if feed.quiet_ms >= QUIET_MS {
        status = format!(
            "no trade for {:.1} s · {status}",
            feed.quiet_ms as f64 / 1000.0
        );
    }
    (feed.state.clone(), status, Style::default().fg(color))
}

/// Generators: rows, rate and, for live feeds, their state and last status.
pub fn feeds(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = s.generators.iter().map(|g| {
        let (state, status, style) = feed_cells(g.feed.as_ref());
        Row::new(vec![
            g.label.clone(),
            state,
            g.rows.to_string(),
            human(g.rate),
            status,
        ])
        .style(style)
    });
    let widths = [
        Constraint::Length(18),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Min(20),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["generator", "state", "rows", "rows/s", "status"]).style(bold()))
        .block(Block::bordered().title(" feeds "));
    f.render_widget(table, area);
}

/// Sinks: rows, rate and end-to-end latency over the last second.
pub fn sinks(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = s.sinks.iter().map(|k| {
        let name = format!("sink {} (end-to-end)", k.label);
        let lat = s.latency.iter().find(|l| l.end_to_end && l.name == name);
        let p = |v: Option<u64>| v.map_or_else(|| "-".to_string(), duration_ns);
        Row::new(vec![
            k.label.clone(),
            k.rows.to_string(),
            human(k.rate),
            p(lat.map(|l| l.p50)),
            p(lat.map(|l| l.p99)),
            p(lat.map(|l| l.p999)),
            p(lat.map(|l| l.max)),
        ])
    });
    let widths = [
        Constraint::Length(18),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    let table = Table::new(rows, widths)
        .header(
            Row::new(vec!["sink", "rows", "rows/s", "p50", "p99", "p99.9", "max"]).style(bold()),
        )
        .block(Block::bordered().title(" sinks · latency over the last second "));
    f.render_widget(table, area);
}

/// Rings between threads: how full, and drops.
pub fn rings(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = s.rings.iter().map(|r| {
        Row::new(vec![
            r.name.clone(),
            format!("{}/{}", r.fill, r.capacity),
            r.drops.to_string(),
        ])
    });
    let widths = [
        Constraint::Length(40),
        Constraint::Length(13),
        Constraint::Length(8),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["ring", "fill", "drops"]).style(bold()))
        .block(Block::bordered().title(" rings "));
    f.render_widget(table, area);
}

/// Every latency series over the last second.
pub fn latency(f: &mut Frame<'_>, area: Rect, s: &Snapshot) {
    let rows = s.latency.iter().map(|l| {
        Row::new(vec![
            l.name.clone(),
            l.count.to_string(),
            duration_ns(l.p50),
            duration_ns(l.p99),
            duration_ns(l.p999),
            duration_ns(l.max),
        ])
    });
    let widths = [
        Constraint::Length(44),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
        Constraint::Length(9),
    ];
    let title = if s.latency.is_empty() {
        " latency: none recorded yet (or metrics: off) "
    } else {
        " latency over the last second "
    };
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["series", "count", "p50", "p99", "p99.9", "max"]).style(bold()))
        .block(Block::bordered().title(title));
    f.render_widget(table, area);
}
