//! Tokens already verified, by their exact text and the key object that verified them,
//! so a client sending the same bearer token request after request pays for one
//! signature check, not one per request (RS256 checks were ≈ 10 % of the CPU in
//! `recobro bench graphql`). A hit skips only the signature, issuer and audience checks,
//! which depend on nothing but those bytes, that key and the configuration: the key is
//! still looked up by `kid` first (an unknown or retired key still fails), its algorithm
//! still compared, and the validity period still checked against the clock on every
//! request. Reloading a key set makes new key objects, so a key replaced under the same
//! `kid` never vouches for a token it did not verify itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::DecodingKey;
use serde_json::Value;

/// Entries kept at most (a few MB). When full the cache starts again empty: cheap,
/// bounded, and a busy client's token is back after its next request.
const CAPACITY: usize = 4096;

type Entry = (Arc<DecodingKey>, Arc<Value>);

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<Box<str>, Entry>>,
}

impl VerifiedTokens {
    /// The claims of `token` if this very key object verified it.
    pub fn get(&self, token: &str, key: &Arc<DecodingKey>) -> Option<Arc<Value>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (verified_by, claims) = entries.get(token)?;
        Arc::ptr_eq(verified_by, key).then(|| claims.clone())
    }

    pub fn put(&self, token: &str, key: &Arc<DecodingKey>, claims: Arc<Value>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        // The entry holds its key, so the key's address cannot be reused by another.
        entries.insert(token.into(), (key.clone(), claims));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> Arc<DecodingKey> {
        Arc::new(DecodingKey::from_secret(b"not used to verify here"))
    }

    #[test]
    fn a_hit_needs_the_same_token_and_the_same_key_object() {
        let cache = VerifiedTokens::default();
        let (k1, k2) = (key(), key());
        cache.put("a.b.c", &k1, Arc::new(json!({"sub": "ana"})));
        assert_eq!(cache.get("a.b.c", &k1).unwrap()["sub"], "ana");
        assert!(
            cache.get("a.b.c", &k2).is_none(),
            "an equal key reloaded is another key"
        );
        assert!(cache.get("a.b.d", &k1).is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = VerifiedTokens::default();
        let k = key();
        for i in 0..CAPACITY + 10 {
            cache.put(&format!("t{i}"), &k, Arc::new(json!({})));
        }
        assert!(cache.len() <= CAPACITY);
        assert!(cache.get(&format!("t{}", CAPACITY + 9), &k).is_some());
    }
}
