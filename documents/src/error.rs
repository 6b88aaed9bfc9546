//! Document errors with stable codes for API clients.

use chrono::{DateTime, Utc};

use super::store::{KeyFileError, ObjectStoreError};
use services::access::Role;
use services::desk::DeskError;

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{role} may not {what}")]
    Forbidden { role: Role, what: &'static str },
    /// Also the answer for a case that is not the caller's to see.
    #[error("case {0} does not exist")]
    CaseNotFound(String),
    /// Also the answer for a document on a case that is not the caller's to see.
    #[error("document {0} does not exist")]
    NotFound(String),
    #[error("upload {0} does not exist")]
    UploadNotFound(String),
    #[error("upload {0} has expired")]
    UploadExpired(String),
    #[error("the document is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("content type {0} is not accepted")]
    TypeNotAllowed(String),
    #[error("{0}")]
    Invalid(String),
    #[error("the bytes do not match the declared SHA-256")]
    ChecksumMismatch,
    #[error("the object has {actual} bytes, {declared} were declared")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("nothing was uploaded for {0}")]
    ObjectMissing(String),
    #[error("the link is invalid")]
    LinkInvalid,
    #[error("the link has expired")]
    LinkExpired,
    #[error("the document is under legal hold")]
    LegalHold,
    #[error("the document must be kept until {0}")]
    RetentionActive(DateTime<Utc>),
    #[error("the document must be kept by law (retention class {0})")]
    RetentionDuty(String),
    #[error("{0}")]
    WrongState(String),
    /// The local store's signing key file cannot serve as a key.
    #[error(transparent)]
    SigningKey(#[from] KeyFileError),
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("{0}")]
    Store(#[from] ObjectStoreError),
    #[error(transparent)]
    Desk(#[from] DeskError),
}

impl From<sea_orm::DbErr> for DocumentError {
    fn from(e: sea_orm::DbErr) -> Self {
        DocumentError::Desk(DeskError::from(e))
    }
}

impl DocumentError {
    /// Stable codes for API clients.
    pub fn code(&self) -> &'static str {
        use DocumentError as E;
        match self {
            E::Forbidden { .. } => "FORBIDDEN",
            E::CaseNotFound(_) => "CASE_NOT_FOUND",
            E::NotFound(_) => "DOCUMENT_NOT_FOUND",
            E::UploadNotFound(_) => "UPLOAD_NOT_FOUND",
            E::UploadExpired(_) => "UPLOAD_EXPIRED",
            E::TooLarge { .. } => "DOCUMENT_TOO_LARGE",
            E::TypeNotAllowed(_) => "DOCUMENT_TYPE_NOT_ALLOWED",
            E::Invalid(_) => "BAD_INPUT",
            E::ChecksumMismatch => "CHECKSUM_MISMATCH",
            E::SizeMismatch { .. } => "SIZE_MISMATCH",
            E::ObjectMissing(_) => "OBJECT_MISSING",
            E::LinkInvalid => "LINK_INVALID",
            E::LinkExpired => "LINK_EXPIRED",
            E::LegalHold => "LEGAL_HOLD",
            E::RetentionActive(_) => "RETENTION_ACTIVE",
            E::RetentionDuty(_) => "RETENTION_DUTY",
            E::WrongState(_) => "DOCUMENT_STATE",
            E::Interrupted(_) => "UPLOAD_INTERRUPTED",
            E::SigningKey(_) | E::Store(ObjectStoreError::SigningKey(_)) => "SIGNING_KEY_UNUSABLE",
            E::Store(ObjectStoreError::Unavailable(_)) => "STORE_UNAVAILABLE",
            E::Store(_) => "STORE_ERROR",
            E::Desk(DeskError::NotFound { kind: "case", .. }) => "CASE_NOT_FOUND",
            E::Desk(d) => d.code(),
        }
    }
}
