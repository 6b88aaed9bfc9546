//! The collections domain and its runtime: case actors, journal, projections, timers,
//! task queues, documents, payments, promises, compliance rules, the clock.
//!
//! Depends on `bpmn` and `orm` only.

pub mod audit;
pub mod clock;
pub mod journal;
