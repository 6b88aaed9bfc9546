//! Projection: one row per version of a case document (see the `documents` migration).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version_id: String,
    /// The logical document all versions share.
    pub document_id: String,
    pub version: i32,
    pub tenant: String,
    pub case_id: String,
    pub kind: String,
    pub file_name: String,
    /// Sniffed from the bytes, never taken from the client.
    pub content_type: String,
    pub size: i64,
    /// Lower-case hex.
    pub sha256: String,
    pub object_key: String,
    pub retention_class: String,
    pub retain_until: DateTimeUtc,
    pub legal_hold: bool,
    /// `active`, `deleted` (soft), `purged` or `erased`.
    pub status: String,
    pub uploaded_by: String,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
