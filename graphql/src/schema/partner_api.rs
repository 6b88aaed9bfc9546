//! A partner's own REST API over GraphQL: set and removed by admins and supervisors,
//! read (never its client secret) by them alone. Every rule is the partners crate's.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use partners::partner_api::{ApiInput, api_of};
use services::access::Operation;

use super::types::Partner;
use super::{partners, principal};
use crate::errors;

/// Where a partner's API is and who Recobro is to it; the client secret is never shown.
#[derive(SimpleObject)]
pub struct PartnerApi {
    /// `partner.call` tasks append their path to it.
    pub base_url: String,
    /// The OAuth2 token endpoint (client-credentials grant).
    pub token_url: String,
    pub client_id: String,
    pub scopes: Vec<String>,
}

/// A partner API's configuration.
#[derive(InputObject)]
pub struct PartnerApiInput {
    /// An http(s) URL without query or fragment.
    pub base_url: String,
    /// An http(s) URL.
    pub token_url: String,
    pub client_id: String,
    /// Omitted: the one stored is kept (required the first time).
    pub client_secret: Option<String>,
    /// RFC 6749 scope tokens asked for with each token; none by default.
    pub scopes: Option<Vec<String>>,
}

/// `Partner.api`: admins and supervisors only (the URLs and client id say how to reach
/// a partner's systems); other roles are refused.
pub async fn api(ctx: &Context<'_>, partner: &partners::Partner) -> Result<Option<PartnerApi>> {
    services::desk::require(
        principal(ctx)?,
        Operation::ManagePartners,
        "read a partner's API",
    )
    .map_err(errors::api)?;
    Ok(api_of(partner).map_err(errors::api)?.map(|c| PartnerApi {
        base_url: c.base_url,
        token_url: c.token_url,
        client_id: c.client_id,
        scopes: c.scopes,
    }))
}

#[derive(Default)]
pub struct PartnerApiMutation;

#[Object]
impl PartnerApiMutation {
    /// Sets the partner's own REST API and the OAuth2 client credentials Recobro calls
    /// it with (`partner.call` tasks); admins, supervisors.
    async fn set_partner_api(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        api: PartnerApiInput,
    ) -> Result<Partner> {
        let input = ApiInput {
            base_url: api.base_url,
            token_url: api.token_url,
            client_id: api.client_id,
            client_secret: api.client_secret,
            scopes: api.scopes.unwrap_or_default(),
        };
        partners(ctx)?
            .set_api(principal(ctx)?, &partner_id, input)
            .await
            .map(Partner)
            .map_err(errors::api)
    }

    /// Forgets the partner's API and its credentials; `partner.call` tasks for its cases
    /// become incidents; admins, supervisors.
    async fn remove_partner_api(&self, ctx: &Context<'_>, partner_id: ID) -> Result<Partner> {
        partners(ctx)?
            .remove_api(principal(ctx)?, &partner_id)
            .await
            .map(Partner)
            .map_err(errors::api)
    }
}
