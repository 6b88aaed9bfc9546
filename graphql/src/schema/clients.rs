//! Partner API clients (OAuth2 client credentials), managed by admins.

use crate::auth::{ApiClient as Client, ApiClients};
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::{partners, principal};
use crate::errors;

// The roles of `services::access::Role`, as a GraphQL enum.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Role", remote = "services::access::Role")]
pub enum RoleInput {
    Admin,
    Supervisor,
    Agent,
    Partner,
    Auditor,
    Worker,
}

pub struct ApiClient(pub Client);

#[Object]
impl ApiClient {
    /// The `client_id` for `POST /oauth/token`; also the subject of its tokens.
    async fn client_id(&self) -> ID {
        ID(self.0.client_id.clone())
    }
    async fn role(&self) -> &str {
        self.0.role.as_str()
    }
    async fn partner_id(&self) -> Option<ID> {
        self.0.partner.clone().map(ID)
    }
    async fn groups(&self) -> &[String] {
        &self.0.groups
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
}

#[derive(SimpleObject)]
pub struct NewApiClient {
    pub client: ApiClient,
    /// Shown once: only its hash is stored.
    pub client_secret: String,
}

fn clients<'a>(ctx: &Context<'a>) -> Result<&'a ApiClients> {
    ctx.data::<ApiClients>()
}

pub async fn list(ctx: &Context<'_>) -> Result<Vec<ApiClient>> {
    let rows = clients(ctx)?
        .list_as(principal(ctx)?)
        .await
        .map_err(errors::api)?;
    Ok(rows.into_iter().map(ApiClient).collect())
}

pub async fn create(
    ctx: &Context<'_>,
    role: RoleInput,
    partner_id: Option<ID>,
    groups: Vec<String>,
) -> Result<NewApiClient> {
    let (client, secret) = clients(ctx)?
        .create_as(
            partners(ctx)?,
            principal(ctx)?,
            role.into(),
            partner_id.map(|p| p.0),
            groups,
        )
        .await
        .map_err(errors::api)?;
    Ok(NewApiClient {
        client: ApiClient(client),
        client_secret: secret,
    })
}

pub async fn revoke(ctx: &Context<'_>, client_id: ID) -> Result<ApiClient> {
    clients(ctx)?
        .revoke_as(principal(ctx)?, &client_id)
        .await
        .map(ApiClient)
        .map_err(errors::api)
}
