//! Recording a run: a thread that takes a copy of every datapoint the sequencer numbers and appends it
//! to the journal, off the critical path (the sequencer's only cost is one more push).

use crate::base::datapoint::{Datapoint, Kind};
use crate::base::ring::ENDED;
use crate::base::{Ctx, Inlet, RunError};
use crate::journal::Writer;

/// The journal writer thread's work.
pub struct Recording {
    pub(super) writer: Writer,
    pub(super) inlet: Inlet,
}

impl Recording {
    /// Appends until the sequencer has ended and its ring is empty; returns the records written in all.
    pub fn run(&mut self, ctx: &mut Ctx) -> Result<u64, RunError> {
        let mut buf = [Datapoint::new(Kind::Data, 0, 0, 0); 256];
        let journal = |e: crate::journal::JournalError| RunError::Journal(Box::new(e));
        loop {
            if ctx.stopped() {
                return Err(RunError::Stopped);
            }
            // Read `ended` before popping: if it was set, everything was already in the ring.
            let ended = self.inlet.progress.load() == ENDED;
            let n = self.inlet.ring.pop_into(&mut buf);
            for dp in &buf[..n] {
                self.writer.append(dp).map_err(journal)?;
            }
            if n > 0 {
                ctx.waiter.reset();
                self.inlet.producer.notify();
                continue;
            }
            if ended {
                break;
            }
            self.writer.maybe_sync().map_err(journal)?;
            self.inlet.producer.notify();
            let (ring, progress, stop) =
                (&mut self.inlet.ring, &self.inlet.progress, &ctx.shutdown);
            ctx.waiter.wait(&ctx.wake, || {
                !ring.is_empty()
                    || progress.load() == ENDED
                    || stop.load(std::sync::atomic::Ordering::Relaxed)
            });
        }
        Ok(self.writer.records())
    }

    /// Closes the journal (syncing under the policy's rules).
    pub fn close(self) -> Result<u64, RunError> {
        self.writer
            .close()
            .map_err(|e| RunError::Journal(Box::new(e)))
    }
}
