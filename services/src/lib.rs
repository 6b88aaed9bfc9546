//! The collections domain and its runtime: case actors, journal, projections, timers,
//! task queues, documents, payments, promises, compliance rules, the clock.
//!
//! Depends on `bpmn` and `orm` only.

pub mod access;
pub mod audit;
pub mod case;
pub mod clock;
pub mod committer;
pub mod desk;
pub mod error_code;

pub mod journal;
pub mod runtime;
pub mod store;
