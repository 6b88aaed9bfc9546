//! Each HTTP attempt to deliver a partner event (an outbox row) to the partner's
//! webhook: the delivery log partners and supervisors read.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub outbox_id: i64,
    pub partner_id: String,
    /// From 1; restarts after a replay.
    pub attempt: i32,
    pub attempted_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    /// The receiver's HTTP status; none when no answer came.
    pub status_code: Option<i32>,
    /// `delivered`, `failed` (to be retried) or `dead_lettered` (the last).
    pub outcome: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
