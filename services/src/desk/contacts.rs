//! Contact attempts on a case: read them (a partner sees destinations masked: it
//! learns that the debtor was written to, not where), and record what came of one.

use collections::contact::{ContactAttempt, ContactOutcome, mask};

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal, Role};
use crate::case::{CaseFact, ContactFact};
use crate::runtime::Outcome;

impl Desk {
    /// The case's contact attempts, oldest first.
    pub async fn contact_attempts(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<ContactAttempt>, DeskError> {
        self.case(p, case_id).await?;
        let state = self
            .runtime
            .case(case_id)
            .await?
            .ok_or_else(|| DeskError::CaseNotFound(case_id.to_string()))?;
        let mut attempts = state.contacts;
        if p.role == Role::Partner {
            for a in &mut attempts {
                a.destination = mask(&a.destination);
                a.provider_message_id = None;
            }
        }
        Ok(attempts)
    }

    /// What came of an attempt: the agent who made the call, or who heard back.
    pub async fn record_contact_outcome(
        &self,
        p: &Principal,
        case_id: &str,
        attempt: u32,
        outcome: ContactOutcome,
        note: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        require(p, Operation::RecordActivity, "record contact outcomes")?;
        if note.as_ref().is_some_and(|n| n.len() > 2_000) {
            return Err(DeskError::Invalid(
                "a note holds at most 2000 characters".into(),
            ));
        }
        let fact = CaseFact::Contact(ContactFact::OutcomeRecorded {
            attempt,
            outcome,
            note: note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()),
        });
        self.record(p, case_id, fact, idempotency_key).await
    }
}
