//! Keys of Recobro's own token issuer; the newest unretired one signs, all are published.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    /// JWS algorithm the key is pinned to (`RS256`).
    pub alg: String,
    /// PKCS#8 PEM. Secret: never logged.
    #[sea_orm(column_type = "Text")]
    pub private_key_pem: String,
    /// The public half as a JWK (JSON text), as published at `/.well-known/jwks.json`.
    #[sea_orm(column_type = "Text")]
    pub public_jwk: String,
    pub created_at: DateTimeUtc,
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
