//! The collections domain and its runtime: case actors, journal, projections, timers,
//! task queues, documents, payments, promises, compliance rules, the clock.
//!
//! Reserved in the workspace layout (see `docs/decisions/0001-workspace-layout.md`);
//! filled by the durable case runtime (issue 3). Depends on `bpmn` and `orm` only.
