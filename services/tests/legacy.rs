//! The deprecated float `amountDue`: a new case opened with it gets an account holding
//! exactly the amount written, and a case from before the ledger gets the same account,
//! journalled, when the server starts — once — on SQLite and PostgreSQL.

use orm::entities::{case_journal, cases, maintenance_runs};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use services::access::{Principal, Role};
use services::desk::{Desk, DeskError, NewCase};
use services::error_code::ApiError;

use crate::support::{clock, on_both, runtime};

const WAIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="M" name="payment-received" />
  <bpmn:process id="wait" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="paid" />
    <bpmn:intermediateCatchEvent id="paid"><bpmn:messageEventDefinition messageRef="M" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="paid" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"#;

fn code(e: DeskError) -> &'static str {
    e.code().as_str()
}

/// Who opened each account of the case: an `AccountOpened` entry, or the case's first
/// entry when the account came with it.
async fn account_opened_by(db: &DatabaseConnection, case_id: &str) -> Vec<String> {
    let mut by = Vec::new();
    for e in case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(case_id))
        .all(db)
        .await
        .unwrap()
    {
        let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        let with_case = payload["accounts"].as_array().map_or(0, Vec::len);
        let count = if e.event_type == "AccountOpened" {
            1
        } else {
            with_case
        };
        by.extend(std::iter::repeat_n(e.actor.clone(), count));
    }
    by
}

async fn floats_become_accounts(db: &DatabaseConnection) {
    let desk = Desk::new(runtime(db, clock()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    desk.deploy(&sup, "wait.bpmn", WAIT).await.unwrap();
    let open = |amount: Option<f64>, currency: &str, reference: &str| NewCase {
        process_id: "wait".into(),
        external_ref: Some(reference.into()),
        amount_due: amount,
        currency: Some(currency.into()),
        idempotency_key: Some(format!("open-{reference}")),
        ..NewCase::default()
    };

    // 1250.5 as the client wrote it: an account of exactly 1250.50 USD, named by the
    // case's reference; a retry answers the same and opens nothing twice.
    let out = desk
        .open_case(&sup, open(Some(1250.5), "USD", "L-9"))
        .await
        .unwrap();
    let again = desk
        .open_case(&sup, open(Some(1250.5), "USD", "L-9"))
        .await
        .unwrap();
    assert_eq!(
        (again.case_id.as_str(), again.seq),
        (out.case_id.as_str(), out.seq)
    );
    let ledger = desk.ledger(&sup, &out.case_id).await.unwrap().unwrap();
    assert_eq!(ledger.accounts().len(), 1);
    assert_eq!(ledger.accounts()[0].id, "L-9");
    assert_eq!(ledger.balance().to_string(), "1250.50 USD");
    assert_eq!(
        account_opened_by(db, &out.case_id).await,
        ["supervisor:sam"]
    );
    // 0.1 is one tenth, not the float's 0.1000000000000000055…
    let tenth = desk
        .open_case(&sup, open(Some(0.1), "EUR", "L-10"))
        .await
        .unwrap();
    let ledger = desk.ledger(&sup, &tenth.case_id).await.unwrap().unwrap();
    assert_eq!(ledger.balance().minor(), 10);

    // Too precise for the currency, or not a currency: refused, and no case opened.
    let before = cases::Entity::find().count(db).await.unwrap();
    for (amount, currency, want) in [
        (10.123, "COP", "INVALID_AMOUNT"),
        (1000.5, "JPY", "INVALID_AMOUNT"),
        (-5.0, "USD", "BAD_INPUT"),
        (5.0, "XYZ", "UNKNOWN_CURRENCY"),
    ] {
        assert_eq!(
            code(
                desk.open_case(&sup, open(Some(amount), currency, "L-X"))
                    .await
                    .unwrap_err()
            ),
            want,
            "{amount} {currency}"
        );
    }
    assert_eq!(cases::Entity::find().count(db).await.unwrap(), before);
}

async fn cases_before_the_ledger_are_carried_over(db: &DatabaseConnection) {
    let desk = Desk::new(runtime(db, clock()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    desk.deploy(&sup, "wait.bpmn", WAIT).await.unwrap();
    // What a case opened before the ledger looks like: the amount only in variables.
    let mut old = NewCase {
        process_id: "wait".into(),
        external_ref: Some("OLD-1".into()),
        currency: Some("EUR".into()),
        ..NewCase::default()
    };
    old.variables
        .insert("amountDue".into(), serde_json::json!(300.25));
    let old = desk.open_case(&sup, old).await.unwrap().case_id;
    assert!(desk.ledger(&sup, &old).await.unwrap().is_none());
    let with_ledger = desk
        .open_case(
            &sup,
            NewCase {
                process_id: "wait".into(),
                amount_due: Some(10.0),
                currency: Some("EUR".into()),
                ..NewCase::default()
            },
        )
        .await
        .unwrap()
        .case_id;

    assert_eq!(desk.adopt_legacy_debts().await.unwrap(), 1);
    let ledger = desk.ledger(&sup, &old).await.unwrap().unwrap();
    assert_eq!(ledger.balance().to_string(), "300.25 EUR");
    assert_eq!(ledger.accounts()[0].id, "OLD-1");
    assert_eq!(account_opened_by(db, &old).await, ["admin:migration"]);
    assert_eq!(account_opened_by(db, &with_ledger).await.len(), 1);
    // Finished once, remembered: the next start does not scan again.
    assert_eq!(desk.adopt_legacy_debts().await.unwrap(), 0);
    assert_eq!(maintenance_runs::Entity::find().count(db).await.unwrap(), 1);
    assert_eq!(account_opened_by(db, &old).await.len(), 1);
    // The journal alone rebuilds the carried-over ledger.
    let replayed = desk.runtime().replay(&old).await.unwrap().unwrap();
    assert_eq!(replayed.ledger.unwrap().balance().to_string(), "300.25 EUR");
}

on_both!(legacy_floats_become_accounts, floats_become_accounts);
on_both!(
    legacy_cases_carried_over,
    cases_before_the_ledger_are_carried_over
);
