//! Authentication failures, each with a stable code (for `extensions.code` and logs)
//! and the HTTP status it maps to.

/// Why a request could not be authenticated. The message never contains the token.
#[derive(Debug, thiserror::Error)]
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

impl AuthError {
    /// Stable machine-readable code; never changes once released.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Unauthenticated => "UNAUTHENTICATED",
            AuthError::InvalidToken(_) => "INVALID_TOKEN",
            AuthError::TokenExpired => "TOKEN_EXPIRED",
            AuthError::TokenNotYetValid => "TOKEN_NOT_YET_VALID",
            AuthError::WrongIssuer => "WRONG_ISSUER",
            AuthError::WrongAudience => "WRONG_AUDIENCE",
            AuthError::UnknownKey => "UNKNOWN_KEY",
            AuthError::AlgorithmNotAllowed => "ALGORITHM_NOT_ALLOWED",
            AuthError::IssuerUnavailable(_) => "ISSUER_UNAVAILABLE",
            AuthError::InvalidClaims(_) => "INVALID_CLAIMS",
            AuthError::NoRole => "NO_ROLE",
            AuthError::Config(_) => "AUTH_CONFIG",
            AuthError::Storage(_) | AuthError::Key(_) => "INTERNAL",
        }
    }

    /// 401 for anything the caller can fix with another token; 403 when the token is
    /// good but grants no role; 503 when an external issuer cannot be reached (retry).
    pub fn http_status(&self) -> u16 {
        match self {
            AuthError::IssuerUnavailable(_) => 503,
            AuthError::NoRole => 403,
            AuthError::Config(_) | AuthError::Storage(_) | AuthError::Key(_) => 500,
            _ => 401,
        }
    }
}

impl From<sea_orm::DbErr> for AuthError {
    fn from(e: sea_orm::DbErr) -> Self {
        AuthError::Storage(e.to_string())
    }
}
