//! Recobro's own signing keys: RS256, generated on first start, persisted in
//! `signing_keys` so that every node and every restart signs and verifies alike.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::KeyPair as _;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use orm::entities::signing_keys;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::{Value, json};
use services::clock::Clock;
use sha2::{Digest, Sha256};

use super::AuthError;

/// A verification key with the one algorithm it may be used with.
#[derive(Clone)]
pub(crate) struct PinnedKey {
    pub alg: Algorithm,
    /// Shared, so the verified-token cache can tell this key object from a reloaded one.
    pub key: Arc<DecodingKey>,
}

/// A key pair of the own issuer.
#[derive(Clone)]
pub(crate) struct OwnKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub pinned: PinnedKey,
    pub jwk: Value,
}

/// A freshly generated RSA key pair: PKCS#8 PEM and the public JWK (with its kid).
pub struct GeneratedKey {
    pub kid: String,
    pub private_key_pem: String,
    pub public_jwk: Value,
}

/// Generates an RSA-2048 key for RS256. aws-lc-rs (already linked for rustls) makes
/// this ~100 ms even in debug builds, and its RSA is constant-time.
pub fn generate_rsa_key() -> Result<GeneratedKey, AuthError> {
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(|e| AuthError::Key(e.to_string()))?;
    let der = pair.as_der().map_err(|e| AuthError::Key(e.to_string()))?;
    let parts = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let n = URL_SAFE_NO_PAD.encode(&parts.n);
    let e = URL_SAFE_NO_PAD.encode(&parts.e);
    // RFC 7638 thumbprint: a kid derived from the key itself, the same on every node.
    let thumbprint = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(thumbprint.as_bytes()));
    let public_jwk =
        json!({"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e});
    Ok(GeneratedKey {
        kid,
        private_key_pem: pem("PRIVATE KEY", der.as_ref()),
        public_jwk,
    })
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn own_key(m: &signing_keys::Model) -> Result<OwnKey, AuthError> {
    let bad = |what: &str| AuthError::Key(format!("stored signing key {}: {what}", m.kid));
    let alg: Algorithm = m.alg.parse().map_err(|_| bad("unknown alg"))?;
    if alg != Algorithm::RS256 {
        return Err(bad("only RS256 keys are supported"));
    }
    let encoding = EncodingKey::from_rsa_pem(m.private_key_pem.as_bytes())
        .map_err(|_| bad("private key PEM"))?;
    let jwk: Value = serde_json::from_str(&m.public_jwk).map_err(|_| bad("JWK JSON"))?;
    let component = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(name))
    };
    let key = DecodingKey::from_rsa_components(component("n")?, component("e")?)
        .map_err(|_| bad("public components"))?;
    Ok(OwnKey {
        kid: m.kid.clone(),
        alg,
        encoding,
        pinned: PinnedKey {
            alg,
            key: Arc::new(key),
        },
        jwk,
    })
}

/// The own issuer's unretired keys, oldest first; the oldest signs, so that nodes that
/// raced to create a key on first start converge on the same one.
pub(crate) struct OwnKeys {
    db: DatabaseConnection,
    keys: RwLock<Arc<Vec<OwnKey>>>,
    last_reload: tokio::sync::Mutex<Option<Instant>>,
}

/// Unknown kids of the own issuer trigger a reload (another node may have created a key)
/// at most this often.
const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

impl OwnKeys {
    /// Loads the keys, generating and storing the first one if there is none.
    pub async fn load_or_create(
        db: DatabaseConnection,
        clock: &dyn Clock,
    ) -> Result<OwnKeys, AuthError> {
        let mut keys = load(&db).await?;
        if keys.is_empty() {
            let generated = tokio::task::spawn_blocking(generate_rsa_key)
                .await
                .map_err(|e| AuthError::Key(e.to_string()))??;
            signing_keys::ActiveModel {
                kid: Set(generated.kid),
                alg: Set("RS256".into()),
                private_key_pem: Set(generated.private_key_pem),
                public_jwk: Set(generated.public_jwk.to_string()),
                created_at: Set(clock.now()),
                retired_at: Set(None),
            }
            .insert(&db)
            .await?;
            keys = load(&db).await?;
        }
        Ok(OwnKeys {
            db,
            keys: RwLock::new(Arc::new(keys)),
            last_reload: tokio::sync::Mutex::new(None),
        })
    }

    pub fn current(&self) -> Arc<Vec<OwnKey>> {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The signing key.
    pub fn signing(&self) -> OwnKey {
        self.current()[0].clone()
    }

    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self.current().iter().map(|k| k.jwk.clone()).collect();
        json!({ "keys": keys })
    }

    /// The key with this kid, reloading from the database (rate-limited) on a miss.
    pub async fn find(&self, kid: &str) -> Result<PinnedKey, AuthError> {
        let lookup = |keys: &[OwnKey]| keys.iter().find(|k| k.kid == kid).map(|k| k.pinned.clone());
        if let Some(k) = lookup(&self.current()) {
            return Ok(k);
        }
        let mut last = self.last_reload.lock().await;
        if last.is_none_or(|t| t.elapsed() >= RELOAD_INTERVAL) {
            *last = Some(Instant::now());
            let keys = load(&self.db).await?;
            if !keys.is_empty() {
                *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
            }
        }
        lookup(&self.current()).ok_or(AuthError::UnknownKey)
    }
}

async fn load(db: &DatabaseConnection) -> Result<Vec<OwnKey>, AuthError> {
    signing_keys::Entity::find()
        .filter(signing_keys::Column::RetiredAt.is_null())
        .order_by_asc(signing_keys::Column::CreatedAt)
        .order_by_asc(signing_keys::Column::Kid)
        .all(db)
        .await?
        .iter()
        .map(own_key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_signs_and_verifies() {
        let g = generate_rsa_key().unwrap();
        let enc = EncodingKey::from_rsa_pem(g.private_key_pem.as_bytes()).unwrap();
        let dec = DecodingKey::from_rsa_components(
            g.public_jwk["n"].as_str().unwrap(),
            g.public_jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(g.kid.clone());
        let token =
            jsonwebtoken::encode(&header, &json!({"sub": "x", "exp": 4_000_000_000u64}), &enc)
                .unwrap();
        let v = jsonwebtoken::Validation::new(Algorithm::RS256);
        let data = jsonwebtoken::decode::<Value>(&token, &dec, &v).unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(g.kid.len(), 43);
    }
}
