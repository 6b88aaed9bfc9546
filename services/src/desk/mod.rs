//! The collections desk: every operation a supervisor, agent, partner or auditor performs
//! on processes, cases and tasks, each authorised here against the caller's
//! [`Principal`] before it reaches the runtime or the projections. The API layer
//! (GraphQL) only translates.
//!
//! Partners only ever reach cases placed with them: anything else answers exactly as
//! for a case that does not exist, so ids cannot be probed.

mod cases;
mod definitions;
mod tasks;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use self::cases::{CaseFilter, CaseHistory, CasePage, HistoryCheck, NewCase};
pub use self::definitions::{DeployProblem, DeployReport};
pub use self::tasks::{AgendaItem, TaskKey, TaskPage};
use crate::access::{Operation, Principal, Role, permits};
use crate::case::ApplyError;
use crate::clock::Clock;
use crate::runtime::{Runtime, RuntimeError};

/// Most items any list returns per page.
pub const MAX_PAGE: u64 = 100;

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("{role} may not {what}")]
    Forbidden { role: Role, what: &'static str },
    /// Also the answer for things that exist but are not the caller's to see.
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the process model is invalid")]
    InvalidModel(Vec<DeployProblem>),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl From<sea_orm::DbErr> for DeskError {
    fn from(e: sea_orm::DbErr) -> Self {
        DeskError::Runtime(RuntimeError::from(e))
    }
}

impl DeskError {
    /// Stable codes for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::Forbidden { .. } => "FORBIDDEN",
            DeskError::NotFound { kind: "case", .. } => "CASE_NOT_FOUND",
            DeskError::NotFound { kind: "task", .. } => "TASK_NOT_FOUND",
            DeskError::NotFound {
                kind: "partner", ..
            } => "PARTNER_NOT_FOUND",
            DeskError::NotFound {
                kind: "process definition",
                ..
            } => "DEFINITION_NOT_FOUND",
            DeskError::NotFound { .. } => "NOT_FOUND",
            DeskError::Invalid(_) => "BAD_INPUT",
            DeskError::Conflict(_) => "CONFLICT",
            DeskError::InvalidModel(_) => "INVALID_MODEL",
            DeskError::Runtime(RuntimeError::UnknownCase(_)) => "CASE_NOT_FOUND",
            DeskError::Runtime(RuntimeError::Rejected(ApplyError::AlreadyClaimed { .. })) => {
                "TASK_ALREADY_CLAIMED"
            }
            DeskError::Runtime(RuntimeError::Rejected(ApplyError::NoOpenTask(_))) => {
                "TASK_NOT_OPEN"
            }
            DeskError::Runtime(RuntimeError::Rejected(ApplyError::Placement(_))) => {
                "PLACEMENT_CONFLICT"
            }
            DeskError::Runtime(RuntimeError::Rejected(ApplyError::Closed)) => "CASE_CLOSED",
            DeskError::Runtime(e) => e.code(),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        DeskError::NotFound {
            kind,
            id: id.into(),
        }
    }
}

/// The desk; cheap to clone.
#[derive(Clone)]
pub struct Desk {
    runtime: Runtime,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk").finish_non_exhaustive()
    }
}

impl Desk {
    pub fn new(runtime: Runtime) -> Self {
        let db = runtime.store().db().clone();
        let clock = runtime.clock().clone();
        Desk { runtime, db, clock }
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Refuses an operation the caller's role does not allow.
pub fn require(p: &Principal, op: Operation, what: &'static str) -> Result<(), DeskError> {
    if permits(p.role, op) {
        Ok(())
    } else {
        Err(DeskError::Forbidden { role: p.role, what })
    }
}

/// Page size: `None` means the default of 20; more than [`MAX_PAGE`] is refused.
pub fn page_size(first: Option<i64>) -> Result<u64, DeskError> {
    match first {
        None => Ok(20),
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => Ok(n as u64),
        Some(n) => Err(DeskError::Invalid(format!(
            "page size {n} is out of range: ask for 1 to {MAX_PAGE} items"
        ))),
    }
}
