//! A partner's own REST API (decision 0026): where it is, and the OAuth2 client
//! credentials Recobro holds to call it. The configuration lives on the partner's row;
//! its client secret is never shown back, to any role.
//!
//! [`PartnerApis`] calls an API with a cached client-credentials token;
//! [`CallPartner`] is the `partner.call` job that sends a case's (named) data to the
//! partner the case is placed with.

mod client;
mod job;

pub use client::{PartnerApiError, PartnerApis};
pub use job::CallPartner;

use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
use serde::{Deserialize, Serialize};
use services::access::{Operation, Principal};
use services::desk::{DeskError, require};

use crate::{Partner, Partners};

/// A partner API's configuration as stored (JSON on `partners.api`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ApiConfig {
    /// Paths of `partner.call` tasks are appended to it.
    pub base_url: String,
    /// Its OAuth2 token endpoint (client-credentials grant).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Asked for with each token; empty: none asked.
    #[serde(default)]
    pub scopes: Vec<String>,
}

// The secret stays out of logs and panics.
impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("base_url", &self.base_url)
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A new or changed configuration; without a secret the stored one is kept.
#[derive(Clone, Default)]
pub struct ApiInput {
    pub base_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
}

/// The partner's API configuration, if it has one.
pub fn api_of(partner: &Partner) -> Result<Option<ApiConfig>, DeskError> {
    partner
        .api
        .as_deref()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| {
                DeskError::Invalid(format!(
                    "partner {}'s API configuration does not read: {e}",
                    partner.partner_id
                ))
            })
        })
        .transpose()
}

/// An absolute http(s) URL with a host, no credentials and no fragment: what a partner
/// API's base or token URL may be.
pub fn valid_url(what: &str, text: &str) -> Result<url::Url, String> {
    if text.len() > 2000 {
        return Err(format!("the {what} is longer than 2,000 characters"));
    }
    let url = url::Url::parse(text.trim())
        .map_err(|e| format!("the {what} {text:?} is not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the {what} {text:?} must be http or https, not {}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the {what} {text:?} names no host"));
    }
    // Credentials in a URL end up in logs; the client's go in the token request.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("the {what} must not hold a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(format!("the {what} {text:?} must not have a fragment"));
    }
    Ok(url)
}

/// RFC 6749 §3.3 scope-token: printable ASCII but space, `"` and `\`.
fn valid_scope(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// RFC 6749 appendix A: client ids and secrets are printable ASCII (VSCHAR).
fn valid_credential(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl ApiInput {
    /// The configuration to store, `stored`'s secret kept when none is given.
    pub fn into_config(self, stored: Option<&ApiConfig>) -> Result<ApiConfig, String> {
        let base = valid_url("base URL", &self.base_url)?;
        if base.query().is_some() {
            return Err("the base URL must not have a query: task paths are appended".into());
        }
        let token = valid_url("token URL", &self.token_url)?;
        let client_id = self.client_id.trim().to_string();
        if !valid_credential(&client_id, 200) {
            return Err("a client id is 1 to 200 printable ASCII characters".into());
        }
        let client_secret = match self.client_secret {
            Some(s) if valid_credential(&s, 500) => s,
            Some(_) => {
                return Err("a client secret is 1 to 500 printable ASCII characters".into());
            }
            None => match stored {
                Some(c) => c.client_secret.clone(),
                None => return Err("a client secret is required the first time".into()),
            },
        };
        if self.scopes.len() > 20 {
            return Err("at most 20 scopes".into());
        }
        if let Some(bad) = self.scopes.iter().find(|s| !valid_scope(s)) {
            return Err(format!(
                "scope {bad:?} must be 1 to 100 printable ASCII characters without spaces, '\"' or '\\'"
            ));
        }
        Ok(ApiConfig {
            base_url: base.as_str().trim_end_matches('/').to_string(),
            token_url: token.to_string(),
            client_id,
            client_secret,
            scopes: self.scopes,
        })
    }
}

impl Partners {
    /// Sets the partner's API and the credentials to call it (admins, supervisors).
    pub async fn set_api(
        &self,
        p: &Principal,
        partner_id: &str,
        input: ApiInput,
    ) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "set a partner's API")?;
        let partner = self.get(p, partner_id).await?;
        let stored = api_of(&partner).ok().flatten();
        let config = input
            .into_config(stored.as_ref())
            .map_err(DeskError::Invalid)?;
        let json = serde_json::to_string(&config).map_err(|e| {
            DeskError::Invalid(format!("the configuration does not serialise: {e}"))
        })?;
        let mut row = partner.into_active_model();
        row.api = Set(Some(json));
        Ok(row.update(self.desk.db()).await?)
    }

    /// Forgets the partner's API and its credentials (admins, supervisors).
    pub async fn remove_api(&self, p: &Principal, partner_id: &str) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "remove a partner's API")?;
        let partner = self.get(p, partner_id).await?;
        let mut row = partner.into_active_model();
        row.api = Set(None);
        Ok(row.update(self.desk.db()).await?)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn input(base: &str, token: &str) -> ApiInput {
        ApiInput {
            base_url: base.into(),
            token_url: token.into(),
            client_id: "recobro".into(),
            client_secret: Some("s3cret".into()),
            scopes: vec!["cases:write".into()],
        }
    }

    #[test]
    fn only_http_urls_with_a_host_and_no_credentials_are_taken() {
        let ok = input(
            "https://api.agency.example/v1/",
            "https://id.agency.example/token",
        )
        .into_config(None)
        .unwrap();
        assert_eq!(ok.base_url, "https://api.agency.example/v1");
        for (base, token, why) in [
            ("ftp://a.example", "https://a.example/t", "http or https"),
            ("https://a.example", "file:///etc/passwd", "http or https"),
            ("/relative", "https://a.example/t", "absolute"),
            ("https://u:p@a.example", "https://a.example/t", "user name"),
            ("https://a.example?x=1", "https://a.example/t", "query"),
            ("https://a.example#f", "https://a.example/t", "fragment"),
        ] {
            let e = input(base, token).into_config(None).unwrap_err();
            assert!(e.contains(why), "{base} {token}: {e}");
        }
    }

    #[test]
    fn the_secret_is_kept_when_not_given_and_required_the_first_time() {
        let first = input("https://a.example", "https://a.example/t")
            .into_config(None)
            .unwrap();
        let mut change = input("https://b.example", "https://b.example/t");
        change.client_secret = None;
        assert!(
            change
                .clone()
                .into_config(None)
                .unwrap_err()
                .contains("secret")
        );
        let changed = change.into_config(Some(&first)).unwrap();
        assert_eq!(changed.client_secret, "s3cret");
        assert_eq!(changed.base_url, "https://b.example");
        assert!(!format!("{changed:?}").contains("s3cret"));
    }

    #[test]
    fn scopes_and_credentials_are_checked() {
        let mut bad = input("https://a.example", "https://a.example/t");
        bad.scopes = vec!["two words".into()];
        assert!(bad.into_config(None).unwrap_err().contains("scope"));
        let mut bad = input("https://a.example", "https://a.example/t");
        bad.client_id = "\u{7}".into();
        assert!(bad.into_config(None).unwrap_err().contains("client id"));
    }

    proptest! {
        // Whatever an admin types, a taken configuration only ever names http(s) URLs
        // with a host and no credentials, and reads back as stored.
        #[test]
        fn any_taken_configuration_is_http_and_reads_back(
            base in "\\PC{0,60}",
            token in "(https?|ftp|file)://[a-z@:.]{0,12}/?\\PC{0,20}",
            scope in "\\PC{0,12}",
        ) {
            let mut i = input(&base, &token);
            i.scopes = vec![scope];
            if let Ok(c) = i.into_config(None) {
                for u in [&c.base_url, &c.token_url] {
                    let url = url::Url::parse(u).unwrap();
                    prop_assert!(matches!(url.scheme(), "http" | "https"));
                    prop_assert!(url.host_str().is_some());
                    prop_assert!(url.username().is_empty() && url.password().is_none());
                }
                let json = serde_json::to_string(&c).unwrap();
                prop_assert_eq!(serde_json::from_str::<ApiConfig>(&json).unwrap(), c);
            }
        }
    }
}
