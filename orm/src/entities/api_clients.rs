//! OAuth2 client-credentials clients (partner systems). Secrets only as argon2 hashes.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// PHC string (`$argon2id$...`).
    pub secret_hash: String,
    pub tenant: String,
    /// Recobro role name (`partner`, `agent`, ...).
    pub role: String,
    pub partner: Option<String>,
    /// JSON array of candidate groups.
    #[sea_orm(column_type = "Text")]
    pub groups: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
