//! The own issuer's published keys: usable by any verifier, and stable across restarts.

use chrono::Duration;
use graphql::auth::Auth;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use services::access::{Principal, Role};

use super::support::{Server, config, on_both, start};

async fn get(s: &Server, path: &str) -> Value {
    let r = s
        .http
        .get(format!("{}{path}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

async fn published_keys_verify_issued_tokens(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let discovery = get(&s, "/.well-known/openid-configuration").await;
    assert_eq!(discovery["issuer"], "https://recobro.test");
    assert_eq!(
        discovery["jwks_uri"],
        "https://recobro.test/.well-known/jwks.json"
    );
    assert_eq!(
        discovery["token_endpoint"],
        "https://recobro.test/oauth/token"
    );
    assert_eq!(discovery["grant_types_supported"][0], "client_credentials");

    let set: JwkSet = serde_json::from_value(get(&s, "/.well-known/jwks.json").await).unwrap();
    assert_eq!(set.keys.len(), 1);
    let raw = get(&s, "/.well-known/jwks.json").await;
    assert!(
        raw["keys"][0].get("d").is_none(),
        "no private parts published"
    );

    // Verify as a third party would: kid from the header, key from the JWKS.
    let p = Principal::new("sup", "acme", Role::Supervisor, None, vec![]).unwrap();
    let token = s.auth.issuer().issue(&p, Duration::minutes(5)).unwrap();
    let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
    let jwk = set.find(&kid).expect("token's kid is published");
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&["recobro"]);
    v.set_issuer(&["https://recobro.test"]);
    v.validate_exp = false; // the token lives on the virtual clock
    let data =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &v).unwrap();
    assert_eq!(data.claims["sub"], "sup");
    assert_eq!(data.claims["role"], "supervisor");
    assert_eq!(
        data.claims["exp"].as_i64().unwrap() - data.claims["iat"].as_i64().unwrap(),
        300
    );
}
on_both!(published, super::published_keys_verify_issued_tokens);

async fn keys_survive_restart(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let p = Principal::new("ana", "acme", Role::Agent, None, vec![]).unwrap();
    let token = s.auth.issuer().issue(&p, Duration::hours(1)).unwrap();
    let kid = s.auth.jwks()["keys"][0]["kid"].clone();

    let again = Auth::new(db.clone(), s.clock.clone(), config())
        .await
        .unwrap();
    assert_eq!(again.jwks()["keys"][0]["kid"], kid);
    assert_eq!(again.jwks()["keys"].as_array().unwrap().len(), 1);
    assert_eq!(again.authenticate(&token).await.unwrap(), p);
}
on_both!(restart, super::keys_survive_restart);
