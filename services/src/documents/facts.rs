//! Document facts recorded in the case journal: hash-chained like every other entry, so
//! the case history proves what was filed, by whom (the entry's actor), and its SHA-256.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "document_event", rename_all = "snake_case")]
pub enum DocumentFact {
    Added {
        document_id: String,
        version: i32,
        kind: String,
        file_name: String,
        content_type: String,
        size: u64,
        sha256: String,
        retention_class: String,
        object_key: String,
        /// The upload, whose id is also the version's id. With `retention_days` it lets
        /// the entry's own transaction write the `documents` row; entries written before
        /// that have neither, and their rows come from the upload intent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upload_id: Option<String>,
        /// The retention class's period when the document was added: `retain_until` is
        /// the entry's time plus this, whatever the configuration says later.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retention_days: Option<i64>,
        /// A presigned upload, whose intent row ends with this entry.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        presigned: bool,
    },
    LegalHoldSet {
        document_id: String,
        reason: String,
    },
    LegalHoldCleared {
        document_id: String,
        reason: String,
    },
    /// Hidden from everyone but records management; the object is still there.
    SoftDeleted {
        document_id: String,
        version: i32,
    },
    /// The object is gone; the metadata (and this history) stays.
    Purged {
        document_id: String,
        version: i32,
    },
    /// Removed on a lawful request (e.g. GDPR art. 17): object gone, file name blanked.
    Erased {
        document_id: String,
        version: i32,
        reason: String,
    },
}

impl DocumentFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            DocumentFact::Added { .. } => "DocumentAdded",
            DocumentFact::LegalHoldSet { .. } => "DocumentLegalHoldSet",
            DocumentFact::LegalHoldCleared { .. } => "DocumentLegalHoldCleared",
            DocumentFact::SoftDeleted { .. } => "DocumentSoftDeleted",
            DocumentFact::Purged { .. } => "DocumentPurged",
            DocumentFact::Erased { .. } => "DocumentErased",
        }
    }
}
