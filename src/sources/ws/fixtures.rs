//! Test support: checks a parser against real captured messages, reading each expected field from the raw
//! JSON text with a plain token scanner that shares no code with the parsers.

use super::exchange::{Exchange, Trade};

/// What the test reads from the raw text of one trade.
#[derive(Debug, PartialEq)]
pub struct Expect {
    pub market: String,
    pub price: f64,
    pub quantity: f64,
    pub side: f64,
    pub id: Option<u64>,
    pub time_ns: i64,
}

/// What a fixture held.
pub struct Counts {
    /// Trades parsed (each checked against the raw text).
    pub trades: usize,
    /// Messages that held no trade.
    pub ignored: usize,
}

/// The raw token after the first `"key":` in `text`: a string's contents, or a number, bool or null as written.
pub fn raw_field(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":");
    let at = text.find(&pat)? + pat.len();
    let rest = text[at..].trim_start();
    if let Some(s) = rest.strip_prefix('"') {
        return Some(s[..s.find('"')?].to_string());
    }
    let end = rest.find([',', '}', ']']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

/// Parses every line of `path` with `exchange` and compares each trade, in order, with what `expect` reads
/// from the same line. No line may be malformed.
pub fn check_fixture(
    exchange: &dyn Exchange,
    path: &str,
    expect: impl Fn(&str) -> Vec<Expect>,
) -> Counts {
    let text = std::fs::read_to_string(path).unwrap();
    let mut counts = Counts {
        trades: 0,
        ignored: 0,
    };
    for (i, line) in text.lines().enumerate() {
        let mut got = Vec::new();
        exchange
            .parse(line, &mut |t: Trade<'_>| {
                got.push(Expect {
                    market: t.market.to_string(),
                    price: t.price,
                    quantity: t.quantity,
                    side: t.side,
                    id: t.id,
                    time_ns: t.time_ns,
                })
            })
            .unwrap_or_else(|e| panic!("{path}:{}: {}", i + 1, e.0));
        let want = expect(line);
        assert_eq!(got, want, "{path}:{}", i + 1);
        if got.is_empty() {
            counts.ignored += 1;
        }
        counts.trades += got.len();
    }
    counts
}

/// Checks a capture of one trade per trade message: the parser found a trade in exactly the lines
/// `is_trade` picks (a plain text test, independent of the parsers), there are some, and every other line
/// was ignored.
pub fn assert_one_trade_per_message(n: &Counts, path: &str, is_trade: impl Fn(&str) -> bool) {
    let text = std::fs::read_to_string(path).unwrap();
    let trades = text.lines().filter(|l| is_trade(l)).count();
    assert!(trades > 0, "{path} holds trades");
    assert_eq!(n.trades, trades, "{path}: one trade per trade message");
    assert_eq!(
        n.ignored,
        text.lines().count() - trades,
        "{path}: the rest ignored"
    );
}

/// Lines of `path`.
pub fn line_count(path: &str) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}
