//! Bearer token validation. The order of checks matters: the key (and with it the one
//! algorithm allowed) is chosen from the issuer's key set by `kid` before the signature
//! is checked, so the token's own `alg` header can never choose how it is verified.

use std::collections::HashSet;
use std::sync::Arc;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation, decode};
use serde_json::Value;
use services::access::Principal;
use services::clock::Clock;

use super::AuthError;
use super::claims;
use super::config::ClaimMapping;
use super::jwks::RemoteIssuer;
use super::keys::{OwnKeys, PinnedKey};
use super::verified::VerifiedTokens;

/// Turns bearer tokens into principals.
#[derive(Clone)]
pub struct Authenticator {
    pub(crate) own_issuer: String,
    pub(crate) own_audience: String,
    pub(crate) own_keys: Arc<OwnKeys>,
    pub(crate) external: Arc<Vec<RemoteIssuer>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) leeway: i64,
    pub(crate) verified: Arc<VerifiedTokens>,
}

impl Authenticator {
    /// The principal of a request's `Authorization: Bearer` token.
    pub async fn authenticate_request(&self, req: &HttpRequest) -> Result<Principal, AuthError> {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .ok_or(AuthError::Unauthenticated)?;
        let token = bearer_token(header.to_str().unwrap_or_default())
            .ok_or_else(|| AuthError::InvalidToken("expected `Bearer <token>`".into()))?;
        self.authenticate(token).await
    }

    /// The principal of a JWT, after checking signature, algorithm, issuer, audience and
    /// validity period (by the Recobro clock).
    pub async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::Unauthenticated);
        }
        let (header, payload) = unverified_parts(token)?;
        // Only names jsonwebtoken knows are algorithms at all; `none` is not one of them.
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(|| AuthError::InvalidToken("no alg".into()))?;
        let alg: Algorithm = alg.parse().map_err(|_| AuthError::AlgorithmNotAllowed)?;
        let kid = header.get("kid").and_then(Value::as_str);
        // The issuer claim only picks the key set here; it is verified with the signature.
        let iss = payload
            .get("iss")
            .and_then(Value::as_str)
            .ok_or(AuthError::WrongIssuer)?;

        let (key, audience, mapping) = if iss == self.own_issuer {
            let kid = kid.ok_or(AuthError::UnknownKey)?;
            let key = self.own_keys.find(kid).await?;
            (key, self.own_audience.clone(), ClaimMapping::own())
        } else if let Some(remote) = self.external.iter().find(|r| r.config.issuer == iss) {
            let kid = kid.ok_or(AuthError::UnknownKey)?;
            let key = remote.find(kid).await?;
            let audience = remote.config.audience.clone();
            (
                key,
                audience.unwrap_or_else(|| self.own_audience.clone()),
                remote.config.claims.clone(),
            )
        } else {
            return Err(AuthError::WrongIssuer);
        };
        if alg != key.alg {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let claims = match self.verified.get(token, &key.key) {
            Some(claims) => claims,
            None => {
                let claims = Arc::new(self.verify(token, &key, iss, &audience)?);
                self.verified.put(token, &key.key, claims.clone());
                claims
            }
        };
        self.check_times(&claims)?;
        claims::principal(&mapping, &claims)
    }

    fn verify(
        &self,
        token: &str,
        key: &PinnedKey,
        iss: &str,
        aud: &str,
    ) -> Result<Value, AuthError> {
        let mut validation = Validation::new(key.alg);
        validation.algorithms = vec![key.alg];
        // Time is checked against the Recobro clock in `check_times`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.required_spec_claims = HashSet::from(["exp".into(), "iss".into(), "aud".into()]);
        validation.set_issuer(&[iss]);
        validation.set_audience(&[aud]);
        decode::<Value>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
                ErrorKind::InvalidAudience => AuthError::WrongAudience,
                ErrorKind::MissingRequiredClaim(c) if c == "aud" => AuthError::WrongAudience,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    AuthError::AlgorithmNotAllowed
                }
                ErrorKind::InvalidSignature => AuthError::InvalidToken("bad signature".into()),
                other => AuthError::InvalidToken(format!("{other:?}")),
            })
    }

    fn check_times(&self, claims: &Value) -> Result<(), AuthError> {
        let now = self.clock.now().timestamp();
        let exp = claims
            .get("exp")
            .and_then(numeric_date)
            .ok_or_else(|| AuthError::InvalidToken("exp is not a number".into()))?;
        if now > exp + self.leeway {
            return Err(AuthError::TokenExpired);
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = numeric_date(nbf)
                .ok_or_else(|| AuthError::InvalidToken("nbf is not a number".into()))?;
            if now + self.leeway < nbf {
                return Err(AuthError::TokenNotYetValid);
            }
        }
        Ok(())
    }
}

/// RFC 7519 NumericDate: seconds, possibly fractional (truncated).
fn numeric_date(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// `token` from `Bearer token` (scheme case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Header and payload as JSON, before any verification: used only to choose the key.
fn unverified_parts(token: &str) -> Result<(Value, Value), AuthError> {
    let malformed = || AuthError::InvalidToken("not a JWS compact serialisation".into());
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let json = |s: &str| -> Result<Value, AuthError> {
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|_| malformed())?;
        v.is_object().then_some(v).ok_or_else(malformed)
    };
    Ok((json(h)?, json(p)?))
}
