//! `tubes top [RUN]`: the live figures of a run already going, read from its stats file (mapped
//! read-only; no socket), as a full-screen view on a terminal or, with `--once` or when piped, as text.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ratatui::layout::{Constraint, Layout};
use ratatui::Frame;

use crate::metrics::human;
use crate::metrics::live::Snapshot;
use crate::metrics::stats_file::{alive, live_runs, run_dir, StatsReader};
use crate::view::panels;
use crate::view::term::{quit_pressed, Screen};

/// How often the view reads the stats file and redraws.
const REFRESH: Duration = Duration::from_millis(250);

/// The stats file `run` names: a process id, a file, or (none) the newest live run.
fn find(run: Option<&str>) -> Result<PathBuf, String> {
    let dir = run_dir();
    match run {
        Some(r) if r.chars().all(|c| c.is_ascii_digit()) => {
            let path = dir.join(format!("{r}.stats"));
            if path.exists() {
                Ok(path)
            } else {
                Err(format!("no stats file for process {r} in {} (is it a tubes run? `tubes top` with no argument picks the newest)", dir.display()))
            }
        }
        Some(r) => Ok(PathBuf::from(r)),
        None => live_runs(&dir).into_iter().next().ok_or_else(|| {
            format!(
                "no running tubes found: no live run's stats file in {} (runs publish them there; set TUBES_RUN_DIR to look elsewhere)",
                dir.display()
            )
        }),
    }
}

/// Runs `tubes top`; the exit code.
pub fn run(run: Option<&str>, once: bool) -> i32 {
    let path = match find(run) {
        Ok(p) => p,
        Err(e) => {
            errln!("error: {e}");
            return 1;
        }
    };
    let mut reader = match StatsReader::open(&path) {
        Ok(r) => r,
        Err(e) => {
            errln!("error: {}: {e}", path.display());
            return 1;
        }
    };
    if once || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return print_once(&mut reader, &path);
    }
    match Screen::open() {
        Ok(mut screen) => watch(&mut screen, &mut reader, &path),
        Err(e) => {
            errln!("error: the terminal could not be taken over ({e}); try --once");
            1
        }
    }
}

/// Waits (up to two seconds) for the run's first snapshot and prints it as text.
fn print_once(reader: &mut StatsReader, path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        if let Some(s) = reader.read() {
            print!("{}", text(&s));
            if !s.ended && !alive(reader.pid) {
                errln!(
                    "note: process {} is gone without ending its run (killed?): these are its last figures",
                    reader.pid
                );
                return 1;
            }
            return 0;
        }
        if Instant::now() > deadline || !alive(reader.pid) {
            errln!("error: {} holds no figures yet", path.display());
            return 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn watch(screen: &mut Screen, reader: &mut StatsReader, path: &Path) -> i32 {
    let mut last = Snapshot::default();
    loop {
        if let Some(s) = reader.read() {
            last = s;
        }
        let gone = !alive(reader.pid) || !path.exists();
        let keys = if last.ended || gone {
            "the run has ended · q quits"
        } else {
            "q quits"
        };
        if screen.terminal.draw(|f| draw(f, &last, keys)).is_err() {
            return 1;
        }
        if quit_pressed(REFRESH) {
            return 0;
        }
    }
}

fn draw(f: &mut Frame<'_>, s: &Snapshot, keys: &str) {
    let [title, feeds, sinks, rings, latency] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(panels::rows_high(s.generators.len())),
        Constraint::Length(panels::rows_high(s.sinks.len())),
        Constraint::Length(panels::rows_high(s.rings.len())),
        Constraint::Min(3),
    ])
    .areas(f.area());
    panels::title(f, title, s, keys);
    panels::feeds(f, feeds, s);
    panels::sinks(f, sinks, s);
    panels::rings(f, rings, s);
    panels::latency(f, latency, s);
}

/// The snapshot as plain text, for scripts and `--once`.
fn text(s: &Snapshot) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let state = if s.ended { "ended" } else { "running" };
    let _ = writeln!(
        o,
        "tubes {} · {} · {state} {:.1} s · pid {} · {}",
        s.config,
        s.pipeline,
        s.elapsed_ms as f64 / 1000.0,
        s.pid,
        s.placement
    );
    for g in &s.generators {
        let _ = write!(
            o,
            "generator {}: {} rows, {} rows/s",
            g.label,
            g.rows,
            human(g.rate)
        );
        if let Some(f) = &g.feed {
            let _ = write!(
                o,
                "; {} · {} gaps ({} trades) · {} reconnects · no trade for {:.1} s · {}",
                f.state,
                f.gaps,
                f.missed,
                f.reconnects,
                f.quiet_ms as f64 / 1000.0,
                f.status
            );
        }
        o.push('\n');
    }
    for k in &s.sinks {
        let _ = writeln!(
            o,
            "sink {}: {} rows, {} rows/s",
            k.label,
            k.rows,
            human(k.rate)
        );
    }
    for r in &s.rings {
        let _ = writeln!(
            o,
            "ring {}: {}/{} full, {} dropped",
            r.name, r.fill, r.capacity, r.drops
        );
    }
    for l in &s.latency {
        let _ = writeln!(
            o,
            "latency {}: {} values, p50 {} p99 {} p99.9 {} max {}",
            l.name,
            l.count,
            crate::metrics::duration_ns(l.p50),
            crate::metrics::duration_ns(l.p99),
            crate::metrics::duration_ns(l.p999),
            crate::metrics::duration_ns(l.max)
        );
    }
    o
}
