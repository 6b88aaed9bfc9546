//! What a channel connector is given and what it answers.

use std::future::Future;
use std::pin::Pin;

use collections::contact::{Channel, DeliveryStatus};

/// One message, rendered and addressed, ready to hand to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The attempt's idempotency key: providers that accept one get it (header
    /// `Idempotency-Key`, the e-mail's `Message-ID`, the file channel's file name).
    pub key: String,
    pub tenant: String,
    pub case_id: String,
    /// The case's attempt number.
    pub attempt: u32,
    pub channel: Channel,
    /// E-mail address, E.164 number or one-line postal address.
    pub to: String,
    /// For letters, the envelope's lines as the debtor's file gives them (a line may hold
    /// a comma, so they are not read back from `to`); empty for other channels.
    pub envelope: Vec<String>,
    pub recipient_name: String,
    pub subject: Option<String>,
    pub body: String,
    pub language: String,
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// `file`, `smtp`, `twilio`, `webhook`, `print`, `dialer`.
    pub provider: String,
    /// The provider's id for it, which its delivery receipts name.
    pub provider_message_id: Option<String>,
    /// `Sent`, or `Written` (file channel), `Exported` (print batch, dialer list).
    pub status: DeliveryStatus,
}

/// Why the provider did not take it; each kind is handled differently (see [`crate::job`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Down, timed out, throttled, 5xx: retried with back-off, then an incident.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The destination can never receive it (invalid number, no such mailbox): BPMN
    /// error `INVALID_CONTACT`.
    #[error("invalid contact: {0}")]
    InvalidContact(String),
    /// The provider refuses it for good (blocked sender, content refused, unsubscribed):
    /// BPMN error `CHANNEL_REJECTED`.
    #[error("channel rejected the message: {0}")]
    Rejected(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Sent, SendError>> + Send + 'a>>;

/// A channel connector.
pub trait Sender: Send + Sync + 'static {
    fn send<'a>(&'a self, message: &'a OutgoingMessage) -> SendFuture<'a>;
}
