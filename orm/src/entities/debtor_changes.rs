//! A debtor's file: every change to the debtor, in order, hash-chained like a case's
//! journal so an auditor can tell it was not edited afterwards.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "debtor_changes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub debtor_id: String,
    /// 1 for the registration, then one more per change.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub recorded_at: DateTimeUtc,
    pub actor: String,
    /// Canonical JSON of `collections::debtor::DebtorChange`.
    #[sea_orm(column_type = "Text")]
    pub change: String,
    /// The caller's idempotency key, unique per tenant.
    pub request_key: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
