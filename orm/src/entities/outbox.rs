//! Effects leaving the system, written in the case's transaction, delivered after commit.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub case_id: String,
    /// Journal sequence that produced the effect.
    pub seq: i64,
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
    /// Delivery attempts so far (database default 0).
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
    /// The external worker holding the job, until `locked_until`.
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTimeUtc>,
    /// A job's type (`kind = 'job'` only): what the dispatcher and workers ask for.
    pub job_type: Option<String>,
    /// The partner a partner event is for (`kind = 'partner_event'` only).
    pub partner_id: Option<String>,
    /// How a partner event's delivery ended (`kind = 'partner_event'` only): `delivered`,
    /// `dead_lettered`, or why it was not sent; none while it is still to be delivered.
    pub outcome: Option<String>,
    /// When it was last queued again by hand: its retries run for a day from then.
    pub replayed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
