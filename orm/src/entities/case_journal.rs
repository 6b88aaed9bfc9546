//! The case journal: append-only, hash-chained events. The primary key
//! (`case_id`, `seq`) is the optimistic-concurrency guard: a second append with the same
//! sequence fails with a unique violation (see [`crate::is_unique_violation`]).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "case_journal")]
pub struct Model {
    /// UUID as text.
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub event_type: String,
    /// Canonical JSON.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// Acting identity.
    pub actor: String,
    pub recorded_at: DateTimeUtc,
    /// Hash of the previous entry of the same case.
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
