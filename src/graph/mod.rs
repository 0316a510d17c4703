//! Step 2 of a run: the parsed config → a checked graph (names resolved, schemas known) → a plan of stages.

mod check;
mod dot;
mod edges;
mod meta;
mod model;
mod nodes;
mod paths;
mod placement;
mod plan;
mod resolve;
mod schema;
#[cfg(test)]
mod testing;
mod topo;

pub use check::check;
pub use dot::{to_dot, to_dot_with};
pub use meta::journal_meta;
pub use model::{Graph, Node, NodeKind, OpSpec, Port, SinkColumn, ThroughSpec, TriggerSpec};
pub use paths::{inside, same_file};
pub use plan::{plan, plan_with_sources, Plan, StagePlan};
