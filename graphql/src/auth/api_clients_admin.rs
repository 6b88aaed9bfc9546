//! API clients managed by a caller: the role table decides who may, and everything stays
//! inside the caller's tenant (another tenant's client answers like a missing one).

use orm::entities::api_clients;
use partners::Partners;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use services::access::{Operation, Principal, Role};
use services::desk::require;

use super::api_clients::{ApiClient, ApiClientError, ApiClients};

impl ApiClients {
    /// Registers a client in the caller's tenant; a partner client must name a partner
    /// organisation of that tenant.
    pub async fn create_as(
        &self,
        partners: &Partners,
        p: &Principal,
        role: Role,
        partner: Option<String>,
        groups: Vec<String>,
    ) -> Result<(ApiClient, String), ApiClientError> {
        require(p, Operation::ManageApiClients, "manage API clients")?;
        if let Some(id) = &partner {
            partners.get(p, id).await?;
        }
        self.create(&p.tenant, role, partner, groups).await
    }

    pub async fn revoke_as(
        &self,
        p: &Principal,
        client_id: &str,
    ) -> Result<ApiClient, ApiClientError> {
        require(p, Operation::ManageApiClients, "manage API clients")?;
        let theirs = api_clients::Entity::find_by_id(client_id.to_owned())
            .filter(api_clients::Column::Tenant.eq(p.tenant.as_str()))
            .one(&self.db)
            .await?;
        if theirs.is_none() {
            return Err(ApiClientError::NotFound(client_id.to_owned()));
        }
        self.revoke(client_id).await
    }

    pub async fn list_as(&self, p: &Principal) -> Result<Vec<ApiClient>, ApiClientError> {
        require(p, Operation::ManageApiClients, "manage API clients")?;
        self.list(Some(&p.tenant)).await
    }
}
