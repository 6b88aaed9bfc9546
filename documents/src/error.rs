//! Document errors with stable codes for API clients.

use chrono::{DateTime, Utc};

use super::store::{KeyFileError, ObjectStoreError};
use services::access::Role;
use services::desk::DeskError;
use services::error_code::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error, strum::EnumCount)]
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

impl ApiError for DocumentError {
    fn code(&self) -> ErrorCode {
        use DocumentError as E;
        match self {
            E::Forbidden { .. } => ErrorCode::Forbidden,
            E::CaseNotFound(_) => ErrorCode::CaseNotFound,
            E::NotFound(_) => ErrorCode::DocumentNotFound,
            E::UploadNotFound(_) => ErrorCode::UploadNotFound,
            E::UploadExpired(_) => ErrorCode::UploadExpired,
            E::TooLarge { .. } => ErrorCode::DocumentTooLarge,
            E::TypeNotAllowed(_) => ErrorCode::DocumentTypeNotAllowed,
            E::Invalid(_) => ErrorCode::BadInput,
            E::ChecksumMismatch => ErrorCode::ChecksumMismatch,
            E::SizeMismatch { .. } => ErrorCode::SizeMismatch,
            E::ObjectMissing(_) => ErrorCode::ObjectMissing,
            E::LinkInvalid => ErrorCode::LinkInvalid,
            E::LinkExpired => ErrorCode::LinkExpired,
            E::LegalHold => ErrorCode::LegalHold,
            E::RetentionActive(_) => ErrorCode::RetentionActive,
            E::RetentionDuty(_) => ErrorCode::RetentionDuty,
            E::WrongState(_) => ErrorCode::DocumentState,
            E::Interrupted(_) => ErrorCode::UploadInterrupted,
            E::SigningKey(_) | E::Store(ObjectStoreError::SigningKey(_)) => {
                ErrorCode::SigningKeyUnusable
            }
            E::Store(ObjectStoreError::Unavailable(_)) => ErrorCode::StoreUnavailable,
            E::Store(ObjectStoreError::Refused(_) | ObjectStoreError::Io(_)) => {
                ErrorCode::StoreError
            }
            E::Desk(d) => d.code(),
        }
    }
}
