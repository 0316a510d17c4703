//! Events: `Produce` conditions on a through's state, and external events such as `StaticTimeTick`.

pub mod condition;
pub mod tick;
