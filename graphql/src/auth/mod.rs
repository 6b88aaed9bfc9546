//! Authentication: bearer JWTs from Recobro's own issuer (RS256, keys persisted in the
//! database and published as JWKS; client-credentials grant for partner API clients) or
//! from external OIDC providers (Keycloak, Entra ID, Auth0) via their JWKS, mapped to a
//! [`Principal`]. Authorisation is not here: it lives in `services::access`.
//!
//! ```ignore
//! let auth = Auth::new(db, clock, AuthConfig::default()).await?;
//! App::new().app_data(web::Data::new(auth.clone())).configure(graphql::auth::configure)
//! // in a handler: an `Authenticated` argument (401/403/503 JSON when refused), or
//! let principal = auth.authenticator().authenticate_request(&req).await?;
//! ```

mod api_clients;
mod api_clients_admin;
mod claims;
mod config;
mod error;
mod extract;
mod issuer;
mod jwks;
mod keys;
mod routes;
mod validate;
mod verified;

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use services::access::Principal;
use services::clock::Clock;

pub use api_clients::{ApiClient, ApiClientError, ApiClients};
pub use config::{
    AuthConfig, ClaimMapping, DEFAULT_AUDIENCE, DEFAULT_ISSUER, ExternalIssuerConfig,
};
pub use error::AuthError;
pub use extract::Authenticated;
pub use issuer::TokenIssuer;
pub use keys::{GeneratedKey, generate_rsa_key};
pub use routes::{configure, error_response};
pub use validate::{Authenticator, bearer_token};

/// The authentication layer: cheap to clone, one per process.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    config: AuthConfig,
    keys: Arc<keys::OwnKeys>,
    authenticator: Authenticator,
    issuer: TokenIssuer,
    clients: ApiClients,
}

impl Auth {
    /// Loads (on first start: creates) the own signing key; the database must be
    /// migrated. External JWKS are fetched lazily, on first use.
    pub async fn new(
        db: DatabaseConnection,
        clock: Arc<dyn Clock>,
        config: AuthConfig,
    ) -> Result<Auth, AuthError> {
        if config.issuer.is_empty() || config.audience.is_empty() {
            return Err(AuthError::Config("issuer and audience must be set".into()));
        }
        if config.leeway_seconds < 0 || config.token_ttl_seconds <= 0 {
            return Err(AuthError::Config(
                "leeway and token lifetime must be positive".into(),
            ));
        }
        for (i, ext) in config.external.iter().enumerate() {
            let clash = ext.issuer == config.issuer
                || config.external[..i].iter().any(|o| o.issuer == ext.issuer);
            if clash {
                return Err(AuthError::Config(format!(
                    "issuer {} configured twice",
                    ext.issuer
                )));
            }
        }
        let keys = Arc::new(keys::OwnKeys::load_or_create(db.clone(), clock.as_ref()).await?);
        let external = config
            .external
            .iter()
            .cloned()
            .map(jwks::RemoteIssuer::new)
            .collect::<Result<Vec<_>, _>>()?;
        let authenticator = Authenticator {
            own_issuer: config.issuer.clone(),
            own_audience: config.audience.clone(),
            own_keys: keys.clone(),
            external: Arc::new(external),
            clock: clock.clone(),
            leeway: config.leeway_seconds,
            verified: Arc::default(),
        };
        let issuer = TokenIssuer {
            keys: keys.clone(),
            clock: clock.clone(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        };
        let clients = ApiClients::new(db, clock);
        Ok(Auth {
            inner: Arc::new(Inner {
                config,
                keys,
                authenticator,
                issuer,
                clients,
            }),
        })
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.inner.authenticator
    }

    pub fn issuer(&self) -> &TokenIssuer {
        &self.inner.issuer
    }

    pub fn api_clients(&self) -> &ApiClients {
        &self.inner.clients
    }

    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// The own issuer's public keys as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        self.inner.keys.jwks()
    }

    /// Shorthand for `authenticator().authenticate(token)`.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.inner.authenticator.authenticate(token).await
    }
}
