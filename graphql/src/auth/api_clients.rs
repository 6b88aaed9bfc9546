//! OAuth2 client-credentials clients: a partner's system gets a `client_id` and a
//! secret, and trades them at `POST /oauth/token` for a short-lived bearer token.
//!
//! Secrets are shown once at creation and stored only as argon2id hashes (PHC strings),
//! so a leaked database does not leak working credentials.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use orm::entities::api_clients;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use services::access::{Principal, PrincipalError, Role};
use services::clock::Clock;
use services::error_code::{ApiError, ErrorCode};

/// argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane): about 20 ms per check in
/// release builds, which bounds online guessing without making token requests slow.
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// Verified against when the client id is unknown, so that "no such client" costs the
/// same time as "wrong secret" and client ids cannot be probed by timing.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                          0OVyCd6DkKrYHgIk7ZNFTTD5OfHV5F5OSP3Fjdz6B5E";

#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum ApiClientError {
    /// Unknown client, wrong secret or revoked client: deliberately one answer.
    #[error("invalid client credentials")]
    InvalidClient,
    #[error("API client {0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Principal(#[from] PrincipalError),
    /// Refused by the role table, or a partner the caller cannot see.
    #[error(transparent)]
    Desk(#[from] services::desk::DeskError),
    #[error("stored API client {0} is corrupt: {1}")]
    Corrupt(String, String),
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
}

impl ApiError for ApiClientError {
    fn code(&self) -> ErrorCode {
        match self {
            ApiClientError::InvalidClient => ErrorCode::Unauthenticated,
            ApiClientError::NotFound(_) => ErrorCode::NotFound,
            ApiClientError::Principal(_) => ErrorCode::BadInput,
            ApiClientError::Desk(d) => d.code(),
            ApiClientError::Corrupt(..) => ErrorCode::CorruptData,
            ApiClientError::Hash(_) => ErrorCode::Internal,
            ApiClientError::Db(_) => ErrorCode::StorageError,
        }
    }
}

/// An API client as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    pub client_id: String,
    pub tenant: String,
    pub role: Role,
    pub partner: Option<String>,
    pub groups: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiClient {
    /// The identity tokens issued to this client carry (`sub` = client id).
    pub fn principal(&self) -> Result<Principal, PrincipalError> {
        Principal::new(
            self.client_id.clone(),
            self.tenant.clone(),
            self.role,
            self.partner.clone(),
            self.groups.clone(),
        )
    }

    fn from_model(m: api_clients::Model) -> Result<Self, ApiClientError> {
        let corrupt = |what: &str| ApiClientError::Corrupt(m.client_id.clone(), what.into());
        let role = Role::parse(&m.role).ok_or_else(|| corrupt("role"))?;
        let groups = serde_json::from_str(&m.groups).map_err(|_| corrupt("groups"))?;
        Ok(ApiClient {
            client_id: m.client_id,
            tenant: m.tenant,
            role,
            partner: m.partner,
            groups,
            created_at: m.created_at,
            revoked_at: m.revoked_at,
        })
    }
}

/// Create, verify, revoke and list API clients.
#[derive(Clone)]
pub struct ApiClients {
    pub(crate) db: DatabaseConnection,
    clock: Arc<dyn Clock>,
}

impl ApiClients {
    pub fn new(db: DatabaseConnection, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    /// Registers a client for `principal`'s tenant, role, partner and groups (its subject
    /// is ignored: the client id becomes the subject). Returns the client and its secret,
    /// which is not stored and cannot be shown again.
    pub async fn create(
        &self,
        tenant: &str,
        role: Role,
        partner: Option<String>,
        groups: Vec<String>,
    ) -> Result<(ApiClient, String), ApiClientError> {
        let client_id = format!("rc_{}", uuid::Uuid::new_v4().simple());
        // Validates the role/partner binding before anything is stored.
        Principal::new(&client_id, tenant, role, partner.clone(), groups.clone())?;
        let secret = random_token();
        let secret_hash = hash_secret(secret.clone()).await?;
        let now = self.clock.now();
        api_clients::ActiveModel {
            client_id: Set(client_id.clone()),
            secret_hash: Set(secret_hash),
            tenant: Set(tenant.to_owned()),
            role: Set(role.as_str().to_owned()),
            partner: Set(partner.clone()),
            groups: Set(serde_json::to_string(&groups).expect("strings serialise")),
            created_at: Set(now),
            revoked_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        let client = ApiClient {
            client_id,
            tenant: tenant.to_owned(),
            role,
            partner,
            groups,
            created_at: now,
            revoked_at: None,
        };
        Ok((client, secret))
    }

    /// The client these credentials belong to, if they are right and it is not revoked.
    pub async fn verify(&self, client_id: &str, secret: &str) -> Result<ApiClient, ApiClientError> {
        let found = api_clients::Entity::find_by_id(client_id.to_owned())
            .one(&self.db)
            .await?;
        let hash = found
            .as_ref()
            .map_or(DUMMY_HASH.to_owned(), |m| m.secret_hash.clone());
        let matches = verify_secret(secret.to_owned(), hash).await?;
        match found {
            Some(m) if matches && m.revoked_at.is_none() => ApiClient::from_model(m),
            _ => Err(ApiClientError::InvalidClient),
        }
    }

    /// Revokes a client; tokens it already holds stay valid until they expire (they are
    /// short-lived). Revoking twice keeps the first revocation time.
    pub async fn revoke(&self, client_id: &str) -> Result<ApiClient, ApiClientError> {
        let model = api_clients::Entity::find_by_id(client_id.to_owned())
            .one(&self.db)
            .await?
            .ok_or_else(|| ApiClientError::NotFound(client_id.to_owned()))?;
        let model = if model.revoked_at.is_none() {
            let mut active: api_clients::ActiveModel = model.into();
            active.revoked_at = Set(Some(self.clock.now()));
            active.update(&self.db).await?
        } else {
            model
        };
        ApiClient::from_model(model)
    }

    /// All clients (of one tenant, if given), oldest first, revoked ones included.
    pub async fn list(&self, tenant: Option<&str>) -> Result<Vec<ApiClient>, ApiClientError> {
        let mut query = api_clients::Entity::find()
            .order_by_asc(api_clients::Column::CreatedAt)
            .order_by_asc(api_clients::Column::ClientId);
        if let Some(tenant) = tenant {
            query = query.filter(api_clients::Column::Tenant.eq(tenant));
        }
        query
            .all(&self.db)
            .await?
            .into_iter()
            .map(ApiClient::from_model)
            .collect()
    }
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// 32 bytes from the OS CSPRNG (uuid v4 draws from getrandom), base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashing is deliberately slow: off the async workers.
async fn hash_secret(secret: String) -> Result<String, ApiClientError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
            .map_err(|e| ApiClientError::Hash(e.to_string()))?;
        argon2()
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiClientError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| ApiClientError::Hash(e.to_string()))?
}

async fn verify_secret(secret: String, hash: String) -> Result<bool, ApiClientError> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| ApiClientError::Hash(e.to_string()))?;
        // Parameters come from the stored hash, so raising them later keeps old hashes valid.
        Ok(argon2().verify_password(secret.as_bytes(), &parsed).is_ok())
    })
    .await
    .map_err(|e| ApiClientError::Hash(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
