//! HTTP endpoints of the own issuer: discovery, JWKS, the client-credentials token
//! endpoint (RFC 6749 §4.4), and `whoami`.

use super::ApiClientError;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use serde_json::json;
use services::error_code::ApiError;

use super::{Auth, AuthError, Authenticated};

/// Mounts the routes; needs `web::Data<Auth>` in the app data.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/jwks.json", web::get().to(jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(discovery),
        )
        .route("/oauth/token", web::post().to(token))
        .route("/auth/whoami", web::get().to(whoami));
}

async fn jwks(auth: web::Data<Auth>) -> HttpResponse {
    // Short cache: verifiers pick up a new key within minutes.
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(auth.jwks())
}

async fn discovery(auth: web::Data<Auth>) -> HttpResponse {
    let base = auth.config().issuer.trim_end_matches('/');
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({
            "issuer": auth.config().issuer,
            "jwks_uri": format!("{base}/.well-known/jwks.json"),
            "token_endpoint": format!("{base}/oauth/token"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }))
}

async fn whoami(Authenticated(p): Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "subject": p.subject,
        "tenant": p.tenant,
        "role": p.role,
        "partner": p.partner,
        "groups": p.groups,
    }))
}

/// The JSON error answer for a failed authentication, with the RFC 6750 challenge.
pub fn error_response(e: &AuthError) -> HttpResponse {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        let challenge = match e {
            AuthError::Unauthenticated => r#"Bearer realm="recobro""#.to_owned(),
            _ => format!(
                r#"Bearer realm="recobro", error="invalid_token", error_description="{}""#,
                e.code()
            ),
        };
        response.insert_header((header::WWW_AUTHENTICATE, challenge));
    }
    response.json(json!({"error": {"code": e.code().as_str(), "message": e.public_message()}}))
}

/// An RFC 6749 §5.2 error.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="recobro""#));
    }
    response.json(json!({"error": error, "error_description": description}))
}

fn invalid_request(description: &str) -> HttpResponse {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// Client id and secret from `Authorization: Basic` (RFC 6749 §2.3.1: each part is
/// form-urlencoded before base64). `Err` for a malformed header.
fn basic_credentials(value: &HeaderValue) -> Result<Option<(String, String)>, ()> {
    let value = value.to_str().map_err(|_| ())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| ())?;
    let decoded = String::from_utf8(decoded).map_err(|_| ())?;
    let (id, secret) = decoded.split_once(':').ok_or(())?;
    let unescape = |s: &str| -> Result<String, ()> {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&format!("v={s}")).map_err(|_| ())?;
        pairs.into_iter().next().map(|(_, v)| v).ok_or(())
    };
    Ok(Some((unescape(id)?, unescape(secret)?)))
}

async fn token(req: HttpRequest, body: web::Bytes, auth: web::Data<Auth>) -> HttpResponse {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return invalid_request("body must be application/x-www-form-urlencoded");
    }
    let Ok(params) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return invalid_request("malformed form body");
    };
    // RFC 6749 §3.2: parameters must not be repeated.
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return invalid_request("repeated parameter");
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    let basic = match req
        .headers()
        .get(header::AUTHORIZATION)
        .map(basic_credentials)
    {
        None => None,
        Some(Ok(c)) => c,
        Some(Err(())) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "malformed Basic credentials",
            );
        }
    };
    let form = match (param("client_id"), param("client_secret")) {
        (Some(id), Some(secret)) => Some((id.to_owned(), secret.to_owned())),
        _ => None,
    };
    let (client_id, secret) = match (basic, form) {
        (Some(_), Some(_)) => return invalid_request("use one client authentication method"),
        (Some(c), None) | (None, Some(c)) => c,
        (None, None) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication required",
            );
        }
    };
    match param("grant_type") {
        None => return invalid_request("grant_type is required"),
        Some("client_credentials") => {}
        Some(_) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            );
        }
    }
    let client = match auth.api_clients().verify(&client_id, &secret).await {
        Ok(c) => c,
        Err(ApiClientError::InvalidClient) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "invalid client credentials",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "client verification failed");
            return oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            );
        }
    };
    let ttl = Duration::seconds(auth.config().token_ttl_seconds);
    let issued = client
        .principal()
        .map_err(|e| AuthError::InvalidClaims(e.to_string()))
        .and_then(|p| auth.issuer().issue(&p, ttl));
    match issued {
        // Scopes are not used: the client's role decides, so `scope` is ignored.
        Ok(access_token) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"))
            .json(json!({
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": ttl.num_seconds(),
            })),
        Err(e) => {
            tracing::error!(error = %e, "token issue failed");
            oauth_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "try again later",
            )
        }
    }
}
