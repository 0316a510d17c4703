//! Step 3 of a run: the plan becomes pinned OS threads joined by SPSC rings (DESIGN §5).
//!
//! Threads: one per source thread (a generator, or the live feeds' shared I/O thread), one sequencer,
//! one per stage. Each stage runs its tubes directly, one sequence number at a time, in topological
//! order; it takes number *s* only when every input ring has shown it holds nothing older (an item
//! numbered ≥ *s* at its head, or published progress ≥ *s* − 1), so every tube sees its inputs in the
//! same order on every run and under every placement.

mod engine;
mod fused;
mod live;
mod recording;
mod report;
mod running;
mod sequencer;
mod sink;
mod stage;
mod summary;
mod wiring;

pub use crate::base::{Ctx, Inlet, Outlet, RunError};
pub use engine::{ticks, Engine, ReplayInto};
pub use fused::{Finished as FusedFinished, Fused, OpenWriters};
pub use report::{FeedReport, GenReport, Observer, OnProgress, Progressing, Report};
pub use running::Running;
pub use sink::Fill;
pub use summary::summary;
