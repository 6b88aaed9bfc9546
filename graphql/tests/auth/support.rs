//! A Recobro auth server on a free port over a fresh database, and token forging tools.

use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{TimeZone, Utc};
use graphql::auth::{Auth, AuthConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use orm::entities::signing_keys;
pub use orm::testing::TestDb;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use services::clock::{Clock, VirtualClock};

pub struct Server {
    pub auth: Auth,
    pub clock: Arc<VirtualClock>,
    pub base: String,
    pub http: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Server {
    fn drop(&mut self) {
        // Stops accepting; the runtime ends with the test.
        drop(self.handle.stop(false));
    }
}

pub fn clock() -> Arc<VirtualClock> {
    Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap(),
    ))
}

/// Serves `configure` on 127.0.0.1:0 (one worker); returns the base URL and a handle.
pub fn serve<F>(data: Auth, configure: F) -> (String, actix_web::dev::ServerHandle)
where
    F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
{
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(data.clone()))
            .configure(configure.clone())
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .expect("bind");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://{addr}"), handle)
}

/// Migrates `db` and starts an auth server with `config` (issuer set to its own URL
/// would need the port first, so the configured issuer is just a name here).
pub async fn start(db: &DatabaseConnection, config: AuthConfig) -> Server {
    orm::migrate(db).await.expect("migrate");
    let clock = clock();
    let auth = Auth::new(db.clone(), clock.clone(), config)
        .await
        .expect("auth");
    let (base, handle) = serve(auth.clone(), graphql::auth::configure);
    Server {
        auth,
        clock,
        base,
        http: reqwest::Client::new(),
        handle,
    }
}

pub fn config() -> AuthConfig {
    AuthConfig {
        issuer: "https://recobro.test".into(),
        ..AuthConfig::default()
    }
}

impl Server {
    /// `GET /auth/whoami` with this bearer token: status and JSON body.
    pub async fn whoami(&self, token: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/auth/whoami", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// The error code of a refused token (asserting the refusal).
    pub async fn refused(&self, token: &str) -> String {
        let (status, body) = self.whoami(token).await;
        assert_ne!(status, 200, "token accepted: {body}");
        body["error"]["code"].as_str().unwrap().to_owned()
    }

    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

/// The own issuer's current signing key straight from the database, to forge tokens
/// that are correctly signed but wrong in some other way.
pub async fn own_key(db: &DatabaseConnection) -> (String, EncodingKey, Value) {
    let key = signing_keys::Entity::find().one(db).await.unwrap().unwrap();
    let enc = EncodingKey::from_rsa_pem(key.private_key_pem.as_bytes()).unwrap();
    (key.kid, enc, serde_json::from_str(&key.public_jwk).unwrap())
}

pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

/// Good own-issuer claims for an agent, valid for an hour from `now`.
pub fn agent_claims(now: i64) -> Value {
    json!({
        "iss": "https://recobro.test", "aud": "recobro", "sub": "ana",
        "iat": now, "nbf": now, "exp": now + 3600,
        "tenant": "acme", "role": "agent", "groups": ["early"],
    })
}

/// A compact JWS with arbitrary header and payload JSON and the given signature bytes.
pub fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    let enc = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    format!(
        "{}.{}.{}",
        enc(header.to_string().as_bytes()),
        enc(claims.to_string().as_bytes()),
        enc(signature)
    )
}

/// [`orm::on_both`] on actix_web::test's runtime.
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix_web::test] $($scenario)*);
    };
}
pub(crate) use on_both;
