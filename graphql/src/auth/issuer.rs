//! Recobro's own token issuer: RS256 JWTs for a [`Principal`].

use std::sync::Arc;

use chrono::Duration;
use jsonwebtoken::{Header, encode};
use serde::Serialize;
use services::access::Principal;
use services::clock::Clock;

use super::AuthError;
use super::keys::OwnKeys;

/// The payload of an own token. `role`, `tenant`, `partner` and `groups` are read back
/// by [`super::config::ClaimMapping::own`].
#[derive(Serialize)]
struct OwnClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    jti: String,
    tenant: &'a str,
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    partner: Option<&'a str>,
    groups: &'a [String],
}

/// Mints tokens signed with the current own key.
#[derive(Clone)]
pub struct TokenIssuer {
    pub(crate) keys: Arc<OwnKeys>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) issuer: String,
    pub(crate) audience: String,
}

impl TokenIssuer {
    /// A bearer token for `principal`, valid from now (by the Recobro clock) for `ttl`.
    pub fn issue(&self, principal: &Principal, ttl: Duration) -> Result<String, AuthError> {
        if ttl <= Duration::zero() {
            return Err(AuthError::Config("token lifetime must be positive".into()));
        }
        let now = self.clock.now().timestamp();
        let claims = OwnClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: &principal.subject,
            iat: now,
            nbf: now,
            exp: now + ttl.num_seconds().max(1),
            jti: uuid::Uuid::new_v4().to_string(),
            tenant: &principal.tenant,
            role: principal.role.as_str(),
            partner: principal.partner.as_deref(),
            groups: &principal.groups,
        };
        let key = self.keys.signing();
        let mut header = Header::new(key.alg);
        header.kid = Some(key.kid.clone());
        encode(&header, &claims, &key.encoding).map_err(|e| AuthError::Key(e.to_string()))
    }

    /// The `iss` of the tokens minted here.
    pub fn issuer_url(&self) -> &str {
        &self.issuer
    }
}
