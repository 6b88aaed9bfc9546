//! HTTP: `POST /graphql` (queries and mutations), `GET /graphql` (GraphiQL, or a
//! graphql-ws subscription when the request upgrades to a WebSocket), GraphiQL's assets
//! under `GET /graphql/assets/<name>`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::{BatchRequest, BatchResponse, Data};
use async_graphql_actix_web::GraphQLSubscription;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::ParseRequestError;
use async_graphql::http::MultipartOptions;
use documents::DocumentService;
use futures_util::stream::FuturesOrdered;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;
use services::access::Principal;
use services::desk::Desk;

use crate::auth::{Auth, AuthError};
use crate::errors::{ApiError, ErrorCode, code_for_engine_error, code_for_field_error};
use crate::graphiql;
use crate::introspection::{Introspection, Route};
use crate::schema::disclosure::PartnerReads;
use crate::schema::{self, Limits, Loaders, RecobroSchema};

/// Most operations in one batched request.
pub const MAX_BATCH: usize = 10;
/// Most files in one multipart request.
pub const MAX_FILES: usize = 5;

pub struct Api {
    pub schema: RecobroSchema,
    /// Introspection-only requests (GraphQL tooling) run here: see [`crate::introspection`].
    pub introspection: Introspection,
    pub desk: Desk,
    pub auth: Auth,
    pub limits: Limits,
}

impl Api {
    pub fn new(desk: Desk, auth: Auth, documents: DocumentService, limits: Limits) -> Self {
        Api {
            schema: schema::build(desk.clone(), auth.api_clients().clone(), documents, limits),
            introspection: Introspection::new(&limits),
            desk,
            auth,
            limits,
        }
    }
}

/// Mounts `/graphql` and `/graphql/assets/`.
pub fn configure(cfg: &mut web::ServiceConfig, api: web::Data<Api>) {
    cfg.app_data(api)
        .service(
            web::resource("/graphql")
                .route(web::post().to(post))
                .route(web::get().to(get)),
        )
        .service(
            web::resource(format!("{}{{name}}", graphiql::PREFIX))
                .route(web::get().to(graphiql::asset)),
        );
}

fn error_body(code: ErrorCode, message: &str) -> HttpResponse {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut r = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        r.insert_header(("WWW-Authenticate", "Bearer error=\"invalid_token\""));
    }
    r.json(json!({"errors": [{"message": message, "extensions": {"code": code.as_str()}}]}))
}

fn bearer(req: &HttpRequest) -> Option<&str> {
    let h = req.headers().get("authorization")?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

async fn authenticate(api: &Api, token: Option<&str>) -> Result<Principal, AuthError> {
    match token {
        Some(t) if !t.trim().is_empty() => api.auth.authenticate(t).await,
        _ => Err(AuthError::Unauthenticated),
    }
}

fn refused(e: &AuthError) -> HttpResponse {
    error_body(e.code(), &e.public_message())
}

fn too_large(limit: usize) -> HttpResponse {
    error_body(
        ErrorCode::PayloadTooLarge,
        &format!("the body exceeds {limit} bytes"),
    )
}

/// A GraphQL multipart request (files spooled to temporary files by async-graphql, so
/// an upload is never held in memory). The actix payload is not `Send`: a local task
/// feeds it through a channel.
async fn read_multipart(
    mut payload: web::Payload,
    content_type: &str,
    limit: usize,
) -> Result<BatchRequest, HttpResponse> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<web::Bytes>>(8);
    let exceeded = Arc::new(AtomicBool::new(false));
    let flag = exceeded.clone();
    actix_web::rt::spawn(async move {
        let mut seen = 0usize;
        while let Some(chunk) = payload.next().await {
            let item = match chunk {
                Ok(c) => {
                    seen += c.len();
                    if seen > limit {
                        flag.store(true, Ordering::Relaxed);
                        Err(std::io::Error::other("the body is too large"))
                    } else {
                        Ok(c)
                    }
                }
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .into_async_read();
    let options = MultipartOptions::default()
        .max_num_files(MAX_FILES)
        .max_file_size(limit);
    match async_graphql::http::receive_batch_body(Some(content_type), body, options).await {
        Ok(batch) => Ok(batch),
        Err(ParseRequestError::PayloadTooLarge) => Err(too_large(limit)),
        Err(_) if exceeded.load(Ordering::Relaxed) => Err(too_large(limit)),
        Err(e) => Err(error_body(
            ErrorCode::BadRequest,
            &format!("the multipart request is malformed: {e}"),
        )),
    }
}

async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<Vec<u8>, HttpResponse> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            error_body(
                ErrorCode::BadRequest,
                &format!("reading the body failed: {e}"),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn post(req: HttpRequest, payload: web::Payload, api: web::Data<Api>) -> HttpResponse {
    let principal = match authenticate(&api, bearer(&req)).await {
        Ok(p) => p,
        Err(e) => return refused(&e),
    };
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let multipart = content_type.starts_with("multipart/form-data");
    let limit = if multipart {
        api.limits.upload_bytes
    } else {
        api.limits.body_bytes
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return too_large(limit);
    }
    let batch = if multipart {
        match read_multipart(payload, &content_type, limit).await {
            Ok(b) => b,
            Err(resp) => return resp,
        }
    } else if content_type.starts_with("application/json") {
        let body = match read_limited(payload, limit).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        match serde_json::from_slice::<BatchRequest>(&body) {
            Ok(b) => b,
            Err(e) => {
                return error_body(
                    ErrorCode::BadRequest,
                    &format!("the body is not a GraphQL request: {e}"),
                );
            }
        }
    } else {
        return error_body(
            ErrorCode::BadRequest,
            "send the request as application/json, or multipart/form-data for file uploads",
        );
    };
    // Each operation of a batch is limited on its own: the batch size bounds the total.
    if let BatchRequest::Batch(list) = &batch
        && list.len() > MAX_BATCH
    {
        return error_body(
            ErrorCode::BadRequest,
            &format!("a batch holds at most {MAX_BATCH} operations"),
        );
    }
    if batch.iter().any(|r| r.query.trim().is_empty()) {
        return error_body(ErrorCode::BadRequest, "the request has no query");
    }
    let loaders = Loaders::new(&api.desk, &principal);
    let reads = Arc::new(PartnerReads::default());
    let reader = principal.clone();
    let batch = batch.data(principal).data(loaders).data(reads.clone());
    let mut response = match batch {
        BatchRequest::Single(request) => BatchResponse::Single(execute(&api, request).await),
        BatchRequest::Batch(requests) => BatchResponse::Batch(
            requests
                .into_iter()
                .map(|request| execute(&api, request))
                .collect::<FuturesOrdered<_>>()
                .collect()
                .await,
        ),
    };
    // A partner's reads of personal data are on the record before it gets the data.
    let read = reads.take();
    if !read.is_empty() {
        let now = api.desk.clock().now();
        if let Err(e) = partners::Partners::new(api.desk.clone())
            .record_reads(&reader, read, now)
            .await
        {
            tracing::error!("recording a partner's reads failed: {e}");
            return error_body(
                ErrorCode::StorageError,
                "the read could not be recorded in the partner read log: retry later",
            );
        }
    }
    add_codes(&mut response);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(serde_json::to_string(&response).unwrap_or_else(|_| "{}".into()))
}

/// One operation, on the schema its kind calls for.
async fn execute(api: &Api, request: async_graphql::Request) -> async_graphql::Response {
    match api.introspection.route(request) {
        Route::Ordinary(request) => api.schema.execute(request).await,
        Route::Introspection(request) => api.introspection.execute(request).await,
        Route::Refused(response) => response,
    }
}

/// Every error carries a code, including the ones async-graphql raises itself.
fn add_codes(response: &mut BatchResponse) {
    let responses: Vec<&mut async_graphql::Response> = match response {
        BatchResponse::Single(r) => vec![r],
        BatchResponse::Batch(rs) => rs.iter_mut().collect(),
    };
    for r in responses {
        for e in &mut r.errors {
            let has_code = e
                .extensions
                .as_ref()
                .is_some_and(|x| x.get("code").is_some());
            if !has_code {
                let code = if e.path.is_empty() {
                    code_for_engine_error(&e.message)
                } else {
                    code_for_field_error(&e.message)
                };
                e.extensions
                    .get_or_insert_with(Default::default)
                    .set("code", code.as_str());
            }
        }
    }
}

async fn get(req: HttpRequest, payload: web::Payload, api: web::Data<Api>) -> HttpResponse {
    let upgrade = req
        .headers()
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return graphiql::page();
    }
    // The token comes in the upgrade request's header, or in connection_init's payload
    // (browsers cannot set headers on WebSockets).
    let header_token = bearer(&req).map(str::to_string);
    let api2 = api.clone();
    let on_init = move |payload: serde_json::Value| async move {
        let from_payload = payload
            .get("Authorization")
            .or_else(|| payload.get("authorization"))
            .and_then(|v| v.as_str())
            .map(|s| s.strip_prefix("Bearer ").unwrap_or(s).to_string());
        let token = header_token.or(from_payload);
        let principal = authenticate(&api2, token.as_deref())
            .await
            .map_err(|e| async_graphql::Error::new(format!("{}: {e}", e.code())))?;
        let mut data = Data::default();
        data.insert(Loaders::new(&api2.desk, &principal));
        data.insert(principal);
        Ok(data)
    };
    match GraphQLSubscription::new(api.schema.clone())
        .on_connection_init(on_init)
        .start(&req, payload)
    {
        Ok(r) => r,
        Err(e) => error_body(ErrorCode::BadRequest, &e.to_string()),
    }
}
