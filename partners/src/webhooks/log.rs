//! The delivery log a partner and the creditor's supervisors read: each event sent or
//! to be sent to the partner's webhook, how it ended and every attempt; and replays,
//! which queue settled events again (a receiver that lost them, dead letters after an
//! outage longer than a day).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use orm::entities::{outbox, partners, webhook_attempts};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use services::access::{Operation, Principal, Role};
use services::case::partner_events::KIND;
use services::desk::{DeskError, require};

use crate::Partners;

/// Where an event's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    /// Not delivered yet (perhaps failed before and waiting for its next attempt).
    Pending,
    Delivered,
    /// Refused or unreachable for a whole day of retries: sent again only by a replay.
    DeadLettered,
    /// Settled without sending: no webhook, not subscribed, or withheld by the
    /// partner's disclosure policy (`reason` says which).
    NotSent,
}

impl EventStatus {
    fn of(outcome: Option<&str>) -> EventStatus {
        match outcome {
            None => EventStatus::Pending,
            Some(deliver::DELIVERED) => EventStatus::Delivered,
            Some(deliver::DEAD_LETTERED) => EventStatus::DeadLettered,
            Some(_) => EventStatus::NotSent,
        }
    }
}

use super::deliver;

#[derive(Debug, Clone)]
pub struct WebhookAttempt {
    pub attempt: i32,
    pub attempted_at: DateTime<Utc>,
    pub url: String,
    pub status_code: Option<i32>,
    pub outcome: String,
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Clone)]
pub struct WebhookEvent {
    pub id: i64,
    pub partner_id: String,
    pub case_id: String,
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub status: EventStatus,
    /// Why a `NotSent` event was not sent.
    pub reason: Option<String>,
    pub attempts: i32,
    /// When a pending event is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub attempt_log: Vec<WebhookAttempt>,
}

/// Which events to list: a partner's (a partner caller: always its own), newest first.
#[derive(Debug, Clone, Default)]
pub struct WebhookEventFilter {
    pub partner_id: Option<String>,
    pub case_id: Option<String>,
    pub statuses: Vec<EventStatus>,
    /// Page size, 1 to 500 (default 50).
    pub first: Option<i64>,
    /// Events older than this id (the last id of the previous page).
    pub before: Option<i64>,
}

const MAX_PAGE: i64 = 500;

impl Partners {
    /// The partner ids a caller may read the events of: its own, or those named (or
    /// all) of the caller's tenant for admins and supervisors.
    async fn event_partners(
        &self,
        p: &Principal,
        partner_id: Option<&str>,
    ) -> Result<Vec<String>, DeskError> {
        if p.role == Role::Partner {
            let own = p.partner.clone().unwrap_or_default();
            if partner_id.is_some_and(|id| id != own) {
                return Err(DeskError::PartnerNotFound(
                    partner_id.unwrap_or_default().into(),
                ));
            }
            return Ok(vec![own]);
        }
        require(
            p,
            Operation::ManagePartners,
            "read partners' webhook deliveries",
        )?;
        match partner_id {
            Some(id) => Ok(vec![self.get(p, id).await?.partner_id]),
            None => Ok(partners::Entity::find()
                .select_only()
                .column(partners::Column::PartnerId)
                .filter(partners::Column::Tenant.eq(p.tenant.as_str()))
                .into_tuple::<String>()
                .all(self.desk.db())
                .await?),
        }
    }

    /// A page of partner events with their attempts, newest first.
    pub async fn webhook_events(
        &self,
        p: &Principal,
        filter: WebhookEventFilter,
    ) -> Result<Vec<WebhookEvent>, DeskError> {
        let first = filter.first.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&first) {
            return Err(DeskError::Invalid(format!(
                "first is 1 to {MAX_PAGE}, not {first}"
            )));
        }
        let partners = self.event_partners(p, filter.partner_id.as_deref()).await?;
        let mut query = outbox::Entity::find()
            .filter(outbox::Column::PartnerId.is_in(partners))
            .filter(outbox::Column::Kind.eq(KIND));
        if let Some(case) = &filter.case_id {
            query = query.filter(outbox::Column::CaseId.eq(case.as_str()));
        }
        if let Some(before) = filter.before {
            query = query.filter(outbox::Column::Id.lt(before));
        }
        if !filter.statuses.is_empty() {
            let mut any = sea_orm::Condition::any();
            for s in &filter.statuses {
                any = any.add(match s {
                    EventStatus::Pending => outbox::Column::Outcome.is_null(),
                    EventStatus::Delivered => outbox::Column::Outcome.eq(deliver::DELIVERED),
                    EventStatus::DeadLettered => outbox::Column::Outcome.eq(deliver::DEAD_LETTERED),
                    EventStatus::NotSent => outbox::Column::Outcome.is_in(deliver::NOT_SENT),
                });
            }
            query = query.filter(any);
        }
        let rows = query
            .order_by_desc(outbox::Column::Id)
            .limit(first as u64)
            .all(self.desk.db())
            .await?;
        let mut attempts: HashMap<i64, Vec<WebhookAttempt>> = HashMap::new();
        if !rows.is_empty() {
            let logged = webhook_attempts::Entity::find()
                .filter(webhook_attempts::Column::OutboxId.is_in(rows.iter().map(|r| r.id)))
                .order_by_asc(webhook_attempts::Column::Id)
                .all(self.desk.db())
                .await?;
            for a in logged {
                attempts
                    .entry(a.outbox_id)
                    .or_default()
                    .push(WebhookAttempt {
                        attempt: a.attempt,
                        attempted_at: a.attempted_at,
                        url: a.url,
                        status_code: a.status_code,
                        outcome: a.outcome,
                        error: a.error,
                        duration_ms: a.duration_ms,
                    });
            }
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                let payload: serde_json::Value =
                    serde_json::from_str(&r.payload).unwrap_or_default();
                let status = EventStatus::of(r.outcome.as_deref());
                WebhookEvent {
                    id: r.id,
                    partner_id: r.partner_id.unwrap_or_default(),
                    case_id: r.case_id,
                    event_type: payload["type"].as_str().unwrap_or_default().to_string(),
                    occurred_at: r.created_at,
                    reason: (status == EventStatus::NotSent)
                        .then(|| r.outcome.clone())
                        .flatten(),
                    status,
                    attempts: r.attempts,
                    next_attempt_at: (status == EventStatus::Pending).then_some(r.next_attempt_at),
                    delivered_at: r.delivered_at,
                    replayed_at: r.replayed_at,
                    attempt_log: attempts.remove(&r.id).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Queues settled events of a partner again, from now, with a new day of retries:
    /// those named, or (`ids` empty) every dead-lettered one. Each is delivered before
    /// newer events of its case. Returns how many were queued; an event still pending
    /// is already queued and not counted.
    pub async fn replay_webhook_events(
        &self,
        p: &Principal,
        partner_id: &str,
        ids: Vec<i64>,
    ) -> Result<u64, DeskError> {
        if ids.len() > 1000 {
            return Err(DeskError::Invalid(
                "at most 1,000 events are replayed at once".into(),
            ));
        }
        let partner = self
            .event_partners(p, Some(partner_id))
            .await?
            .pop()
            .unwrap_or_default();
        let db = self.desk.db();
        if !ids.is_empty() {
            let found: Vec<i64> = outbox::Entity::find()
                .select_only()
                .column(outbox::Column::Id)
                .filter(outbox::Column::Id.is_in(ids.clone()))
                .filter(outbox::Column::Kind.eq(KIND))
                .filter(outbox::Column::PartnerId.eq(partner.as_str()))
                .into_tuple()
                .all(db)
                .await?;
            if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
                return Err(DeskError::Invalid(format!(
                    "event {missing} is not one of partner {partner}'s webhook events"
                )));
            }
        }
        let now = self.desk.clock().now();
        let mut update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Outcome, Expr::value(Option::<String>::None))
            .col_expr(
                outbox::Column::DeliveredAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(outbox::Column::Attempts, Expr::value(0))
            .col_expr(outbox::Column::NextAttemptAt, Expr::value(now))
            .col_expr(outbox::Column::ReplayedAt, Expr::value(Some(now)))
            .filter(outbox::Column::Kind.eq(KIND))
            .filter(outbox::Column::PartnerId.eq(partner.as_str()))
            .filter(outbox::Column::Outcome.is_not_null());
        update = if ids.is_empty() {
            update.filter(outbox::Column::Outcome.eq(deliver::DEAD_LETTERED))
        } else {
            update.filter(outbox::Column::Id.is_in(ids))
        };
        let done = update.exec(db).await?.rows_affected;
        self.desk.runtime().partner_event_wakeup().notify_one();
        Ok(done)
    }
}
