//! The local document store's signed routes: the embedded default's counterpart of S3
//! presigned URLs. The URL itself is the authorisation (HMAC-signed by
//! `services::documents`, short-lived, bound to one object and, for uploads, to its size
//! and SHA-256), so these routes take no bearer token. Mount with
//! `App::new().app_data(web::Data::new(document_service)).configure(documents_http::configure)`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;
use services::documents::store::{LOCAL_GET_PATH, LOCAL_PUT_PATH};
use services::documents::{DocumentError, DocumentService, LocalGrant};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(LOCAL_PUT_PATH, web::put().to(upload))
        .route(LOCAL_GET_PATH, web::get().to(download));
}

fn error(e: &DocumentError) -> HttpResponse {
    use DocumentError as E;
    let status = match e {
        E::LinkInvalid | E::LinkExpired => StatusCode::FORBIDDEN,
        E::NotFound(_) | E::UploadNotFound(_) => StatusCode::NOT_FOUND,
        E::ChecksumMismatch | E::SizeMismatch { .. } | E::Interrupted(_) => StatusCode::BAD_REQUEST,
        E::WrongState(_) => StatusCode::CONFLICT,
        E::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        E::Store(services::documents::store::ObjectStoreError::Unavailable(_)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    // Internal details stay in the log.
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!("document route failed: {e}");
        "internal error".to_string()
    } else {
        e.to_string()
    };
    HttpResponse::build(status).json(serde_json::json!({ "code": e.code(), "message": message }))
}

async fn upload(
    docs: web::Data<DocumentService>,
    grant: web::Query<LocalGrant>,
    body: web::Payload,
) -> HttpResponse {
    let body = body.map(|c| c.map_err(std::io::Error::other));
    match docs.local_upload(&grant, body).await {
        Ok(()) => HttpResponse::Ok().finish(),
        Err(e) => error(&e),
    }
}

async fn download(docs: web::Data<DocumentService>, grant: web::Query<LocalGrant>) -> HttpResponse {
    match docs.local_download(&grant).await {
        Ok(b) => HttpResponse::Ok()
            .content_type(b.content_type)
            .insert_header((
                header::CONTENT_DISPOSITION,
                services::documents::store::content_disposition(&b.file_name),
            ))
            // The type was sniffed on upload; the browser must not guess another.
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .no_chunking(b.size)
            .streaming(b.body),
        Err(e) => error(&e),
    }
}
