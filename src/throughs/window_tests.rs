//! Windows and keys fed by hand: late data, empty windows, keys past `max_keys`, a sliding buffer
//! that has to grow. Expected values are worked out by hand in each test.

use super::Through;
use crate::base::datapoint::{Datapoint, Kind};
use crate::config::{ReducerDecl, WindowKind};
use crate::graph::{KeySpec, OpSpec, ThroughSpec, TriggerSpec, WindowSpec};

const S: i64 = 1_000_000_000;

/// A through over datapoints `[key, x]` with COUNT and SUM(x) (and MIN(x) when `min`), and `window`.
fn through(window: WindowKind, max_items: usize, keys: Option<usize>, min: bool) -> Through {
    Through::new(9, &spec(window, max_items, keys, min), 1)
}

/// The spec of [`through`].
fn spec(window: WindowKind, max_items: usize, keys: Option<usize>, min: bool) -> ThroughSpec {
    let op = |reducer| OpSpec {
        reducer,
        slots: vec![1],
        slots2: vec![],
    };
    let mut ops = vec![op(ReducerDecl::Count), op(ReducerDecl::Sum("x".into()))];
    if min {
        ops.push(op(ReducerDecl::Min("x".into())));
    }
    ThroughSpec {
        ops,
        nop: false,
        trigger: TriggerSpec::Always,
        window: Some(WindowSpec {
            kind: window,
            max_items,
            flush_at_end: true,
            lateness: 0,
        }),
        key: keys.map(|max_keys| KeySpec {
            slots: vec![0],
            known: vec![],
            max_keys,
        }),
    }
}

fn dp(t: i64, key: f64, x: f64) -> Datapoint {
    let mut d = Datapoint::new(Kind::Data, 0, t, 0);
    d.values[0] = key;
    d.values[1] = x;
    d.len = 2;
    d
}

/// Feeds `(time, key, x)`s, then ends the input; returns every emitted row's values.
fn feed(th: &mut Through, input: &[(i64, f64, f64)]) -> Vec<Vec<f64>> {
    let mut out = Vec::new();
    for &(t, k, x) in input {
        th.on_input(0, &dp(t, k, x), &mut out);
    }
    th.finish(&dp(0, 0.0, 0.0), &mut out);
    out.iter().map(|d| d.fields().to_vec()).collect()
}

#[test]
fn a_datapoint_for_a_closed_tumbling_window_is_counted_late_and_not_added() {
    let mut th = through(WindowKind::Tumbling { size: 60 * S }, 0, None, false);
    let rows = feed(
        &mut th,
        &[
            (0, 0.0, 1.0),
            (30 * S, 0.0, 2.0),
            (61 * S, 0.0, 4.0),
            (59 * S, 0.0, 8.0),
        ],
    );
    // [0, 60 s): 1 + 2; [60 s, 120 s): 4; the 8 at 59 s came after its window closed.
    assert_eq!(
        rows,
        [
            vec![2.0, 3.0, 0.0, 60_000.0],
            vec![1.0, 4.0, 60_000.0, 120_000.0]
        ]
    );
    assert_eq!(th.report().unwrap(), "1 late");
}

#[test]
fn a_partly_late_datapoint_joins_only_its_hopping_windows_still_open() {
    let mut th = through(
        WindowKind::Hopping {
            size: 120 * S,
            every: 60 * S,
        },
        0,
        None,
        false,
    );
    // 130 s closes [-60, 60) and [0, 120); 70 s belongs to [0, 120) (closed) and [60, 180) (open).
    let rows = feed(
        &mut th,
        &[(0, 0.0, 1.0), (130 * S, 0.0, 2.0), (70 * S, 0.0, 4.0)],
    );
    assert_eq!(
        rows,
        [
            vec![1.0, 1.0, -60_000.0, 60_000.0],
            vec![1.0, 1.0, 0.0, 120_000.0],
            vec![2.0, 6.0, 60_000.0, 180_000.0],
            vec![1.0, 2.0, 120_000.0, 240_000.0],
        ]
    );
    assert_eq!(th.report().unwrap(), "1 late");
}

#[test]
fn windows_without_data_emit_nothing_across_a_gap() {
    let mut th = through(WindowKind::Tumbling { size: 60 * S }, 0, None, false);
    let rows = feed(&mut th, &[(10 * S, 0.0, 1.0), (3600 * S, 0.0, 2.0)]);
    assert_eq!(
        rows.len(),
        2,
        "the 59 empty minutes between emit no row: {rows:?}"
    );
}

#[test]
fn a_late_datapoint_in_a_sliding_window_is_counted_and_emits_nothing() {
    let mut th = through(WindowKind::Sliding { size: 10 * S }, 4, None, false);
    let rows = feed(
        &mut th,
        &[(10 * S, 0.0, 1.0), (5 * S, 0.0, 2.0), (12 * S, 0.0, 4.0)],
    );
    assert_eq!(
        rows,
        [
            vec![1.0, 1.0, 10_000.0, 10_000.0],
            vec![2.0, 5.0, 10_000.0, 12_000.0]
        ]
    );
    assert!(th.report().unwrap().starts_with("1 late"));
}

#[test]
fn keys_past_max_keys_are_counted_not_kept() {
    let mut th = through(WindowKind::Tumbling { size: 60 * S }, 0, Some(2), false);
    let rows = feed(
        &mut th,
        &[(0, 7.0, 1.0), (1, 8.0, 2.0), (2, 9.0, 4.0), (3, 7.0, 8.0)],
    );
    // Key 9 came third with max_keys 2. Rows: count, sum, key, start, end.
    assert_eq!(
        rows,
        [
            vec![2.0, 9.0, 7.0, 0.0, 60_000.0],
            vec![1.0, 2.0, 8.0, 0.0, 60_000.0]
        ]
    );
    let said = th.report().unwrap();
    assert!(
        said.contains("1 datapoints of keys past max_keys (2) not kept"),
        "{said}"
    );
}

#[test]
fn a_sliding_buffer_that_overflows_grows_and_stays_exact() {
    // max_items 2, but six datapoints fit in the window: the buffer grows (2 → 4 → 8).
    let mut th = through(WindowKind::Sliding { size: 100 * S }, 2, None, true);
    let xs = [5.0, 3.0, 3.0, 9.0, 1.0, 4.0];
    let input: Vec<(i64, f64, f64)> = (0..6).map(|i| (i as i64 * S, 0.0, xs[i])).collect();
    let rows = feed(&mut th, &input);
    let last = rows.last().unwrap();
    assert_eq!(last[..3], [6.0, 25.0, 1.0]);
    let said = th.report().unwrap();
    assert!(said.contains("held at most 6 datapoints"), "{said}");
    assert!(said.contains("grew 2 times"), "{said}");
}

#[test]
fn a_buffer_of_max_items_rounded_up_to_a_power_of_two_wraps_and_grows_exactly() {
    // max_items 3 is a buffer of 4; the 5-second window holds 5 datapoints, so it grows once (4 → 8),
    // and twelve datapoints wrap around it.
    let mut th = through(WindowKind::Sliding { size: 5 * S }, 3, None, true);
    let xs = [7.0, 2.0, 9.0, 4.0, 4.0, 1.0, 8.0, 3.0, 6.0, 5.0, 0.5, 2.5];
    let input: Vec<(i64, f64, f64)> = (0..12).map(|i| (i as i64 * S, 0.0, xs[i])).collect();
    let rows = feed(&mut th, &input);
    for (i, row) in rows.iter().enumerate() {
        // (t - 5 s, t] holds the datapoints at the last five seconds.
        let held = &xs[i.saturating_sub(4)..=i];
        let min = held.iter().cloned().fold(f64::INFINITY, f64::min);
        assert_eq!(
            row[..3],
            [held.len() as f64, held.iter().sum(), min],
            "row {i}"
        );
    }
    let said = th.report().unwrap();
    assert!(said.contains("grew 1 times"), "{said}");
}

#[test]
fn sliding_min_follows_evictions_and_ties() {
    // 3-second window over x = 4, 2, 2, 7, 5, 6, 1 at 0..6 s: (t - 3 s, t] holds the last three.
    let mut th = through(WindowKind::Sliding { size: 3 * S }, 8, None, true);
    let xs = [4.0, 2.0, 2.0, 7.0, 5.0, 6.0, 1.0];
    let input: Vec<(i64, f64, f64)> = (0..7).map(|i| (i as i64 * S, 0.0, xs[i])).collect();
    let mins: Vec<f64> = feed(&mut th, &input).iter().map(|r| r[2]).collect();
    let mut want = Vec::new();
    for i in 0..xs.len() {
        let lo = i.saturating_sub(2);
        want.push(xs[lo..=i].iter().cloned().fold(f64::INFINITY, f64::min));
    }
    assert_eq!(mins, want);
}

#[test]
fn a_tick_closes_the_windows_that_ended_allowed_lateness_before_it() {
    // A tumbling minute that consumes a tick on port 1, with 10 s of allowed lateness.
    let mut sp = spec(WindowKind::Tumbling { size: 60 * S }, 0, None, false);
    sp.trigger = TriggerSpec::Consume;
    sp.window.as_mut().unwrap().lateness = 10 * S;
    let mut th = Through::new(9, &sp, 1);
    let tick = |t| Datapoint::new(Kind::Tick, 3, t, 0);
    let mut out = Vec::new();
    th.on_input(0, &dp(10 * S, 0.0, 1.0), &mut out);
    th.on_input(0, &dp(50 * S, 0.0, 2.0), &mut out);
    th.on_input(1, &tick(65 * S), &mut out);
    assert!(
        out.is_empty(),
        "65 s is within the lateness allowed after 60 s"
    );
    th.on_input(0, &dp(58 * S, 0.0, 4.0), &mut out);
    th.on_input(1, &tick(75 * S), &mut out);
    let rows: Vec<Vec<f64>> = out.iter().map(|d| d.fields().to_vec()).collect();
    assert_eq!(
        rows,
        [vec![3.0, 7.0, 0.0, 60_000.0]],
        "the quiet minute closed by the clock"
    );
    out.clear();
    th.on_input(0, &dp(59 * S, 0.0, 8.0), &mut out);
    assert!(out.is_empty());
    assert_eq!(th.report().unwrap(), "1 late");
}

#[test]
fn sliding_sums_recover_once_an_overflow_has_left_the_window() {
    // Two values of 1e308 overflow the sum to ∞; once both have left, the window holds 5 then 5 and 7.
    let mut th = through(WindowKind::Sliding { size: 60 * S }, 8, None, false);
    let input = [
        (0, 0.0, 1e308),
        (S, 0.0, 1e308),
        (100 * S, 0.0, 5.0),
        (101 * S, 0.0, 7.0),
    ];
    let sums: Vec<f64> = feed(&mut th, &input).iter().map(|r| r[1]).collect();
    assert_eq!(sums[2..], [5.0, 12.0]);
}

#[test]
fn sliding_lateness_is_per_key() {
    // Key 2's datapoint at 5 s comes after key 1's at 10 s: in order for its own key, so not late.
    let mut th = through(WindowKind::Sliding { size: 60 * S }, 8, Some(4), false);
    let rows = feed(
        &mut th,
        &[(10 * S, 1.0, 1.0), (5 * S, 2.0, 2.0), (4 * S, 2.0, 4.0)],
    );
    assert_eq!(rows.len(), 2, "only key 2's datapoint at 4 s is late");
    assert!(
        th.report().unwrap().contains(", 1 late"),
        "{:?}",
        th.report()
    );
}
