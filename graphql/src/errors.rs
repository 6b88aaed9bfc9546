//! The one table of error codes API clients see in `extensions.code`.

use async_graphql::{Error, ErrorExtensions};
use services::desk::DeskError;

/// Every code the API can answer with, and what it means.
pub const CODES: &[(&str, &str)] = &[
    ("UNAUTHENTICATED", "no bearer token"),
    (
        "INVALID_TOKEN",
        "the token is malformed or its signature does not verify",
    ),
    ("TOKEN_EXPIRED", "the token has expired"),
    ("TOKEN_NOT_YET_VALID", "the token's nbf is in the future"),
    ("WRONG_ISSUER", "the token's issuer is not trusted"),
    ("WRONG_AUDIENCE", "the token is not for this service"),
    (
        "UNKNOWN_KEY",
        "the token names a key (kid) the issuer does not publish",
    ),
    (
        "ALGORITHM_NOT_ALLOWED",
        "the token's algorithm is not the one pinned for its key",
    ),
    (
        "ISSUER_UNAVAILABLE",
        "an external identity provider cannot be reached: retry",
    ),
    (
        "INVALID_CLAIMS",
        "the token's claims do not describe a Recobro user",
    ),
    ("NO_ROLE", "the token grants no Recobro role"),
    ("FORBIDDEN", "the caller's role may not do this"),
    ("BAD_INPUT", "an argument is invalid"),
    (
        "BAD_CURSOR",
        "a pagination cursor is malformed or from another list",
    ),
    ("BAD_REQUEST", "the HTTP body is not a GraphQL request"),
    ("PAYLOAD_TOO_LARGE", "the HTTP body exceeds the size limit"),
    ("GRAPHQL_PARSE_FAILED", "the query does not parse"),
    (
        "GRAPHQL_VALIDATION_FAILED",
        "the query does not match the schema",
    ),
    (
        "QUERY_TOO_COMPLEX",
        "the query exceeds the depth or complexity limit (an introspection query: its size cap)",
    ),
    (
        "CASE_NOT_FOUND",
        "no such case (or not visible to the caller)",
    ),
    (
        "TASK_NOT_FOUND",
        "no such task (or not visible to the caller)",
    ),
    ("PARTNER_NOT_FOUND", "no such partner"),
    ("DEFINITION_NOT_FOUND", "no such process definition"),
    ("NOT_FOUND", "no such object"),
    ("CONFLICT", "the object's state does not allow this now"),
    ("TASK_ALREADY_CLAIMED", "another user holds the task"),
    ("TASK_NOT_OPEN", "the task is completed or cancelled"),
    (
        "PLACEMENT_CONFLICT",
        "the case's placement does not allow this",
    ),
    ("CASE_CLOSED", "the case is completed or cancelled"),
    (
        "INVALID_MODEL",
        "the BPMN model has problems (see extensions.problems)",
    ),
    (
        "COMMAND_REJECTED",
        "the process does not accept this command now",
    ),
    (
        "DUPLICATE_EXTERNAL_REF",
        "a case with this external reference exists",
    ),
    (
        "DOCUMENT_NOT_FOUND",
        "no such document (or not visible to the caller)",
    ),
    (
        "UPLOAD_NOT_FOUND",
        "no such pending upload (or already confirmed)",
    ),
    (
        "UPLOAD_EXPIRED",
        "the upload link expired before the upload was confirmed",
    ),
    (
        "UPLOAD_INTERRUPTED",
        "the upload's body ended early or failed",
    ),
    ("DOCUMENT_TOO_LARGE", "the file exceeds the size limit"),
    (
        "DOCUMENT_TYPE_NOT_ALLOWED",
        "the file's bytes are not of an accepted type",
    ),
    (
        "CHECKSUM_MISMATCH",
        "the stored bytes do not hash to the declared SHA-256",
    ),
    (
        "SIZE_MISMATCH",
        "the stored object does not have the declared size",
    ),
    (
        "OBJECT_MISSING",
        "the document's object is missing from the store",
    ),
    (
        "LINK_INVALID",
        "the signed link is malformed or tampered with",
    ),
    ("LINK_EXPIRED", "the signed link has expired"),
    ("LEGAL_HOLD", "a legal hold forbids this"),
    ("RETENTION_ACTIVE", "the retention period has not passed"),
    (
        "RETENTION_DUTY",
        "a statutory retention duty forbids erasure",
    ),
    ("DOCUMENT_STATE", "the document's state does not allow this"),
    (
        "STORE_UNAVAILABLE",
        "the object store cannot be reached: retry",
    ),
    ("STORE_ERROR", "the object store failed"),
    ("CONTENDED", "the case is busy: retry"),
    (
        "UNAVAILABLE",
        "the service is temporarily unavailable: retry",
    ),
    ("STORAGE_ERROR", "the database failed: retry later"),
    (
        "CORRUPT_DATA",
        "stored data is unreadable: contact the operator",
    ),
    ("INTERNAL", "an unexpected error"),
];

pub fn coded(code: &'static str, message: impl Into<String>) -> Error {
    debug_assert!(CODES.iter().any(|(c, _)| *c == code), "{code}");
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

pub fn desk(e: DeskError) -> Error {
    let code = e.code();
    let message = match &e {
        // Storage details stay in the log, not in the answer.
        DeskError::Runtime(r) if code == "STORAGE_ERROR" => {
            tracing::error!(error = %r, "storage error");
            "the database failed; retry later".to_string()
        }
        other => other.to_string(),
    };
    let problems = match &e {
        DeskError::InvalidModel(p) => p.clone(),
        _ => Vec::new(),
    };
    Error::new(message).extend_with(move |_, ext| {
        ext.set("code", code);
        if !problems.is_empty() {
            let list: Vec<async_graphql::Value> = problems
                .iter()
                .map(|p| {
                    let mut m = async_graphql::indexmap::IndexMap::new();
                    m.insert(async_graphql::Name::new("code"), p.code.clone().into());
                    m.insert(
                        async_graphql::Name::new("message"),
                        p.message.clone().into(),
                    );
                    m.insert(async_graphql::Name::new("line"), p.line.into());
                    m.insert(async_graphql::Name::new("column"), p.column.into());
                    m.insert(
                        async_graphql::Name::new("elementId"),
                        p.element_id
                            .clone()
                            .map_or(async_graphql::Value::Null, Into::into),
                    );
                    async_graphql::Value::Object(m)
                })
                .collect();
            ext.set("problems", list);
        }
    })
}

/// Codes for errors async-graphql raises itself (parse, validation, limits), told apart
/// by their messages since the engine gives them no kind.
pub fn code_for_engine_error(message: &str) -> &'static str {
    const LIMITS: [&str; 4] = [
        "nested too deep",
        "too complex",
        "recursion depth",
        "number of directives",
    ];
    if LIMITS.iter().any(|m| message.contains(m)) {
        "QUERY_TOO_COMPLEX"
    } else if message.starts_with(" --> ") {
        // The parser's (pest's) error format.
        "GRAPHQL_PARSE_FAILED"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    }
}

#[cfg(test)]
mod tests {
    use super::CODES;
    use crate::auth::AuthError;

    #[test]
    fn every_authentication_code_is_in_the_table() {
        let all = [
            AuthError::Unauthenticated,
            AuthError::InvalidToken(String::new()),
            AuthError::TokenExpired,
            AuthError::TokenNotYetValid,
            AuthError::WrongIssuer,
            AuthError::WrongAudience,
            AuthError::UnknownKey,
            AuthError::AlgorithmNotAllowed,
            AuthError::IssuerUnavailable(String::new()),
            AuthError::InvalidClaims(String::new()),
            AuthError::NoRole,
            AuthError::Storage(String::new()),
        ];
        for e in all {
            assert!(CODES.iter().any(|(c, _)| *c == e.code()), "{}", e.code());
        }
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in CODES {
            assert!(seen.insert(code), "{code} twice");
        }
    }
}
