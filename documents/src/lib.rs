//! Case documents: metadata, object storage, integrity and retention.
//!
//! [`DocumentService`] authorises every call against a [`Principal`] (a partner reaches
//! only documents of cases placed with it; anything else answers "does not exist"),
//! streams bytes to an [`ObjectStore`] while hashing them, and records each change as a
//! hash-chained [`DocumentFact`] in the case journal. The `documents` table is the
//! projection the queries read; `document_uploads` holds uploads in flight so that the
//! sweeper can clean up after crashes and abandoned uploads. See
//! `docs/decisions/0007-documents.md`.
//!
//! Depends on `services` (the desk's access rules, the case runtime, the journal's
//! document facts) and `orm`; it owns the object-store clients (aws-sdk-s3), which
//! nothing below it links.

pub mod config;
mod error;

mod generated;
mod integrity;
mod partner_statements;
mod records;
pub mod store;
mod upload;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use orm::entities::{cases, documents};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};

pub use self::config::{DocumentConfig, RetentionRule, S3Config, StoreConfig};
pub use self::error::DocumentError;
pub use self::generated::{Generated, GeneratedDocument};
pub use self::integrity::{SweepReport, VerifyReport};
pub use self::partner_statements::StoredStatement;
pub use self::records::{AccessEntry, Download, ErasureReport, ErasureScope, LocalBody};
pub use self::store::{LocalGrant, ObjectStore, Presigned};
use self::store::{LocalStore, S3Store, SigningKey, UrlSigner};
pub use self::upload::{NewDocument, UploadTicket};
use services::access::{Operation, Principal, permits};
pub use services::case::DocumentFact;
use services::desk::disclosure::document_disclosed;
use services::desk::{Desk, DeskError};

/// A stored version of a document, as the queries return it.
pub type Document = documents::Model;

/// What a document is; decides its default retention class and any BPMN message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    DemandLetter,
    PaymentAgreement,
    IdentityDocument,
    CallRecording,
    CourtFiling,
    Judgment,
    /// The credit contract the debt arises from.
    Contract,
    /// A statement of the debtor's account.
    AccountStatement,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 9] = [
        DocumentKind::DemandLetter,
        DocumentKind::PaymentAgreement,
        DocumentKind::IdentityDocument,
        DocumentKind::CallRecording,
        DocumentKind::CourtFiling,
        DocumentKind::Judgment,
        DocumentKind::Contract,
        DocumentKind::AccountStatement,
        DocumentKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::DemandLetter => "demand_letter",
            DocumentKind::PaymentAgreement => "payment_agreement",
            DocumentKind::IdentityDocument => "identity_document",
            DocumentKind::CallRecording => "call_recording",
            DocumentKind::CourtFiling => "court_filing",
            DocumentKind::Judgment => "judgment",
            DocumentKind::Contract => "contract",
            DocumentKind::AccountStatement => "account_statement",
            DocumentKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Court papers and agreements are kept by law; recordings only briefly.
    pub fn default_retention(self) -> &'static str {
        match self {
            DocumentKind::PaymentAgreement
            | DocumentKind::CourtFiling
            | DocumentKind::Judgment
            | DocumentKind::Contract
            | DocumentKind::AccountStatement => "statutory",
            DocumentKind::CallRecording | DocumentKind::IdentityDocument => "short",
            DocumentKind::DemandLetter | DocumentKind::Other => "standard",
        }
    }
}

/// Documents of all cases; cheap to clone.
#[derive(Clone)]
pub struct DocumentService {
    desk: Desk,
    store: Arc<dyn ObjectStore>,
    /// Set for the local store, whose signed URLs Recobro serves itself.
    local: Option<LocalStore>,
    config: Arc<DocumentConfig>,
}

impl std::fmt::Debug for DocumentService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentService")
            .field("store", &self.store.kind())
            .finish_non_exhaustive()
    }
}

impl DocumentService {
    /// Opens the configured store. No network I/O yet (an unreachable S3 shows on first
    /// use); the local store reads its signing key file if there is one.
    pub fn new(desk: Desk, config: DocumentConfig) -> Result<Self, DocumentError> {
        let (store, local): (Arc<dyn ObjectStore>, _) = match &config.store {
            StoreConfig::Local { dir } => {
                let key = if config.signing_key.is_empty() {
                    SigningKey::in_dir(dir)?
                } else {
                    SigningKey::fixed(config.signing_key.clone())
                };
                let local = LocalStore::new(dir, UrlSigner::new(key, &config.public_url));
                (Arc::new(local.clone()), Some(local))
            }
            StoreConfig::S3(s3) => (
                Arc::new(S3Store::new(
                    s3,
                    config.multipart_threshold,
                    config.part_size,
                )?),
                None,
            ),
        };
        Ok(DocumentService {
            desk,
            store,
            local,
            config: Arc::new(config),
        })
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub fn config(&self) -> &DocumentConfig {
        &self.config
    }

    fn now(&self) -> DateTime<Utc> {
        // PostgreSQL keeps microseconds: store what reads back equal.
        let now = self.desk.runtime().clock().now();
        DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
    }

    fn db(&self) -> &sea_orm::DatabaseConnection {
        self.desk.db()
    }

    /// The case if the caller may see it; the same answer as a missing one otherwise.
    async fn visible_case(&self, p: &Principal, case_id: &str) -> Result<(), DocumentError> {
        self.case_seen(p, case_id).await.map(|_| ())
    }

    async fn case_seen(&self, p: &Principal, case_id: &str) -> Result<cases::Model, DocumentError> {
        match self.desk.case(p, case_id).await {
            Ok(case) => Ok(case),
            Err(DeskError::CaseNotFound(_)) => Err(DocumentError::CaseNotFound(case_id.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Which of a case's documents the caller may read: a partner, those its policy
    /// gives it at the case's stage, and its own uploads (decision 0023).
    async fn disclosed(
        &self,
        p: &Principal,
        case: &cases::Model,
        rows: Vec<Document>,
    ) -> Result<Vec<Document>, DocumentError> {
        let policy = self.desk.partner_policy(p).await?;
        Ok(rows
            .into_iter()
            .filter(|d| {
                document_disclosed(
                    p,
                    policy.as_ref(),
                    case.stage.as_deref(),
                    &d.kind,
                    &d.uploaded_by,
                )
            })
            .collect())
    }

    /// A version of a document the caller may see (latest when `version` is `None`);
    /// soft-deleted, purged and erased versions count as gone.
    async fn visible_document(
        &self,
        p: &Principal,
        document_id: &str,
        version: Option<i32>,
    ) -> Result<Document, DocumentError> {
        let mut q = documents::Entity::find()
            .filter(documents::Column::DocumentId.eq(document_id))
            .filter(documents::Column::Tenant.eq(p.tenant.as_str()))
            .filter(documents::Column::Status.eq("active"));
        if let Some(v) = version {
            q = q.filter(documents::Column::Version.eq(v));
        }
        let row = q
            .order_by_desc(documents::Column::Version)
            .one(self.db())
            .await?;
        let not_found = || DocumentError::NotFound(document_id.to_string());
        let row = row.ok_or_else(not_found)?;
        let case = match self.case_seen(p, &row.case_id).await {
            Ok(case) => case,
            Err(DocumentError::CaseNotFound(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        // A document the partner may not read is, to it, no document.
        self.disclosed(p, &case, vec![row])
            .await?
            .pop()
            .ok_or_else(not_found)
    }
}

fn require(p: &Principal, op: Operation, what: &'static str) -> Result<(), DocumentError> {
    if permits(p.role, op) {
        Ok(())
    } else {
        Err(DocumentError::Forbidden { role: p.role, what })
    }
}

/// A file name safe to store and to hand back in a `Content-Disposition`: the last path
/// component, without control or shell/filesystem-special characters, at most 200 bytes.
pub fn sanitize_file_name(name: &str) -> Result<String, DocumentError> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed.trim_matches(|c: char| c == '.' || c == ' ');
    let mut out = String::new();
    for c in trimmed.chars() {
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    if out.is_empty() {
        return Err(DocumentError::Invalid(format!(
            "the file name {name:?} has no usable characters"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(sanitize_file_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize_file_name("C:\\x\\a<b>.pdf").unwrap(), "ab.pdf");
        assert_eq!(
            sanitize_file_name("  report\n\t 2024 .pdf ").unwrap(),
            "report 2024 .pdf"
        );
        assert!(sanitize_file_name("..").is_err());
        assert!(sanitize_file_name("a/").is_err());
        assert_eq!(sanitize_file_name(&"é".repeat(300)).unwrap().len(), 200);
    }

    /// GraphQL resolvers need `Send` futures: an upload fed by a `Send` stream is one.
    #[test]
    fn upload_future_is_send() {
        fn send<T: Send>(_: &T) {}
        #[allow(dead_code)]
        fn check(s: &DocumentService, p: &Principal, n: NewDocument) {
            let body = futures_util::stream::empty::<Result<bytes::Bytes, std::io::Error>>();
            send(&s.upload(p, n, body));
            send(&s.confirm_upload(p, "u"));
            send(&s.download(p, "d", None));
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(k.as_str()), Some(k));
        }
    }
}
