//! Document facts recorded in the case journal.

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
    },
}

impl DocumentFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            DocumentFact::Added { .. } => "DocumentAdded",
        }
    }
}
