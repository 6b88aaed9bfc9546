//! Messaging providers' delivery receipts: `POST /callbacks/contact/{provider}`.
//!
//! An SMS or WhatsApp provider tells Recobro a message it took was delivered, read or
//! lost. The receipt is verified with the provider's own scheme — Twilio's
//! `X-Twilio-Signature` over the callback URL and the form, or a Standard Webhooks
//! signature for the generic shape — and names the attempt only through what that
//! signature covers (see [`contact::receipts`]); so it takes no bearer token. It is
//! journalled as `ContactDeliveryUpdated` by `contact-provider:<name>` once per
//! attempt, message and status: a provider's retry answers what the first did.

use std::collections::HashMap;
use std::sync::Arc;

use crate::errors::http_answer as answer;
use actix_web::{HttpRequest, HttpResponse, web};
use contact::receipts::{ReceiptError, record_receipt};
use contact::sms::{ReceiptRequest, ReceiptVerifier};
use serde_json::json;
use services::desk::Desk;
use services::error_code::{ApiError, ErrorCode};

/// The route, for docs and tests.
pub const PATH: &str = "/callbacks/contact/{provider}";

/// The messaging providers whose receipts are accepted, by the name in the path.
#[derive(Clone, Default)]
pub struct ContactReceipts {
    by_name: Arc<HashMap<String, ReceiptVerifier>>,
}

impl std::fmt::Debug for ContactReceipts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl ContactReceipts {
    /// From each configured provider's [`contact::sms::HttpMessagingChannel::receipts`];
    /// refuses a name used twice.
    pub fn new(
        verifiers: impl IntoIterator<Item = ReceiptVerifier>,
    ) -> Result<ContactReceipts, String> {
        let mut by_name = HashMap::new();
        for v in verifiers {
            let name = v.name().to_string();
            if by_name.insert(name.clone(), v).is_some() {
                return Err(format!("messaging provider {name} is configured twice"));
            }
        }
        Ok(ContactReceipts {
            by_name: Arc::new(by_name),
        })
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::post().to(callback));
}

async fn callback(
    req: HttpRequest,
    provider: web::Path<String>,
    body: web::Bytes,
    receipts: web::Data<ContactReceipts>,
    desk: web::Data<Desk>,
) -> HttpResponse {
    let Some(verifier) = receipts.by_name.get(provider.as_str()) else {
        return answer(ErrorCode::NotFound, "no such messaging provider");
    };
    // actix speaks http 0.2, the verifiers http 1: carry the headers across.
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    }
    let receipt = match verifier.verify(ReceiptRequest {
        query: req.query_string(),
        headers: &headers,
        body: &body,
    }) {
        Ok(r) => r,
        Err(e @ ReceiptError::Signature(_)) => {
            return answer(ErrorCode::SignatureInvalid, e.to_string());
        }
        Err(e @ ReceiptError::Malformed(_)) => return answer(ErrorCode::BadRequest, e.to_string()),
    };
    match record_receipt(desk.runtime(), verifier.name(), &receipt).await {
        Ok(out) => HttpResponse::Ok().json(json!({
            "caseId": out.case_id,
            "attempt": out.attempt,
            "status": out.status.as_str(),
            "seq": out.seq,
            "repeated": out.repeated,
        })),
        Err(e) => {
            let code = e.code();
            if code.is_server_fault() {
                tracing::error!(error = %e, provider = verifier.name(), "delivery receipt failed");
            }
            answer(code, e.public_message())
        }
    }
}
