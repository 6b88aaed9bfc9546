//! Remittances reconciled against a partner's reported payments: one row per
//! (tenant, partner, remittance reference), written once its lines are checked, so the
//! same remittance sent again is recognised instead of confirming anything twice.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_remittances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    /// The partner's reference of the remittance advice.
    #[sea_orm(primary_key, auto_increment = false)]
    pub reference: String,
    /// Canonical JSON of the checked lines (`partners::remittances::RemittanceLine`).
    #[sea_orm(column_type = "Text")]
    pub lines: String,
    pub reconciled_at: DateTimeUtc,
    /// The acting identity of whoever reconciled it.
    pub reconciled_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
