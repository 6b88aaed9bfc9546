//! Partner organisations: collection agencies and law firms.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub partner_id: String,
    pub tenant: String,
    pub name: String,
    /// `agency` or `law_firm`.
    pub kind: String,
    pub active: bool,
    pub created_at: DateTimeUtc,
    /// What the partner may read of a case, by stage (JSON of
    /// `collections::disclosure::DisclosurePolicy`); none: its kind's defaults.
    #[sea_orm(column_type = "Text", nullable)]
    pub disclosure: Option<String>,
    /// Which cases it takes when nobody names a partner (JSON of
    /// `partners::allocation::AllocationRules`); none: any jurisdiction, no limit,
    /// weight 1.
    #[sea_orm(column_type = "Text", nullable)]
    pub allocation: Option<String>,
    /// Where its events are sent and the secrets that sign them (JSON of
    /// `partners::webhooks::WebhookConfig`); none: no webhook.
    #[sea_orm(column_type = "Text", nullable)]
    pub webhook: Option<String>,
    /// Its own REST API Recobro calls (JSON of `partners::partner_api::ApiConfig`, the
    /// client secret included: never shown through the API); none: no API.
    #[sea_orm(column_type = "Text", nullable)]
    pub api: Option<String>,
    /// What it earns (JSON of `collections::commission::Contract`: rates by stage or
    /// debt-age band, fees per legal milestone); none: no commission.
    #[sea_orm(column_type = "Text", nullable)]
    pub contract: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
