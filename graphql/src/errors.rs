//! Errors as the GraphQL API answers them. Every error reaches the client through
//! [`api`] (an error of the desk, documents, partners or authentication) or [`coded`]
//! (the API layer's own checks), with a code from the one registry,
//! [`services::error_code::ErrorCode`], listed in `docs/api.md`.

use async_graphql::{Error, ErrorExtensions};
pub use services::error_code::{ApiError, ErrorCode};

/// An error of a lower layer, as the client sees it: the code, whether to retry, the
/// public message (server-side detail goes to the log) and any structured details.
pub fn api<E: ApiError>(e: E) -> Error {
    let code = e.code();
    let details = e.details();
    Error::new(e.public_message()).extend_with(move |_, ext| {
        ext.set("code", code.as_str());
        if code.retryable() {
            ext.set("retryable", true);
        }
        for (name, value) in &details {
            if let Ok(value) = async_graphql::Value::from_json(value.clone()) {
                ext.set(name, value);
            }
        }
    })
}

/// An error the API layer raises itself (a malformed argument, a missing token).
pub fn coded(code: ErrorCode, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(move |_, ext| {
        ext.set("code", code.as_str());
        if code.retryable() {
            ext.set("retryable", true);
        }
    })
}

/// Codes for errors async-graphql raises itself (parse, validation, limits), told apart
/// by their messages since the engine gives them no kind.
pub fn code_for_engine_error(message: &str) -> ErrorCode {
    const LIMITS: [&str; 4] = [
        "nested too deep",
        "too complex",
        "recursion depth",
        "number of directives",
    ];
    if LIMITS.iter().any(|m| message.contains(m)) {
        ErrorCode::QueryTooComplex
    } else if message.starts_with(" --> ") {
        // The parser's (pest's) error format.
        ErrorCode::GraphqlParseFailed
    } else {
        ErrorCode::GraphqlValidationFailed
    }
}

/// Codes for uncoded errors async-graphql raises at a field: an argument it could not
/// read (a variable left null where the argument is required) is the request's fault;
/// anything else is the server's.
pub fn code_for_field_error(message: &str) -> ErrorCode {
    const ARGUMENT_REFUSED: [&str; 3] = [
        "Expected input type",
        "Failed to parse",
        "Invalid value for argument",
    ];
    if ARGUMENT_REFUSED.iter().any(|m| message.starts_with(m)) {
        ErrorCode::BadInput
    } else {
        ErrorCode::Internal
    }
}

/// An error outside GraphQL's envelope (callbacks, the clock route): the code's HTTP
/// status and `{"error": {"code", "message"}}`.
pub fn http_answer(code: ErrorCode, message: impl Into<String>) -> actix_web::HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(code.http_status())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    actix_web::HttpResponse::build(status).json(serde_json::json!({
        "error": {"code": code.as_str(), "message": message.into()}
    }))
}
