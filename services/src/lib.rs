//! The case runtime and the desk: what persists and drives the pure cores (`bpmn` for
//! the process, `collections` for the collections domain).
//!
//! - [`runtime`], [`case`], [`journal`], [`store`], [`committer`]: case actors over a
//!   hash-chained journal (every fact a case can hold is defined in [`case`]),
//!   projections and outbox written in the entry's transaction, group commit, timers,
//!   jobs; [`clock`]: system or virtual time;
//! - [`desk`], [`access`]: every operation a person performs on processes, cases and
//!   tasks, authorised against the caller (roles, tenants, partner isolation);
//! - [`audit`]: verification of the journal's hash chains;
//! - [`error_code`]: the registry of error codes any API answers with.
//!
//! Depends on `bpmn`, `collections` and `orm` only; `documents`, `partners` and
//! `graphql` build on it.

pub mod access;
pub mod audit;
pub mod case;
pub mod clock;
pub mod committer;
pub mod desk;
pub mod error_code;
pub mod journal;
pub mod lookups;
pub mod runtime;
pub mod store;
