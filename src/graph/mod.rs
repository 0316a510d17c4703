//! Step 2 of a run: the parsed config → a checked graph (names resolved, schemas known) → a plan of stages.

mod check;
mod dot;
mod edges;
mod fields;
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
mod window;

pub use check::{check, check_with};
pub use dot::{to_dot, to_dot_with};
pub use meta::journal_meta;
pub use model::{
    Graph, KeySpec, Node, NodeKind, OpSpec, Port, SinkColumn, TextOf, ThroughSpec, TriggerSpec,
    WindowSpec,
};
pub use paths::{inside, same_file};
pub use plan::{plan, plan_with_sources, Plan, StagePlan};
