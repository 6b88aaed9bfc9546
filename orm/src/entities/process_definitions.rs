//! Deployed BPMN process definitions: one row per (process id, version).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub process_id: String,
    pub version: i32,
    /// Hex SHA-256 of `bpmn_xml`.
    pub content_hash: String,
    #[sea_orm(column_type = "Text")]
    pub bpmn_xml: String,
    pub deployed_by: String,
    pub deployed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::cases::Entity")]
    Cases,
}

impl Related<super::cases::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Cases.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
