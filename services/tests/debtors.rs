//! Debtors' files through the desk: registration with contacts and consents, changes
//! checked against the file, refusals that write nothing, retries by idempotency key, a
//! hash chain that shows an edit — on SQLite and PostgreSQL.

use chrono::Duration;
use collections::debtor::{
    Channel, ConsentGrant, ConsentId, ConsentMethod, ContactId, ContactOwner, ContactPoint,
    DebtorChange, DebtorKind, Email, FlagKind, Jurisdiction, Made, Phone, Relationship,
};
use orm::entities::{debtor_changes, debtors};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use services::access::{Principal, Role};
use services::clock::Clock;
use services::desk::{Desk, DeskError, NewCase};
use services::error_code::ApiError;

use crate::support::{clock, on_both, runtime};

const WAIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:userTask id="call" />
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"#;

fn code(e: DeskError) -> &'static str {
    e.code().as_str()
}

fn registered(name: &str) -> DebtorChange {
    DebtorChange::Registered {
        kind: DebtorKind::Person,
        name: name.into(),
        jurisdiction: Jurisdiction::new("CO", None).unwrap(),
    }
}

fn phone(number: &str, consents: Vec<ConsentGrant>) -> DebtorChange {
    DebtorChange::ContactAdded {
        owner: ContactOwner::Debtor,
        point: ContactPoint::Phone(Phone::parse(number, None).unwrap()),
        consents,
    }
}

async fn file_len(db: &DatabaseConnection, debtor: &str) -> u64 {
    debtor_changes::Entity::find()
        .filter(debtor_changes::Column::DebtorId.eq(debtor))
        .count(db)
        .await
        .unwrap()
}

async fn debtors_are_files_of_changes(db: &DatabaseConnection) {
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    let auditor = Principal::new("ada", "acme", Role::Auditor, None, vec![]).unwrap();
    let now = clock.now();
    let sms = ConsentGrant {
        channel: Channel::Sms,
        given_at: now - Duration::days(30),
        how: ConsentMethod::ContractClause,
        given_by: "debtor".into(),
    };

    // Registered with a phone and its SMS consent in one request: one change each.
    let out = desk
        .register_debtor(
            &agent,
            "D-1",
            vec![
                registered("Ana Pérez"),
                phone("+57 310 1234567", vec![sms.clone()]),
            ],
            Some("reg-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(out.made, vec![Made::Contact(ContactId(0))]);
    assert_eq!(out.debtor.row.version, 2);
    let file = out.debtor.file.clone().unwrap();
    assert!(file.authorised(ContactId(0), Channel::Sms, now).unwrap());
    assert!(!file.authorised(ContactId(0), Channel::Call, now).unwrap());
    // The retry answers the same and writes nothing; a second registration is refused.
    let again = desk
        .register_debtor(
            &agent,
            "D-1",
            vec![registered("Ana Pérez"), phone("+57 310 1234567", vec![sms])],
            Some("reg-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(again.debtor.row.version, 2);
    assert_eq!(
        code(
            desk.register_debtor(&agent, "D-1", vec![registered("Ana")], None)
                .await
                .unwrap_err()
        ),
        "DEBTOR_EXISTS"
    );
    assert_eq!(file_len(db, "D-1").await, 2);

    // Refusals with their codes, each writing nothing.
    let revoke_unknown = DebtorChange::ConsentRevoked {
        owner: ContactOwner::Debtor,
        contact: ContactId(0),
        consent: ConsentId(7),
        at: now,
        by: "debtor".into(),
    };
    let email_consent_on_phone = DebtorChange::ConsentGiven {
        owner: ContactOwner::Debtor,
        contact: ContactId(0),
        channel: Channel::Email,
        given_at: now,
        how: ConsentMethod::Written,
        given_by: "debtor".into(),
    };
    let future_flag = DebtorChange::FlagSet {
        flag: FlagKind::Dispute,
        at: now + Duration::hours(1),
        by: "alex".into(),
        reason: "letter".into(),
    };
    let clear_unset = DebtorChange::FlagCleared {
        flag: FlagKind::Dispute,
        at: now,
        by: "alex".into(),
        reason: "verified".into(),
    };
    for (changes, want) in [
        (vec![revoke_unknown], "CONTACT_NOT_FOUND"),
        (vec![email_consent_on_phone], "CHANNEL_NOT_FOR_CONTACT"),
        (vec![future_flag], "BAD_INPUT"),
        (vec![clear_unset], "FLAG_STATE"),
        // All or nothing: a good change before a bad one is not kept either.
        (
            vec![
                DebtorChange::Renamed {
                    name: "Ana P.".into(),
                },
                DebtorChange::Renamed { name: " ".into() },
            ],
            "BAD_INPUT",
        ),
        (vec![registered("Ana")], "DEBTOR_EXISTS"),
    ] {
        assert_eq!(
            code(
                desk.change_debtor(&sup, "D-1", changes, None)
                    .await
                    .unwrap_err()
            ),
            want
        );
    }
    assert_eq!(file_len(db, "D-1").await, 2);
    assert_eq!(
        desk.debtor(&sup, "D-1").await.unwrap().row.name,
        "Ana Pérez"
    );
    assert_eq!(
        code(
            desk.change_debtor(
                &sup,
                "D-404",
                vec![DebtorChange::Renamed { name: "X".into() }],
                None
            )
            .await
            .unwrap_err()
        ),
        "DEBTOR_NOT_FOUND"
    );

    // A dispute raised, then cleared; the history keeps both, with who and why.
    let dispute = DebtorChange::FlagSet {
        flag: FlagKind::Dispute,
        at: now,
        by: "alex".into(),
        reason: "debtor says the loan was repaid".into(),
    };
    desk.change_debtor(&agent, "D-1", vec![dispute], None)
        .await
        .unwrap();
    clock.advance(Duration::days(2));
    let later = clock.now();
    let cleared = DebtorChange::FlagCleared {
        flag: FlagKind::Dispute,
        at: later,
        by: "sam".into(),
        reason: "statement sent".into(),
    };
    let out = desk
        .change_debtor(&sup, "D-1", vec![cleared], None)
        .await
        .unwrap();
    let flags = &out.debtor.file.as_ref().unwrap().flags;
    assert!(flags.is_active(FlagKind::Dispute, now));
    assert!(!flags.is_active(FlagKind::Dispute, later));
    assert_eq!(flags.history().len(), 2);

    // A guarantor with an e-mail, and an employer recorded only so it is never told.
    let guarantor = DebtorChange::PartyAdded {
        relationship: Relationship::Guarantor,
        kind: DebtorKind::Person,
        name: "Luis Pérez".into(),
        contacts: Vec::new(),
    };
    let out = desk
        .change_debtor(&agent, "D-1", vec![guarantor], Some("party-1".into()))
        .await
        .unwrap();
    assert_eq!(out.made, vec![Made::Party(0)]);
    let email = DebtorChange::ContactAdded {
        owner: ContactOwner::Party(0),
        point: ContactPoint::Email(Email::parse("luis@example.co").unwrap()),
        consents: Vec::new(),
    };
    let out = desk
        .change_debtor(&agent, "D-1", vec![email], None)
        .await
        .unwrap();
    assert_eq!(out.made, vec![Made::Contact(ContactId(0))]);
    // Retrying the party with its key answers the party made then, not a new one.
    let retried = desk
        .change_debtor(
            &agent,
            "D-1",
            vec![DebtorChange::PartyAdded {
                relationship: Relationship::Guarantor,
                kind: DebtorKind::Person,
                name: "Luis Pérez".into(),
                contacts: Vec::new(),
            }],
            Some("party-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(retried.made, vec![Made::Party(0)]);
    assert_eq!(retried.debtor.file.unwrap().related.len(), 1);
    assert_eq!(
        code(
            desk.change_debtor(
                &agent,
                "D-2",
                vec![DebtorChange::Renamed { name: "X".into() }],
                Some("party-1".into())
            )
            .await
            .unwrap_err()
        ),
        "CONFLICT"
    );

    // Auditors read the file, chain verified, and change nothing.
    assert_eq!(
        code(
            desk.change_debtor(
                &auditor,
                "D-1",
                vec![DebtorChange::Renamed { name: "X".into() }],
                None
            )
            .await
            .unwrap_err()
        ),
        "FORBIDDEN"
    );
    let history = desk.debtor_file(&auditor, "D-1").await.unwrap();
    assert_eq!(history.problem, None);
    let kinds: Vec<&str> = history
        .entries
        .iter()
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "Registered",
            "ContactAdded",
            "FlagSet",
            "FlagCleared",
            "PartyAdded",
            "ContactAdded"
        ]
    );
    assert_eq!(history.entries[2].actor, "agent:alex");

    // Another writer got in first (its change took the next seq after this request
    // read the debtor): refused as DEBTOR_CHANGED, retryable, and this change is not
    // half-applied.
    let version = desk.debtor(&sup, "D-1").await.unwrap().row.version;
    let intruder =
        debtor_changes::Entity::find_by_id(("acme".to_string(), "D-1".to_string(), version))
            .one(db)
            .await
            .unwrap()
            .unwrap();
    debtor_changes::Entity::insert(debtor_changes::ActiveModel {
        seq: sea_orm::Set(version + 1),
        request_key: sea_orm::Set(None),
        ..sea_orm::IntoActiveModel::into_active_model(intruder)
    })
    .exec(db)
    .await
    .unwrap();
    let err = desk
        .change_debtor(
            &sup,
            "D-1",
            vec![DebtorChange::Renamed {
                name: "Ana María Pérez".into(),
            }],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(code(err), "DEBTOR_CHANGED");
    assert!(services::error_code::ErrorCode::DebtorChanged.retryable());
    let row = desk.debtor(&sup, "D-1").await.unwrap();
    assert_eq!(
        (row.row.name.as_str(), row.row.version),
        ("Ana Pérez", version)
    );
    debtor_changes::Entity::delete_by_id(("acme".to_string(), "D-1".to_string(), version + 1))
        .exec(db)
        .await
        .unwrap();

    // An edit made behind the desk's back shows in the chain.
    debtor_changes::Entity::update_many()
        .col_expr(
            debtor_changes::Column::Change,
            Expr::value(r#"{"change":"flag_set","flag":"dispute","at":"2026-01-05T08:00:00Z","by":"alex","reason":"nothing"}"#),
        )
        .filter(debtor_changes::Column::DebtorId.eq("D-1"))
        .filter(debtor_changes::Column::Seq.eq(3))
        .exec(db)
        .await
        .unwrap();
    let history = desk.debtor_file(&auditor, "D-1").await.unwrap();
    assert!(history.problem.unwrap().contains('3'));
}

async fn cases_name_debtors_and_files_take_over(db: &DatabaseConnection) {
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let partner = Principal::new(
        "pat",
        "acme",
        Role::Partner,
        Some("agency-north".into()),
        vec![],
    )
    .unwrap();
    desk.deploy(&sup, "wait.bpmn", WAIT).await.unwrap();
    let open = |name: &str| NewCase {
        process_id: "wait".into(),
        debtor_id: Some("D-7".into()),
        debtor_name: Some(name.into()),
        ..NewCase::default()
    };
    desk.open_case(&sup, open("Bea")).await.unwrap();
    // Named by a case only: readable, but not yet a file to change.
    let named = desk.debtor(&sup, "D-7").await.unwrap();
    assert_eq!(
        (named.row.name.as_str(), named.file.is_none()),
        ("Bea", true)
    );
    assert_eq!(
        code(
            desk.change_debtor(&sup, "D-7", vec![phone("+57 310 1234567", vec![])], None)
                .await
                .unwrap_err()
        ),
        "DEBTOR_NOT_REGISTERED"
    );
    desk.register_debtor(&sup, "D-7", vec![registered("Beatriz Gómez")], None)
        .await
        .unwrap();
    // A later case naming the debtor differently does not overwrite the file's name.
    desk.open_case(&sup, open("B. Gomez")).await.unwrap();
    let row = debtors::Entity::find_by_id(("acme".to_string(), "D-7".to_string()))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.name, "Beatriz Gómez");
    // A partner with no case of the debtor placed with it cannot tell it exists.
    for result in [
        desk.debtor(&partner, "D-7").await.map(|_| ()),
        desk.change_debtor(
            &partner,
            "D-7",
            vec![phone("+57 310 1234567", vec![])],
            None,
        )
        .await
        .map(|_| ()),
    ] {
        assert_eq!(code(result.unwrap_err()), "DEBTOR_NOT_FOUND");
    }
    assert!(
        desk.list_debtors(&partner, None, None, None)
            .await
            .unwrap()
            .debtors
            .is_empty()
    );
    let page = desk
        .list_debtors(&sup, Some("Beatriz"), None, None)
        .await
        .unwrap();
    assert_eq!(page.debtors.len(), 1);
}

on_both!(debtors_files, debtors_are_files_of_changes);
on_both!(debtors_from_cases, cases_name_debtors_and_files_take_over);
