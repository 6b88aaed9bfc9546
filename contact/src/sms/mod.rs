//! `contact.sms` and `contact.whatsapp` through an HTTP provider, in one of two request
//! shapes the configuration chooses:
//!
//! - `twilio`: Twilio's Messages API, the shape most SMS and WhatsApp gateways know
//!   ([`twilio`]);
//! - `webhook`: a generic JSON request signed as a Standard Webhook, for any gateway
//!   or an in-house bridge ([`webhook`]).
//!
//! Both ask for delivery receipts at `{publicUrl}/callbacks/contact/{name}` and name the
//! attempt there in a way the provider signs back (see [`crate::receipts`]).

pub mod twilio;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use collections::contact::Channel;
use serde::Deserialize;

use crate::error::ChannelConfigError;
use crate::message::{OutgoingMessage, SendError, SendFuture, Sender};
use crate::receipts::{CALLBACK_PATH, Receipt, ReceiptError};

/// Which request shape the provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessagingApi {
    Twilio,
    Webhook,
}

impl MessagingApi {
    fn as_str(self) -> &'static str {
        match self {
            MessagingApi::Twilio => "twilio",
            MessagingApi::Webhook => "webhook",
        }
    }
}

/// Who messages come from, per channel: an E.164 number or an alphanumeric sender id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SenderIds {
    #[serde(default)]
    pub sms: Option<String>,
    #[serde(default)]
    pub whatsapp: Option<String>,
}

/// One messaging provider's configuration (camelCase JSON):
///
/// ```json
/// {"api": "twilio", "accountSid": "AC…", "authToken": "…",
///  "from": {"sms": "+15005550006", "whatsapp": "+14155238886"},
///  "publicUrl": "https://recobro.example.com"}
/// {"api": "webhook", "name": "gateway", "url": "https://gw.example.com/messages",
///  "secret": "whsec_…", "publicUrl": "https://recobro.example.com"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MessagingConfig {
    pub api: MessagingApi,
    /// Names the provider in its receipts' path; the api's name when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// Twilio: the API's base URL (`https://api.twilio.com` when absent).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Twilio: the account, which is also the Basic-auth user.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// Twilio: the Basic-auth password, and the key its receipts are signed with.
    #[serde(default)]
    pub auth_token: Option<String>,
    /// Twilio: send through a Messaging Service instead of a `from` number.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Webhook: where each message is POSTed.
    #[serde(default)]
    pub url: Option<String>,
    /// Webhook: the Standard Webhooks secret (`whsec_…`) requests and receipts are
    /// signed with.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub from: SenderIds,
    /// Recobro's own public base URL, which the provider calls back with receipts;
    /// without it no receipts are asked for.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_timeout() -> u64 {
    30
}

fn config_error(message: impl Into<String>) -> ChannelConfigError {
    ChannelConfigError {
        channel: "sms/whatsapp",
        message: message.into(),
    }
}

#[derive(Debug)]
enum Api {
    Twilio(twilio::Twilio),
    Webhook(webhook::Webhook),
}

/// The `sms` and `whatsapp` channels through one HTTP provider.
#[derive(Clone)]
pub struct HttpMessagingChannel {
    name: String,
    api: Arc<Api>,
    from: SenderIds,
    /// `{publicUrl}/callbacks/contact/{name}`.
    callback: Option<String>,
    client: reqwest::Client,
}

impl std::fmt::Debug for HttpMessagingChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMessagingChannel")
            .field("name", &self.name)
            .field("channels", &self.channels())
            .finish_non_exhaustive()
    }
}

fn required(value: &Option<String>, field: &str, api: &str) -> Result<String, ChannelConfigError> {
    value
        .as_ref()
        .filter(|v| !v.trim().is_empty())
        .cloned()
        .ok_or_else(|| config_error(format!("{api} needs {field}")))
}

fn absent(value: &Option<String>, field: &str, api: &str) -> Result<(), ChannelConfigError> {
    match value {
        Some(_) => Err(config_error(format!("{field} is not a setting of {api}"))),
        None => Ok(()),
    }
}

fn http_url(url: &str, field: &str) -> Result<String, ChannelConfigError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(config_error(format!(
            "{field} {url:?} is not an http(s) URL"
        )));
    }
    Ok(url.to_string())
}

impl HttpMessagingChannel {
    /// Checks the configuration without calling the provider.
    pub fn new(config: &MessagingConfig) -> Result<HttpMessagingChannel, ChannelConfigError> {
        let api_name = config.api.as_str();
        let name = config.name.clone().unwrap_or_else(|| api_name.to_string());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(config_error(format!(
                "name {name:?} must be letters, digits, '-' or '_' (it is a URL path segment)"
            )));
        }
        let api = match config.api {
            MessagingApi::Twilio => {
                absent(&config.url, "url", api_name)?;
                absent(&config.secret, "secret", api_name)?;
                let base = config
                    .base_url
                    .as_deref()
                    .unwrap_or(twilio::DEFAULT_BASE_URL);
                let sid = required(&config.account_sid, "accountSid", api_name)?;
                let token = required(&config.auth_token, "authToken", api_name)?;
                Api::Twilio(twilio::Twilio::new(
                    &http_url(base, "baseUrl")?,
                    sid,
                    token,
                    config.messaging_service_sid.clone(),
                ))
            }
            MessagingApi::Webhook => {
                for (value, field) in [
                    (&config.base_url, "baseUrl"),
                    (&config.account_sid, "accountSid"),
                    (&config.auth_token, "authToken"),
                    (&config.messaging_service_sid, "messagingServiceSid"),
                ] {
                    absent(value, field, api_name)?;
                }
                let url = http_url(&required(&config.url, "url", api_name)?, "url")?;
                let secret = required(&config.secret, "secret", api_name)?;
                Api::Webhook(
                    webhook::Webhook::new(url, &secret)
                        .map_err(|e| config_error(format!("secret: {e}")))?,
                )
            }
        };
        let callback = config
            .public_url
            .as_deref()
            .map(|u| http_url(u, "publicUrl"))
            .transpose()?
            .map(|base| format!("{base}{CALLBACK_PATH}/{name}"));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds.max(1)))
            .build()
            .map_err(|e| config_error(format!("HTTP client: {e}")))?;
        Ok(HttpMessagingChannel {
            name,
            api: Arc::new(api),
            from: config.from.clone(),
            callback,
            client,
        })
    }

    /// The name in the receipts' path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The channels this provider can send on: each with a sender, or both through a
    /// Twilio Messaging Service (whose own senders decide).
    pub fn channels(&self) -> Vec<Channel> {
        let service = matches!(&*self.api, Api::Twilio(t) if t.has_messaging_service());
        let mut out = Vec::new();
        if service || self.from.sms.is_some() || matches!(&*self.api, Api::Webhook(_)) {
            out.push(Channel::Sms);
        }
        if service || self.from.whatsapp.is_some() || matches!(&*self.api, Api::Webhook(_)) {
            out.push(Channel::WhatsApp);
        }
        out
    }

    /// Verifies the receipts this provider sends; `None` for Twilio without a
    /// `publicUrl`, whose receipts are neither asked for nor verifiable (its signature
    /// covers the URL).
    pub fn receipts(&self) -> Option<ReceiptVerifier> {
        let check = match &*self.api {
            Api::Twilio(t) => Check::Twilio(Box::new(t.receipts(self.callback.clone()?))),
            Api::Webhook(w) => Check::Webhook(w.receipts()),
        };
        Some(ReceiptVerifier {
            name: self.name.clone(),
            check: Arc::new(check),
        })
    }

    /// The receipt URL for one attempt: the attempt named in the query, where Twilio's
    /// signature covers it.
    fn status_callback(&self, m: &OutgoingMessage) -> Option<String> {
        let base = self.callback.as_ref()?;
        let query = serde_urlencoded::to_string([
            ("tenant", m.tenant.as_str()),
            ("case", m.case_id.as_str()),
            ("attempt", &m.attempt.to_string()),
        ])
        .ok()?;
        Some(format!("{base}?{query}"))
    }

    fn sender_for(&self, channel: Channel) -> Result<Option<&str>, SendError> {
        match channel {
            Channel::Sms => Ok(self.from.sms.as_deref()),
            Channel::WhatsApp => Ok(self.from.whatsapp.as_deref()),
            other => Err(SendError::Unavailable(format!(
                "messaging provider {} does not send {other:?} messages",
                self.name
            ))),
        }
    }
}

impl Sender for HttpMessagingChannel {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let from = self.sender_for(m.channel)?;
            let callback = self.status_callback(m);
            match &*self.api {
                Api::Twilio(t) => t.send(&self.client, m, from, callback.as_deref()).await,
                Api::Webhook(w) => w.send(&self.client, m, from, callback.as_deref()).await,
            }
        })
    }
}

/// A received receipt's parts, as the HTTP layer has them.
#[derive(Debug, Clone, Copy)]
pub struct ReceiptRequest<'a> {
    /// The query string exactly as received (without `?`).
    pub query: &'a str,
    pub headers: &'a reqwest::header::HeaderMap,
    pub body: &'a [u8],
}

#[derive(Debug)]
enum Check {
    /// Boxed: an HMAC key is large.
    Twilio(Box<twilio::TwilioReceipts>),
    Webhook(webhook::WebhookReceipts),
}

/// Verifies one provider's receipts and reads the attempt they name.
#[derive(Debug, Clone)]
pub struct ReceiptVerifier {
    name: String,
    check: Arc<Check>,
}

impl ReceiptVerifier {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verify(&self, request: ReceiptRequest<'_>) -> Result<Receipt, ReceiptError> {
        match &*self.check {
            Check::Twilio(t) => t.verify(request),
            Check::Webhook(w) => w.verify(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(config: serde_json::Value) -> String {
        let config: MessagingConfig = serde_json::from_value(config).expect("parses");
        HttpMessagingChannel::new(&config).unwrap_err().to_string()
    }

    #[test]
    fn bad_configurations_are_refused_at_start() {
        let twilio = serde_json::json!({"api": "twilio", "accountSid": "AC1", "authToken": "t"});
        assert!(
            refused(serde_json::json!({"api": "twilio", "accountSid": "AC1"}))
                .contains("authToken")
        );
        let mut with_secret = twilio.clone();
        with_secret["secret"] = "whsec_x".into();
        assert!(refused(with_secret).contains("secret is not a setting of twilio"));
        let mut bad_name = twilio.clone();
        bad_name["name"] = "a/b".into();
        assert!(refused(bad_name).contains("path segment"));
        let mut bad_url = twilio.clone();
        bad_url["publicUrl"] = "recobro.example.com".into();
        assert!(refused(bad_url).contains("publicUrl"));
        assert!(
            refused(serde_json::json!({"api": "webhook", "url": "https://gw"})).contains("secret")
        );
        assert!(
            refused(serde_json::json!({"api": "webhook", "url": "https://gw", "secret": "%%"}))
                .contains("secret")
        );
        assert!(
            serde_json::from_value::<MessagingConfig>(serde_json::json!({"api": "nexmo"})).is_err()
        );
        assert!(
            serde_json::from_value::<MessagingConfig>(
                serde_json::json!({"api": "twilio", "acountSid": "typo"})
            )
            .is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn twilio_without_a_sender_sends_on_no_channel() {
        let config: MessagingConfig = serde_json::from_value(
            serde_json::json!({"api": "twilio", "accountSid": "AC1", "authToken": "t"}),
        )
        .unwrap();
        let channel = HttpMessagingChannel::new(&config).unwrap();
        assert_eq!(channel.name(), "twilio");
        assert!(channel.channels().is_empty());
    }
}
