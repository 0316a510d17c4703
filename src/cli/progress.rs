//! A one-line progress bar on stderr for long Batch runs.

use std::io::Write;
use std::time::Instant;

use crate::metrics::human;
use crate::runtime::Progressing;

/// Draws `[#####.....]  42%  1.23 M rows/s  eta 3 s` in place.
pub struct Bar {
    on: bool,
    t0: Instant,
    /// The width of the widest line drawn since the bar was last erased (0: nothing to erase).
    drawn: usize,
}

impl Bar {
    /// A bar that draws only when `on`.
    pub fn new(on: bool) -> Self {
        Bar {
            on,
            t0: Instant::now(),
            drawn: 0,
        }
    }

    /// Redraws with the latest numbers.
    pub fn update(&mut self, p: Progressing) {
        if p.bytes_total == 0 {
            return;
        }
        self.draw(p.bytes_done as f64 / p.bytes_total as f64, p.rows, "rows");
    }

    /// Redraws: `frac` of the work is done, `count` things (`unit`) so far.
    pub fn draw(&mut self, frac: f64, count: u64, unit: &str) {
        if !self.on {
            return;
        }
        let frac = frac.clamp(0.0, 1.0);
        let secs = self.t0.elapsed().as_secs_f64();
        let rate = if secs > 0.0 { count as f64 / secs } else { 0.0 };
        let eta = if frac > 0.0 {
            secs * (1.0 - frac) / frac
        } else {
            0.0
        };
        let filled = (frac * 30.0) as usize;
        let line = format!(
            "[{}{}] {:>3.0}%  {} {unit}/s  eta {:.0} s ",
            "#".repeat(filled),
            ".".repeat(30 - filled),
            frac * 100.0,
            human(rate),
            eta
        );
        // Spaces over what a longer line drawn before left.
        let pad = self.drawn.saturating_sub(line.chars().count());
        err!("\r{line}{}", " ".repeat(pad));
        let _ = std::io::stderr().flush();
        self.drawn = self.drawn.max(line.chars().count());
    }

    /// Erases the bar.
    pub fn clear(&mut self) {
        if self.drawn > 0 {
            err!("\r{}\r", " ".repeat(self.drawn));
            self.drawn = 0;
        }
    }
}
