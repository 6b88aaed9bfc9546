//! Every read of a debtor's personal data by a partner: who, which case or debtor, what
//! kind of data, when. For auditors, like the document access log.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partner_reads")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub tenant: String,
    pub partner_id: String,
    /// The acting identity (`partner:subject@partner`).
    pub actor: String,
    /// The case read through; none when the debtor was looked up directly.
    pub case_id: Option<String>,
    pub debtor_id: Option<String>,
    /// The kind of case data read (`collections::disclosure::CaseData`).
    pub data: String,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
