//! The JWT attack suite: every forgery or misuse is refused with its own code.

use chrono::Duration;
use jsonwebtoken::{Algorithm, EncodingKey};
use sea_orm::DatabaseConnection;
use serde_json::json;
use services::access::{Principal, Role};

use super::support::{agent_claims, config, on_both, own_key, raw_token, sign, start};

async fn issued_token_is_accepted(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let p = Principal::new("lw", "acme", Role::Partner, Some("lawco".into()), vec![]).unwrap();
    let token = s.auth.issuer().issue(&p, Duration::hours(1)).unwrap();
    let (status, body) = s.whoami(&token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subject"], "lw");
    assert_eq!(body["role"], "partner");
    assert_eq!(body["partner"], "lawco");
    assert_eq!(s.auth.authenticate(&token).await.unwrap(), p);
}
on_both!(issued_token_accepted, super::issued_token_is_accepted);

async fn forgeries_are_refused(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let (kid, key, jwk) = own_key(db).await;
    let now = s.now();
    let good = sign(Algorithm::RS256, Some(&kid), &agent_claims(now), &key);
    assert_eq!(s.whoami(&good).await.0, 200, "the control token is good");

    // alg: none, no signature.
    let none = raw_token(&json!({"alg": "none", "kid": kid}), &agent_claims(now), b"");
    assert_eq!(s.refused(&none).await, "ALGORITHM_NOT_ALLOWED");

    // HS256 keyed with the RSA public key (the classic confusion attack), both with the
    // JWK's modulus and with the PEM of the public key as the HMAC secret.
    for secret in [
        jwk["n"].as_str().unwrap().as_bytes().to_vec(),
        jwk.to_string().into_bytes(),
    ] {
        let hs = sign(
            Algorithm::HS256,
            Some(&kid),
            &agent_claims(now),
            &EncodingKey::from_secret(&secret),
        );
        assert_eq!(s.refused(&hs).await, "ALGORITHM_NOT_ALLOWED");
    }

    // RS256 header but another RSA key (same kid).
    let other = graphql::auth::generate_rsa_key().unwrap();
    let other_key = EncodingKey::from_rsa_pem(other.private_key_pem.as_bytes()).unwrap();
    let wrong_sig = sign(Algorithm::RS256, Some(&kid), &agent_claims(now), &other_key);
    assert_eq!(s.refused(&wrong_sig).await, "INVALID_TOKEN");

    // Unknown or missing kid.
    let unknown = sign(
        Algorithm::RS256,
        Some("no-such-kid"),
        &agent_claims(now),
        &key,
    );
    assert_eq!(s.refused(&unknown).await, "UNKNOWN_KEY");
    let no_kid = sign(Algorithm::RS256, None, &agent_claims(now), &key);
    assert_eq!(s.refused(&no_kid).await, "UNKNOWN_KEY");

    // Payload tampered after signing: agent -> admin.
    let parts: Vec<&str> = good.split('.').collect();
    let mut claims = agent_claims(now);
    claims["role"] = json!("admin");
    let forged = raw_token(
        &json!({"alg": "RS256", "typ": "JWT", "kid": kid}),
        &claims,
        b"",
    );
    let forged_payload = forged.split('.').nth(1).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(s.refused(&tampered).await, "INVALID_TOKEN");

    // Correctly signed, wrong claims.
    let mut c = agent_claims(now);
    c["iss"] = json!("https://evil.test");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&kid), &c, &key))
            .await,
        "WRONG_ISSUER"
    );
    let mut c = agent_claims(now);
    c["aud"] = json!("someone-else");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&kid), &c, &key))
            .await,
        "WRONG_AUDIENCE"
    );
    let mut c = agent_claims(now);
    c.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&kid), &c, &key))
            .await,
        "WRONG_AUDIENCE"
    );
    let mut c = agent_claims(now);
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&kid), &c, &key))
            .await,
        "INVALID_TOKEN"
    );
    let mut c = agent_claims(now);
    c["nbf"] = json!(now + 600);
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&kid), &c, &key))
            .await,
        "TOKEN_NOT_YET_VALID"
    );
    let mut c = agent_claims(now);
    c["role"] = json!("superuser");
    let (status, body) = s
        .whoami(&sign(Algorithm::RS256, Some(&kid), &c, &key))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("NO_ROLE"))
    );

    // Not a JWT at all.
    for junk in ["abc", "a.b.c", "..", "x.y.z.w"] {
        assert_eq!(s.refused(junk).await, "INVALID_TOKEN", "{junk}");
    }
}
on_both!(forgeries, super::forgeries_are_refused);

async fn expiry_follows_the_recobro_clock(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let p = Principal::new("ana", "acme", Role::Agent, None, vec![]).unwrap();
    let token = s.auth.issuer().issue(&p, Duration::hours(1)).unwrap();
    s.clock.advance(Duration::hours(1) + Duration::seconds(20));
    assert_eq!(s.whoami(&token).await.0, 200, "within the 30 s leeway");
    s.clock.advance(Duration::seconds(11));
    assert_eq!(s.refused(&token).await, "TOKEN_EXPIRED");
}
on_both!(expiry, super::expiry_follows_the_recobro_clock);

async fn missing_or_malformed_credentials(db: &DatabaseConnection) {
    let s = start(db, config()).await;
    let r = s
        .http
        .get(format!("{}/auth/whoami", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.headers()["www-authenticate"], r#"Bearer realm="recobro""#);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "UNAUTHENTICATED");

    let r = s
        .http
        .get(format!("{}/auth/whoami", s.base))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
}
on_both!(missing_credentials, super::missing_or_malformed_credentials);
