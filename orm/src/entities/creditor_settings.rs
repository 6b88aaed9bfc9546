//! A creditor's collection settings, one row per (tenant, creditor). A creditor without
//! a row has the defaults (`collections::creditor::CreditorSettings::default`).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "creditor_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub creditor_id: String,
    /// The four components in order, comma-separated: `costs,fees,interest,principal`.
    pub allocation_order: String,
    pub promise_grace_days: i32,
    pub plan_grace_days: i32,
    pub settlement_limit_percent: i32,
    /// IANA name, e.g. `America/Mexico_City`.
    pub time_zone: String,
    /// ISO 3166-1 alpha-2, when set.
    pub jurisdiction: Option<String>,
    pub partners_take_payments: bool,
    pub updated_at: DateTimeUtc,
    /// The acting identity of whoever set them last.
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
