//! Partners' outbound webhooks (decision 0025): setting them up, rotating their signing
//! secrets, the delivery log and replays. Rules live in `partners::webhooks`.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use partners::webhooks::{self, EventStatus, WebhookConfig, WebhookEventFilter, WebhookSetup};
use services::case::partner_events as ev;

use super::types::Partner;
use super::{partners, principal};
use crate::errors::{self, ErrorCode, coded};

/// An event a partner's webhook can be sent (its `type` in the body).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookEventType {
    /// `placement.offered`: a case is offered to the partner.
    PlacementOffered,
    /// `placement.recalled`: the creditor took the case back.
    PlacementRecalled,
    /// `placement.closed`: the creditor ended the placement (work done).
    PlacementClosed,
    /// `case.updated`: the case's stage, status or balance changed.
    CaseUpdated,
    /// `document.added`: a document the partner may read was added.
    DocumentAdded,
    /// `payment.allocated`: a payment was recorded on the case.
    PaymentAllocated,
    /// `task.created`: a task for the partner.
    TaskCreated,
}

impl WebhookEventType {
    fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::PlacementOffered => ev::PLACEMENT_OFFERED,
            WebhookEventType::PlacementRecalled => ev::PLACEMENT_RECALLED,
            WebhookEventType::PlacementClosed => ev::PLACEMENT_CLOSED,
            WebhookEventType::CaseUpdated => ev::CASE_UPDATED,
            WebhookEventType::DocumentAdded => ev::DOCUMENT_ADDED,
            WebhookEventType::PaymentAllocated => ev::PAYMENT_ALLOCATED,
            WebhookEventType::TaskCreated => ev::TASK_CREATED,
        }
    }

    fn parse(s: &str) -> Option<Self> {
        use WebhookEventType::*;
        [
            PlacementOffered,
            PlacementRecalled,
            PlacementClosed,
            CaseUpdated,
            DocumentAdded,
            PaymentAllocated,
            TaskCreated,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookEventStatus {
    /// Not delivered yet; perhaps failed and waiting for its next attempt.
    Pending,
    Delivered,
    /// Failed for a whole day of retries: sent again only when replayed.
    DeadLettered,
    /// Not sent: no webhook, not subscribed to, or withheld by the disclosure policy.
    NotSent,
}

impl From<EventStatus> for WebhookEventStatus {
    fn from(s: EventStatus) -> Self {
        match s {
            EventStatus::Pending => WebhookEventStatus::Pending,
            EventStatus::Delivered => WebhookEventStatus::Delivered,
            EventStatus::DeadLettered => WebhookEventStatus::DeadLettered,
            EventStatus::NotSent => WebhookEventStatus::NotSent,
        }
    }
}

impl From<WebhookEventStatus> for EventStatus {
    fn from(s: WebhookEventStatus) -> Self {
        match s {
            WebhookEventStatus::Pending => EventStatus::Pending,
            WebhookEventStatus::Delivered => EventStatus::Delivered,
            WebhookEventStatus::DeadLettered => EventStatus::DeadLettered,
            WebhookEventStatus::NotSent => EventStatus::NotSent,
        }
    }
}

/// Where a partner's events are sent. Its signing secrets are never shown again after
/// they are issued.
pub struct PartnerWebhook(pub WebhookConfig);

#[Object]
impl PartnerWebhook {
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// The events sent; empty: all.
    async fn events(&self) -> Vec<WebhookEventType> {
        self.0
            .events
            .iter()
            .filter_map(|e| WebhookEventType::parse(e))
            .collect()
    }
    async fn secret_issued_at(&self) -> DateTime<Utc> {
        self.0.secret_issued_at
    }
    /// Until when the secret before the last rotation still signs beside the new one.
    async fn previous_secret_valid_until(&self) -> Option<DateTime<Utc>> {
        self.0
            .previous_secret
            .as_ref()
            .and(self.0.previous_valid_until)
    }
}

/// A webhook as just set; `secret` only when one was issued by this change.
#[derive(SimpleObject)]
pub struct WebhookSetupResult {
    pub partner: Partner,
    pub webhook: PartnerWebhook,
    /// The signing secret (`whsec_…`, Standard Webhooks): shown this once.
    pub secret: Option<String>,
}

impl From<WebhookSetup> for WebhookSetupResult {
    fn from(s: WebhookSetup) -> Self {
        WebhookSetupResult {
            partner: Partner(s.partner),
            webhook: PartnerWebhook(s.webhook),
            secret: s.new_secret,
        }
    }
}

#[derive(SimpleObject)]
pub struct WebhookAttempt {
    /// From 1; restarts after a replay.
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub url: String,
    /// The receiver's HTTP status; none when it did not answer.
    pub status_code: Option<i32>,
    /// `delivered`, `failed` (retried later) or `dead_lettered`.
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// An event for a partner's webhook and how its delivery went.
#[derive(SimpleObject)]
pub struct WebhookEvent {
    /// Also the `webhook-id` it is sent under (`msg_<id>`).
    pub id: ID,
    pub partner_id: ID,
    pub case_id: ID,
    #[graphql(name = "type")]
    pub event_type: Option<WebhookEventType>,
    pub occurred_at: DateTime<Utc>,
    pub status: WebhookEventStatus,
    /// Why a `NOT_SENT` event was not sent.
    pub reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub attempt_log: Vec<WebhookAttempt>,
}

impl From<webhooks::WebhookEvent> for WebhookEvent {
    fn from(e: webhooks::WebhookEvent) -> Self {
        WebhookEvent {
            id: ID(e.id.to_string()),
            partner_id: ID(e.partner_id),
            case_id: ID(e.case_id),
            event_type: WebhookEventType::parse(&e.event_type),
            occurred_at: e.occurred_at,
            status: e.status.into(),
            reason: e.reason,
            attempts: e.attempts,
            next_attempt_at: e.next_attempt_at,
            delivered_at: e.delivered_at,
            replayed_at: e.replayed_at,
            attempt_log: e
                .attempt_log
                .into_iter()
                .map(|a| WebhookAttempt {
                    attempt: a.attempt,
                    attempted_at: a.attempted_at,
                    url: a.url,
                    status_code: a.status_code,
                    outcome: a.outcome,
                    error: a.error,
                    duration_ms: a.duration_ms,
                })
                .collect(),
        }
    }
}

fn event_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        coded(
            ErrorCode::BadInput,
            format!("{:?} is not a webhook event id", id.0),
        )
    })
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Events for partners' webhooks and their delivery, newest first (a partner: its
    /// own; admins and supervisors: any of theirs). Page with `before`, the last id seen.
    async fn webhook_events(
        &self,
        ctx: &Context<'_>,
        partner_id: Option<ID>,
        case_id: Option<ID>,
        status: Option<Vec<WebhookEventStatus>>,
        #[graphql(desc = "1 to 500, default 50")] first: Option<i32>,
        before: Option<ID>,
    ) -> Result<Vec<WebhookEvent>> {
        let filter = WebhookEventFilter {
            partner_id: partner_id.map(|i| i.0),
            case_id: case_id.map(|i| i.0),
            statuses: status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            first: first.map(i64::from),
            before: before.as_ref().map(event_id).transpose()?,
        };
        let events = partners(ctx)?
            .webhook_events(principal(ctx)?, filter)
            .await
            .map_err(errors::api)?;
        Ok(events.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Sets where a partner's events are sent and which (empty or omitted: all), by the
    /// Standard Webhooks specification (admins, supervisors). The first time, a signing
    /// secret is issued and returned, this once.
    async fn set_partner_webhook(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        url: String,
        events: Option<Vec<WebhookEventType>>,
    ) -> Result<WebhookSetupResult> {
        let events = events
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.as_str().to_string())
            .collect();
        partners(ctx)?
            .set_webhook(principal(ctx)?, &partner_id, &url, events)
            .await
            .map(Into::into)
            .map_err(errors::api)
    }

    /// Issues a new signing secret, returned this once. The current one keeps signing
    /// beside it for `previousValidHours` (0 to 168, default 24), while the partner's
    /// receiver switches: each request carries both signatures meanwhile.
    async fn rotate_partner_webhook_secret(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        #[graphql(default = 24)] previous_valid_hours: i32,
    ) -> Result<WebhookSetupResult> {
        partners(ctx)?
            .rotate_webhook_secret(
                principal(ctx)?,
                &partner_id,
                i64::from(previous_valid_hours),
            )
            .await
            .map(Into::into)
            .map_err(errors::api)
    }

    /// Stops sending a partner's events (admins, supervisors).
    async fn remove_partner_webhook(&self, ctx: &Context<'_>, partner_id: ID) -> Result<Partner> {
        partners(ctx)?
            .remove_webhook(principal(ctx)?, &partner_id)
            .await
            .map(Partner)
            .map_err(errors::api)
    }

    /// Sends settled events again, before newer ones of their cases, with a new day of
    /// retries: those named (at most 1,000), or every dead-lettered one. Admins,
    /// supervisors, and the partner for its own. Returns how many were queued.
    async fn replay_webhook_events(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        event_ids: Option<Vec<ID>>,
    ) -> Result<i32> {
        let ids = event_ids
            .unwrap_or_default()
            .iter()
            .map(event_id)
            .collect::<Result<Vec<_>>>()?;
        let n = partners(ctx)?
            .replay_webhook_events(principal(ctx)?, &partner_id, ids)
            .await
            .map_err(errors::api)?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
