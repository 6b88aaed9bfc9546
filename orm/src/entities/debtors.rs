//! Debtors, by the creditor's own reference: the row cases point at, and the debtor's
//! current state as its file of changes ([`super::debtor_changes`]) makes it.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "debtors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub debtor_id: String,
    pub name: String,
    pub created_at: DateTimeUtc,
    /// `person` or `company`; `None` until the debtor's file is registered.
    pub kind: Option<String>,
    /// The debtor as its file makes it (JSON of `collections::debtor::Debtor`); derived,
    /// `None` for a debtor only named by a case.
    #[sea_orm(column_type = "Text", nullable)]
    pub profile: Option<String>,
    /// The number of changes in the debtor's file: the `seq` of the latest.
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
