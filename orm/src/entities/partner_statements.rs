//! A partner's monthly statement rendered as PDF: the object in the document store and
//! its digest. Statements belong to a partner, not a case, so they are not case
//! documents; each rendering is a row of its own (a month may be rendered again).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_statements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub statement_id: String,
    pub tenant: String,
    pub partner_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Where the PDF is in the document store.
    pub object_key: String,
    /// Hex SHA-256 of the PDF.
    pub sha256: String,
    pub size_bytes: i64,
    pub created_at: DateTimeUtc,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
