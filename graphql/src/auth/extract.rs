//! `Authenticated`: an actix-web extractor for the caller's principal, so handlers (the
//! GraphQL endpoint among them) get authentication by naming it as an argument.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use services::access::Principal;
use services::error_code::ApiError;

use super::{Auth, AuthError};

/// The authenticated caller of a request (needs `web::Data<Auth>` in the app data).
/// Extraction fails with the [`AuthError`] as a JSON 401/403/503 answer.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AuthError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let auth = req.app_data::<web::Data<Auth>>().ok_or_else(|| {
                AuthError::Config("web::Data<Auth> is not in the app data".into())
            })?;
            let principal = auth.authenticator().authenticate_request(&req).await?;
            Ok(Authenticated(principal))
        })
    }
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        super::routes::error_response(self)
    }
}
