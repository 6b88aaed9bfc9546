//! The ledger through the runtime: accounts opened on a case, payments allocated and
//! journalled, the process told `payment-received` in the same entry, reversals, and
//! refusals that change nothing — on SQLite and PostgreSQL.

use chrono::NaiveDate;
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use orm::entities::{case_journal, cases};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use services::access::{Principal, Role};
use services::desk::{Desk, DeskError, NewCase, NewPayment};
use services::error_code::ApiError;

use crate::support::{clock, on_both, runtime};

/// Waits for `payment-received` until the case is paid in full.
const PAY_UNTIL_PAID: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="M" name="payment-received" />
  <bpmn:process id="pay" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge" />
    <bpmn:exclusiveGateway id="merge" />
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:messageEventDefinition messageRef="M" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="paid" />
    <bpmn:exclusiveGateway id="paid" default="again" />
    <bpmn:sequenceFlow id="full" sourceRef="paid" targetRef="done">
      <bpmn:conditionExpression>= paidInFull</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="again" sourceRef="paid" targetRef="merge" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"#;

fn cop(amount: &str) -> Money {
    Money::parse(amount, Currency::from_code("COP").unwrap()).unwrap()
}

fn loan(id: &str, principal: &str, interest: &str) -> NewAccount {
    NewAccount {
        id: id.into(),
        product: "consumer_loan".into(),
        principal: cop(principal),
        interest: cop(interest),
        fees: cop("0"),
        costs: cop("0"),
        delinquent_since: NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
    }
}

fn pay(reference: &str, amount: &str) -> NewPayment {
    NewPayment {
        reference: reference.into(),
        amount: cop(amount),
        received_on: None,
    }
}

fn code(e: DeskError) -> &'static str {
    e.code().as_str()
}

async fn journal_types(db: &DatabaseConnection, case_id: &str) -> Vec<String> {
    case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(case_id))
        .order_by_asc(case_journal::Column::Seq)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

async fn payments_drive_the_process(db: &DatabaseConnection) {
    let desk = Desk::new(runtime(db, clock()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    desk.deploy(&sup, "pay.bpmn", PAY_UNTIL_PAID).await.unwrap();
    let case_id = desk
        .open_case(
            &sup,
            NewCase {
                process_id: "pay".into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap()
        .case_id;
    // Agents may record payments, not open debts.
    assert_eq!(
        code(
            desk.open_account(&agent, &case_id, loan("L1", "100000", "5000"), None)
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );
    // A payment before any account has nothing to pay.
    assert_eq!(
        code(
            desk.record_payment(&agent, &case_id, pay("P0", "1"), None)
                .await
                .unwrap_err()
        ),
        "ACCOUNT_NOT_FOUND"
    );
    desk.open_account(&sup, &case_id, loan("L1", "100000", "5000"), None)
        .await
        .unwrap();
    let mut usd = loan("L2", "1", "0");
    usd.principal = Money::parse("1", Currency::from_code("USD").unwrap()).unwrap();
    assert_eq!(
        code(
            desk.open_account(&sup, &case_id, usd, None)
                .await
                .unwrap_err()
        ),
        "CURRENCY_MISMATCH"
    );

    // A part payment: interest first; the process hears of it and waits again.
    let out = desk
        .record_payment(&agent, &case_id, pay("P1", "60000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "active");
    let ledger = desk.ledger(&agent, &case_id).await.unwrap().unwrap();
    assert_eq!(ledger.balance(), cop("45000"));
    let row = cases::Entity::find_by_id(case_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.amount_due_minor, row.currency.as_deref()),
        (Some(4_500_000), Some("COP"))
    );

    // The same reference again changes nothing.
    let seq = out.seq;
    assert_eq!(
        code(
            desk.record_payment(&agent, &case_id, pay("P1", "60000"), None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_REFERENCE_REUSED"
    );
    assert_eq!(
        code(
            desk.record_payment(&agent, &case_id, pay("P1", "1"), None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_REFERENCE_REUSED"
    );
    assert_eq!(journal_types(db, &case_id).await.len() as i64, seq);

    // Paid in full (and 500 over): the process completes in the payment's own entry.
    let out = desk
        .record_payment(&agent, &case_id, pay("P2", "45500"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    let ledger = desk.ledger(&agent, &case_id).await.unwrap().unwrap();
    assert!(ledger.balance().is_zero());
    assert_eq!(ledger.credit(), cop("500"));
    assert_eq!(
        code(
            desk.record_payment(&agent, &case_id, pay("P3", "1"), None)
                .await
                .unwrap_err()
        ),
        "CASE_CLOSED"
    );

    // A chargeback reopens exactly what P2 paid.
    assert_eq!(
        code(
            desk.reverse_payment(&agent, &case_id, "P2", "chargeback", None)
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );
    desk.reverse_payment(&sup, &case_id, "P2", "chargeback", None)
        .await
        .unwrap();
    assert_eq!(
        code(
            desk.reverse_payment(&sup, &case_id, "P2", "again", None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_ALREADY_REVERSED"
    );
    assert_eq!(
        code(
            desk.reverse_payment(&sup, &case_id, "P9", "unknown", None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_NOT_FOUND"
    );
    let ledger = desk.ledger(&sup, &case_id).await.unwrap().unwrap();
    assert_eq!(
        (ledger.balance(), ledger.credit()),
        (cop("45000"), cop("0"))
    );

    let types = journal_types(db, &case_id).await;
    assert_eq!(
        types[1..],
        [
            "AccountOpened",
            "PaymentRecorded",
            "PaymentRecorded",
            "PaymentReversed"
        ]
    );
    // The journal alone rebuilds the same ledger.
    let replayed = desk.runtime().replay(&case_id).await.unwrap().unwrap();
    assert_eq!(replayed.ledger, Some(ledger));
}
on_both!(
    ledger_payments_drive_the_process,
    payments_drive_the_process
);

/// The case row holds amounts in the currency's own minor units: whole pesos for CLP,
/// fils for KWD — from the ledger, and from a legacy `amountDue` variable alike.
async fn amounts_follow_their_currency(db: &DatabaseConnection) {
    let desk = Desk::new(runtime(db, clock()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    desk.deploy(&sup, "pay.bpmn", PAY_UNTIL_PAID).await.unwrap();
    let open = |amount: Option<f64>, currency: &str| NewCase {
        process_id: "pay".into(),
        amount_due: amount,
        currency: Some(currency.into()),
        ..NewCase::default()
    };
    let legacy = desk
        .open_case(&sup, open(Some(1000.0), "CLP"))
        .await
        .unwrap()
        .case_id;
    let kwd = desk
        .open_case(&sup, open(Some(1.2345), "KWD"))
        .await
        .unwrap()
        .case_id;
    let ledger = desk
        .open_case(&sup, open(None, "CLP"))
        .await
        .unwrap()
        .case_id;
    let mut clp = loan("C-1", "0", "0");
    let pesos = Currency::from_code("CLP").unwrap();
    clp.principal = Money::parse("250000", pesos).unwrap();
    (clp.interest, clp.fees, clp.costs) =
        (Money::zero(pesos), Money::zero(pesos), Money::zero(pesos));
    desk.open_account(&sup, &ledger, clp, None).await.unwrap();
    for (case_id, minor, currency) in [
        (legacy, 1_000, "CLP"),
        (kwd, 1_235, "KWD"),
        (ledger, 250_000, "CLP"),
    ] {
        let row = cases::Entity::find_by_id(case_id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (row.amount_due_minor, row.currency.as_deref()),
            (Some(minor), Some(currency))
        );
    }
}
on_both!(
    ledger_amounts_follow_their_currency,
    amounts_follow_their_currency
);
