//! The one registry of error codes an API client can see: each code with its HTTP
//! status, whether the same request may succeed later unchanged, and what it means.
//! Every error type that can reach a client implements [`ApiError`] and so can only
//! answer with a code from this table; `docs/api.md` lists the same table, and a test of
//! the API crate checks every variant of every such type against it.
//!
//! It lives here, the lowest crate whose errors reach clients, so `documents`,
//! `partners` and `graphql` share it without depending on each other.

/// Declares [`ErrorCode`] and its table in one list, so a code cannot exist without its
/// status, retryability and description.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $status:literal, $retry:ident, $doc:literal;)*) => {
        /// A stable machine-readable error code; never changes once released.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it in `extensions.code`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status of answers outside GraphQL's envelope (auth endpoints,
            /// document links, refused requests); GraphQL errors answer 200 with it
            /// implied by the code.
            pub fn http_status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// Whether the same request may succeed later, unchanged.
            pub fn retryable(self) -> bool {
                match self {
                    $(ErrorCode::$variant => error_codes!(@retry $retry),)*
                }
            }

            pub fn description(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $doc,)*
                }
            }
        }
    };
    (@retry retry) => { true };
    (@retry final) => { false };
}

error_codes! {
    Unauthenticated = "UNAUTHENTICATED", 401, final, "no bearer token";
    InvalidToken = "INVALID_TOKEN", 401, final, "the token is malformed or its signature does not verify";
    TokenExpired = "TOKEN_EXPIRED", 401, final, "the token has expired";
    TokenNotYetValid = "TOKEN_NOT_YET_VALID", 401, final, "the token's nbf is in the future";
    WrongIssuer = "WRONG_ISSUER", 401, final, "the token's issuer is not trusted";
    WrongAudience = "WRONG_AUDIENCE", 401, final, "the token is not for this service";
    UnknownKey = "UNKNOWN_KEY", 401, final, "the token names a key (kid) the issuer does not publish";
    AlgorithmNotAllowed = "ALGORITHM_NOT_ALLOWED", 401, final, "the token's algorithm is not the one pinned for its key";
    IssuerUnavailable = "ISSUER_UNAVAILABLE", 503, retry, "an external identity provider cannot be reached: retry";
    InvalidClaims = "INVALID_CLAIMS", 401, final, "the token's claims do not describe a Recobro user";
    NoRole = "NO_ROLE", 403, final, "the token grants no Recobro role";
    AuthConfig = "AUTH_CONFIG", 500, final, "the server's authentication settings are invalid: contact the operator";
    SignatureInvalid = "WEBHOOK_SIGNATURE_INVALID", 401, final, "a signed callback's signature (Standard Webhooks, or a provider's own such as X-Twilio-Signature) is missing or wrong, or a Standard Webhook's is outside its five-minute window";
    Forbidden = "FORBIDDEN", 403, final, "the caller's role may not do this";
    BadInput = "BAD_INPUT", 400, final, "an argument is invalid";
    BadCursor = "BAD_CURSOR", 400, final, "a pagination cursor is malformed or from another list";
    BadRequest = "BAD_REQUEST", 400, final, "the HTTP body is not a GraphQL request";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413, final, "the HTTP body exceeds the size limit";
    GraphqlParseFailed = "GRAPHQL_PARSE_FAILED", 400, final, "the query does not parse";
    GraphqlValidationFailed = "GRAPHQL_VALIDATION_FAILED", 400, final, "the query does not match the schema";
    QueryTooComplex = "QUERY_TOO_COMPLEX", 400, final, "the query exceeds the depth or complexity limit (an introspection query: its size cap)";
    CaseNotFound = "CASE_NOT_FOUND", 404, final, "no such case (or not visible to the caller)";
    TaskNotFound = "TASK_NOT_FOUND", 404, final, "no such task (or not visible to the caller)";
    PartnerNotFound = "PARTNER_NOT_FOUND", 404, final, "no such partner";
    DefinitionNotFound = "DEFINITION_NOT_FOUND", 404, final, "no such process definition";
    NotFound = "NOT_FOUND", 404, final, "no such object";
    Conflict = "CONFLICT", 409, final, "the object's state does not allow this now";
    TaskAlreadyClaimed = "TASK_ALREADY_CLAIMED", 409, final, "another user holds the task";
    TaskNotOpen = "TASK_NOT_OPEN", 409, final, "the task is completed or cancelled";
    PlacementConflict = "PLACEMENT_CONFLICT", 409, final, "the case's placement does not allow this";
    CaseClosed = "CASE_CLOSED", 409, final, "the case is completed or cancelled";
    InvalidModel = "INVALID_MODEL", 400, final, "the BPMN model has problems (see extensions.problems)";
    CommandRejected = "COMMAND_REJECTED", 409, final, "the process does not accept this command now";
    DuplicateExternalRef = "DUPLICATE_EXTERNAL_REF", 409, final, "a case with this external reference exists";
    InvalidAmount = "INVALID_AMOUNT", 400, final, "an amount is not a number, not positive, or more precise than its currency";
    UnknownCurrency = "UNKNOWN_CURRENCY", 400, final, "not an ISO 4217 currency a debt can be in";
    CurrencyMismatch = "CURRENCY_MISMATCH", 400, final, "the amount is not in the case's currency";
    AccountNotFound = "ACCOUNT_NOT_FOUND", 404, final, "no such account on the case (or the case has none)";
    DuplicateAccount = "DUPLICATE_ACCOUNT", 409, final, "an account with this id is already on the case";
    PaymentNotFound = "PAYMENT_NOT_FOUND", 404, final, "no payment with this reference on the case";
    PaymentReferenceReused = "PAYMENT_REFERENCE_REUSED", 409, final, "a payment with this reference is already recorded (with the same or another amount)";
    PaymentAlreadyReversed = "PAYMENT_ALREADY_REVERSED", 409, final, "the payment is already reversed";
    InvalidPromise = "INVALID_PROMISE", 400, final, "a promise to pay is empty, dated in the past, out of date order, or more than the case owes";
    InvalidPlan = "INVALID_PLAN", 400, final, "an installment plan does not add up, starts in the past, has too many or too small instalments, or is more than the case owes";
    PlanNotFound = "PLAN_NOT_FOUND", 404, final, "no installment plan with this id on the case";
    DebtorNotFound = "DEBTOR_NOT_FOUND", 404, final, "no such debtor (or not visible to the caller)";
    DebtorExists = "DEBTOR_EXISTS", 409, final, "a debtor with this id is already registered";
    DebtorNotRegistered = "DEBTOR_NOT_REGISTERED", 409, final, "the debtor is only named by a case: register the debtor's file first";
    DebtorChanged = "DEBTOR_CHANGED", 409, retry, "someone changed the debtor at the same moment: read it again and retry";
    InvalidPhoneNumber = "INVALID_PHONE_NUMBER", 400, final, "not a valid phone number in its country's numbering plan (or no country to read it in)";
    InvalidEmail = "INVALID_EMAIL", 400, final, "a malformed e-mail address";
    UnknownCountry = "UNKNOWN_COUNTRY", 400, final, "not an ISO 3166-1 country code, or not a region (ISO 3166-2) of the country";
    InvalidLanguage = "INVALID_LANGUAGE", 400, final, "not a BCP 47 language tag";
    ChannelNotForContact = "CHANNEL_NOT_FOR_CONTACT", 400, final, "the channel cannot use this kind of contact point (an SMS to an e-mail address)";
    ContactNotFound = "CONTACT_NOT_FOUND", 404, final, "no such contact point, consent or related party on the debtor";
    ConsentAlreadyRevoked = "CONSENT_ALREADY_REVOKED", 409, final, "the consent is already revoked";
    FlagState = "FLAG_STATE", 409, final, "the flag is already set, or not set, or changed later than this change's instant";
    CreditorMismatch = "CREDITOR_MISMATCH", 409, final, "the account is another creditor's than the case's: a case holds one creditor's debts";
    PaymentMustBeReported = "PAYMENT_MUST_BE_REPORTED", 403, final, "the creditor does not let partners take payments: report it with reportPayment for the creditor to confirm";
    PaymentReportNotFound = "PAYMENT_REPORT_NOT_FOUND", 404, final, "no reported payment with this reference on the case";
    PaymentReportDecided = "PAYMENT_REPORT_DECIDED", 409, final, "the reported payment is already confirmed or rejected";
    ReportAmountMismatch = "REPORT_AMOUNT_MISMATCH", 409, final, "a remittance line's amount differs from the partner's reported payment under that reference";
    UnknownTimeZone = "UNKNOWN_TIME_ZONE", 400, final, "not an IANA time zone name";
    InvalidGraceDays = "INVALID_GRACE_DAYS", 400, final, "grace days are a whole number from 0 to 365";
    InvalidSettlementLimit = "INVALID_SETTLEMENT_LIMIT", 400, final, "a settlement limit is a percentage from 0 to 100";
    InvalidAllocationOrder = "INVALID_ALLOCATION_ORDER", 400, final, "an allocation order names each of costs, fees, interest and principal exactly once";
    PartnerPaymentsForbidden = "PARTNER_PAYMENTS_FORBIDDEN", 400, final, "the creditor's jurisdiction does not let partners take payments (Mexico: CONDUSEF)";
    JobNotFound = "JOB_NOT_FOUND", 404, final, "no such job waiting (or not the caller's tenant's)";
    TemplateNotFound = "TEMPLATE_NOT_FOUND", 404, final, "no such message template for the creditor, channel and language (nor a built-in one)";
    InvalidTemplate = "INVALID_TEMPLATE", 400, final, "the template does not parse, names a variable a message cannot have, or lacks the opt-out text its channel requires";
    ContactAttemptConflict = "CONTACT_ATTEMPT_CONFLICT", 409, final, "the contact attempt does not exist on the case, or one with this key is already recorded";
    JobLockLost = "JOB_LOCK_LOST", 409, final, "the worker no longer holds the job: its lock expired and another worker may have it";
    ContactBlocked = "CONTACT_BLOCKED", 409, final, "the compliance gate blocks this contact now: `blocks` names each rule and its legal reference, `nextLawfulSlot` when it is next allowed (null: not while the facts hold)";
    UnknownJurisdiction = "UNKNOWN_JURISDICTION", 409, final, "no rule pack covers the debtor's country: contact is refused until one is deployed (fail safe)";
    IdentityNotVerified = "IDENTITY_NOT_VERIFIED", 400, final, "a voice bot reports a promise to pay from someone whose identity it did not verify: the job stays open for a corrected answer";
    DocumentNotFound = "DOCUMENT_NOT_FOUND", 404, final, "no such document (or not visible to the caller)";
    UploadNotFound = "UPLOAD_NOT_FOUND", 404, final, "no such pending upload (or already confirmed)";
    UploadExpired = "UPLOAD_EXPIRED", 410, final, "the upload link expired before the upload was confirmed";
    UploadInterrupted = "UPLOAD_INTERRUPTED", 400, retry, "the upload's body ended early or failed";
    DocumentTooLarge = "DOCUMENT_TOO_LARGE", 413, final, "the file exceeds the size limit";
    DocumentTypeNotAllowed = "DOCUMENT_TYPE_NOT_ALLOWED", 415, final, "the file's bytes are not of an accepted type";
    ChecksumMismatch = "CHECKSUM_MISMATCH", 400, final, "the stored bytes do not hash to the declared SHA-256";
    SizeMismatch = "SIZE_MISMATCH", 400, final, "the stored object does not have the declared size";
    ObjectMissing = "OBJECT_MISSING", 409, final, "the document's object is missing from the store";
    LinkInvalid = "LINK_INVALID", 403, final, "the signed link is malformed or tampered with";
    LinkExpired = "LINK_EXPIRED", 403, final, "the signed link has expired";
    LegalHold = "LEGAL_HOLD", 409, final, "a legal hold forbids this";
    RetentionActive = "RETENTION_ACTIVE", 409, final, "the retention period has not passed";
    RetentionDuty = "RETENTION_DUTY", 409, final, "a statutory retention duty forbids erasure";
    DocumentState = "DOCUMENT_STATE", 409, final, "the document's state does not allow this";
    SigningKeyUnusable = "SIGNING_KEY_UNUSABLE", 500, final, "the document links' signing key cannot be used: contact the operator";
    StoreUnavailable = "STORE_UNAVAILABLE", 503, retry, "the object store cannot be reached: retry";
    StoreError = "STORE_ERROR", 500, retry, "the object store failed: retry later";
    Contended = "CONTENDED", 503, retry, "the case is busy: retry";
    Unavailable = "UNAVAILABLE", 503, retry, "the service is temporarily unavailable: retry";
    StorageError = "STORAGE_ERROR", 500, retry, "the database failed: retry later";
    CorruptData = "CORRUPT_DATA", 500, final, "stored data is unreadable: contact the operator";
    Internal = "INTERNAL", 500, final, "an unexpected error";
}

impl ErrorCode {
    /// The code named `code`, if the table has it.
    pub fn parse(code: &str) -> Option<ErrorCode> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// A failure on the server's side: its detail belongs in the log, not in the answer.
    pub fn is_server_fault(self) -> bool {
        self.http_status() == 500
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error that can reach an API client.
pub trait ApiError: std::error::Error {
    fn code(&self) -> ErrorCode;

    fn http_status(&self) -> u16 {
        self.code().http_status()
    }

    fn retryable(&self) -> bool {
        self.code().retryable()
    }

    /// What the client is told: the error's own message, except for faults on the
    /// server's side, whose detail (SQL, paths, provider answers) only the log gets.
    fn public_message(&self) -> String {
        let code = self.code();
        if code.is_server_fault() {
            tracing::error!(code = code.as_str(), error = %self, "request failed on the server's side");
            code.description().to_string()
        } else {
            self.to_string()
        }
    }

    /// Structured detail a client can act on (e.g. the problems of an invalid model):
    /// fields the API adds to the error's extensions beside `code`.
    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert!(
                code.as_str()
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
    }
}
