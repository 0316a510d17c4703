//! The replay: captured messages sent in order, paced, with faults injected on demand. The position in the
//! capture is shared by every connection, so a client that reconnects resumes where it left off (less
//! `--overlap` messages, which it has already seen).

use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tubes::base::time::wall_ns;

use tungstenite::{Message, WebSocket};

use crate::protocol::Subscription;

/// The captured messages and, when known, when each was received (ns).
pub struct Capture {
    pub lines: Vec<String>,
    pub times: Option<Vec<i64>>,
    /// Binance streams and how many trade ids each spans, so `--loop` can keep ids rising.
    pub spans: Vec<(String, u64)>,
}

/// The stream of a Binance combined-stream line and its trade id (`t`, or `a` for aggTrade).
fn binance_id(line: &str) -> Option<(&str, u64)> {
    let stream = line.strip_prefix("{\"stream\":\"")?;
    let stream = &stream[..stream.find('"')?];
    let at = line.find("\"t\":").or_else(|| line.find("\"a\":"))? + 4;
    let digits = &line[at..at + line[at..].find(|c: char| !c.is_ascii_digit())?];
    Some((stream, digits.parse().ok()?))
}

/// `line` with its Binance trade id raised by `by`.
fn shift_id(line: &str, by: u64) -> String {
    let Some((_, id)) = binance_id(line) else {
        return line.to_string();
    };
    let at = line
        .find("\"t\":")
        .or_else(|| line.find("\"a\":"))
        .unwrap_or(0)
        + 4;
    let end = at + id.to_string().len();
    format!("{}{}{}", &line[..at], id + by, &line[end..])
}

impl Capture {
    /// Reads an NDJSON capture and its `.recv_ts.csv` sidecar (`line,local_recv_ns` or `line,recv_ts_unix_s`).
    pub fn load(path: &Path, recv_ts: Option<&Path>) -> Result<Capture, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let lines: Vec<String> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        let sidecar = match recv_ts {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let p = path.with_extension("recv_ts.csv");
                p.exists().then_some(p)
            }
        };
        let times = match sidecar {
            None => None,
            Some(p) => {
                let t = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                let mut rows = t.lines();
                let header = rows.next().unwrap_or("");
                let secs = header.ends_with("_s");
                let times: Result<Vec<i64>, String> = rows
                    .map(|r| {
                        let v = r
                            .split(',')
                            .nth(1)
                            .ok_or_else(|| format!("{}: bad row '{r}'", p.display()))?;
                        if secs {
                            v.parse::<f64>()
                                .map(|s| (s * 1e9) as i64)
                                .map_err(|e| e.to_string())
                        } else {
                            v.parse::<i64>().map_err(|e| e.to_string())
                        }
                    })
                    .collect();
                let times = times?;
                if times.len() != lines.len() {
                    return Err(format!(
                        "{} has {} rows for {} messages",
                        p.display(),
                        times.len(),
                        lines.len()
                    ));
                }
                Some(times)
            }
        };
        let mut ranges: Vec<(String, u64, u64)> = Vec::new();
        for l in &lines {
            if let Some((stream, id)) = binance_id(l) {
                match ranges.iter_mut().find(|(s, ..)| s == stream) {
                    Some((_, lo, hi)) => (*lo, *hi) = ((*lo).min(id), (*hi).max(id)),
                    None => ranges.push((stream.to_string(), id, id)),
                }
            }
        }
        let spans = ranges
            .into_iter()
            .map(|(s, lo, hi)| (s, hi - lo + 1))
            .collect();
        Ok(Capture {
            lines,
            times,
            spans,
        })
    }
}

/// How fast to send.
#[derive(Clone, Copy, Debug)]
pub enum Pacing {
    /// As fast as the client reads.
    Max,
    /// The capture's own pacing, sped up this many times.
    Speed(f64),
    /// A fixed number of messages per second.
    Rate(f64),
}

/// Faults to inject.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Drop the connection (no close frame) after this many messages on it.
    pub drop_every: Option<u64>,
    /// A new connection starts this many messages before where the last one stopped.
    pub overlap: usize,
    /// After every this many messages, send a truncated copy of the next one.
    pub malformed_every: Option<u64>,
    /// After this many messages in all, stop sending for this long (once).
    pub stall: Option<(u64, Duration)>,
    /// Capture lines never sent: (first, count).
    pub skip: Vec<(usize, usize)>,
    /// Add `"mock_sent_ns":<wall-clock ns>` to every JSON object message: when it was due (paced), or
    /// when it was written (`--speed max`); and before it `"mock_wrote_ns"`, when it was written.
    pub stamp: bool,
    /// Spin the last [`SPIN_BEFORE_DUE`] before each paced message instead of sleeping.
    pub spin: bool,
    /// Start the capture again at its end (Binance trade ids keep rising across passes).
    pub repeat: bool,
}

/// How often an idle connection is pinged.
const KEEPALIVE: Duration = Duration::from_millis(500);

/// The position shared by every connection.
#[derive(Default)]
pub struct Shared {
    cursor: usize,
    epoch: u64,
    sent: u64,
    stalled: bool,
    connections: u64,
    /// Completed passes over the capture (`--loop`).
    passes: u64,
}

/// A stream the mock can cut abruptly.
pub trait Cut: Read + Write {
    /// Closes the TCP connection without a WebSocket close frame.
    fn cut(&mut self);
}

/// `line` with `"mock_wrote_ns":<wall clock now>,"mock_sent_ns":<at>` added, when `at` is given and the
/// line is a JSON object: when it was due, and when the mock actually wrote it (the difference is the
/// sender's own lag, which a client can report apart from its latency). `mock_sent_ns` stays last.
fn stamped(line: &str, at: Option<i64>) -> String {
    match (line.strip_suffix('}'), at) {
        (Some(body), Some(at)) => {
            format!(
                "{body},\"mock_wrote_ns\":{},\"mock_sent_ns\":{at}}}",
                wall_ns()
            )
        }
        _ => line.to_string(),
    }
}

/// Below this much time before a message is due the sender spins instead of sleeping: even with the
/// timer slack at its least (see [`precise_sleeps`]) a sleep wakes some microseconds late, and that delay
/// would be charged to the client as latency.
const SPIN_BEFORE_DUE: Duration = Duration::from_micros(50);

/// Asks the kernel to wake this thread's sleeps on time: the default timer slack lets a sleep end up
/// to 50 µs late, most of the interval between messages at 20,000 a second. Only with `--spin`: on a
/// machine without a core to spare, the default slack lets the kernel wake the sender once for several
/// messages, and precise wake-ups (one per message) took cores from the client and made its tail worse.
fn precise_sleeps() {
    // SAFETY: PR_SET_TIMERSLACK takes a plain integer and changes only this thread's timer slack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Waits until `due`: sleeps to it, or with `spin` sleeps until just before it and spins the rest.
fn wait_until(due: Instant, spin: bool) {
    let now = Instant::now();
    let ahead = if spin {
        SPIN_BEFORE_DUE
    } else {
        Duration::ZERO
    };
    if due > now + ahead {
        std::thread::sleep(due - now - ahead);
    }
    while spin && Instant::now() < due {
        std::hint::spin_loop();
    }
}

/// Sends the capture on one connection until the client goes, the mock drops it, or a newer connection
/// takes over.
pub fn replay<S: Cut>(
    ws: &mut WebSocket<S>,
    sub: &Subscription,
    cap: &Capture,
    pacing: Pacing,
    faults: &Faults,
    shared: &Arc<Mutex<Shared>>,
    id: u64,
) -> String {
    let epoch = {
        let mut s = shared.lock().unwrap();
        s.epoch += 1;
        if s.connections > 0 {
            s.cursor = s.cursor.saturating_sub(faults.overlap);
        }
        s.connections += 1;
        s.epoch
    };
    if faults.spin {
        precise_sleeps();
    }
    let t0 = Instant::now();
    let wall0 = wall_ns();
    let mut first: Option<usize> = None;
    let mut here = 0u64;
    let mut unflushed = 0;
    let mut last_ping = Instant::now();
    loop {
        let (i, sent, passes) = {
            let mut s = shared.lock().unwrap();
            if s.epoch != epoch {
                return format!(
                    "connection {id}: superseded by a newer connection after {here} messages"
                );
            }
            if let Some((after, len)) = faults.stall {
                if !s.stalled && s.sent >= after {
                    // Before taking the next line, so a client that reconnects meanwhile gets it.
                    s.stalled = true;
                    let sent = s.sent;
                    drop(s);
                    let _ = ws.flush();
                    eprintln!("mock-exchange: connection {id}: stalling for {len:?} after {sent} messages");
                    std::thread::sleep(len);
                    continue;
                }
            }
            if s.cursor >= cap.lines.len() {
                if faults.repeat {
                    s.cursor = 0;
                    s.passes += 1;
                    continue;
                }
                drop(s);
                if unflushed > 0 {
                    let _ = ws.flush();
                    unflushed = 0;
                }
                // Nothing left to send: keep the connection alive with pings, as exchanges do.
                if last_ping.elapsed() >= KEEPALIVE {
                    last_ping = Instant::now();
                    if ws.send(Message::Ping(Default::default())).is_err() {
                        return format!("connection {id}: the client went after {here} messages");
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            let i = s.cursor;
            s.cursor += 1;
            if faults.skip.iter().any(|&(at, n)| i >= at && i < at + n) {
                continue;
            }
            if !sub.wants(&cap.lines[i]) {
                continue;
            }
            (i, s.sent, s.passes)
        };
        let from = *first.get_or_insert(i);
        let due = match (pacing, &cap.times) {
            (Pacing::Max, _) => None,
            (Pacing::Rate(r), _) => Some(t0 + Duration::from_secs_f64(here as f64 / r)),
            (Pacing::Speed(x), Some(t)) => {
                Some(t0 + Duration::from_nanos(((t[i] - t[from]).max(0) as f64 / x) as u64))
            }
            (Pacing::Speed(_), None) => None,
        };
        if let Some(due) = due {
            let now = Instant::now();
            if due > now {
                if ws.flush().is_err() {
                    return format!("connection {id}: the client went after {here} messages");
                }
                unflushed = 0;
                wait_until(due, faults.spin);
            }
        }
        if faults
            .malformed_every
            .is_some_and(|n| sent > 0 && sent.is_multiple_of(n))
        {
            let line = &cap.lines[i];
            let cut = &line[..line.len() / 2];
            if ws.write(Message::text(cut.to_string())).is_err() {
                return format!("connection {id}: the client went after {here} messages");
            }
        }
        // Paced, the stamp is when the message was *due*: a client that falls behind blocks the writes,
        // and stamping the late write instead would hide its delay (coordinated omission).
        let stamp = faults
            .stamp
            .then(|| due.map_or_else(wall_ns, |d| wall0 + (d - t0).as_nanos() as i64));
        let line = match cap.spans.iter().find(|(s, _)| {
            passes > 0
                && cap.lines[i]
                    .get(11..)
                    .is_some_and(|l| l.starts_with(s.as_str()))
        }) {
            Some((_, span)) => shift_id(&cap.lines[i], passes * span),
            None => cap.lines[i].clone(),
        };
        if ws.write(Message::text(stamped(&line, stamp))).is_err() {
            return format!("connection {id}: the client went after {here} messages");
        }
        unflushed += 1;
        here += 1;
        shared.lock().unwrap().sent += 1;
        if unflushed >= 32 || due.is_some() {
            if ws.flush().is_err() {
                return format!("connection {id}: the client went after {here} messages");
            }
            unflushed = 0;
        }
        if faults.drop_every.is_some_and(|n| here >= n) {
            let _ = ws.flush();
            ws.get_mut().cut();
            return format!("connection {id}: dropped after {here} messages (--drop-every)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looping_raises_binance_ids_by_the_span() {
        let l = r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":3735683259,"p":"1","q":"1","T":1,"m":true}}"#;
        assert_eq!(binance_id(l), Some(("btcusdt@trade", 3735683259)));
        let shifted = shift_id(l, 19904);
        assert_eq!(binance_id(&shifted), Some(("btcusdt@trade", 3735703163)));
        assert_eq!(shifted.len(), l.len());
    }
}
