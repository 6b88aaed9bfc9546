//! Facts about a case that are not engine events: who works a task, which partner holds
//! the case, comments, partner activities, documents, the ledger. Journalled and
//! hash-chained like engine events, so the history shows them. They never move the
//! process tokens themselves; only a recorded payment also delivers `payment-received`
//! to a process waiting for it, within the same entry (see [`super::step`]).

use serde::{Deserialize, Serialize};

pub use super::contact_facts::ContactFact;
pub use super::document_facts::DocumentFact;
pub use super::ledger_facts::LedgerFact;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum CaseFact {
    TaskClaimed {
        task: u64,
        user: String,
    },
    TaskUnclaimed {
        task: u64,
    },
    TaskReassigned {
        task: u64,
        user: Option<String>,
    },
    CommentAdded {
        task: Option<u64>,
        text: String,
    },
    /// The internal agent who owns the case.
    OwnerAssigned {
        owner: Option<String>,
    },
    /// Offered to a partner organisation (agency, law firm).
    Placed {
        partner: String,
        note: Option<String>,
        /// Declined unless accepted by then.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accept_by: Option<chrono::DateTime<chrono::Utc>>,
    },
    PlacementAccepted {
        partner: String,
    },
    /// The partner turns the offer down.
    PlacementDeclined {
        partner: String,
        reason: String,
    },
    /// The offer's acceptance deadline passed (the case's `placement`-th placement).
    PlacementLapsed {
        placement: u32,
    },
    /// The creditor ends an active placement (the work is done: paid, settled, judged).
    PlacementClosed {
        partner: String,
        reason: String,
    },
    /// The partner gives the case back.
    PlacementReturned {
        partner: String,
        reason: String,
    },
    /// The creditor takes the case back.
    PlacementRecalled {
        partner: String,
        reason: String,
    },
    /// A step of the legal proceedings, reported by the law firm (or the creditor's
    /// people), under the reporter's own reference.
    LegalMilestoneReported {
        milestone: super::legal::LegalMilestone,
        on: chrono::NaiveDate,
        reference: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// A partner's or agent's work on the case: a call, a letter, a visit, a filing.
    ActivityRecorded {
        kind: String,
        note: String,
    },
    Document(DocumentFact),
    Ledger(LedgerFact),
    Contact(ContactFact),
}

impl CaseFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            CaseFact::TaskClaimed { .. } => "TaskClaimed",
            CaseFact::TaskUnclaimed { .. } => "TaskUnclaimed",
            CaseFact::TaskReassigned { .. } => "TaskReassigned",
            CaseFact::CommentAdded { .. } => "CommentAdded",
            CaseFact::OwnerAssigned { .. } => "OwnerAssigned",
            CaseFact::Placed { .. } => "CasePlaced",
            CaseFact::PlacementAccepted { .. } => "PlacementAccepted",
            CaseFact::PlacementReturned { .. } => "PlacementReturned",
            CaseFact::PlacementRecalled { .. } => "PlacementRecalled",
            CaseFact::PlacementDeclined { .. } => "PlacementDeclined",
            CaseFact::PlacementLapsed { .. } => "PlacementLapsed",
            CaseFact::PlacementClosed { .. } => "PlacementClosed",
            CaseFact::ActivityRecorded { .. } => "ActivityRecorded",
            CaseFact::LegalMilestoneReported { .. } => "LegalMilestoneReported",
            CaseFact::Document(d) => d.event_type(),
            CaseFact::Ledger(l) => l.event_type(),
            CaseFact::Contact(c) => c.event_type(),
        }
    }
}
