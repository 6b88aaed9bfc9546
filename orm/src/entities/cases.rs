//! Projection of the journal: one row per case, with its latest snapshot.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub case_id: String,
    pub tenant: String,
    pub external_ref: Option<String>,
    pub definition_id: i64,
    pub process_id: String,
    pub process_version: i32,
    pub stage: Option<String>,
    pub status: String,
    /// Last journal sequence applied to this row.
    pub seq: i64,
    /// Serialised engine state.
    #[sea_orm(column_type = "Text", nullable)]
    pub snapshot: Option<String>,
    pub snapshot_seq: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub debtor_id: Option<String>,
    /// The internal agent who owns the case.
    pub owner: Option<String>,
    /// The partner organisation the case is placed with.
    pub partner: Option<String>,
    /// `placed`, `accepted`; `None` when not placed.
    pub placement_status: Option<String>,
    /// The `amountDue` process variable in minor units (cents).
    pub amount_due_minor: Option<i64>,
    pub currency: Option<String>,
    /// The `delinquentSince` process variable; days past due count from it.
    pub delinquent_since: Option<Date>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::process_definitions::Entity",
        from = "Column::DefinitionId",
        to = "super::process_definitions::Column::Id",
        on_update = "NoAction",
        on_delete = "NoAction"
    )]
    ProcessDefinition,
}

impl Related<super::process_definitions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ProcessDefinition.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
