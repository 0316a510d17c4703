//! Terminal views of a running pipeline: the panels the `Visual` sink and `tubes top` draw from a live
//! [`crate::metrics::live::Snapshot`], and the full-screen terminal they draw on (ratatui over
//! crossterm; no async runtime). Drawing happens on a thread of its own, never on an engine thread.

pub mod panels;
pub mod term;
