//! The ledger through the runtime: accounts opened on a case, payments allocated and
//! journalled, the process told `payment-received` in the same entry, reversals, and
//! refusals that change nothing — on SQLite and PostgreSQL.

use chrono::NaiveDate;
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use orm::entities::{case_journal, cases};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use services::access::{Principal, Role};
use services::case::LedgerTimer;
use services::clock::Clock;
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
        creditor: "bank".into(),
        portfolio: "2025-Q4".into(),
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
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
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

    // Money does not arrive tomorrow.
    let mut tomorrow = pay("P-F", "1");
    tomorrow.received_on = clock.now().date_naive().succ_opt();
    assert_eq!(
        code(
            desk.record_payment(&agent, &case_id, tomorrow, None)
                .await
                .unwrap_err()
        ),
        "BAD_INPUT"
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
    // `legacy`: the deprecated float input, still accepted: it opens the first account.
    let open = |legacy: Option<f64>, currency: &str| NewCase {
        process_id: "pay".into(),
        amount_due: legacy,
        currency: Some(currency.into()),
        ..NewCase::default()
    };
    let legacy = desk
        .open_case(&sup, open(Some(1000.0), "CLP"))
        .await
        .unwrap()
        .case_id;
    // A float is read exactly as written: 1.2345 KWD has a digit too many (KWD has three
    // places) and is refused; only a plain process variable is shown rounded.
    assert_eq!(
        code(
            desk.open_case(&sup, open(Some(1.2345), "KWD"))
                .await
                .unwrap_err()
        ),
        "INVALID_AMOUNT"
    );
    let mut variable = open(None, "KWD");
    variable
        .variables
        .insert("amountDue".into(), serde_json::json!(1.2345));
    let kwd = desk.open_case(&sup, variable).await.unwrap().case_id;
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

/// Waits for the ledger's verdict on a promise.
const PROMISE_VERDICT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="Kept" name="promise-kept" />
  <bpmn:message id="Broken" name="promise-broken" />
  <bpmn:process id="verdict" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="g" />
    <bpmn:eventBasedGateway id="g" />
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="kept" />
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="broken" />
    <bpmn:intermediateCatchEvent id="kept"><bpmn:messageEventDefinition messageRef="Kept" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="broken"><bpmn:messageEventDefinition messageRef="Broken" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="kept" targetRef="endKept" />
    <bpmn:sequenceFlow id="f5" sourceRef="broken" targetRef="endBroken" />
    <bpmn:endEvent id="endKept" />
    <bpmn:endEvent id="endBroken" />
  </bpmn:process>
</bpmn:definitions>
"#;

async fn promise_timer_rows(db: &DatabaseConnection, case_id: &str) -> Vec<i64> {
    orm::entities::timers::Entity::find()
        .filter(orm::entities::timers::Column::CaseId.eq(case_id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.timer_id)
        .collect()
}

/// A promise is kept by the payment that reaches it, or broken by its deadline's timer on
/// the runtime's clock; either way the process hears the verdict in that entry.
async fn promises_are_decided(db: &DatabaseConnection) {
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    desk.deploy(&sup, "verdict.bpmn", PROMISE_VERDICT)
        .await
        .unwrap();
    let today = clock.now().date_naive();
    let in_days = |n: u64| today.checked_add_days(chrono::Days::new(n)).unwrap();
    let mut cases = Vec::new();
    for _ in 0..3 {
        let case_id = desk
            .open_case(
                &sup,
                NewCase {
                    process_id: "verdict".into(),
                    ..NewCase::default()
                },
            )
            .await
            .unwrap()
            .case_id;
        desk.open_account(&sup, &case_id, loan("L1", "100000", "0"), None)
            .await
            .unwrap();
        cases.push(case_id);
    }
    let (kept, broken, replaced) = (&cases[0], &cases[1], &cases[2]);

    // Refused: a date in the past, more than is owed.
    let yesterday = today.pred_opt().unwrap();
    assert_eq!(
        code(
            desk.make_promise(&agent, kept, vec![(yesterday, cop("1000"))], None)
                .await
                .unwrap_err()
        ),
        "INVALID_PROMISE"
    );
    assert_eq!(
        code(
            desk.make_promise(&agent, kept, vec![(in_days(5), cop("999999"))], None)
                .await
                .unwrap_err()
        ),
        "INVALID_PROMISE"
    );

    // Kept: the payment that reaches it decides it and closes the process's wait.
    desk.make_promise(&agent, kept, vec![(in_days(5), cop("30000"))], None)
        .await
        .unwrap();
    assert_eq!(promise_timer_rows(db, kept).await.len(), 1);
    let out = desk
        .record_payment(&agent, kept, pay("P1", "30000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert!(promise_timer_rows(db, kept).await.is_empty());

    // Broken: nothing paid; the deadline (due date + 3 days' grace) passes on the clock.
    desk.make_promise(&agent, broken, vec![(in_days(2), cop("30000"))], None)
        .await
        .unwrap();
    clock.advance(chrono::Duration::days(5));
    assert_eq!(desk.runtime().fire_due_timers(100).await.unwrap().fired, 0);
    clock.advance(chrono::Duration::days(1));
    assert_eq!(desk.runtime().fire_due_timers(100).await.unwrap().fired, 1);
    let state = desk.runtime().case(broken).await.unwrap().unwrap();
    assert_eq!(
        services::case::projection::status_of(&state.instance),
        "completed"
    );
    assert!(promise_timer_rows(db, broken).await.is_empty());
    assert_eq!(
        journal_types(db, broken).await.last().map(String::as_str),
        Some("PromiseDeadlinePassed")
    );

    // A new promise replaces the open one: only its deadline keeps a timer.
    let today = clock.now().date_naive();
    let later = |n: u64| today.checked_add_days(chrono::Days::new(n)).unwrap();
    desk.make_promise(&agent, replaced, vec![(later(3), cop("10000"))], None)
        .await
        .unwrap();
    desk.make_promise(
        &agent,
        replaced,
        vec![(later(4), cop("5000")), (later(9), cop("5000"))],
        None,
    )
    .await
    .unwrap();
    let mut rows = promise_timer_rows(db, replaced).await;
    rows.sort_unstable();
    assert_eq!(
        rows,
        vec![
            LedgerTimer::Promise {
                promise: 2,
                part: 1
            }
            .timer_id(),
            LedgerTimer::Promise {
                promise: 2,
                part: 0
            }
            .timer_id()
        ]
    );

    for case_id in &cases {
        let check = desk.runtime().check_projection(case_id).await.unwrap();
        assert!(
            check.mismatches.is_empty(),
            "{case_id}: {:?}",
            check.mismatches
        );
    }
}
on_both!(ledger_promises_are_decided, promises_are_decided);

/// Hears a plan's acceptance, then waits for its end.
const PLAN_LIFE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="Accepted" name="plan-accepted" />
  <bpmn:message id="Completed" name="plan-completed" />
  <bpmn:message id="Broken" name="plan-broken" />
  <bpmn:process id="plan" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="accepted" />
    <bpmn:intermediateCatchEvent id="accepted"><bpmn:messageEventDefinition messageRef="Accepted" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="accepted" targetRef="g" />
    <bpmn:eventBasedGateway id="g" />
    <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="completed" />
    <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="broken" />
    <bpmn:intermediateCatchEvent id="completed"><bpmn:messageEventDefinition messageRef="Completed" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="broken"><bpmn:messageEventDefinition messageRef="Broken" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="completed" targetRef="endCompleted" />
    <bpmn:sequenceFlow id="f5" sourceRef="broken" targetRef="endBroken" />
    <bpmn:endEvent id="endCompleted" />
    <bpmn:endEvent id="endBroken" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// An installment plan from offer to completion, and one broken by a missed instalment
/// on the runtime's clock; the process hears each step in its entry.
async fn plans_run_their_course(db: &DatabaseConnection) {
    use collections::schedule::{Frequency, PlanTerms, schedule};
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    desk.deploy(&sup, "plan.bpmn", PLAN_LIFE).await.unwrap();
    let today = clock.now().date_naive();
    let terms = |total: &str| PlanTerms {
        total: cop(total),
        down_payment: None,
        instalments: 3,
        frequency: Frequency::Weekly,
        first_due: today,
    };
    let mut cases = Vec::new();
    for _ in 0..2 {
        let case_id = desk
            .open_case(
                &sup,
                NewCase {
                    process_id: "plan".into(),
                    ..NewCase::default()
                },
            )
            .await
            .unwrap()
            .case_id;
        desk.open_account(&sup, &case_id, loan("L1", "100000", "0"), None)
            .await
            .unwrap();
        cases.push(case_id);
    }
    let (kept, broken) = (&cases[0], &cases[1]);

    let too_much = terms("200000");
    assert_eq!(
        code(
            desk.offer_plan(
                &agent,
                kept,
                too_much.total,
                schedule(&too_much).unwrap(),
                false,
                None
            )
            .await
            .unwrap_err()
        ),
        "INVALID_PLAN"
    );
    assert_eq!(
        code(desk.accept_plan(&agent, kept, 9, None).await.unwrap_err()),
        "PLAN_NOT_FOUND"
    );
    let plan = terms("30000");
    desk.offer_plan(
        &agent,
        kept,
        plan.total,
        schedule(&plan).unwrap(),
        false,
        None,
    )
    .await
    .unwrap();
    desk.accept_plan(&agent, kept, 1, None).await.unwrap();
    assert_eq!(
        code(desk.accept_plan(&agent, kept, 1, None).await.unwrap_err()),
        "CONFLICT"
    );
    assert_eq!(
        code(
            desk.offer_plan(
                &agent,
                kept,
                plan.total,
                schedule(&plan).unwrap(),
                false,
                None
            )
            .await
            .unwrap_err()
        ),
        "CONFLICT"
    );
    assert_eq!(promise_timer_rows(db, kept).await.len(), 3);
    desk.record_payment(&agent, kept, pay("P1", "10000"), None)
        .await
        .unwrap();
    let out = desk
        .record_payment(&agent, kept, pay("P2", "20000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert!(promise_timer_rows(db, kept).await.is_empty());
    let ledger = desk.ledger(&agent, kept).await.unwrap().unwrap();
    assert_eq!(ledger.plans()[0].status.as_str(), "completed");

    // Broken: the first instalment (due today, 3 days' grace) is not paid.
    desk.offer_plan(
        &agent,
        broken,
        plan.total,
        schedule(&plan).unwrap(),
        false,
        None,
    )
    .await
    .unwrap();
    desk.accept_plan(&agent, broken, 1, None).await.unwrap();
    clock.advance(chrono::Duration::days(4));
    assert_eq!(desk.runtime().fire_due_timers(100).await.unwrap().fired, 1);
    let state = desk.runtime().case(broken).await.unwrap().unwrap();
    assert_eq!(
        services::case::projection::status_of(&state.instance),
        "completed"
    );
    assert_eq!(
        state.ledger.as_ref().unwrap().plans()[0].status.as_str(),
        "broken"
    );
    assert!(promise_timer_rows(db, broken).await.is_empty());

    for case_id in &cases {
        let check = desk.runtime().check_projection(case_id).await.unwrap();
        assert!(
            check.mismatches.is_empty(),
            "{case_id}: {:?}",
            check.mismatches
        );
    }
}
on_both!(ledger_plans_run_their_course, plans_run_their_course);

/// Waits for a promise's verdict, and closes the case from anywhere when it is paid in
/// full (an interrupting event sub-process, keyed as Camunda 8 wants; a ledger message
/// needs no key).
const PAID_OFF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="Kept" name="promise-kept">
    <bpmn:extensionElements><zeebe:subscription correlationKey="= externalRef" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:message id="Paid" name="paid-in-full">
    <bpmn:extensionElements><zeebe:subscription correlationKey="= externalRef" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:process id="paid-off" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="kept" />
    <bpmn:intermediateCatchEvent id="kept"><bpmn:messageEventDefinition messageRef="Kept" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="kept" targetRef="endKept" />
    <bpmn:endEvent id="endKept" />
    <bpmn:subProcess id="closing" triggeredByEvent="true">
      <bpmn:startEvent id="paid" isInterrupting="true"><bpmn:messageEventDefinition messageRef="Paid" /></bpmn:startEvent>
      <bpmn:sequenceFlow id="p1" sourceRef="paid" targetRef="endPaid" />
      <bpmn:endEvent id="endPaid" />
    </bpmn:subProcess>
  </bpmn:process>
</bpmn:definitions>
"#;

fn completed(out: &services::runtime::Outcome) -> Vec<String> {
    out.effects
        .iter()
        .filter_map(|e| match e {
            bpmn::engine::Effect::ElementCompleted { element_id, .. } => {
                Some(element_id.to_string())
            }
            _ => None,
        })
        .collect()
}

/// `paid-in-full` reaches a waiting process in the entry that brings the balance to zero:
/// a payment (not a part payment, nor a payment once it is paid), a payment that keeps a
/// promise too (paid-in-full comes first, so the closed case hears no verdict), and a
/// settlement's last instalment, whose write-off pays off the rest.
async fn paid_in_full_closes_the_case(db: &DatabaseConnection) {
    use collections::schedule::{Frequency, PlanTerms, schedule};
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let sup = Principal::new("sam", "acme", Role::Supervisor, None, vec![]).unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    desk.deploy(&sup, "paid-off.bpmn", PAID_OFF).await.unwrap();
    let mut cases = Vec::new();
    for reference in ["L-1", "L-2", "L-3"] {
        let case_id = desk
            .open_case(
                &sup,
                NewCase {
                    process_id: "paid-off".into(),
                    external_ref: Some(reference.into()),
                    ..NewCase::default()
                },
            )
            .await
            .unwrap()
            .case_id;
        desk.open_account(&sup, &case_id, loan("L1", "100000", "5000"), None)
            .await
            .unwrap();
        cases.push(case_id);
    }
    let (paid, promised, settled) = (&cases[0], &cases[1], &cases[2]);
    let variables =
        |state: &services::case::CaseState| state.instance.variables().cloned().unwrap_or_default();

    // A part payment leaves the process waiting; the one that pays the rest (and 500
    // over) closes it in its own entry.
    let out = desk
        .record_payment(&agent, paid, pay("P1", "60000"), None)
        .await
        .unwrap();
    assert_eq!((out.status.as_str(), completed(&out)), ("active", vec![]));
    let out = desk
        .record_payment(&agent, paid, pay("P2", "45500"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert_eq!(completed(&out), ["paid", "endPaid", "closing"]);
    assert_eq!(
        journal_types(db, paid).await.last().map(String::as_str),
        Some("PaymentRecorded")
    );
    let vars = variables(&desk.runtime().case(paid).await.unwrap().unwrap());
    for (name, value) in [
        ("paymentReference", serde_json::json!("P2")),
        ("currency", "COP".into()),
        ("amountPaid", "105500.00".into()),
        ("amountPaidMinor", 10_550_000.into()),
        ("writtenOff", "0.00".into()),
        ("writtenOffMinor", 0.into()),
        ("credit", "500.00".into()),
        ("creditMinor", 50_000.into()),
        ("paidInFull", true.into()),
    ] {
        assert_eq!(vars.get(name), Some(&value), "{name}");
    }

    // The payment that keeps the promise pays everything: the case closes on
    // paid-in-full, and promise-kept, heard by nobody, changes nothing.
    let today = clock.now().date_naive();
    let in_days = |n: u64| today.checked_add_days(chrono::Days::new(n)).unwrap();
    desk.make_promise(&agent, promised, vec![(in_days(5), cop("105000"))], None)
        .await
        .unwrap();
    let out = desk
        .record_payment(&agent, promised, pay("P1", "105000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert_eq!(completed(&out), ["paid", "endPaid", "closing"]);
    let state = desk.runtime().case(promised).await.unwrap().unwrap();
    let ledger = state.ledger.as_ref().unwrap();
    assert!(matches!(
        ledger.promises()[0].status,
        collections::ledger::PromiseStatus::Kept { .. }
    ));
    assert_eq!(variables(&state).get("promiseKept"), None);

    // A settlement of 80,000 in two weekly instalments: the second completes it and the
    // write-off of the other 25,000 pays the case off.
    let terms = PlanTerms {
        total: cop("80000"),
        down_payment: None,
        instalments: 2,
        frequency: Frequency::Weekly,
        first_due: today,
    };
    desk.offer_plan(
        &sup,
        settled,
        terms.total,
        schedule(&terms).unwrap(),
        true,
        None,
    )
    .await
    .unwrap();
    desk.accept_plan(&agent, settled, 1, None).await.unwrap();
    let out = desk
        .record_payment(&agent, settled, pay("S1", "40000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "active");
    clock.advance(chrono::Duration::days(7));
    let out = desk
        .record_payment(&agent, settled, pay("S2", "40000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert_eq!(completed(&out), ["paid", "endPaid", "closing"]);
    let vars = variables(&desk.runtime().case(settled).await.unwrap().unwrap());
    for (name, value) in [
        ("paymentReference", serde_json::json!("S2")),
        ("amountPaid", "80000.00".into()),
        ("writtenOff", "25000.00".into()),
        ("writtenOffMinor", 2_500_000.into()),
        ("credit", "0.00".into()),
    ] {
        assert_eq!(vars.get(name), Some(&value), "{name}");
    }

    for case_id in &cases {
        let check = desk.runtime().check_projection(case_id).await.unwrap();
        assert!(
            check.mismatches.is_empty(),
            "{case_id}: {:?}",
            check.mismatches
        );
        // The journal alone rebuilds the same case.
        let replayed = desk.runtime().replay(case_id).await.unwrap().unwrap();
        let live = desk.runtime().case(case_id).await.unwrap().unwrap();
        assert_eq!(replayed.instance, live.instance);
    }
}
on_both!(
    ledger_paid_in_full_closes_the_case,
    paid_in_full_closes_the_case
);
