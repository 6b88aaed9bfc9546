//! Authentication failures, each with a stable code (for `extensions.code` and logs)
//! and the HTTP status it maps to.

use services::error_code::{ApiError, ErrorCode};

/// Why a request could not be authenticated. The message never contains the token.
#[derive(Debug, thiserror::Error, strum::EnumCount)]
pub enum AuthError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid token: {0}")]
    InvalidToken(String),
    #[error("token expired")]
    TokenExpired,
    #[error("token not yet valid")]
    TokenNotYetValid,
    #[error("token issuer is not trusted")]
    WrongIssuer,
    #[error("token audience is not this service")]
    WrongAudience,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token algorithm not allowed for its key")]
    AlgorithmNotAllowed,
    /// The detail (URLs, transport errors) is for logs, not for the caller.
    #[error("token issuer unavailable, try again later")]
    IssuerUnavailable(String),
    /// Valid token, but its claims do not map to a Recobro principal.
    #[error("token claims not acceptable: {0}")]
    InvalidClaims(String),
    /// Valid token whose roles map to no Recobro role.
    #[error("no Recobro role in token")]
    NoRole,
    #[error("invalid auth configuration: {0}")]
    Config(String),
    #[error("auth storage error: {0}")]
    Storage(String),
    #[error("key error: {0}")]
    Key(String),
}

impl ApiError for AuthError {
    /// 401 for anything the caller can fix with another token; 403 when the token is
    /// good but grants no role; 503 when an external issuer cannot be reached (retry).
    fn code(&self) -> ErrorCode {
        match self {
            AuthError::Unauthenticated => ErrorCode::Unauthenticated,
            AuthError::InvalidToken(_) => ErrorCode::InvalidToken,
            AuthError::TokenExpired => ErrorCode::TokenExpired,
            AuthError::TokenNotYetValid => ErrorCode::TokenNotYetValid,
            AuthError::WrongIssuer => ErrorCode::WrongIssuer,
            AuthError::WrongAudience => ErrorCode::WrongAudience,
            AuthError::UnknownKey => ErrorCode::UnknownKey,
            AuthError::AlgorithmNotAllowed => ErrorCode::AlgorithmNotAllowed,
            AuthError::IssuerUnavailable(_) => ErrorCode::IssuerUnavailable,
            AuthError::InvalidClaims(_) => ErrorCode::InvalidClaims,
            AuthError::NoRole => ErrorCode::NoRole,
            AuthError::Config(_) => ErrorCode::AuthConfig,
            AuthError::Storage(_) | AuthError::Key(_) => ErrorCode::Internal,
        }
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuthError::Storage(e.to_string())
    }
}
