//! Delivery receipts: a provider's signed word that a message it took was delivered,
//! read or lost, recorded on the attempt it names.
//!
//! The attempt is named by what Recobro itself gave the provider and the provider
//! signed back — the status callback URL's query (Twilio signs the whole URL) or the
//! request's `reference` (echoed in a Standard Webhooks-signed receipt) — never by
//! anything the receipt could say unsigned.

use collections::contact::DeliveryStatus;
use services::case::{ApplyError, CaseFact, ContactFact};
use services::desk::DeskError;
use services::runtime::{Runtime, RuntimeError};

use crate::error::ContactError;

/// Where receipts arrive: `POST /callbacks/contact/{provider}`.
pub const CALLBACK_PATH: &str = "/callbacks/contact";

/// A verified receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub tenant: String,
    pub case_id: String,
    pub attempt: u32,
    pub status: DeliveryStatus,
    /// The status as the provider named it (`undelivered`, `queued`, …).
    pub provider_status: String,
    pub provider_message_id: Option<String>,
    /// Why it failed, when it did.
    pub detail: Option<String>,
}

/// Why a receipt is refused before anything is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// Unsigned, signed with another secret, altered or replayed.
    #[error("the receipt's signature does not verify: {0}")]
    Signature(String),
    /// Signed, but not a receipt this endpoint understands.
    #[error("the receipt is malformed: {0}")]
    Malformed(String),
}

/// What a provider's status means for an attempt; `None` for a status no receipt of an
/// outgoing message should carry.
///
/// Every status before delivery (`accepted`, `queued`, `sending`, …) means the provider
/// has the message, which is what `sent` records: the attempt is already `sending`.
pub fn delivery_status(provider_status: &str) -> Option<DeliveryStatus> {
    Some(match provider_status {
        "accepted" | "scheduled" | "queued" | "sending" | "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "undelivered" | "failed" | "canceled" => DeliveryStatus::Failed,
        _ => return None,
    })
}

/// What recording a receipt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptOutcome {
    pub case_id: String,
    pub attempt: u32,
    /// The attempt's status now: a receipt that would move it back leaves it.
    pub status: DeliveryStatus,
    pub seq: i64,
    /// The same receipt was recorded before: nothing changed.
    pub repeated: bool,
}

fn conflict(message: String) -> ContactError {
    ContactError::Desk(DeskError::Runtime(RuntimeError::Rejected(
        ApplyError::Contact(message),
    )))
}

/// Records `receipt` from provider `provider` on its attempt, once: the same status for
/// the same attempt and message again answers what the first did.
pub async fn record_receipt(
    runtime: &Runtime,
    provider: &str,
    receipt: &Receipt,
) -> Result<ReceiptOutcome, ContactError> {
    let state = runtime
        .case(&receipt.case_id)
        .await
        .map_err(DeskError::from)?
        .filter(|s| s.tenant == receipt.tenant)
        .ok_or_else(|| DeskError::CaseNotFound(receipt.case_id.clone()))?;
    let attempt = state.contact_attempt(receipt.attempt).ok_or_else(|| {
        conflict(format!(
            "case {} has no contact attempt {}",
            receipt.case_id, receipt.attempt
        ))
    })?;
    if let (Some(known), Some(said)) = (&attempt.provider_message_id, &receipt.provider_message_id)
        && known != said
    {
        return Err(conflict(format!(
            "the receipt is for message {said}, but contact attempt {} of case {} was taken as {known}",
            receipt.attempt, receipt.case_id
        )));
    }
    let key = format!(
        "contact-receipt:{provider}:{}:{}:{}:{}",
        receipt.case_id,
        receipt.attempt,
        receipt.provider_message_id.as_deref().unwrap_or("-"),
        receipt.provider_status,
    );
    let now = if attempt.status.advances_to(receipt.status) {
        receipt.status
    } else {
        attempt.status
    };
    let outcome = runtime
        .record_fact(
            &receipt.case_id,
            CaseFact::Contact(ContactFact::DeliveryUpdated {
                attempt: receipt.attempt,
                status: receipt.status,
                provider: None,
                provider_message_id: receipt.provider_message_id.clone(),
                detail: receipt.detail.clone(),
            }),
            &format!("contact-provider:{provider}"),
            Some(key),
        )
        .await
        .map_err(DeskError::from)?;
    Ok(ReceiptOutcome {
        case_id: outcome.case_id,
        attempt: receipt.attempt,
        status: now,
        seq: outcome.seq,
        repeated: outcome.repeated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_statuses_map_onto_delivery() {
        for (said, want) in [
            ("queued", Some(DeliveryStatus::Sent)),
            ("accepted", Some(DeliveryStatus::Sent)),
            ("sending", Some(DeliveryStatus::Sent)),
            ("sent", Some(DeliveryStatus::Sent)),
            ("delivered", Some(DeliveryStatus::Delivered)),
            ("read", Some(DeliveryStatus::Read)),
            ("undelivered", Some(DeliveryStatus::Failed)),
            ("failed", Some(DeliveryStatus::Failed)),
            ("received", None),
            ("Delivered", None),
        ] {
            assert_eq!(delivery_status(said), want, "{said}");
        }
    }
}
