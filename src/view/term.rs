//! The full-screen terminal: raw mode and the alternate screen while a view is up, restored when it
//! goes (also after a panic on the view's thread), and the keys that end a run.

use std::io::{self, Stdout};
use std::time::Duration;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// A terminal in raw mode on the alternate screen; dropping it restores the terminal.
pub struct Screen {
    /// What views draw on.
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    /// Takes over standard output's terminal.
    pub fn open() -> io::Result<Screen> {
        enable_raw_mode()?;
        let mut out = io::stdout();
        if let Err(e) = crossterm::execute!(out, EnterAlternateScreen, crossterm::cursor::Hide) {
            let _ = disable_raw_mode();
            return Err(e);
        }
        let terminal = Terminal::new(CrosstermBackend::new(out))?;
        Ok(Screen { terminal })
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = crossterm::execute!(
            self.terminal.backend_mut(),
            LeaveAlternateScreen,
            crossterm::cursor::Show
        );
        let _ = disable_raw_mode();
    }
}

/// Waits up to `timeout` for a key; true when it is one that quits (`q`, `Esc`, Ctrl-C: in raw mode
/// Ctrl-C arrives as a key, not as a signal).
pub fn quit_pressed(timeout: Duration) -> bool {
    if !event::poll(timeout).unwrap_or(false) {
        return false;
    }
    match event::read() {
        Ok(Event::Key(k)) if k.kind != KeyEventKind::Release => {
            matches!(
                k.code,
                KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc
            ) || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
        }
        _ => false,
    }
}

/// Ends this process's run exactly as Ctrl-C in a shell does: by sending it SIGINT.
pub fn interrupt_self() {
    // SAFETY: kill with our own pid and a valid signal number has no memory-safety preconditions.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGINT);
    }
}
