//! Payment providers' callbacks: `POST /callbacks/payments/{provider}`.
//!
//! A payment provider (a card acquirer, a bank's collection service, a payment link)
//! tells Recobro a debtor paid. The request is signed as a
//! [Standard Webhook](https://www.standardwebhooks.com/) with the provider's secret
//! (`webhook-id`, `webhook-timestamp` within five minutes, `webhook-signature`), so it
//! takes no bearer token; the provider is configured with the tenant it reports for.
//! The body names the case (`caseId`, or the creditor's `externalRef`), the payment's
//! `reference`, `amount` (a decimal string), `currency` and optionally `receivedOn`. The
//! payment is recorded like an agent's — allocated, journalled, `payment-received` to
//! the process — by `agent:payment-provider:<name>`; the webhook id is the idempotency
//! key, so a provider's retry answers what the first delivery did.

use std::collections::HashMap;
use std::sync::Arc;

use crate::errors::http_answer as answer;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use collections::money::{Currency, Money};
use serde::Deserialize;
use serde_json::json;
use services::access::{Principal, Role};
use services::desk::{CaseFilter, Desk, DeskError, NewPayment};
use services::error_code::{ApiError, ErrorCode};

/// The route, for docs and tests.
pub const PATH: &str = "/callbacks/payments/{provider}";

/// One provider as configured: its name (the path segment), the tenant it reports for,
/// and its Standard Webhooks secret (`whsec_…`, base64).
#[derive(Debug, Clone, Deserialize)]
pub struct PaymentProvider {
    pub name: String,
    pub tenant: String,
    pub secret: String,
}

/// The configured providers, their secrets checked once at start.
#[derive(Clone, Default)]
pub struct PaymentProviders {
    by_name: Arc<HashMap<String, (PaymentProvider, standardwebhooks::Webhook)>>,
}

impl std::fmt::Debug for PaymentProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}

impl PaymentProviders {
    /// Refuses a provider without name or tenant, a name used twice, and a secret that
    /// is not a Standard Webhooks secret.
    pub fn new(providers: Vec<PaymentProvider>) -> Result<PaymentProviders, String> {
        let mut by_name = HashMap::new();
        for p in providers {
            if p.name.trim().is_empty() || p.tenant.trim().is_empty() {
                return Err("a payment provider needs a name and a tenant".into());
            }
            let hook = standardwebhooks::Webhook::new(&p.secret)
                .map_err(|e| format!("payment provider {}: its secret is unusable: {e}", p.name))?;
            if by_name.insert(p.name.clone(), (p.clone(), hook)).is_some() {
                return Err(format!("payment provider {} is configured twice", p.name));
            }
        }
        Ok(PaymentProviders {
            by_name: Arc::new(by_name),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Notice {
    case_id: Option<String>,
    external_ref: Option<String>,
    reference: String,
    amount: String,
    currency: String,
    received_on: Option<NaiveDate>,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::post().to(callback));
}

fn desk_error(e: &DeskError) -> HttpResponse {
    let code = e.code();
    if code.is_server_fault() {
        tracing::error!(error = %e, "payment callback failed");
    }
    answer(code, e.public_message())
}

async fn callback(
    req: HttpRequest,
    provider: web::Path<String>,
    body: web::Bytes,
    providers: web::Data<PaymentProviders>,
    desk: web::Data<Desk>,
) -> HttpResponse {
    let Some((provider, hook)) = providers.by_name.get(provider.as_str()) else {
        return answer(ErrorCode::NotFound, "no such payment provider");
    };
    // actix speaks http 0.2, the verifier http 1: carry the three headers across.
    let mut headers = http::HeaderMap::new();
    for name in [
        standardwebhooks::HEADER_WEBHOOK_ID,
        standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
        standardwebhooks::HEADER_WEBHOOK_SIGNATURE,
    ] {
        if let Some(v) = req.headers().get(name)
            && let Ok(v) = http::HeaderValue::from_bytes(v.as_bytes())
        {
            headers.insert(name, v);
        }
    }
    if let Err(e) = hook.verify(&body, &headers) {
        return answer(
            ErrorCode::SignatureInvalid,
            format!("the callback's signature does not verify: {e}"),
        );
    }
    let webhook_id = headers
        .get(standardwebhooks::HEADER_WEBHOOK_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let notice: Notice = match serde_json::from_slice(&body) {
        Ok(n) => n,
        Err(e) => {
            return answer(
                ErrorCode::BadRequest,
                format!("the body is not a payment notice: {e}"),
            );
        }
    };
    let amount =
        match Currency::from_code(&notice.currency).and_then(|c| Money::parse(&notice.amount, c)) {
            Ok(m) => m,
            Err(e) => return answer(e.code(), e.public_message()),
        };
    let principal = match Principal::new(
        format!("payment-provider:{}", provider.name),
        provider.tenant.clone(),
        Role::Agent,
        None,
        Vec::new(),
    ) {
        Ok(p) => p,
        Err(e) => return answer(ErrorCode::Internal, e.to_string()),
    };
    let case_id = match (notice.case_id, notice.external_ref) {
        (Some(id), None) => id,
        (None, Some(reference)) => match case_by_reference(&desk, &principal, &reference).await {
            Ok(id) => id,
            Err(e) => return desk_error(&e),
        },
        _ => {
            return answer(
                ErrorCode::BadRequest,
                "name the case by exactly one of caseId and externalRef",
            );
        }
    };
    let payment = NewPayment {
        reference: notice.reference,
        amount,
        received_on: notice.received_on,
    };
    let key = format!("payment-callback:{}:{webhook_id}", provider.name);
    match desk
        .record_payment(&principal, &case_id, payment, Some(key))
        .await
    {
        Ok(out) => HttpResponse::Ok().json(json!({
            "caseId": out.case_id, "seq": out.seq, "status": out.status, "repeated": out.repeated,
        })),
        Err(e) => desk_error(&e),
    }
}

async fn case_by_reference(
    desk: &Desk,
    p: &Principal,
    reference: &str,
) -> Result<String, DeskError> {
    let filter = CaseFilter {
        external_ref: Some(reference.to_string()),
        ..CaseFilter::default()
    };
    let page = desk.list_cases(p, &filter, Some(2), None).await?;
    match page.cases.as_slice() {
        [one] => Ok(one.case_id.clone()),
        [] => Err(DeskError::CaseNotFound(reference.to_string())),
        _ => Err(DeskError::Conflict(format!(
            "more than one case has the reference {reference}: name it by caseId"
        ))),
    }
}
