//! `contact.email` over SMTP (lettre): plain, STARTTLS or implicit TLS, with or without
//! authentication, through the relay the configuration names.
//!
//! SMTP has no idempotency key: the attempt's key becomes the message's `Message-ID`, so
//! a message handed over again after a crash carries the same id and the receiving
//! systems that de-duplicate by `Message-ID` show it once.

use collections::contact::mask;
use std::path::PathBuf;
use std::time::Duration;

use collections::contact::DeliveryStatus;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use crate::error::ChannelConfigError;
use crate::message::{OutgoingMessage, SendError, SendFuture, Sender, Sent};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text: only for a relay on the same host or network.
    None,
    /// Plain text upgraded with STARTTLS, which is required (never falls back).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl SmtpSecurity {
    fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }
    }
}

/// An address with an optional display name: `{"address": "cobros@acme.co", "name": "Acme"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailAddress {
    pub address: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// The `email` channel's configuration (camelCase JSON).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// 25, 587 or 465 by `security` when absent.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    pub from: EmailAddress,
    #[serde(default)]
    pub reply_to: Option<EmailAddress>,
    /// A PEM file of further CA certificates to trust (a private CA; the tests' own).
    #[serde(default)]
    pub root_certificate: Option<PathBuf>,
    /// For the whole exchange with the relay, connecting included.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// The name given in EHLO; the relay usually wants this host's name.
    #[serde(default)]
    pub helo_name: Option<String>,
}

fn default_timeout() -> u64 {
    30
}

/// The `email` channel.
#[derive(Clone)]
pub struct SmtpChannel {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// lettre bounds only the connection: a relay that stops answering halfway would
    /// hold the job for ever without this bound on the whole exchange.
    timeout: Duration,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl std::fmt::Debug for SmtpChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpChannel")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

fn config_error(message: impl Into<String>) -> ChannelConfigError {
    ChannelConfigError {
        channel: "email",
        message: message.into(),
    }
}

fn mailbox(a: &EmailAddress, what: &str) -> Result<Mailbox, ChannelConfigError> {
    let address: Address = a.address.parse().map_err(|e| {
        config_error(format!(
            "{what} {:?} is not an e-mail address: {e}",
            a.address
        ))
    })?;
    Ok(Mailbox::new(a.name.clone(), address))
}

impl SmtpChannel {
    /// Checks the configuration (addresses, credentials, the CA file) without
    /// connecting: a relay that is down at start is only a reason to retry later.
    pub fn new(config: &SmtpConfig) -> Result<SmtpChannel, ChannelConfigError> {
        if config.host.trim().is_empty() {
            return Err(config_error("host is empty"));
        }
        let from = mailbox(&config.from, "from")?;
        let reply_to = config
            .reply_to
            .as_ref()
            .map(|r| mailbox(r, "replyTo"))
            .transpose()?;
        let timeout = Duration::from_secs(config.timeout_seconds.max(1));
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port.unwrap_or(config.security.default_port()))
            .timeout(Some(timeout));
        if let Some(name) = &config.helo_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                if config.security == SmtpSecurity::None {
                    return Err(config_error(
                        "credentials would cross the network in plain text: use security starttls or tls",
                    ));
                }
                builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => return Err(config_error("give both username and password, or neither")),
        }
        if config.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(config.host.clone());
            if let Some(path) = &config.root_certificate {
                let pem = std::fs::read(path).map_err(|e| {
                    config_error(format!("rootCertificate {}: {e}", path.display()))
                })?;
                let cert = Certificate::from_pem(&pem).map_err(|e| {
                    config_error(format!("rootCertificate {}: {e}", path.display()))
                })?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls
                .build_rustls()
                .map_err(|e| config_error(format!("TLS: {e}")))?;
            builder = builder.tls(match config.security {
                SmtpSecurity::Starttls => Tls::Required(tls),
                _ => Tls::Wrapper(tls),
            });
        }
        Ok(SmtpChannel {
            transport: builder.build(),
            timeout,
            from,
            reply_to,
        })
    }

    /// The `Message-ID` a message with this idempotency key gets.
    pub fn message_id(&self, key: &str) -> String {
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("<{safe}@{}>", self.from.email.domain())
    }

    fn compose(&self, m: &OutgoingMessage) -> Result<(Message, String), SendError> {
        let to: Address = m.to.parse().map_err(|e| {
            SendError::InvalidContact(format!("{} is not an e-mail address: {e}", mask(&m.to)))
        })?;
        let name = Some(m.recipient_name.clone()).filter(|n| !n.trim().is_empty());
        let id = self.message_id(&m.key);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, to))
            .subject(m.subject.clone().unwrap_or_default())
            .message_id(Some(id.clone()));
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        let message = builder
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone())
            .map_err(|e| SendError::Rejected(format!("the message cannot be built: {e}")))?;
        Ok((message, id))
    }
}

impl Sender for SmtpChannel {
    fn send<'a>(&'a self, m: &'a OutgoingMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let (message, id) = self.compose(m)?;
            match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
                Ok(Ok(_)) => Ok(Sent {
                    provider: "smtp".into(),
                    provider_message_id: Some(id),
                    status: DeliveryStatus::Sent,
                }),
                Ok(Err(e)) => Err(classify(&e)),
                Err(_) => Err(SendError::Unavailable(format!(
                    "the SMTP relay did not finish within {} s",
                    self.timeout.as_secs()
                ))),
            }
        })
    }
}

/// What an SMTP failure means for the attempt.
///
/// lettre does not say which command a reply answered, so the reply code and its
/// enhanced status code (RFC 3463) decide: a mailbox that does not exist or an
/// unusable address (550, 551, 553, 5.1.x about the recipient) is an invalid contact;
/// any other permanent refusal (554, 5.7.x policy, a blocked sender) is a rejection;
/// refused credentials are a configuration problem an operator fixes, so they are
/// retried and end in an incident like a relay that is down, times out or answers 4xx.
pub fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let text = e.to_string();
    let Some(code) = e.status().filter(|_| e.is_permanent()) else {
        return SendError::Unavailable(format!("SMTP relay: {text}"));
    };
    let code = u16::from(code);
    if matches!(code, 530 | 534 | 535 | 538) {
        return SendError::Unavailable(format!(
            "the SMTP relay refused Recobro's credentials (fix the e-mail channel's configuration): {text}"
        ));
    }
    match enhanced_status(&text) {
        // 5.1.7 and 5.1.8 are about the sender's address, not the recipient's.
        Some((1, 7 | 8)) => SendError::Rejected(text),
        Some((1, _)) => SendError::InvalidContact(text),
        Some((7, _)) => SendError::Rejected(text),
        _ if matches!(code, 550 | 551 | 553) => SendError::InvalidContact(text),
        _ => SendError::Rejected(text),
    }
}

/// The subject and detail of the first RFC 3463 enhanced status code `5.s.d` in a reply.
fn enhanced_status(text: &str) -> Option<(u16, u16)> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
        .find_map(|word| {
            let mut parts = word.split('.');
            let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
            if class != "5" || parts.next().is_some() {
                return None;
            }
            Some((subject.parse().ok()?, detail.parse().ok()?))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enhanced_status_codes_are_read_from_the_reply() {
        assert_eq!(
            enhanced_status("permanent error (550): 5.1.1 <x@y>: user unknown"),
            Some((1, 1))
        );
        assert_eq!(
            enhanced_status("permanent error (554): 5.7.1 blocked"),
            Some((7, 1))
        );
        assert_eq!(
            enhanced_status("permanent error (550): mailbox unavailable"),
            None
        );
        assert_eq!(enhanced_status("version 5.1.1.2 of it"), None);
    }

    fn config() -> SmtpConfig {
        serde_json::from_value(serde_json::json!({
            "host": "smtp.example.com",
            "from": {"address": "cobros@acme.co", "name": "Acme Cobranzas"},
        }))
        .unwrap()
    }

    #[test]
    fn the_message_id_is_the_key_at_the_senders_domain() {
        let channel = SmtpChannel::new(&config()).unwrap();
        assert_eq!(channel.message_id("job-42"), "<job-42@acme.co>");
        assert_eq!(channel.message_id("job 4<2>"), "<job_4_2_@acme.co>");
    }

    #[test]
    fn bad_configurations_are_refused_at_start() {
        let mut c = config();
        c.from.address = "not an address".into();
        assert!(
            SmtpChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("from")
        );
        let mut c = config();
        c.security = SmtpSecurity::None;
        c.username = Some("u".into());
        c.password = Some("p".into());
        assert!(
            SmtpChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("plain text")
        );
        let mut c = config();
        c.username = Some("u".into());
        assert!(
            SmtpChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("both")
        );
        let mut c = config();
        c.root_certificate = Some("/nonexistent/ca.pem".into());
        assert!(
            SmtpChannel::new(&c)
                .unwrap_err()
                .to_string()
                .contains("rootCertificate")
        );
        let unknown = serde_json::from_value::<SmtpConfig>(serde_json::json!({
            "host": "h", "from": {"address": "a@b.co"}, "sender": "x",
        }));
        assert!(unknown.is_err(), "unknown fields are refused");
    }
}
