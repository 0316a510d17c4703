//! What both hand-written loops (`sweep-loop`, `batch-loop`) share: reading Binance 1-minute bars and
//! writing a time as the engine does. Plain std, single-threaded.

use std::fs;
use std::path::Path;

/// Ends the process with `msg` (exit code 2).
pub fn fail(msg: String) -> ! {
    eprintln!("{}: {msg}", env!("CARGO_BIN_NAME"));
    std::process::exit(2)
}

/// The (time in ms, Volume) of each bar of a Binance 1m CSV whose time is in `[from, to)`.
pub fn read_bars(path: &Path, from: i64, to: i64) -> (Vec<i64>, Vec<f64>) {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let (mut times, mut vols) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let mut cells = line.split(',');
        let t = cells.next().and_then(|c| c.parse::<i64>().ok());
        let v = cells.nth(6).and_then(|c| c.parse::<f64>().ok());
        let (Some(t), Some(v)) = (t, v) else {
            fail(format!(
                "{}:{}: malformed row: {line}",
                path.display(),
                i + 1
            ))
        };
        if t < from || t >= to {
            continue;
        }
        if times.last().is_some_and(|&p| t < p) {
            fail(format!("{}:{}: time goes backwards", path.display(), i + 1));
        }
        times.push(t);
        vols.push(v);
    }
    (times, vols)
}

/// `2021-04-02T00:05:00.000Z` from unix milliseconds (H. Hinnant's civil-from-days).
pub fn rfc3339_millis(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}
