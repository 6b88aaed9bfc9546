//! The document access log: who, when, which version, what.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_access")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant: String,
    pub case_id: String,
    pub document_id: String,
    pub version_id: String,
    /// The acting identity (`role:subject[@partner]`).
    pub actor: String,
    /// `download`, `metadata`, `verify`, ...
    pub action: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
