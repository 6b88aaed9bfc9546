//! Calls to partner APIs with an OAuth2 client-credentials token (the `oauth2` crate
//! over the workspace's reqwest). A token is kept until shortly before it expires by
//! the runtime's clock, so virtual time ages it like the rest of a case; a partner that
//! answers 401 gets one fresh token and one more try.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    ClientId, ClientSecret, HttpRequest, HttpResponse, RequestTokenError, Scope, TokenResponse,
    TokenUrl,
};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use services::clock::Clock;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex as AsyncMutex;

use super::ApiConfig;

/// Why a call to a partner API failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PartnerApiError {
    /// The token endpoint refused the client (wrong id or secret, scope not granted):
    /// retrying cannot help until someone fixes the configuration.
    #[error("the partner's token endpoint refused the client credentials ({status}): {reason}")]
    TokenRefused { status: u16, reason: String },
    /// The partner API refused a freshly issued token as well.
    #[error("the partner API refused a fresh token (401): {message}")]
    Unauthorized { message: String },
    /// The partner API refused the request (4xx other than 401).
    #[error("the partner API answered {status}: {message}")]
    Rejected { status: u16, message: String },
    /// The token endpoint or the API is down, answers 5xx, or cannot be reached.
    #[error("the partner API is unavailable: {0}")]
    Unavailable(String),
    /// It answered 2xx with something other than JSON, or too much of it.
    #[error("the partner API's answer does not read: {0}")]
    BadAnswer(String),
}

impl PartnerApiError {
    /// Whether trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, PartnerApiError::Unavailable(_))
    }
}

/// Largest answer read from a partner (its JSON becomes case variables).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// A token is renewed this long before it expires.
const EXPIRY_MARGIN_SECONDS: i64 = 30;
/// Kept this long when the endpoint does not say (RFC 6749 §5.1: `expires_in` is
/// only recommended).
const DEFAULT_TOKEN_SECONDS: i64 = 300;

#[derive(Clone)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
}

/// One partner's token, fetched by one caller at a time.
type Slot = Arc<AsyncMutex<Option<Token>>>;

/// Tenant, partner, digest of the credentials.
type SlotKey = (String, String, [u8; 32]);

/// The client for partner APIs, with its tokens; cheap to clone, share one per server.
#[derive(Clone)]
pub struct PartnerApis {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    /// By tenant, partner and a digest of the credentials: a changed configuration
    /// starts afresh instead of using the old client's token.
    tokens: Arc<Mutex<HashMap<SlotKey, Slot>>>,
    /// Token requests made (tests and metrics).
    fetched: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PartnerApis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerApis").finish_non_exhaustive()
    }
}

impl PartnerApis {
    pub fn new(clock: Arc<dyn Clock>) -> Result<Self, PartnerApiError> {
        // No redirects: a token request or a case's data must not be forwarded to a
        // host nobody configured (the oauth2 crate's advice against SSRF).
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| PartnerApiError::Unavailable(format!("HTTP client: {e}")))?;
        Ok(PartnerApis {
            http,
            clock,
            tokens: Arc::default(),
            fetched: Arc::default(),
        })
    }

    /// Token requests made so far.
    pub fn tokens_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    /// Sends `body` (none: no body) to `path` under the partner's base URL with a
    /// bearer token; answers the JSON answer (`Null` for an empty one).
    pub async fn call(
        &self,
        tenant: &str,
        partner_id: &str,
        config: &ApiConfig,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, PartnerApiError> {
        let url = format!("{}{path}", config.base_url);
        let slot = self.slot(tenant, partner_id, config);
        let token = self.token(&slot, config, None).await?;
        let answer = self.send(&method, &url, &token, body).await?;
        let answer = if answer.status() == StatusCode::UNAUTHORIZED {
            // Revoked or expired early: one new token, one more try.
            let fresh = self.token(&slot, config, Some(&token)).await?;
            let again = self.send(&method, &url, &fresh, body).await?;
            if again.status() == StatusCode::UNAUTHORIZED {
                return Err(PartnerApiError::Unauthorized {
                    message: message_of(again).await,
                });
            }
            again
        } else {
            answer
        };
        let status = answer.status();
        if status.is_server_error() {
            return Err(PartnerApiError::Unavailable(format!(
                "{}: {}",
                status.as_u16(),
                message_of(answer).await
            )));
        }
        if !status.is_success() {
            return Err(PartnerApiError::Rejected {
                status: status.as_u16(),
                message: message_of(answer).await,
            });
        }
        let bytes = read_bounded(answer).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| PartnerApiError::BadAnswer(e.to_string()))
    }

    fn slot(&self, tenant: &str, partner_id: &str, config: &ApiConfig) -> Slot {
        let mut digest = Sha256::new();
        for part in [&config.token_url, &config.client_id, &config.client_secret] {
            digest.update(part.as_bytes());
            digest.update([0]);
        }
        digest.update(config.scopes.join(" ").as_bytes());
        let key = (
            tenant.to_string(),
            partner_id.to_string(),
            digest.finalize().into(),
        );
        let mut tokens = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        // Tokens of an old configuration of this partner are of no more use.
        tokens.retain(|k, _| k.0 != key.0 || k.1 != key.1 || k.2 == key.2);
        tokens.entry(key).or_default().clone()
    }

    /// The cached token unless it is near expiry or is `refused`; else a new one.
    async fn token(
        &self,
        slot: &Slot,
        config: &ApiConfig,
        refused: Option<&str>,
    ) -> Result<String, PartnerApiError> {
        let mut held = slot.lock().await;
        let now = self.clock.now();
        if let Some(t) = held.as_ref()
            && now < t.expires_at
            && refused != Some(t.value.as_str())
        {
            return Ok(t.value.clone());
        }
        *held = None;
        let token = self.fetch(config, now).await?;
        let value = token.value.clone();
        *held = Some(token);
        Ok(value)
    }

    async fn fetch(
        &self,
        config: &ApiConfig,
        now: DateTime<Utc>,
    ) -> Result<Token, PartnerApiError> {
        let bad_url = |e: url::ParseError| PartnerApiError::TokenRefused {
            status: 0,
            reason: format!("the token URL does not read: {e}"),
        };
        let client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.clone()))
            .set_token_uri(TokenUrl::new(config.token_url.clone()).map_err(bad_url)?);
        let http = TokenHttp {
            http: self.http.clone(),
            status: AtomicU16::new(0),
        };
        self.fetched.fetch_add(1, Ordering::Relaxed);
        let answer = client
            .exchange_client_credentials()
            .add_scopes(config.scopes.iter().cloned().map(Scope::new))
            .request_async(&http)
            .await;
        let status = http.status.load(Ordering::Relaxed);
        match answer {
            Ok(t) => {
                let lifetime = t
                    .expires_in()
                    .and_then(|d| Duration::from_std(d).ok())
                    .unwrap_or(Duration::seconds(DEFAULT_TOKEN_SECONDS));
                // A short-lived token is renewed at half its life rather than never used.
                let margin = Duration::seconds(EXPIRY_MARGIN_SECONDS).min(lifetime / 2);
                Ok(Token {
                    value: t.access_token().secret().clone(),
                    expires_at: now + lifetime - margin,
                })
            }
            Err(e) => Err(token_error(status, e)),
        }
    }

    async fn send(
        &self,
        method: &Method,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, PartnerApiError> {
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            request = request.json(b);
        }
        request
            .send()
            .await
            .map_err(|e| PartnerApiError::Unavailable(describe(&e)))
    }
}

/// The token endpoint's HTTP for the oauth2 crate. The crate reads only the body; the
/// status kept here tells a refusal (4xx) from an endpoint that is down (5xx), which
/// is worth trying again.
struct TokenHttp {
    http: reqwest::Client,
    status: AtomicU16,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request).map_err(HttpError::Network)?;
            let answer = self
                .http
                .execute(request)
                .await
                .map_err(HttpError::Network)?;
            self.status
                .store(answer.status().as_u16(), Ordering::Relaxed);
            let mut out = oauth2::http::Response::builder().status(answer.status().as_u16());
            for (name, value) in answer.headers() {
                out = out.header(name.as_str(), value.as_bytes());
            }
            let body = read_bounded(answer)
                .await
                .map_err(|e| HttpError::Other(e.to_string()))?;
            out.body(body).map_err(|e| HttpError::Other(e.to_string()))
        })
    }
}

/// The HTTP failure the oauth2 crate is handed: network, or an answer too large.
#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error("{}", describe(.0))]
    Network(reqwest::Error),
    #[error("{0}")]
    Other(String),
}

/// A reqwest error with its causes (their text names what failed: refused, timed out).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn token_error(
    status: u16,
    e: RequestTokenError<HttpError, BasicErrorResponse>,
) -> PartnerApiError {
    match e {
        RequestTokenError::Request(e) => {
            PartnerApiError::Unavailable(format!("token endpoint: {e}"))
        }
        _ if status == 0 || status >= 500 || status == 429 => PartnerApiError::Unavailable(
            format!("token endpoint answered {status}: {}", token_reason(&e)),
        ),
        _ => PartnerApiError::TokenRefused {
            status,
            reason: token_reason(&e),
        },
    }
}

fn token_reason(e: &RequestTokenError<HttpError, BasicErrorResponse>) -> String {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error_description() {
            Some(d) => format!("{}: {d}", r.error()),
            None => r.error().to_string(),
        },
        RequestTokenError::Parse(e, _) => format!("its answer does not read: {e}"),
        other => other.to_string(),
    }
}

/// The body, at most [`MAX_ANSWER_BYTES`] of it.
async fn read_bounded(mut answer: reqwest::Response) -> Result<Vec<u8>, PartnerApiError> {
    let mut body = Vec::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|e| PartnerApiError::Unavailable(describe(&e)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(PartnerApiError::BadAnswer(format!(
                "longer than {MAX_ANSWER_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What a refusing partner says, for the incident: its JSON `message` or `error`
/// (possibly nested under `error`), else the start of its text.
async fn message_of(answer: reqwest::Response) -> String {
    let status = answer.status();
    let body = read_bounded(answer).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let from_json = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        let pick = |v: &Value| {
            ["message", "error_description", "detail", "error", "title"]
                .iter()
                .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
        };
        pick(&v).or_else(|| v.get("error").and_then(pick))
    });
    let message = from_json.unwrap_or_else(|| text.trim().chars().take(300).collect());
    if message.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no message")
            .to_string()
    } else {
        message
    }
}
