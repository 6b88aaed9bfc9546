//! What the authentication layer trusts: Recobro's own issuer and any external OIDC
//! providers, with the claim mapping that turns their tokens into principals.

use std::collections::BTreeMap;

use jsonwebtoken::Algorithm;
use serde::Deserialize;
use services::access::Role;

/// Authentication settings (the `[auth]` section of the configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Recobro's own issuer URL (`iss` of the tokens it mints); the base of its
    /// `/.well-known/*` and `/oauth/token` URLs in the discovery document.
    pub issuer: String,
    /// Audience (`aud`) of Recobro's own tokens, and the default audience expected from
    /// external issuers.
    pub audience: String,
    /// Lifetime of tokens issued at `/oauth/token`.
    pub token_ttl_seconds: i64,
    /// Tolerated clock skew for `exp` and `nbf` (kept small: it extends every token).
    pub leeway_seconds: i64,
    /// External OIDC providers whose tokens are accepted.
    pub external: Vec<ExternalIssuerConfig>,
}

/// The embedded default: matches `recobro serve`'s default listen address.
pub const DEFAULT_ISSUER: &str = "http://127.0.0.1:8080";
pub const DEFAULT_AUDIENCE: &str = "recobro";

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: DEFAULT_ISSUER.into(),
            audience: DEFAULT_AUDIENCE.into(),
            token_ttl_seconds: 3600,
            leeway_seconds: 30,
            external: Vec::new(),
        }
    }
}

/// One external OIDC provider (Keycloak realm, Entra ID tenant, Auth0 tenant, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIssuerConfig {
    /// Exact `iss` value of the provider's tokens.
    pub issuer: String,
    /// Expected `aud`; the own audience when absent.
    #[serde(default)]
    pub audience: Option<String>,
    /// JWKS URL; when absent it is discovered from
    /// `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Algorithms a key of this provider may be pinned to. Symmetric (HS*) algorithms are
    /// never accepted from a JWKS whatever is listed here.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// Shortest time between two JWKS fetches triggered by an unknown `kid`, so that a
    /// flood of forged kids cannot make Recobro hammer the provider.
    #[serde(default = "default_refresh_interval")]
    pub jwks_min_refresh_seconds: u64,
    /// Cached keys are refetched after this long (picks up removed keys).
    #[serde(default = "default_max_age")]
    pub jwks_max_age_seconds: u64,
    #[serde(default)]
    pub claims: ClaimMapping,
}

fn default_algorithms() -> Vec<Algorithm> {
    vec![Algorithm::RS256]
}
fn default_refresh_interval() -> u64 {
    60
}
fn default_max_age() -> u64 {
    3600
}

/// Where a provider puts identity, roles, tenant, partner and groups. Claim names are
/// dotted paths into the JWT payload: `realm_access.roles` (Keycloak), `roles` (Entra
/// ID app roles), `https://recobro.example/roles` for an Auth0 namespaced claim (a path
/// is first looked up whole, so dots inside a namespaced claim name work).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimMapping {
    pub subject: String,
    /// Claim holding the role names (a string or an array of strings).
    pub roles: String,
    /// Provider role name -> Recobro role. Empty: provider roles must be Recobro role
    /// names. Unmapped names are ignored; when several map, the first in
    /// admin, supervisor, agent, partner, auditor order wins.
    pub role_map: BTreeMap<String, Role>,
    /// Claim holding the tenant.
    pub tenant_claim: Option<String>,
    /// Fixed tenant, used when `tenant_claim` is absent or not in the token.
    pub tenant: Option<String>,
    /// Claim naming the partner organisation (read for partner principals only).
    pub partner_claim: Option<String>,
    /// Claim holding candidate groups (a string or an array of strings).
    pub groups_claim: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            roles: "roles".into(),
            role_map: BTreeMap::new(),
            tenant_claim: None,
            tenant: None,
            partner_claim: None,
            groups_claim: None,
        }
    }
}

impl ClaimMapping {
    /// The claims of Recobro's own tokens (see `issuer.rs`).
    pub(crate) fn own() -> Self {
        ClaimMapping {
            subject: "sub".into(),
            roles: "role".into(),
            role_map: BTreeMap::new(),
            tenant_claim: Some("tenant".into()),
            tenant: None,
            partner_claim: Some("partner".into()),
            groups_claim: Some("groups".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialises_with_defaults() {
        let c: AuthConfig = serde_json::from_value(serde_json::json!({
            "issuer": "https://recobro.acme.example",
            "external": [{
                "issuer": "https://kc.acme.example/realms/collections",
                "audience": "recobro",
                "claims": {
                    "roles": "realm_access.roles",
                    "role_map": {"collector": "agent", "team-lead": "supervisor"},
                    "tenant": "acme",
                    "groups_claim": "groups"
                }
            }]
        }))
        .unwrap();
        assert_eq!(c.audience, DEFAULT_AUDIENCE);
        assert_eq!(c.token_ttl_seconds, 3600);
        let kc = &c.external[0];
        assert_eq!(kc.algorithms, vec![Algorithm::RS256]);
        assert_eq!(kc.jwks_uri, None);
        assert_eq!(kc.claims.role_map["team-lead"], Role::Supervisor);
        assert_eq!(kc.claims.subject, "sub");
    }

    #[test]
    fn unknown_fields_are_errors() {
        let r: Result<AuthConfig, _> = serde_json::from_value(serde_json::json!({"isuer": "x"}));
        assert!(r.is_err());
    }
}
