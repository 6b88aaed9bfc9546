//! The collections desk: every operation a supervisor, agent, partner or auditor performs
//! on processes, cases and tasks, each authorised here against the caller's
//! [`Principal`] before it reaches the runtime or the projections. The API layer
//! (GraphQL) only translates.
//!
//! Partners only ever reach cases placed with them: anything else answers exactly as
//! for a case that does not exist, so ids cannot be probed.

mod cases;
pub mod compliance;
mod contacts;
mod creditors;
mod debtors;
mod definitions;
pub mod disclosure;
mod incidents;
mod ledger;
mod legacy;
mod tasks;
mod voicebot;
mod workers;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use self::cases::{CaseFilter, CaseHistory, CasePage, HistoryCheck, NewCase};
pub use self::creditors::Creditor;
pub use self::debtors::{DebtorFile, DebtorOutcome, DebtorPage, DebtorRecord};
pub use self::definitions::{DeployProblem, DeployReport};
pub use self::incidents::OpenIncident;
pub use self::ledger::{NewCharge, NewPayment};
pub use self::tasks::{AgendaItem, TaskKey, TaskPage};
pub use self::voicebot::{VOICEBOT_JOB_TYPE, VoiceBotResult};
pub use self::workers::{ActivatedJob, Activation, JobAnswer};
use crate::access::{Operation, Principal, Role, permits};
use crate::clock::Clock;
use crate::error_code::{ApiError, ErrorCode};
use crate::runtime::{Runtime, RuntimeError};

/// Most items any list returns per page.
pub const MAX_PAGE: u64 = 100;

#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum DeskError {
    #[error("{role} may not {what}")]
    Forbidden { role: Role, what: &'static str },
    /// Also the answer for a case that exists but is not the caller's to see, and so
    /// for each of the not-found variants below.
    #[error("case {0} does not exist")]
    CaseNotFound(String),
    #[error("task {0} does not exist")]
    TaskNotFound(String),
    #[error("partner {0} does not exist")]
    PartnerNotFound(String),
    #[error("process definition {0} does not exist")]
    DefinitionNotFound(String),
    #[error("debtor {0} does not exist")]
    DebtorNotFound(String),
    #[error("debtor {0} is already registered: change it instead")]
    DebtorExists(String),
    #[error("debtor {0} has no file yet: register the debtor first")]
    DebtorNotRegistered(String),
    #[error(
        "debtor {0} was changed by another request at the same moment: read it again and retry"
    )]
    DebtorChanged(String),
    #[error(transparent)]
    Debtor(#[from] collections::debtor::DebtorError),
    #[error(transparent)]
    Money(#[from] collections::money::MoneyError),
    #[error("job {0} does not exist, or is no longer waiting")]
    JobNotFound(i64),
    #[error(
        "job {job} is no longer held by {worker}: its lock expired and another worker may have it"
    )]
    JobLockLost { job: i64, worker: String },
    #[error(
        "job {0}: the bot reports a promise to pay without having verified the debtor's identity; a promise is taken only from a verified debtor"
    )]
    IdentityNotVerified(i64),
    #[error("contact blocked: {}", blocked_reason(.0))]
    ContactBlocked(Box<collections::compliance::Decision>),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the process model is invalid")]
    InvalidModel(Vec<DeployProblem>),
    #[error(
        "creditor {0} does not let partners take payments: report it (reportPayment) for the creditor to confirm"
    )]
    PaymentMustBeReported(String),
    #[error(transparent)]
    Settings(#[from] collections::creditor::SettingsError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// A blocked decision in one line: the refusal, or each rule with its reference.
fn blocked_reason(d: &collections::compliance::Decision) -> String {
    if let Some(r) = &d.refusal {
        return r.to_string();
    }
    let rules: Vec<String> = d
        .blocks
        .iter()
        .map(|b| format!("{} ({}): {}", b.rule, b.reference, b.reason))
        .collect();
    match d.next_slot {
        Some(at) => format!("{}; next lawful slot {at}", rules.join("; ")),
        None => format!(
            "{}; no lawful slot while these facts hold",
            rules.join("; ")
        ),
    }
}

impl From<sea_orm::DbErr> for DeskError {
    fn from(e: sea_orm::DbErr) -> Self {
        DeskError::Runtime(RuntimeError::from(e))
    }
}

impl ApiError for DeskError {
    fn code(&self) -> ErrorCode {
        match self {
            DeskError::Forbidden { .. } => ErrorCode::Forbidden,
            DeskError::CaseNotFound(_) => ErrorCode::CaseNotFound,
            DeskError::TaskNotFound(_) => ErrorCode::TaskNotFound,
            DeskError::PartnerNotFound(_) => ErrorCode::PartnerNotFound,
            DeskError::DefinitionNotFound(_) => ErrorCode::DefinitionNotFound,
            DeskError::DebtorNotFound(_) => ErrorCode::DebtorNotFound,
            DeskError::DebtorExists(_) => ErrorCode::DebtorExists,
            DeskError::DebtorNotRegistered(_) => ErrorCode::DebtorNotRegistered,
            DeskError::DebtorChanged(_) => ErrorCode::DebtorChanged,
            DeskError::Debtor(e) => e.code(),
            DeskError::Money(e) => e.code(),
            DeskError::JobNotFound(_) => ErrorCode::JobNotFound,
            DeskError::JobLockLost { .. } => ErrorCode::JobLockLost,
            DeskError::IdentityNotVerified(_) => ErrorCode::IdentityNotVerified,
            DeskError::ContactBlocked(d) => match d.refusal {
                Some(collections::compliance::GateRefusal::UnknownJurisdiction { .. }) => {
                    ErrorCode::UnknownJurisdiction
                }
                _ => ErrorCode::ContactBlocked,
            },
            DeskError::Invalid(_) => ErrorCode::BadInput,
            DeskError::Conflict(_) => ErrorCode::Conflict,
            DeskError::InvalidModel(_) => ErrorCode::InvalidModel,
            DeskError::PaymentMustBeReported(_) => ErrorCode::PaymentMustBeReported,
            DeskError::Settings(e) => e.code(),
            DeskError::Runtime(e) => e.code(),
        }
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut fields = serde_json::Map::new();
        if let DeskError::InvalidModel(problems) = self {
            fields.insert("problems".into(), serde_json::json!(problems));
        }
        if let DeskError::ContactBlocked(d) = self {
            fields.insert("blocks".into(), serde_json::json!(d.blocks));
            fields.insert("nextLawfulSlot".into(), serde_json::json!(d.next_slot));
        }
        fields
    }
}

/// The desk; cheap to clone.
#[derive(Clone)]
pub struct Desk {
    runtime: Runtime,
    db: DatabaseConnection,
    clock: Arc<dyn Clock>,
    /// Workers waiting in `activate_jobs`, shared by the desk's clones.
    waiting_workers: Arc<tokio::sync::watch::Sender<usize>>,
    /// Outbox job rows that answering workers ask for together, read together.
    job_rows: Arc<crate::lookups::Lookups<i64, orm::entities::outbox::Model>>,
    /// The contact compliance gate: law packs and creditors' policies.
    gate: Arc<collections::compliance::Gate>,
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
        Desk {
            runtime,
            db,
            clock,
            waiting_workers: Arc::new(tokio::sync::watch::channel(0).0),
            job_rows: Arc::default(),
            gate: compliance::bundled_gate(),
        }
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
