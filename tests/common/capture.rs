//! A live run's answer from a captured Binance session, by a plain loop over the capture's text, and
//! the rows a live run wrote.

use std::path::Path;

use super::{ms, read_csv};

/// One window: the BTC trade that closed it (ms), BTC volume, ETH trades and ETH volume in it.
#[derive(Debug, PartialEq)]
pub struct Window {
    pub time_ms: i64,
    pub btc: f64,
    pub eth_count: f64,
    pub eth: f64,
}

/// The raw text of `"key":"value"` in a captured line.
pub fn raw<'a>(line: &'a str, key: &str) -> &'a str {
    let pat = format!("\"{key}\":");
    let rest = &line[line.find(&pat).unwrap() + pat.len()..];
    let rest = rest.trim_start_matches('"');
    &rest[..rest.find(['"', ',', '}']).unwrap()]
}

/// Every 10 BTC, the ETH trades since the last window: a plain loop over the capture in its order.
pub fn expected(lines: &[String]) -> Vec<Window> {
    let (mut btc, mut n, mut eth) = (0.0f64, 0.0f64, 0.0f64);
    let mut out = Vec::new();
    for l in lines {
        let q: f64 = raw(l, "q").parse().unwrap();
        if l.starts_with("{\"stream\":\"btcusdt@trade\"") {
            btc += q;
            if btc > 10.0 {
                out.push(Window {
                    time_ms: raw(l, "T").parse().unwrap(),
                    btc,
                    eth_count: n,
                    eth,
                });
                (btc, n, eth) = (0.0, 0.0, 0.0);
            }
        } else {
            n += 1.0;
            eth += q;
        }
    }
    out
}

/// The data rows and the status texts of the sink's CSV, in order.
pub fn read_output(path: &Path) -> (Vec<Window>, Vec<String>) {
    let rows = read_csv(path);
    assert_eq!(
        rows[0],
        [
            "timestamp",
            "btc_vol_sum.sum_quantity",
            "eth_counter.count",
            "eth_counter.sum_quantity",
            "status"
        ]
    );
    let (mut windows, mut statuses) = (Vec::new(), Vec::new());
    for r in &rows[1..] {
        if !r[4].is_empty() {
            statuses.push(r[4].clone());
            continue;
        }
        windows.push(Window {
            time_ms: ms(&r[0]),
            btc: r[1].parse().unwrap(),
            eth_count: r[2].parse().unwrap(),
            eth: r[3].parse().unwrap(),
        });
    }
    (windows, statuses)
}
