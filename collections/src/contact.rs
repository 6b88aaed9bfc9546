//! Contact attempts: each message, letter or call made to a debtor or a related party,
//! as a first-class record — which channel, which template version, to where, through
//! which provider, how far it got and what came of it. A case keeps its attempts in
//! order; the compliance gate counts them and auditors read them.
//!
//! An attempt moves forward only: `sending` → `sent` (or `written` by the file channel,
//! `exported` to a print shop or a dialer) → `delivered` / `read`, or `failed` at any
//! point before it was delivered. A late receipt that would move it back is ignored, so
//! receipts arriving out of order (a provider's "sent" after its "delivered") change
//! nothing.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::debtor::Channel;

/// How far an attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Recorded before it is handed to the provider; an attempt left here by a crash is
    /// handed over again under the same idempotency key.
    Sending,
    /// Not sent: the file channel wrote it under the data directory.
    Written,
    /// In a print-shop batch or a dialer export.
    Exported,
    /// Accepted by the provider (SMTP server, SMS gateway).
    Sent,
    Delivered,
    Read,
    /// The provider or the network gave up on it.
    Failed,
}

impl DeliveryStatus {
    /// Order of progress; `Failed` ranks with `Sent` so a failure after delivery (which
    /// providers do report) does not undo the delivery.
    fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Sending => 0,
            DeliveryStatus::Written | DeliveryStatus::Exported | DeliveryStatus::Sent => 1,
            DeliveryStatus::Failed => 2,
            DeliveryStatus::Delivered => 3,
            DeliveryStatus::Read => 4,
        }
    }

    /// Whether a receipt saying `next` moves an attempt now at `self` on.
    pub fn advances_to(self, next: DeliveryStatus) -> bool {
        next.rank() > self.rank()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Written => "written",
            DeliveryStatus::Exported => "exported",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Read => "read",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// What came of an attempt, as the agent, the bot or the provider reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::EnumIter)]
#[serde(rename_all = "snake_case")]
pub enum ContactOutcome {
    /// The debtor was reached (a conversation, in Regulation F's words).
    Reached,
    NoAnswer,
    LeftMessage,
    WrongNumber,
    /// The debtor refused to talk or to pay.
    Refused,
    /// The debtor promised to pay.
    Promise,
}

impl ContactOutcome {
    /// The debtor was reached and talked (Regulation F's "conversation"): reached,
    /// promised, or refused.
    pub fn is_conversation(self) -> bool {
        matches!(
            self,
            ContactOutcome::Reached | ContactOutcome::Promise | ContactOutcome::Refused
        )
    }
}

/// The template an attempt was rendered from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateUse {
    pub name: String,
    pub language: String,
    pub version: u32,
}

/// One attempt to contact someone about a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContactAttempt {
    /// Per case, from 1.
    pub id: u32,
    /// Stable across redeliveries of the job that made it; sent to the provider so a
    /// retried request is not delivered twice.
    pub key: String,
    pub channel: Channel,
    /// E-mail address, E.164 phone number or one-line postal address.
    pub destination: String,
    /// `debtor`, or the related party's role (`guarantor`, …).
    pub recipient: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateUse>,
    /// `file`, `smtp`, `twilio`, `webhook`, `print`, `dialer`, `voicebot`, `agent`.
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    pub status: DeliveryStatus,
    /// Why it failed or was refused, as the provider said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ContactOutcome>,
    pub made_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A destination as logs may show it: enough to tell two apart, not enough to use.
/// `+573101234567` → `+57******4567`, `ana.perez@example.com` → `a***@example.com`,
/// a postal address → its first three characters.
pub fn mask(destination: &str) -> String {
    let chars: Vec<char> = destination.chars().collect();
    if let Some(at) = destination.find('@') {
        let (local, domain) = destination.split_at(at);
        let first: String = local.chars().take(1).collect();
        return format!("{first}***{domain}");
    }
    if destination.starts_with('+') && chars.len() > 7 {
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        return format!("{head}{}{tail}", "*".repeat(chars.len() - 7));
    }
    let head: String = chars.iter().take(3).collect();
    format!("{head}***")
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn masks_keep_too_little_to_reach_anyone() {
        assert_eq!(mask("+573101234567"), "+57******4567");
        assert_eq!(mask("ana.perez@example.com"), "a***@example.com");
        assert_eq!(mask("Calle 10 # 5-20, Bogotá"), "Cal***");
        assert_eq!(mask("+1555"), "+15***");
    }

    #[test]
    fn status_only_moves_forward() {
        use DeliveryStatus::*;
        assert!(Sending.advances_to(Sent));
        assert!(Sent.advances_to(Delivered));
        assert!(Sent.advances_to(Failed));
        assert!(!Delivered.advances_to(Sent));
        assert!(!Delivered.advances_to(Failed));
        assert!(!Read.advances_to(Delivered));
        for s in DeliveryStatus::iter() {
            assert!(!s.advances_to(s), "{s:?} must not advance to itself");
        }
    }
}
