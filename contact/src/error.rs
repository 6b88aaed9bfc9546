//! Errors of the contact crate.

use services::desk::DeskError;
use services::error_code::{ApiError, ErrorCode};

#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum ContactError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error("no template {name} for {channel} in any language the creditor has")]
    TemplateNotFound { name: String, channel: String },
    #[error(transparent)]
    Template(#[from] collections::template::TemplateError),
    #[error("{0}")]
    Invalid(String),
}

impl From<sea_orm::DbErr> for ContactError {
    fn from(e: sea_orm::DbErr) -> Self {
        ContactError::Desk(DeskError::from(e))
    }
}

impl ApiError for ContactError {
    fn code(&self) -> ErrorCode {
        match self {
            ContactError::Desk(e) => e.code(),
            ContactError::TemplateNotFound { .. } => ErrorCode::TemplateNotFound,
            ContactError::Template(_) => ErrorCode::InvalidTemplate,
            ContactError::Invalid(_) => ErrorCode::BadInput,
        }
    }
}

/// A channel's configuration is unusable: `serve` refuses to start with it. Never an
/// API answer (no error code): an operator reads it at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{channel} channel: {message}")]
pub struct ChannelConfigError {
    pub channel: &'static str,
    pub message: String,
}
