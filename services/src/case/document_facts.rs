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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::journal::canonical_json;

    /// Entries journalled before the upload id and retention period were recorded still
    /// read, and write back byte for byte: their hashes keep verifying.
    #[test]
    fn entries_without_the_row_fields_still_read_and_hash_alike() {
        let old = json!({
            "document_event": "added", "document_id": "d", "version": 1, "kind": "other",
            "file_name": "a.pdf", "content_type": "application/pdf", "size": 3,
            "sha256": "ab", "retention_class": "standard", "object_key": "t/c/d/v1-u",
        });
        let fact: DocumentFact = serde_json::from_value(old.clone()).unwrap();
        let DocumentFact::Added {
            upload_id,
            retention_days,
            presigned,
            ..
        } = &fact
        else {
            panic!("{fact:?}");
        };
        assert_eq!(
            (upload_id, retention_days, presigned),
            (&None, &None, &false)
        );
        let again = serde_json::to_value(&fact).unwrap();
        assert_eq!(canonical_json(&again), canonical_json(&old));
    }
}
