//! Twilio's Messages API: `POST {baseUrl}/2010-04-01/Accounts/{AccountSid}/Messages.json`
//! with HTTP Basic auth (account SID, auth token), form fields `To`, `From` (or
//! `MessagingServiceSid`), `Body` and `StatusCallback`; WhatsApp numbers as
//! `whatsapp:+E164`. Status callbacks are form posts signed in `X-Twilio-Signature`.
//!
//! The attempt's key goes in `I-Twilio-Idempotency-Token`, the header Twilio itself
//! sends with its webhooks for de-duplication; Twilio's documentation does not promise
//! that the Messages API drops a repeated create carrying it, so a crash between
//! Twilio's answer and the attempt's recording may still send a second SMS.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use collections::contact::{Channel, DeliveryStatus};
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;

use super::ReceiptRequest;
use crate::message::{OutgoingMessage, SendError, Sent};
use crate::receipts::{Receipt, ReceiptError, delivery_status};
use crate::templates::channel_key;

pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";
pub const IDEMPOTENCY_HEADER: &str = "I-Twilio-Idempotency-Token";
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

pub(super) struct Twilio {
    messages_url: String,
    account_sid: String,
    auth_token: String,
    messaging_service: Option<String>,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("messages_url", &self.messages_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
struct Created {
    sid: String,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl Twilio {
    pub(super) fn new(
        base_url: &str,
        account_sid: String,
        auth_token: String,
        messaging_service: Option<String>,
    ) -> Twilio {
        Twilio {
            messages_url: format!("{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"),
            account_sid,
            auth_token,
            messaging_service,
        }
    }

    pub(super) fn has_messaging_service(&self) -> bool {
        self.messaging_service.is_some()
    }

    pub(super) fn receipts(&self, callback_base: String) -> TwilioReceipts {
        TwilioReceipts {
            callback_base,
            account_sid: self.account_sid.clone(),
            key: hmac::Key::new(
                hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                self.auth_token.as_bytes(),
            ),
        }
    }

    pub(super) async fn send(
        &self,
        client: &reqwest::Client,
        m: &OutgoingMessage,
        from: Option<&str>,
        callback: Option<&str>,
    ) -> Result<Sent, SendError> {
        let whatsapp = m.channel == Channel::WhatsApp;
        let address = |n: &str| {
            if whatsapp {
                format!("whatsapp:{n}")
            } else {
                n.to_string()
            }
        };
        let mut form = vec![("To", address(&m.to)), ("Body", m.body.clone())];
        match (&self.messaging_service, from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service.clone())),
            (None, Some(from)) => form.push(("From", address(from))),
            (None, None) => {
                return Err(SendError::Unavailable(format!(
                    "no {} sender (from) is configured for twilio",
                    channel_key(m.channel)
                )));
            }
        }
        if let Some(callback) = callback {
            form.push(("StatusCallback", callback.to_string()));
        }
        let body = serde_urlencoded::to_string(&form)
            .map_err(|e| SendError::Unavailable(format!("twilio request: {e}")))?;
        let response = client
            .post(&self.messages_url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .header(IDEMPOTENCY_HEADER, &m.key)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Unavailable(format!("twilio: {e}")))?;
        let status = response.status().as_u16();
        // Once Twilio says it took the message, nothing after may fail the attempt: a
        // retry would be a second SMS.
        let text = response.bytes().await.unwrap_or_default();
        if (200..300).contains(&status) {
            let sid = serde_json::from_slice::<Created>(&text).ok().map(|c| c.sid);
            if sid.is_none() {
                tracing::warn!(status, "twilio took a message but its answer names no sid");
            }
            return Ok(Sent {
                provider: "twilio".into(),
                provider_message_id: sid,
                status: DeliveryStatus::Sent,
            });
        }
        let error: ErrorBody = serde_json::from_slice(&text).unwrap_or_default();
        Err(classify(status, error.code, error.message.as_deref()))
    }
}

/// Twilio error codes meaning the destination can never receive: not a valid number
/// (21211, 21401), not a phone number (21217), not a mobile number (21614), not a valid
/// WhatsApp recipient (63024).
const INVALID_DESTINATION: [i64; 5] = [21211, 21217, 21401, 21614, 63024];

/// What a refusal by Twilio means for the attempt. Any other 4xx — the recipient
/// unsubscribed (21610), the region cannot be reached (21408, 21612), the WhatsApp
/// template or session rules (63016), a blocked or unusable sender — is a rejection;
/// refused credentials or an unknown account (401, 403, 404) are a configuration
/// problem and, with throttling (429) and Twilio's own failures (5xx), are retried.
pub fn classify(http_status: u16, code: Option<i64>, message: Option<&str>) -> SendError {
    let what = format!(
        "twilio answered {http_status}{}: {}",
        code.map(|c| format!(" (error {c})")).unwrap_or_default(),
        message.unwrap_or("no message")
    );
    match http_status {
        401 | 403 | 404 => SendError::Unavailable(format!(
            "{what} — fix the account SID or auth token in the messaging configuration"
        )),
        408 | 429 => SendError::Unavailable(what),
        400..=499 if code.is_some_and(|c| INVALID_DESTINATION.contains(&c)) => {
            SendError::InvalidContact(what)
        }
        400..=499 => SendError::Rejected(what),
        _ => SendError::Unavailable(what),
    }
}

/// `X-Twilio-Signature` for a request to `url` (query included) with form `params`:
/// the URL followed by each parameter's name and value in name order, HMAC-SHA1 with
/// the auth token, base64.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    BASE64.encode(hmac::sign(&key, signed_text(url, params).as_bytes()).as_ref())
}

fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut text = url.to_string();
    for (name, value) in sorted {
        text.push_str(name);
        text.push_str(value);
    }
    text
}

pub(super) struct TwilioReceipts {
    /// `{publicUrl}/callbacks/contact/{name}`: the URL Twilio was given, less its query.
    callback_base: String,
    account_sid: String,
    key: hmac::Key,
}

impl std::fmt::Debug for TwilioReceipts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioReceipts")
            .field("callback_base", &self.callback_base)
            .finish_non_exhaustive()
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

impl TwilioReceipts {
    pub(super) fn verify(&self, request: ReceiptRequest<'_>) -> Result<Receipt, ReceiptError> {
        let unsigned = |m: &str| ReceiptError::Signature(m.to_string());
        let given = request
            .headers
            .get(SIGNATURE_HEADER)
            .ok_or_else(|| unsigned("no X-Twilio-Signature header"))?;
        let tag = BASE64
            .decode(given.as_bytes())
            .map_err(|_| unsigned("X-Twilio-Signature is not base64"))?;
        let params: Vec<(String, String)> = serde_urlencoded::from_bytes(request.body)
            .map_err(|_| unsigned("the body is not a form, so its signature cannot be checked"))?;
        // The URL as Twilio was given it: the configured public URL, not the Host
        // header, which a proxy in front of Recobro rewrites.
        let url = if request.query.is_empty() {
            self.callback_base.clone()
        } else {
            format!("{}?{}", self.callback_base, request.query)
        };
        hmac::verify(&self.key, signed_text(&url, &params).as_bytes(), &tag)
            .map_err(|_| unsigned("X-Twilio-Signature does not match the URL and parameters"))?;

        let malformed = |m: String| ReceiptError::Malformed(m);
        if let Some(account) = param(&params, "AccountSid")
            && account != self.account_sid
        {
            return Err(malformed(format!("the receipt is for account {account}")));
        }
        let query: Vec<(String, String)> = serde_urlencoded::from_str(request.query)
            .map_err(|e| malformed(format!("the query: {e}")))?;
        let named = |n: &str| {
            param(&query, n)
                .map(str::to_string)
                .ok_or_else(|| malformed(format!("the callback URL names no {n}")))
        };
        let attempt = named("attempt")?
            .parse::<u32>()
            .map_err(|e| malformed(format!("attempt: {e}")))?;
        let said = param(&params, "MessageStatus")
            .or_else(|| param(&params, "SmsStatus"))
            .ok_or_else(|| malformed("no MessageStatus".into()))?;
        let status = delivery_status(said)
            .ok_or_else(|| malformed(format!("MessageStatus {said:?} is not a delivery status")))?;
        let detail =
            (status == DeliveryStatus::Failed).then(|| match param(&params, "ErrorCode") {
                Some(code) => format!("twilio: {said} (error {code})"),
                None => format!("twilio: {said}"),
            });
        Ok(Receipt {
            tenant: named("tenant")?,
            case_id: named("case")?,
            attempt,
            status,
            provider_status: said.to_string(),
            provider_message_id: param(&params, "MessageSid")
                .or_else(|| param(&params, "SmsSid"))
                .map(str::to_string),
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn signatures_match_twilios_own_helper_library() {
        // Both computed by twilio-python 9.13's RequestValidator.compute_signature: the
        // example in Twilio's webhook-security documentation, and a status callback.
        let params = pairs(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        let receipt = pairs(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", "delivered"),
            ("AccountSid", "AC1"),
        ]);
        assert_eq!(
            signature(
                "12345",
                "https://r.example.com/callbacks/contact/twilio?tenant=acme&case=c-1&attempt=2",
                &receipt
            ),
            "uNCpokQ0XfAP9w2E7P3S/OZdmn8="
        );
    }

    #[test]
    fn refusals_are_classified_by_status_and_code() {
        let kind = |e: SendError| match e {
            SendError::Unavailable(_) => "unavailable",
            SendError::InvalidContact(_) => "invalid",
            SendError::Rejected(_) => "rejected",
        };
        for (status, code, want) in [
            (400, Some(21211), "invalid"),
            (400, Some(21614), "invalid"),
            (400, Some(21217), "invalid"),
            (400, Some(21610), "rejected"),
            (400, Some(21408), "rejected"),
            (400, Some(21612), "rejected"),
            (400, Some(63016), "rejected"),
            (400, None, "rejected"),
            (401, Some(20003), "unavailable"),
            (403, None, "unavailable"),
            (429, Some(20429), "unavailable"),
            (500, None, "unavailable"),
            (503, None, "unavailable"),
        ] {
            assert_eq!(
                kind(classify(status, code, Some("x"))),
                want,
                "{status} {code:?}"
            );
        }
    }
}
