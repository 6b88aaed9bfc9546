//! Contact facts: each attempt to reach a debtor (or a related party) and what became of
//! it, journalled so the case history shows every message, letter and call, and the
//! compliance gate can count them.

use chrono::{DateTime, Utc};
use collections::contact::{ContactAttempt, ContactOutcome, DeliveryStatus};
use serde::{Deserialize, Serialize};

use super::{ApplyError, CaseState};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "contact_event", rename_all = "snake_case")]
pub enum ContactFact {
    /// An attempt is made; its `id` is the next one on the case and its status usually
    /// `sending` (recorded before the provider is called).
    AttemptMade { attempt: ContactAttempt },
    /// The provider's answer or a later delivery receipt.
    DeliveryUpdated {
        attempt: u32,
        status: DeliveryStatus,
        /// Who answered, when the attempt did not know yet (it is recorded before the
        /// channel's connector is called).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider_message_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The compliance gate's decision on a contact, with the packs and facts it rested
    /// on: the evidence that each contact made was lawful, and why others were not.
    GateChecked {
        request: collections::compliance::Request,
        decision: collections::compliance::Decision,
    },
    /// What came of it: reached, wrong number, a promise.
    OutcomeRecorded {
        attempt: u32,
        outcome: ContactOutcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
}

impl ContactFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            ContactFact::AttemptMade { .. } => "ContactAttempted",
            ContactFact::DeliveryUpdated { .. } => "ContactDeliveryUpdated",
            ContactFact::OutcomeRecorded { .. } => "ContactOutcomeRecorded",
            ContactFact::GateChecked { .. } => "ContactGateChecked",
        }
    }
}

impl CaseState {
    /// The attempt made under an idempotency key (a job's, redelivered after a crash).
    pub fn contact_attempt_by_key(&self, key: &str) -> Option<&ContactAttempt> {
        self.contacts.iter().find(|a| a.key == key)
    }

    pub fn contact_attempt(&self, id: u32) -> Option<&ContactAttempt> {
        self.contacts.iter().find(|a| a.id == id)
    }

    /// The id the next attempt gets.
    pub fn next_contact_attempt(&self) -> u32 {
        self.contacts.last().map_or(1, |a| a.id + 1)
    }
}

pub(super) fn apply_contact(
    state: &mut CaseState,
    fact: &ContactFact,
    at: DateTime<Utc>,
) -> Result<(), ApplyError> {
    let unknown = |id: u32| ApplyError::Contact(format!("contact attempt {id} does not exist"));
    match fact {
        ContactFact::AttemptMade { attempt } => {
            if attempt.id != state.next_contact_attempt() {
                return Err(ApplyError::Contact(format!(
                    "contact attempt {} is out of order (next is {})",
                    attempt.id,
                    state.next_contact_attempt()
                )));
            }
            if state.contact_attempt_by_key(&attempt.key).is_some() {
                return Err(ApplyError::Contact(format!(
                    "an attempt with key {} is already recorded",
                    attempt.key
                )));
            }
            state.contacts.push(attempt.clone());
        }
        ContactFact::DeliveryUpdated {
            attempt,
            status,
            provider,
            provider_message_id,
            detail,
        } => {
            let a = state
                .contacts
                .iter_mut()
                .find(|a| a.id == *attempt)
                .ok_or_else(|| unknown(*attempt))?;
            // Out-of-order receipts are journalled (they happened) but never move back.
            if a.status.advances_to(*status) {
                a.status = *status;
                a.updated_at = at;
                if detail.is_some() {
                    a.detail.clone_from(detail);
                }
            }
            if let Some(provider) = provider {
                a.provider.clone_from(provider);
            }
            if a.provider_message_id.is_none() {
                a.provider_message_id.clone_from(provider_message_id);
            }
        }
        ContactFact::OutcomeRecorded {
            attempt, outcome, ..
        } => {
            let a = state
                .contacts
                .iter_mut()
                .find(|a| a.id == *attempt)
                .ok_or_else(|| unknown(*attempt))?;
            a.outcome = Some(*outcome);
            a.updated_at = at;
        }
        // Evidence only: the journal keeps it, the state does not need it.
        ContactFact::GateChecked { .. } => {}
    }
    Ok(())
}
