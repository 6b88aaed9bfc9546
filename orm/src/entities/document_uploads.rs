//! Uploads in flight (streamed or presigned), for confirmation and the sweeper.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_uploads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub upload_id: String,
    pub tenant: String,
    pub case_id: String,
    pub document_id: String,
    pub version: i32,
    pub kind: String,
    pub file_name: String,
    pub retention_class: String,
    /// `streaming` or `presigned`.
    pub mode: String,
    pub declared_size: Option<i64>,
    pub declared_sha256: Option<String>,
    pub object_key: String,
    pub requested_by: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
