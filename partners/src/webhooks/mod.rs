//! Outbound webhooks to partners, by the Standard Webhooks specification (decision
//! 0025): what a partner's webhook is (URL, events, signing secrets), the management a
//! supervisor does (set, rotate the secret, remove), the delivery log and replays. The
//! events themselves are outbox rows each case writes in its own transaction
//! (`services::case::partner_events`); [`deliver`] sends them.

mod body;
pub mod deliver;
mod log;

use std::collections::BTreeSet;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde::{Deserialize, Serialize};
use services::access::{Operation, Principal};
use services::case::partner_events::EVENT_TYPES;
use services::desk::{DeskError, require};

pub use body::minimised;
pub use deliver::{DeliveryConfig, DeliveryHandle};
pub use log::{EventStatus, WebhookAttempt, WebhookEvent, WebhookEventFilter};

use crate::{Partner, Partners};

/// A partner's webhook, as kept on its row (`partners.webhook`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// The event types sent; empty: all of them.
    #[serde(default)]
    pub events: BTreeSet<String>,
    /// `whsec_` and base64, as the specification writes secrets.
    pub secret: String,
    pub secret_issued_at: DateTime<Utc>,
    /// The secret before the last rotation, still signing until `previous_valid_until`,
    /// so the partner can switch its receiver without losing an event.
    #[serde(default)]
    pub previous_secret: Option<String>,
    #[serde(default)]
    pub previous_valid_until: Option<DateTime<Utc>>,
}

/// Secrets never appear in logs.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret_issued_at", &self.secret_issued_at)
            .field("previous_valid_until", &self.previous_valid_until)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Whether events of `kind` are sent.
    pub fn wants(&self, kind: &str) -> bool {
        self.events.is_empty() || self.events.contains(kind)
    }

    /// The secrets that sign a message sent at `now`: the current one, and the previous
    /// one while it is still valid (receivers accept either signature).
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_valid_until)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }
}

/// The webhook of a partner's row, if it has one.
pub fn config_of(partner: &Partner) -> Result<Option<WebhookConfig>, DeskError> {
    partner
        .webhook
        .as_deref()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| {
                DeskError::Invalid(format!(
                    "partner {}'s webhook settings do not read: {e}",
                    partner.partner_id
                ))
            })
        })
        .transpose()
}

/// A new signing secret: 32 random bytes from two version-4 UUIDs (the OS's random
/// source through `uuid`, 244 random bits), written as the specification's `whsec_…`.
fn new_secret() -> String {
    let mut bytes = Vec::with_capacity(32);
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// A receiver's address: absolute http(s) with a host, no credentials in it.
fn checked_url(url: &str) -> Result<String, DeskError> {
    let bad = |why: &str| DeskError::Invalid(format!("webhook URL {url:?} {why}"));
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("must use http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("has no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad(
            "must not carry credentials (requests are signed instead)",
        ));
    }
    Ok(parsed.to_string())
}

fn checked_events(events: Vec<String>) -> Result<BTreeSet<String>, DeskError> {
    events
        .into_iter()
        .map(|e| {
            if EVENT_TYPES.contains(&e.as_str()) {
                Ok(e)
            } else {
                Err(DeskError::Invalid(format!(
                    "unknown webhook event type {e:?}: one of {}",
                    EVENT_TYPES.join(", ")
                )))
            }
        })
        .collect()
}

/// A webhook as set, with the secret when it was just issued (the only time it shows).
#[derive(Debug, Clone)]
pub struct WebhookSetup {
    pub partner: Partner,
    pub webhook: WebhookConfig,
    pub new_secret: Option<String>,
}

impl Partners {
    async fn save_webhook(
        &self,
        partner: Partner,
        webhook: Option<&WebhookConfig>,
    ) -> Result<Partner, DeskError> {
        let json = webhook
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| DeskError::Invalid(format!("the webhook does not serialise: {e}")))?;
        let mut row = partner.into_active_model();
        row.webhook = Set(json);
        Ok(row.update(self.desk.db()).await?)
    }

    /// Sets where a partner's events go and which (admins, supervisors). The first time,
    /// a signing secret is issued and returned; later changes keep it.
    pub async fn set_webhook(
        &self,
        p: &Principal,
        partner_id: &str,
        url: &str,
        events: Vec<String>,
    ) -> Result<WebhookSetup, DeskError> {
        require(p, Operation::ManagePartners, "set a partner's webhook")?;
        let url = checked_url(url)?;
        let events = checked_events(events)?;
        let partner = self.get(p, partner_id).await?;
        let (webhook, new_secret) = match config_of(&partner)? {
            Some(old) => (WebhookConfig { url, events, ..old }, None),
            None => {
                let secret = new_secret();
                let webhook = WebhookConfig {
                    url,
                    events,
                    secret: secret.clone(),
                    secret_issued_at: self.desk.clock().now(),
                    previous_secret: None,
                    previous_valid_until: None,
                };
                (webhook, Some(secret))
            }
        };
        let partner = self.save_webhook(partner, Some(&webhook)).await?;
        Ok(WebhookSetup {
            partner,
            webhook,
            new_secret,
        })
    }

    /// Issues a new signing secret; the current one keeps signing beside it for
    /// `previous_valid_hours` (0 to 168), while the partner switches its receiver.
    pub async fn rotate_webhook_secret(
        &self,
        p: &Principal,
        partner_id: &str,
        previous_valid_hours: i64,
    ) -> Result<WebhookSetup, DeskError> {
        require(
            p,
            Operation::ManagePartners,
            "rotate a partner's webhook secret",
        )?;
        if !(0..=168).contains(&previous_valid_hours) {
            return Err(DeskError::Invalid(format!(
                "the previous secret stays valid 0 to 168 hours, not {previous_valid_hours}"
            )));
        }
        let partner = self.get(p, partner_id).await?;
        let Some(old) = config_of(&partner)? else {
            return Err(DeskError::Conflict(format!(
                "partner {partner_id} has no webhook: set one first"
            )));
        };
        let now = self.desk.clock().now();
        let secret = new_secret();
        let webhook = WebhookConfig {
            secret: secret.clone(),
            secret_issued_at: now,
            previous_secret: (previous_valid_hours > 0).then_some(old.secret.clone()),
            previous_valid_until: (previous_valid_hours > 0)
                .then(|| now + Duration::hours(previous_valid_hours)),
            ..old
        };
        let partner = self.save_webhook(partner, Some(&webhook)).await?;
        Ok(WebhookSetup {
            partner,
            webhook,
            new_secret: Some(secret),
        })
    }

    /// Stops sending a partner's events; those not yet sent are settled as
    /// `no_webhook` when their turn comes.
    pub async fn remove_webhook(
        &self,
        p: &Principal,
        partner_id: &str,
    ) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "remove a partner's webhook")?;
        let partner = self.get(p, partner_id).await?;
        self.save_webhook(partner, None).await
    }
}
