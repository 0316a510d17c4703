//! Step 2 of a run: the parsed config → a checked graph (names resolved, schemas known) → a plan of stages.

mod check;
mod dot;
mod meta;
mod placement;
mod plan;
mod schema;

pub use check::{
    check, Graph, Node, NodeKind, OpSpec, Port, SinkColumn, ThroughSpec, TriggerSpec, TRADE_FIELDS,
};
pub use dot::to_dot;
pub use meta::journal_meta;
pub use plan::{plan, plan_with_sources, Plan, StagePlan};
