//! Document configuration: where objects go, limits, retention classes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::DocumentKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StoreConfig {
    /// Files under `dir` (the embedded default: `<data dir>/documents`).
    Local {
        dir: PathBuf,
    },
    S3(S3Config),
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig::Local {
            dir: PathBuf::from("./data/documents"),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Config {
    /// e.g. `http://127.0.0.1:9000` for MinIO; `None` for AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted stores need.
    pub path_style: bool,
    /// With the secret; neither: the standard AWS credential chain.
    pub access_key_id: Option<String>,
    /// With the key id; neither: the standard AWS credential chain.
    pub secret_access_key: Option<String>,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish_non_exhaustive()
    }
}

/// How long documents of a class are kept, and whether that is a legal duty (a duty
/// outranks a debtor's erasure request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionRule {
    pub days: i64,
    pub statutory: bool,
}

#[derive(Clone)]
pub struct DocumentConfig {
    pub store: StoreConfig,
    /// Largest accepted document, in bytes.
    pub max_size: u64,
    /// Bodies above this go to S3 as multipart uploads.
    pub multipart_threshold: usize,
    pub part_size: usize,
    /// Lifetime of presigned upload and download URLs.
    pub url_ttl: Duration,
    /// How long an unconfirmed upload (or a stray object) is left alone by the sweeper.
    pub upload_grace: Duration,
    /// Content types accepted, as sniffed from the bytes.
    pub allowed_types: Vec<String>,
    pub retention: BTreeMap<String, RetentionRule>,
    /// BPMN message correlated to the case when a document of the kind is added.
    pub messages: BTreeMap<DocumentKind, String>,
    /// Key of the local store's signed URLs; when empty, the one in
    /// `<dir>/.signing-key` (created on first start).
    pub signing_key: Vec<u8>,
    /// Where clients reach Recobro, for local-store URLs.
    pub public_url: String,
}

impl std::fmt::Debug for DocumentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentConfig")
            .field("store", &self.store)
            .field("max_size", &self.max_size)
            .field("public_url", &self.public_url)
            .finish_non_exhaustive()
    }
}

pub const MIB: usize = 1024 * 1024;

impl Default for DocumentConfig {
    fn default() -> Self {
        let rule = |days, statutory| RetentionRule { days, statutory };
        DocumentConfig {
            store: StoreConfig::default(),
            max_size: 100 * MIB as u64,
            multipart_threshold: 8 * MIB,
            part_size: 8 * MIB,
            url_ttl: Duration::from_secs(15 * 60),
            upload_grace: Duration::from_secs(60 * 60),
            allowed_types: [
                "application/pdf",
                "image/png",
                "image/jpeg",
                "image/tiff",
                "audio/mpeg",
                "audio/x-wav",
                "audio/ogg",
                "audio/m4a",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "text/plain",
            ]
            .map(String::from)
            .to_vec(),
            retention: BTreeMap::from([
                ("standard".to_string(), rule(6 * 365, false)),
                ("statutory".to_string(), rule(10 * 365, true)),
                ("short".to_string(), rule(365, false)),
            ]),
            messages: BTreeMap::from([(DocumentKind::Judgment, "JudgmentUploaded".to_string())]),
            signing_key: Vec::new(),
            public_url: "http://127.0.0.1:8080".into(),
        }
    }
}
