//! External OIDC providers' keys: fetched from their JWKS (found by discovery when not
//! configured), cached, refetched on an unknown `kid` at most every
//! `jwks_min_refresh_seconds`, and after `jwks_max_age_seconds`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::AuthError;
use super::config::ExternalIssuerConfig;
use super::keys::PinnedKey;

/// HTTP timeout for discovery and JWKS requests: an authenticating request waits for it.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct RemoteIssuer {
    pub config: ExternalIssuerConfig,
    http: reqwest::Client,
    /// Read on every request without waiting for a fetch in progress.
    cache: RwLock<Arc<Cache>>,
    /// Held while fetching: one fetch at a time; remembers the last attempt and whether
    /// it failed (the rate limit for refreshes).
    attempted: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, PinnedKey>,
    /// When the keys were fetched.
    fetched: Option<Instant>,
}

impl Cache {
    fn fresh(&self, kid: &str, max_age: Duration) -> Option<PinnedKey> {
        let fresh = self.fetched.is_some_and(|t| t.elapsed() < max_age);
        fresh.then(|| self.keys.get(kid).cloned()).flatten()
    }
}

impl RemoteIssuer {
    pub fn new(config: ExternalIssuerConfig) -> Result<Self, AuthError> {
        if config.algorithms.iter().any(|a| is_symmetric(*a)) {
            return Err(AuthError::Config(format!(
                "issuer {}: symmetric algorithms cannot be used with a JWKS",
                config.issuer
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| AuthError::Config(e.to_string()))?;
        Ok(RemoteIssuer {
            config,
            http,
            cache: RwLock::new(Arc::new(Cache::default())),
            attempted: tokio::sync::Mutex::new(None),
        })
    }

    /// The key with this kid, fetching the JWKS when needed.
    pub async fn find(&self, kid: &str) -> Result<PinnedKey, AuthError> {
        let max_age = Duration::from_secs(self.config.jwks_max_age_seconds);
        if let Some(k) = self.cached().fresh(kid, max_age) {
            return Ok(k);
        }
        let mut attempted = self.attempted.lock().await;
        // Another request may have fetched while this one waited for the lock.
        if let Some(k) = self.cached().fresh(kid, max_age) {
            return Ok(k);
        }
        let min_refresh = Duration::from_secs(self.config.jwks_min_refresh_seconds);
        if attempted
            .as_ref()
            .is_none_or(|(t, _)| t.elapsed() >= min_refresh)
        {
            let error = match self.fetch().await {
                Ok(keys) => {
                    let cache = Cache {
                        keys,
                        fetched: Some(Instant::now()),
                    };
                    *self.cache.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cache);
                    None
                }
                Err(error) => {
                    tracing::warn!(issuer = %self.config.issuer, %error, "JWKS fetch failed");
                    Some(error)
                }
            };
            *attempted = Some((Instant::now(), error));
        }
        // A stale cache still serves while the provider is down: availability over
        // picking up a key removal a little later.
        if let Some(k) = self.cached().keys.get(kid) {
            return Ok(k.clone());
        }
        match &*attempted {
            Some((_, Some(error))) => Err(AuthError::IssuerUnavailable(error.clone())),
            _ => Err(AuthError::UnknownKey),
        }
    }

    fn cached(&self) -> Arc<Cache> {
        self.cache.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn fetch(&self) -> Result<HashMap<String, PinnedKey>, String> {
        let jwks_uri = match &self.config.jwks_uri {
            Some(uri) => uri.clone(),
            None => self.discover().await?,
        };
        let jwks: Value = self.get_json(&jwks_uri).await?;
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("JWKS has no `keys` array")?;
        Ok(keys.iter().filter_map(|k| self.pin(k)).collect())
    }

    async fn discover(&self) -> Result<String, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let doc = self.get_json(&url).await?;
        // OpenID Connect Discovery 1.0 §4.3: the document must name the same issuer.
        if doc.get("issuer").and_then(Value::as_str) != Some(self.config.issuer.as_str()) {
            return Err("discovery document names another issuer".into());
        }
        doc.get("jwks_uri")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "discovery document has no jwks_uri".into())
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        response.json().await.map_err(|e| format!("GET {url}: {e}"))
    }

    /// A JWK as a key pinned to one algorithm: its own `alg` if it has one (and it is
    /// allowed), else the first allowed algorithm of its key type. Keys for encryption,
    /// without kid, symmetric, or of a disallowed algorithm are skipped.
    fn pin(&self, jwk: &Value) -> Option<(String, PinnedKey)> {
        let kid = jwk.get("kid")?.as_str()?.to_owned();
        if jwk
            .get("use")
            .and_then(Value::as_str)
            .is_some_and(|u| u != "sig")
        {
            return None;
        }
        let kty = jwk.get("kty")?.as_str()?;
        let allowed = &self.config.algorithms;
        let alg = match jwk.get("alg").and_then(Value::as_str) {
            Some(name) => Some(name.parse::<Algorithm>().ok()?).filter(|a| allowed.contains(a))?,
            None => *allowed.iter().find(|a| family(**a) == Some(kty))?,
        };
        if is_symmetric(alg) || family(alg) != Some(kty) {
            return None;
        }
        let parsed: Jwk = serde_json::from_value(jwk.clone()).ok()?;
        let key = DecodingKey::from_jwk(&parsed).ok()?;
        Some((
            kid,
            PinnedKey {
                alg,
                key: Arc::new(key),
            },
        ))
    }
}

fn is_symmetric(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

/// The JWK `kty` an algorithm needs.
fn family(alg: Algorithm) -> Option<&'static str> {
    use Algorithm as A;
    match alg {
        A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512 => Some("RSA"),
        A::ES256 | A::ES384 => Some("EC"),
        A::EdDSA => Some("OKP"),
        A::HS256 | A::HS384 | A::HS512 => None,
    }
}
