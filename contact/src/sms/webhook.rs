//! The generic JSON shape: each message is `POST {url}`
//!
//! ```json
//! {"id": "<attempt key>", "channel": "sms" | "whatsapp", "to": "+57…", "from": "…",
//!  "body": "…", "reference": {"tenant": "…", "caseId": "…", "attempt": 3},
//!  "statusCallback": "https://…/callbacks/contact/<name>"}
//! ```
//!
//! with `Idempotency-Key: <attempt key>` and signed as a Standard Webhook with the
//! configured secret (`webhook-id` is the key too, the same on every retry). The
//! provider answers `{"id": "<its message id>"}`, or on a 4xx
//! `{"error": "invalid_contact" | "rejected", "message": "…"}`.
//!
//! Receipts come back to `statusCallback` signed with the same secret:
//! `{"id": "<its message id>", "status": "delivered", "reference": {…as sent…},
//! "error": "…"}`.

use std::sync::Arc;

use collections::contact::DeliveryStatus;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::json;

use super::ReceiptRequest;
use crate::message::{OutgoingMessage, SendError, Sent};
use crate::receipts::{Receipt, ReceiptError, delivery_status};
use crate::templates::channel_key;

pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

pub(super) struct Webhook {
    url: String,
    /// Signs requests and verifies receipts (the same secret both ways).
    hook: Arc<standardwebhooks::Webhook>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Accepted {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Refusal {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl Webhook {
    pub(super) fn new(url: String, secret: &str) -> Result<Webhook, String> {
        let hook = standardwebhooks::Webhook::new(secret)
            .map_err(|e| format!("not a Standard Webhooks secret (whsec_ and base64): {e}"))?;
        Ok(Webhook {
            url,
            hook: Arc::new(hook),
        })
    }

    pub(super) fn receipts(&self) -> WebhookReceipts {
        WebhookReceipts {
            hook: self.hook.clone(),
        }
    }

    pub(super) async fn send(
        &self,
        client: &reqwest::Client,
        m: &OutgoingMessage,
        from: Option<&str>,
        callback: Option<&str>,
    ) -> Result<Sent, SendError> {
        let mut request = json!({
            "id": m.key,
            "channel": channel_key(m.channel),
            "to": m.to,
            "body": m.body,
            "reference": {"tenant": m.tenant, "caseId": m.case_id, "attempt": m.attempt},
            "statusCallback": callback,
        });
        if let Some(from) = from {
            request["from"] = json!(from);
        }
        let body = serde_json::to_vec(&request)
            .map_err(|e| SendError::Unavailable(format!("webhook request: {e}")))?;
        let timestamp = chrono::Utc::now().timestamp();
        let signature = self
            .hook
            .sign(&m.key, timestamp, &body)
            .map_err(|e| SendError::Unavailable(format!("signing the webhook request: {e}")))?;
        let response = client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(IDEMPOTENCY_HEADER, &m.key)
            .header(standardwebhooks::HEADER_WEBHOOK_ID, &m.key)
            .header(
                standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
                timestamp.to_string(),
            )
            .header(standardwebhooks::HEADER_WEBHOOK_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Unavailable(format!("webhook provider: {e}")))?;
        let status = response.status().as_u16();
        // Taken is taken: an unreadable answer must not become a retry (a second SMS).
        let text = response.bytes().await.unwrap_or_default();
        if (200..300).contains(&status) {
            let id = serde_json::from_slice::<Accepted>(&text)
                .ok()
                .and_then(|a| a.id);
            if id.is_none() {
                tracing::warn!(
                    status,
                    "the webhook provider took a message but named no id"
                );
            }
            return Ok(Sent {
                provider: "webhook".into(),
                provider_message_id: id,
                status: DeliveryStatus::Sent,
            });
        }
        let refusal: Refusal = serde_json::from_slice(&text).unwrap_or_default();
        Err(classify(
            status,
            refusal.error.as_deref(),
            refusal.message.as_deref(),
        ))
    }
}

/// What a refusal means: the 4xx's `error` says whether the destination or the message
/// is at fault; a 4xx without one is a rejection. Refused signatures or credentials
/// (401, 403) are a configuration problem and, with timeouts, throttling and the
/// provider's own failures (408, 429, 5xx), are retried, then an incident.
pub fn classify(http_status: u16, error: Option<&str>, message: Option<&str>) -> SendError {
    let what = format!(
        "webhook provider answered {http_status}{}: {}",
        error.map(|e| format!(" ({e})")).unwrap_or_default(),
        message.unwrap_or("no message")
    );
    match http_status {
        401 | 403 => SendError::Unavailable(format!(
            "{what} — check the messaging configuration's url and secret"
        )),
        408 | 429 => SendError::Unavailable(what),
        400..=499 if error == Some("invalid_contact") => SendError::InvalidContact(what),
        400..=499 => SendError::Rejected(what),
        _ => SendError::Unavailable(what),
    }
}

pub(super) struct WebhookReceipts {
    hook: Arc<standardwebhooks::Webhook>,
}

impl std::fmt::Debug for WebhookReceipts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceipts").finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reference {
    tenant: String,
    case_id: String,
    attempt: u32,
}

#[derive(Debug, Deserialize)]
struct Body {
    #[serde(default)]
    id: Option<String>,
    status: String,
    reference: Reference,
    #[serde(default)]
    error: Option<String>,
}

impl WebhookReceipts {
    pub(super) fn verify(&self, request: ReceiptRequest<'_>) -> Result<Receipt, ReceiptError> {
        self.hook
            .verify(request.body, request.headers)
            .map_err(|e| ReceiptError::Signature(e.to_string()))?;
        let body: Body = serde_json::from_slice(request.body)
            .map_err(|e| ReceiptError::Malformed(format!("not a delivery receipt: {e}")))?;
        let status = delivery_status(&body.status).ok_or_else(|| {
            ReceiptError::Malformed(format!("status {:?} is not a delivery status", body.status))
        })?;
        let detail = (status == DeliveryStatus::Failed).then(|| match &body.error {
            Some(e) => format!("{}: {e}", body.status),
            None => body.status.clone(),
        });
        Ok(Receipt {
            tenant: body.reference.tenant,
            case_id: body.reference.case_id,
            attempt: body.reference.attempt,
            status,
            provider_status: body.status,
            provider_message_id: body.id,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_classified_by_status_and_error() {
        let kind = |e: SendError| match e {
            SendError::Unavailable(_) => "unavailable",
            SendError::InvalidContact(_) => "invalid",
            SendError::Rejected(_) => "rejected",
        };
        for (status, error, want) in [
            (400, Some("invalid_contact"), "invalid"),
            (422, Some("invalid_contact"), "invalid"),
            (400, Some("rejected"), "rejected"),
            (404, None, "rejected"),
            (401, None, "unavailable"),
            (429, None, "unavailable"),
            (500, Some("invalid_contact"), "unavailable"),
            (502, None, "unavailable"),
        ] {
            assert_eq!(
                kind(classify(status, error, None)),
                want,
                "{status} {error:?}"
            );
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused() {
        assert!(Webhook::new("https://x".into(), "whsec_%%%").is_err());
        assert!(Webhook::new("https://x".into(), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    }
}
