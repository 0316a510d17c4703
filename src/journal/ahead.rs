//! The next segment, made ahead on a thread of its own (Chronicle Queue's pretoucher): while the writer
//! fills segment `n`, this thread creates segment `n + 1` under its temporary name, zero-fills it, maps it
//! and faults its pages in. When the writer rolls it only renames the ready segment into place, so a roll
//! costs the recording thread one `rename`, not a file's creation and a page fault per page.
//!
//! The thread is off the engine's threads: it touches no ring and no datapoint. A segment it made that the
//! writer never used keeps its temporary name, which readers ignore, and is removed when the writer closes.

use std::path::PathBuf;
use std::sync::mpsc::{channel, Receiver, SendError, Sender};
use std::thread::JoinHandle;

use super::segment::Segment;
use super::JournalError;

/// The helper thread and the segment it is making.
pub(super) struct Ahead {
    ask: Option<Sender<u64>>,
    ready: Receiver<(u64, Result<Segment, JournalError>)>,
    thread: Option<JoinHandle<()>>,
    /// The segment number asked for and not yet taken.
    pending: Option<u64>,
    dir: PathBuf,
    slots: u64,
    id: u64,
}

impl Ahead {
    /// Starts the helper for the journal in `dir` (segments of `slots` records, journal `id`).
    pub fn start(dir: PathBuf, slots: u64, id: u64) -> Ahead {
        let (ask, asked) = channel::<u64>();
        let (done, ready) = channel();
        let d = dir.clone();
        let thread = std::thread::Builder::new()
            .name("tubes-journal-ahead".into())
            .spawn(move || {
                for number in asked {
                    let seg = Segment::prepare(&d, number, slots, id);
                    if let Err(SendError((_, Ok(seg)))) = done.send((number, seg)) {
                        seg.discard();
                    }
                }
            })
            .ok();
        Ahead {
            ask: thread.is_some().then_some(ask),
            ready,
            thread,
            pending: None,
            dir,
            slots,
            id,
        }
    }

    /// Starts making segment `number`.
    pub fn ask(&mut self, number: u64) {
        if let Some(ask) = &self.ask {
            if ask.send(number).is_ok() {
                self.pending = Some(number);
            }
        }
    }

    /// Segment `number`, installed under its name: the one made ahead when it was asked for (waiting
    /// for it if it is not ready yet), or made here, also when making it ahead failed (a disk full
    /// then may have room again now; if not, this attempt's error is the one reported).
    pub fn take(&mut self, number: u64) -> Result<Segment, JournalError> {
        if self.pending == Some(number) {
            self.pending = None;
            if let Ok((n, Ok(seg))) = self.ready.recv() {
                debug_assert_eq!(n, number);
                return seg.install(&self.dir);
            }
        }
        Segment::create(&self.dir, number, self.slots, self.id)
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        // Ending the requests ends the thread; a segment made and never taken is removed.
        self.ask = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        for (_, seg) in self.ready.try_iter() {
            if let Ok(seg) = seg {
                seg.discard();
            }
        }
    }
}
