//! External OIDC providers: a fixture "Keycloak" (discovery + JWKS on its own port)
//! and an "Auth0" with a configured `jwks_uri` and namespaced claims.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use graphql::auth::{Auth, AuthConfig, ClaimMapping, ExternalIssuerConfig};
use jsonwebtoken::{Algorithm, EncodingKey};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::access::Role;
use services::error_code::ApiError;

use super::support::{Server, config, on_both, sign, start};

/// The provider: one RSA key, its JWKS and discovery document, and a fetch counter.
struct Provider {
    kid: String,
    key: EncodingKey,
    base: String,
    jwks_hits: Arc<AtomicUsize>,
    jwks: Arc<Mutex<Value>>,
    public_jwk: Value,
    _handle: actix_web::dev::ServerHandle,
}

async fn provider() -> Provider {
    let generated = graphql::auth::generate_rsa_key().unwrap();
    let jwks = Arc::new(Mutex::new(json!({"keys": [generated.public_jwk.clone()]})));
    let hits = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (issuer, counter, published) = (format!("{base}/realms/acme"), hits.clone(), jwks.clone());
    let server = actix_web::HttpServer::new(move || {
        let (jwks, counter) = (published.clone(), counter.clone());
        let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/certs")});
        actix_web::App::new()
            .route(
                "/realms/acme/.well-known/openid-configuration",
                web::get().to(move || {
                    let d = discovery.clone();
                    async move { HttpResponse::Ok().json(d) }
                }),
            )
            .route(
                "/realms/acme/certs",
                web::get().to(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let j = jwks.lock().unwrap().clone();
                    async move { HttpResponse::Ok().json(j) }
                }),
            )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Provider {
        kid: generated.kid,
        key: EncodingKey::from_rsa_pem(generated.private_key_pem.as_bytes()).unwrap(),
        base,
        jwks_hits: hits,
        jwks,
        public_jwk: generated.public_jwk,
        _handle: handle,
    }
}

impl Provider {
    /// Key rotation: publishes a second key and returns it.
    fn add_key(&self) -> (String, EncodingKey) {
        let g = graphql::auth::generate_rsa_key().unwrap();
        let mut jwks = self.jwks.lock().unwrap();
        jwks["keys"].as_array_mut().unwrap().push(g.public_jwk);
        (
            g.kid,
            EncodingKey::from_rsa_pem(g.private_key_pem.as_bytes()).unwrap(),
        )
    }
}

fn auth_config(p: &Provider) -> AuthConfig {
    let keycloak = ExternalIssuerConfig {
        issuer: format!("{}/realms/acme", p.base),
        audience: Some("recobro-api".into()),
        jwks_uri: None, // discovered
        algorithms: vec![Algorithm::RS256],
        jwks_min_refresh_seconds: 3600,
        jwks_max_age_seconds: 3600,
        claims: ClaimMapping {
            roles: "realm_access.roles".into(),
            role_map: [
                ("collector".to_owned(), Role::Agent),
                ("team-lead".to_owned(), Role::Supervisor),
                ("external-counsel".to_owned(), Role::Partner),
            ]
            .into(),
            tenant: Some("acme".into()),
            partner_claim: Some("org".into()),
            groups_claim: Some("groups".into()),
            ..ClaimMapping::default()
        },
    };
    let auth0 = ExternalIssuerConfig {
        issuer: "https://acme.auth0.test/".into(),
        audience: None,
        jwks_uri: Some(format!("{}/realms/acme/certs", p.base)),
        claims: ClaimMapping {
            roles: "https://recobro.test/roles".into(),
            tenant_claim: Some("https://recobro.test/tenant".into()),
            ..ClaimMapping::default()
        },
        ..keycloak.clone()
    };
    AuthConfig {
        external: vec![keycloak, auth0],
        ..config()
    }
}

fn keycloak_claims(p: &Provider, s: &Server, roles: &[&str]) -> Value {
    json!({
        "iss": format!("{}/realms/acme", p.base), "aud": "recobro-api", "sub": "f1c2-kc-user",
        "iat": s.now(), "exp": s.now() + 300, "typ": "Bearer",
        "realm_access": {"roles": roles}, "groups": ["early", "late"], "org": "lawco",
    })
}

async fn keycloak_and_auth0_tokens_map_to_principals(db: &DatabaseConnection) {
    let p = provider().await;
    let s = start(db, auth_config(&p)).await;

    let token = sign(
        Algorithm::RS256,
        Some(&p.kid),
        &keycloak_claims(&p, &s, &["offline_access", "collector"]),
        &p.key,
    );
    let (status, me) = s.whoami(&token).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["subject"], "f1c2-kc-user");
    assert_eq!(me["role"], "agent");
    assert_eq!(me["tenant"], "acme");
    assert_eq!(me["partner"], Value::Null, "org binds partners only");
    assert_eq!(me["groups"], json!(["early", "late"]));

    let token = sign(
        Algorithm::RS256,
        Some(&p.kid),
        &keycloak_claims(&p, &s, &["collector", "team-lead"]),
        &p.key,
    );
    assert_eq!(s.whoami(&token).await.1["role"], "supervisor");
    let token = sign(
        Algorithm::RS256,
        Some(&p.kid),
        &keycloak_claims(&p, &s, &["external-counsel"]),
        &p.key,
    );
    assert_eq!(s.whoami(&token).await.1["partner"], "lawco");
    let token = sign(
        Algorithm::RS256,
        Some(&p.kid),
        &keycloak_claims(&p, &s, &["admin"]),
        &p.key,
    );
    assert_eq!(
        s.refused(&token).await,
        "NO_ROLE",
        "provider role names are not Recobro roles"
    );

    let auth0 = json!({
        "iss": "https://acme.auth0.test/", "aud": ["recobro", "https://acme.auth0.test/userinfo"],
        "sub": "auth0|42", "exp": s.now() + 300,
        "https://recobro.test/roles": ["auditor"], "https://recobro.test/tenant": "acme",
    });
    let (status, me) = s
        .whoami(&sign(Algorithm::RS256, Some(&p.kid), &auth0, &p.key))
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["subject"].as_str(), me["role"].as_str()),
        (Some("auth0|42"), Some("auditor"))
    );
    assert_eq!(
        p.jwks_hits.load(Ordering::SeqCst),
        2,
        "one fetch per issuer, then cached"
    );
}
on_both!(mapping, super::keycloak_and_auth0_tokens_map_to_principals);

async fn external_tokens_are_checked_like_own_ones(db: &DatabaseConnection) {
    let p = provider().await;
    let s = start(db, auth_config(&p)).await;
    let claims = keycloak_claims(&p, &s, &["collector"]);
    let good = sign(Algorithm::RS256, Some(&p.kid), &claims, &p.key);
    assert_eq!(s.whoami(&good).await.0, 200);

    // An issuer nobody configured, even with a key that is trusted for another issuer.
    let mut c = claims.clone();
    c["iss"] = json!("https://login.example.test/other");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&p.kid), &c, &p.key))
            .await,
        "WRONG_ISSUER"
    );
    let mut c = claims.clone();
    c["aud"] = json!("account");
    assert_eq!(
        s.refused(&sign(Algorithm::RS256, Some(&p.kid), &c, &p.key))
            .await,
        "WRONG_AUDIENCE"
    );

    // HS256 keyed with the provider's public modulus.
    let hs = EncodingKey::from_secret(p.public_jwk["n"].as_str().unwrap().as_bytes());
    assert_eq!(
        s.refused(&sign(Algorithm::HS256, Some(&p.kid), &claims, &hs))
            .await,
        "ALGORITHM_NOT_ALLOWED"
    );

    // Unknown kid right after a fetch: rate-limited, no fetch per forged token.
    let before = p.jwks_hits.load(Ordering::SeqCst);
    for _ in 0..3 {
        assert_eq!(
            s.refused(&sign(Algorithm::RS256, Some("rotated?"), &claims, &p.key))
                .await,
            "UNKNOWN_KEY"
        );
    }
    assert_eq!(p.jwks_hits.load(Ordering::SeqCst), before);

    s.clock.advance(chrono::Duration::seconds(300 + 31));
    assert_eq!(s.refused(&good).await, "TOKEN_EXPIRED");
}
on_both!(checks, super::external_tokens_are_checked_like_own_ones);

async fn rotated_provider_key_is_fetched_on_first_use(db: &DatabaseConnection) {
    let p = provider().await;
    let mut config = auth_config(&p);
    config.external[0].jwks_min_refresh_seconds = 0;
    let s = start(db, config).await;
    let claims = keycloak_claims(&p, &s, &["collector"]);
    assert_eq!(
        s.whoami(&sign(Algorithm::RS256, Some(&p.kid), &claims, &p.key))
            .await
            .0,
        200
    );
    assert_eq!(p.jwks_hits.load(Ordering::SeqCst), 1);
    let (kid, key) = p.add_key();
    assert_eq!(
        s.whoami(&sign(Algorithm::RS256, Some(&kid), &claims, &key))
            .await
            .0,
        200
    );
    assert_eq!(
        p.jwks_hits.load(Ordering::SeqCst),
        2,
        "refetched once for the new kid"
    );
}
on_both!(
    rotation,
    super::rotated_provider_key_is_fetched_on_first_use
);

async fn unreachable_provider_is_503(db: &DatabaseConnection) {
    let p = provider().await;
    // A port that was free a moment ago: connection refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = auth_config(&p);
    config.external[0].issuer = format!("http://{dead}/realms/acme");
    let s = start(db, config).await;
    let mut claims = keycloak_claims(&p, &s, &["collector"]);
    claims["iss"] = json!(format!("http://{dead}/realms/acme"));
    let token = sign(Algorithm::RS256, Some(&p.kid), &claims, &p.key);
    let (status, body) = s.whoami(&token).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("ISSUER_UNAVAILABLE"))
    );
    let err = s.auth.authenticate(&token).await.unwrap_err();
    assert_eq!(
        (err.code().as_str(), err.http_status()),
        ("ISSUER_UNAVAILABLE", 503)
    );
}
on_both!(unreachable, super::unreachable_provider_is_503);

#[actix_web::test]
async fn symmetric_algorithms_cannot_be_configured_for_a_jwks() {
    let t = super::support::TestDb::sqlite().await;
    orm::migrate(&t.db).await.unwrap();
    let p = provider().await;
    let mut config = auth_config(&p);
    config.external[0].algorithms = vec![Algorithm::HS256];
    let err = Auth::new(t.db.clone(), super::support::clock(), config)
        .await
        .err()
        .unwrap();
    assert_eq!(err.code().as_str(), "AUTH_CONFIG");

    let mut config = auth_config(&p);
    config.external[1].issuer = config.external[0].issuer.clone();
    let err = Auth::new(t.db.clone(), super::support::clock(), config)
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.code().as_str(),
        "AUTH_CONFIG",
        "one issuer, two configurations"
    );
}
