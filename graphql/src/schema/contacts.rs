//! Contact attempts on a case (`Case.contactAttempts`) and what came of them
//! (`recordContactOutcome`).

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::debtors::ContactChannel;
use super::mutation::{CommandResult, outcome as answered};
use super::{desk, principal};
use crate::errors;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::contact::DeliveryStatus")]
pub enum DeliveryStatus {
    Sending,
    Written,
    Exported,
    Sent,
    Delivered,
    Read,
    Failed,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::contact::ContactOutcome")]
pub enum ContactOutcome {
    Reached,
    NoAnswer,
    LeftMessage,
    WrongNumber,
    Refused,
    Promise,
}

/// The template version an attempt was rendered from (version 0: built-in).
#[derive(SimpleObject)]
pub struct TemplateUsed {
    pub name: String,
    pub language: String,
    pub version: i32,
}

/// One attempt to reach the debtor or a related party.
#[derive(SimpleObject)]
pub struct ContactAttempt {
    pub id: i32,
    pub channel: ContactChannel,
    /// E-mail address, E.164 number or postal address; masked for partners.
    pub destination: String,
    /// `debtor`, or the related party's role (`guarantor`).
    pub recipient: String,
    pub template: Option<TemplateUsed>,
    /// `file` (not sent: the file channel), `smtp`, `twilio`, `webhook`, `print`,
    /// `dialer`, `voicebot`, `agent`.
    pub provider: String,
    pub provider_message_id: Option<String>,
    pub status: DeliveryStatus,
    /// Why it failed, as the provider said.
    pub detail: Option<String>,
    pub outcome: Option<ContactOutcome>,
    /// The idempotency key sent to the provider.
    pub key: String,
    pub made_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<collections::contact::ContactAttempt> for ContactAttempt {
    fn from(a: collections::contact::ContactAttempt) -> Self {
        ContactAttempt {
            id: i32::try_from(a.id).unwrap_or(i32::MAX),
            channel: a.channel.into(),
            destination: a.destination,
            recipient: a.recipient,
            template: a.template.map(|t| TemplateUsed {
                name: t.name,
                language: t.language,
                version: i32::try_from(t.version).unwrap_or(i32::MAX),
            }),
            provider: a.provider,
            provider_message_id: a.provider_message_id,
            status: a.status.into(),
            detail: a.detail,
            outcome: a.outcome.map(Into::into),
            key: a.key,
            made_at: a.made_at,
            updated_at: a.updated_at,
        }
    }
}

pub(crate) async fn of_case(ctx: &Context<'_>, case_id: &str) -> Result<Vec<ContactAttempt>> {
    Ok(desk(ctx)?
        .contact_attempts(principal(ctx)?, case_id)
        .await
        .map_err(errors::api)?
        .into_iter()
        .map(Into::into)
        .collect())
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// What came of a contact attempt (a call answered, a wrong number, a promise).
    async fn record_contact_outcome(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        attempt: i32,
        outcome: ContactOutcome,
        note: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let attempt = u32::try_from(attempt).unwrap_or(u32::MAX);
        answered(
            desk(ctx)?
                .record_contact_outcome(
                    principal(ctx)?,
                    &case_id,
                    attempt,
                    outcome.into(),
                    note,
                    idempotency_key,
                )
                .await,
        )
    }

    /// Starts a call to the debtor (or `recipient`: `guarantor`, `co_debtor`): the
    /// compliance gate is asked first and its decision journalled; a blocked call is
    /// refused with `CONTACT_BLOCKED` (each rule, its reference and `nextLawfulSlot`
    /// in the error's extensions) and nothing is dialled. Allowed, the attempt is
    /// recorded (`agent`); record its outcome when the call ends.
    async fn start_call(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        #[graphql(default = "debtor")] recipient: String,
        idempotency_key: Option<String>,
    ) -> Result<ContactAttempt> {
        desk(ctx)?
            .start_call(principal(ctx)?, &case_id, &recipient, idempotency_key)
            .await
            .map(Into::into)
            .map_err(errors::api)
    }
}
