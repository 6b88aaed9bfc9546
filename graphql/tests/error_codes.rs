//! The one error registry: every variant of every error type that can reach a client
//! answers with a code, HTTP status and retryability from `ErrorCode`, and `docs/api.md`
//! documents exactly that table.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Debug;
use std::mem::discriminant;

use bpmn::engine::{EngineError, MigrationError};
use collections::allocation::AllocationError;
use collections::creditor::SettingsError;
use collections::debtor::Country;
use collections::debtor::{Channel, ConsentId, ContactId, ContactKind, DebtorError, FlagKind};
use collections::ledger::LedgerError;
use collections::money::MoneyError;
use collections::promise::PromiseError;
use collections::schedule::PlanError;
use collections::template::TemplateError;
use contact::ContactError;
use documents::DocumentError;
use documents::store::{KeyFileError, ObjectStoreError};
use graphql::auth::{ApiClientError, AuthError};
use services::access::{PrincipalError, Role};
use services::case::ApplyError;
use services::desk::DeskError;
use services::error_code::{ApiError, ErrorCode};
use services::runtime::RuntimeError;
use services::store::StoreError;
use strum::EnumCount;

fn db_error() -> sea_orm::DbErr {
    sea_orm::DbErr::Custom("connection reset".into())
}

fn store_errors() -> Vec<StoreError> {
    vec![
        StoreError::Conflict("c".into()),
        StoreError::DuplicateExternalRef {
            tenant: "t".into(),
            external_ref: "r".into(),
        },
        StoreError::Corrupt("bad json".into()),
        StoreError::Db(db_error()),
    ]
}

fn money_errors() -> Vec<MoneyError> {
    vec![
        MoneyError::UnknownCurrency("XYZ".into()),
        MoneyError::NotACurrencyOfAccount("XAU".into()),
        MoneyError::NotANumber("NaN".into()),
        MoneyError::TooPrecise {
            amount: "10.123".into(),
            currency: "COP",
            minor_units: 2,
        },
        MoneyError::OutOfRange("1e30".into()),
        MoneyError::CurrencyMismatch {
            left: "USD",
            right: "EUR",
        },
        MoneyError::NotPositive("0.00 USD".into()),
    ]
}

fn allocation_errors() -> Vec<AllocationError> {
    let mut all = vec![
        AllocationError::NotAnOrder,
        AllocationError::NegativeOwed("L-1".into()),
    ];
    all.extend(money_errors().into_iter().map(AllocationError::Money));
    all
}

fn promise_errors() -> Vec<PromiseError> {
    let day = chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
    let mut all = vec![
        PromiseError::Empty,
        PromiseError::DueInThePast {
            due: day,
            today: day.succ_opt().unwrap(),
        },
        PromiseError::DatesNotIncreasing(day),
    ];
    all.extend(money_errors().into_iter().map(PromiseError::Money));
    all
}

fn plan_errors() -> Vec<PlanError> {
    let mut all = vec![
        PlanError::InstalmentCount(0),
        PlanError::DownPaymentTooLarge {
            down: "2.00 USD".into(),
            total: "1.00 USD".into(),
        },
        PlanError::DownPaymentNotFirst,
        PlanError::InstalmentsTooSmall {
            total: "0.02 USD".into(),
            count: 3,
        },
        PlanError::DoesNotAddUp {
            sum: "1.00 USD".into(),
            total: "2.00 USD".into(),
        },
        PlanError::DatesNotIncreasing(2),
        PlanError::DateOutOfRange,
    ];
    all.extend(money_errors().into_iter().map(PlanError::Money));
    all
}

fn ledger_errors() -> Vec<LedgerError> {
    let mut all = vec![
        LedgerError::DuplicateAccount("L-1".into()),
        LedgerError::UnknownAccount("L-9".into()),
        LedgerError::CurrencyNotOfCase {
            case: "COP",
            account: "USD",
        },
        LedgerError::NoAccounts,
        LedgerError::ReferenceReused {
            reference: "P-1".into(),
            recorded: "1.00 USD".into(),
            now: "2.00 USD".into(),
        },
        LedgerError::UnknownPayment("P-9".into()),
        LedgerError::AlreadyReversed("P-1".into()),
        LedgerError::BadReference,
        LedgerError::NothingOwed,
        LedgerError::PromiseNotOpen(3),
        LedgerError::PlanExceedsBalance {
            planned: "2.00 USD".into(),
            owed: "1.00 USD".into(),
        },
        LedgerError::PlanStartsInThePast(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        LedgerError::PlanRunning(1),
        LedgerError::PlanState {
            plan: 1,
            status: "completed",
            expected: "offered",
        },
        LedgerError::UnknownPlan(9),
        LedgerError::NoDiscount,
        LedgerError::PromiseExceedsBalance {
            promised: "2.00 USD".into(),
            owed: "1.00 USD".into(),
        },
        LedgerError::CreditorNotOfCase {
            case: "bank".into(),
            account: "other".into(),
        },
        LedgerError::ReportPending("R-1".into()),
        LedgerError::AlreadyReported("R-1".into()),
        LedgerError::UnknownReport("R-9".into()),
        LedgerError::ReportDecided {
            reference: "R-1".into(),
            status: "confirmed",
        },
    ];
    all.extend(money_errors().into_iter().map(LedgerError::Money));
    all.extend(promise_errors().into_iter().map(LedgerError::Promise));
    all.extend(plan_errors().into_iter().map(LedgerError::Plan));
    all.extend(allocation_errors().into_iter().map(LedgerError::Allocation));
    all
}

fn settings_errors() -> Vec<SettingsError> {
    vec![
        SettingsError::UnknownTimeZone("Mars/Olympus".into()),
        SettingsError::GraceDays(-1),
        SettingsError::SettlementLimit(101),
        SettingsError::AllocationOrder,
        SettingsError::UnknownCountry("ZZ".into()),
        SettingsError::PartnerPaymentsForbidden(Country::from_code("MX").unwrap()),
        SettingsError::BadCreditorId,
    ]
}

fn apply_errors() -> Vec<ApplyError> {
    let mut all = vec![
        ApplyError::NoCase("c".into()),
        ApplyError::AlreadyOpen("c".into()),
        ApplyError::UnknownDefinition(7),
        ApplyError::Engine(EngineError::UnknownProcess("p".into())),
        ApplyError::Migration(MigrationError::UnknownProcess("p".into())),
        ApplyError::NoOpenTask(3),
        ApplyError::AlreadyClaimed {
            task: 3,
            by: "alex".into(),
        },
        ApplyError::Closed,
        ApplyError::Placement("not placed".into()),
        ApplyError::PaymentRepeated("P-1".into()),
        ApplyError::Contact("contact attempt 9 does not exist".into()),
    ];
    all.extend(ledger_errors().into_iter().map(ApplyError::Ledger));
    all
}

fn runtime_errors() -> Vec<RuntimeError> {
    let mut all = vec![
        RuntimeError::UnknownCase("c".into()),
        RuntimeError::UnknownDefinition("d".into()),
        RuntimeError::InvalidModel("m".into()),
        RuntimeError::Contended("c".into()),
        RuntimeError::Corrupt("c".into()),
        RuntimeError::Unavailable("u".into()),
    ];
    all.extend(apply_errors().into_iter().map(RuntimeError::Rejected));
    all.extend(store_errors().into_iter().map(RuntimeError::Store));
    all
}

fn desk_errors() -> Vec<DeskError> {
    let mut all = vec![
        DeskError::Forbidden {
            role: Role::Partner,
            what: "deploy processes",
        },
        DeskError::CaseNotFound("c".into()),
        DeskError::TaskNotFound("t".into()),
        DeskError::PartnerNotFound("p".into()),
        DeskError::DefinitionNotFound("d".into()),
        DeskError::Invalid("i".into()),
        DeskError::Conflict("c".into()),
        DeskError::InvalidModel(Vec::new()),
        DeskError::DebtorNotFound("d".into()),
        DeskError::DebtorExists("d".into()),
        DeskError::DebtorNotRegistered("d".into()),
        DeskError::DebtorChanged("d".into()),
        DeskError::JobNotFound(42),
        DeskError::JobLockLost {
            job: 42,
            worker: "w1".into(),
        },
        DeskError::IdentityNotVerified(42),
        DeskError::ContactBlocked(Box::new(blocked(None))),
        DeskError::ContactBlocked(Box::new(blocked(Some(
            collections::compliance::GateRefusal::UnknownJurisdiction {
                country: "PE".into(),
            },
        )))),
        DeskError::PaymentMustBeReported("banco-mx".into()),
    ];
    all.extend(settings_errors().into_iter().map(DeskError::Settings));
    all.extend(runtime_errors().into_iter().map(DeskError::Runtime));
    all.extend(debtor_errors().into_iter().map(DeskError::Debtor));
    all.extend(money_errors().into_iter().map(DeskError::Money));
    all
}

fn debtor_errors() -> Vec<DebtorError> {
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    vec![
        DebtorError::Blank {
            field: "the debtor's name",
        },
        DebtorError::InvalidPhoneNumber {
            input: "+1 212".into(),
            reason: "too short",
        },
        DebtorError::PhoneNeedsCountry("310 1234567".into()),
        DebtorError::UnknownCountry("XX".into()),
        DebtorError::UnknownRegion {
            country: "US".into(),
            region: "ZZ".into(),
        },
        DebtorError::MalformedEmail {
            input: "a@".into(),
            reason: "no domain",
        },
        DebtorError::InvalidLanguageTag("spanish".into()),
        DebtorError::UnknownTimeZone("Mars/Olympus".into()),
        DebtorError::ChannelNotForContact {
            channel: Channel::Sms,
            kind: ContactKind::Email,
        },
        DebtorError::UnknownContact(ContactId(9)),
        DebtorError::UnknownConsent(ConsentId(9)),
        DebtorError::ConsentAlreadyRevoked {
            consent: ConsentId(0),
            at,
        },
        DebtorError::RevokedBeforeGiven {
            consent: ConsentId(0),
            given_at: at,
            at,
        },
        DebtorError::FlagAlreadySet {
            flag: FlagKind::Dispute,
            since: at,
        },
        DebtorError::FlagNotSet {
            flag: FlagKind::Dispute,
            at,
        },
        DebtorError::FlagOutOfOrder {
            flag: FlagKind::Dispute,
            at,
            last: at,
        },
        DebtorError::NotRegistered,
        DebtorError::AlreadyRegistered,
        DebtorError::UnknownParty(3),
    ]
}

fn key_error() -> KeyFileError {
    KeyFileError {
        path: "/data/documents/.signing-key".into(),
        reason: "too short".into(),
    }
}

fn object_store_errors() -> Vec<ObjectStoreError> {
    vec![
        ObjectStoreError::Unavailable("timeout".into()),
        ObjectStoreError::Refused("access denied".into()),
        ObjectStoreError::Io("disk full".into()),
        ObjectStoreError::SigningKey(key_error()),
    ]
}

fn document_errors() -> Vec<DocumentError> {
    use DocumentError as E;
    let mut all = vec![
        E::Forbidden {
            role: Role::Auditor,
            what: "upload documents",
        },
        E::CaseNotFound("c".into()),
        E::NotFound("d".into()),
        E::UploadNotFound("u".into()),
        E::UploadExpired("u".into()),
        E::TooLarge { limit: 10 },
        E::TypeNotAllowed("application/x-msdownload".into()),
        E::Invalid("i".into()),
        E::ChecksumMismatch,
        E::SizeMismatch {
            declared: 1,
            actual: 2,
        },
        E::ObjectMissing("o".into()),
        E::LinkInvalid,
        E::LinkExpired,
        E::LegalHold,
        E::RetentionActive(chrono::DateTime::UNIX_EPOCH),
        E::RetentionDuty("court".into()),
        E::WrongState("w".into()),
        E::SigningKey(key_error()),
        E::Interrupted("reset".into()),
    ];
    all.extend(object_store_errors().into_iter().map(E::Store));
    all.extend(desk_errors().into_iter().map(E::Desk));
    all
}

fn auth_errors() -> Vec<AuthError> {
    vec![
        AuthError::Unauthenticated,
        AuthError::InvalidToken("not a JWT".into()),
        AuthError::TokenExpired,
        AuthError::TokenNotYetValid,
        AuthError::WrongIssuer,
        AuthError::WrongAudience,
        AuthError::UnknownKey,
        AuthError::AlgorithmNotAllowed,
        AuthError::IssuerUnavailable("connect refused".into()),
        AuthError::InvalidClaims("no sub".into()),
        AuthError::NoRole,
        AuthError::Config("two issuers".into()),
        AuthError::Storage("db".into()),
        AuthError::Key("pem".into()),
    ]
}

fn api_client_errors() -> Vec<ApiClientError> {
    let mut all = vec![
        ApiClientError::InvalidClient,
        ApiClientError::NotFound("c".into()),
        ApiClientError::Principal(PrincipalError::PartnerMissing),
        ApiClientError::Corrupt("c".into(), "bad hash".into()),
        ApiClientError::Hash("h".into()),
        ApiClientError::Db(db_error()),
    ];
    all.extend(desk_errors().into_iter().map(ApiClientError::Desk));
    all
}

fn template_errors() -> Vec<TemplateError> {
    vec![
        TemplateError::Syntax("unexpected end of input (line 1)".into()),
        TemplateError::Undefined {
            variable: "debtor.nmae".into(),
        },
        TemplateError::Render("money: 1.5 is not an exact amount".into()),
        TemplateError::OptOutMissing { channel: "SMS" },
    ]
}

fn contact_errors() -> Vec<ContactError> {
    let mut all = vec![
        ContactError::TemplateNotFound {
            name: "reminder-9".into(),
            channel: "sms".into(),
        },
        ContactError::Invalid("an e-mail template needs a subject".into()),
    ];
    all.extend(template_errors().into_iter().map(ContactError::Template));
    all.extend(desk_errors().into_iter().map(ContactError::Desk));
    all
}

/// The samples hold one of each variant of `E` (`variants` = its variant count).
fn covers_every_variant<E: Debug>(name: &str, samples: &[E], variants: usize) {
    let kinds: HashSet<_> = samples.iter().map(discriminant).collect();
    assert_eq!(
        kinds.len(),
        variants,
        "{name}: {variants} variants, samples of {}: add the new variant's sample",
        kinds.len()
    );
}

/// `| `CODE` | status | yes/no | meaning |` rows of docs/api.md's error table.
fn documented() -> BTreeMap<String, (u16, bool)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md");
    let text = std::fs::read_to_string(path).expect("read docs/api.md");
    let mut rows = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 5 || !cells[1].starts_with('`') {
            continue;
        }
        let code = cells[1].trim_matches('`').to_string();
        let status: u16 = cells[2].parse().expect("an HTTP status");
        let retry = match cells[3] {
            "yes" => true,
            "no" => false,
            other => panic!("{code}: retry column says {other:?}"),
        };
        assert!(
            rows.insert(code.clone(), (status, retry)).is_none(),
            "{code} documented twice"
        );
    }
    rows
}

fn registry_table() -> String {
    let mut out = String::from("| code | HTTP | retry | meaning |\n|---|---|---|---|\n");
    for code in ErrorCode::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            code.as_str(),
            code.http_status(),
            if code.retryable() { "yes" } else { "no" },
            code.description()
        ));
    }
    out
}

#[test]
fn docs_list_exactly_the_registry() {
    let docs = documented();
    let registry: BTreeMap<String, (u16, bool)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), (c.http_status(), c.retryable())))
        .collect();
    assert!(
        docs == registry,
        "docs/api.md's error table differs from services::error_code; it should read:\n{}",
        registry_table()
    );
}

fn check_codes<E: ApiError>(name: &str, samples: &[E], docs: &BTreeMap<String, (u16, bool)>) {
    for e in samples {
        let code = e.code();
        assert_eq!(
            docs.get(code.as_str()),
            Some(&(e.http_status(), e.retryable())),
            "{name}: {e:?} answers {code}, which docs/api.md does not list as such"
        );
        let message = e.public_message();
        assert!(!message.is_empty(), "{name}: {e:?} has no message");
        if code.is_server_fault() {
            assert_eq!(message, code.description(), "{e:?}: detail would leak");
        }
    }
}

#[test]
fn every_variant_of_every_api_error_is_documented() {
    covers_every_variant("MoneyError", &money_errors(), MoneyError::COUNT);
    covers_every_variant(
        "AllocationError",
        &allocation_errors(),
        AllocationError::COUNT,
    );
    covers_every_variant("PromiseError", &promise_errors(), PromiseError::COUNT);
    covers_every_variant("PlanError", &plan_errors(), PlanError::COUNT);
    covers_every_variant("LedgerError", &ledger_errors(), LedgerError::COUNT);
    covers_every_variant("SettingsError", &settings_errors(), SettingsError::COUNT);
    covers_every_variant("StoreError", &store_errors(), StoreError::COUNT);
    covers_every_variant("ApplyError", &apply_errors(), ApplyError::COUNT);
    covers_every_variant("RuntimeError", &runtime_errors(), RuntimeError::COUNT);
    covers_every_variant("DebtorError", &debtor_errors(), DebtorError::COUNT);
    covers_every_variant("DeskError", &desk_errors(), DeskError::COUNT);
    covers_every_variant(
        "ObjectStoreError",
        &object_store_errors(),
        ObjectStoreError::COUNT,
    );
    covers_every_variant("DocumentError", &document_errors(), DocumentError::COUNT);
    covers_every_variant("AuthError", &auth_errors(), AuthError::COUNT);
    covers_every_variant(
        "ApiClientError",
        &api_client_errors(),
        ApiClientError::COUNT,
    );
    covers_every_variant("TemplateError", &template_errors(), TemplateError::COUNT);
    covers_every_variant("ContactError", &contact_errors(), ContactError::COUNT);
    let docs = documented();
    check_codes("MoneyError", &money_errors(), &docs);
    check_codes("ContactError", &contact_errors(), &docs);
    check_codes("LedgerError", &ledger_errors(), &docs);
    check_codes("SettingsError", &settings_errors(), &docs);
    check_codes("RuntimeError", &runtime_errors(), &docs);
    check_codes("DeskError", &desk_errors(), &docs);
    check_codes("DocumentError", &document_errors(), &docs);
    check_codes("AuthError", &auth_errors(), &docs);
    check_codes("ApiClientError", &api_client_errors(), &docs);
}

/// The codes the API layer raises itself for async-graphql's own errors are in the
/// registry too, by construction; this pins which messages give which.
#[test]
fn engine_errors_get_their_codes() {
    use graphql::errors::code_for_engine_error;
    assert_eq!(
        code_for_engine_error("Query is nested too deep."),
        ErrorCode::QueryTooComplex
    );
    assert_eq!(
        code_for_engine_error(" --> 1:3\n  |\n1 | { me\n  |   ^---"),
        ErrorCode::GraphqlParseFailed
    );
    assert_eq!(
        code_for_engine_error("Unknown field \"x\" on type \"Query\"."),
        ErrorCode::GraphqlValidationFailed
    );
}

/// A gate decision blocking a contact: by a rule, or refused outright.
fn blocked(
    refusal: Option<collections::compliance::GateRefusal>,
) -> collections::compliance::Decision {
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    collections::compliance::Decision {
        at,
        packs: Vec::new(),
        blocks: match refusal {
            Some(_) => Vec::new(),
            None => vec![collections::compliance::Block {
                pack: collections::compliance::PackRef {
                    id: "co-ley-2300".into(),
                    version: 1,
                },
                rule: "hours".into(),
                reference: "Ley 2300 de 2023 art. 3".into(),
                reason: "outside the permitted hours".into(),
            }],
        },
        next_slot: refusal.is_none().then_some(at),
        refusal,
        basis: Default::default(),
    }
}
