//! Creditors' settings through the desk and the runtime: they decide the allocation
//! order, grace and deadline zone of later operations only; one creditor per case; and
//! where partners may not take payments (Mexico), a partner's report waits for the
//! creditor's confirmation — on SQLite and PostgreSQL.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use collections::allocation::Component;
use collections::creditor::SettingsChange;
use collections::ledger::{NewAccount, ReportStatus};
use collections::money::{Currency, Money};
use orm::entities::{case_journal, timers};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use services::access::{Principal, Role};
use services::case::CaseFact;
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

fn loan(id: &str, creditor: &str) -> NewAccount {
    NewAccount {
        id: id.into(),
        product: "consumer_loan".into(),
        principal: cop("100000"),
        interest: cop("5000"),
        fees: cop("1000"),
        costs: cop("0"),
        delinquent_since: NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
        creditor: creditor.into(),
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

async fn entries(db: &DatabaseConnection, case_id: &str) -> u64 {
    case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(case_id))
        .count(db)
        .await
        .unwrap()
}

struct Users {
    sup: Principal,
    agent: Principal,
    auditor: Principal,
    partner: Principal,
    other_partner: Principal,
}

fn users() -> Users {
    let p = |s: &str, role, partner: Option<&str>| {
        Principal::new(s, "acme", role, partner.map(str::to_string), vec![]).unwrap()
    };
    Users {
        sup: p("sam", Role::Supervisor, None),
        agent: p("alex", Role::Agent, None),
        auditor: p("aud", Role::Auditor, None),
        partner: p("pat", Role::Partner, Some("cobra")),
        other_partner: p("lou", Role::Partner, Some("lexco")),
    }
}

async fn open(desk: &Desk, u: &Users, creditor: &str) -> String {
    let case_id = desk
        .open_case(
            &u.sup,
            NewCase {
                process_id: "pay".into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap()
        .case_id;
    desk.open_account(&u.sup, &case_id, loan("L1", creditor), None)
        .await
        .unwrap();
    case_id
}

/// Settings are checked, readable by internal users and auditors (not partners), and
/// govern only operations made after they change.
async fn settings_govern_later_operations(db: &DatabaseConnection) {
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let u = users();
    desk.deploy(&u.sup, "pay.bpmn", PAY_UNTIL_PAID)
        .await
        .unwrap();

    for (change, expected) in [
        (
            SettingsChange {
                time_zone: Some("Mars/Olympus".into()),
                ..SettingsChange::default()
            },
            "UNKNOWN_TIME_ZONE",
        ),
        (
            SettingsChange {
                promise_grace_days: Some(-1),
                ..SettingsChange::default()
            },
            "INVALID_GRACE_DAYS",
        ),
        (
            SettingsChange {
                settlement_limit_percent: Some(101),
                ..SettingsChange::default()
            },
            "INVALID_SETTLEMENT_LIMIT",
        ),
        (
            SettingsChange {
                allocation_order: Some(vec![Component::Fees, Component::Interest]),
                ..SettingsChange::default()
            },
            "INVALID_ALLOCATION_ORDER",
        ),
        (
            SettingsChange {
                jurisdiction: Some("ZZ".into()),
                ..SettingsChange::default()
            },
            "UNKNOWN_COUNTRY",
        ),
        (
            SettingsChange {
                jurisdiction: Some("MX".into()),
                partners_take_payments: Some(true),
                ..SettingsChange::default()
            },
            "PARTNER_PAYMENTS_FORBIDDEN",
        ),
    ] {
        let e = desk
            .set_creditor_settings(&u.sup, "bank", change)
            .await
            .unwrap_err();
        assert_eq!(code(e), expected);
    }
    // Nothing refused was stored: the creditor still has the defaults.
    assert!(desk.creditors(&u.sup).await.unwrap().is_empty());
    assert_eq!(
        code(
            desk.set_creditor_settings(&u.agent, "bank", SettingsChange::default())
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(desk.creditor(&u.partner, "bank").await.unwrap_err()),
        "FORBIDDEN"
    );

    let principal_first = vec![
        Component::Principal,
        Component::Interest,
        Component::Fees,
        Component::Costs,
    ];
    let set = desk
        .set_creditor_settings(
            &u.sup,
            "bank",
            SettingsChange {
                allocation_order: Some(principal_first.clone()),
                promise_grace_days: Some(1),
                time_zone: Some("America/Bogota".into()),
                ..SettingsChange::default()
            },
        )
        .await
        .unwrap();
    let read = desk.creditor(&u.auditor, "bank").await.unwrap();
    assert_eq!(read, set);
    assert_eq!(
        read.settings.allocation_order.components()[0],
        Component::Principal
    );
    assert_eq!(read.settings.time_zone.name(), "America/Bogota");
    assert_eq!(
        read.updated.as_ref().map(|u| u.1.as_str()),
        Some("supervisor:sam")
    );

    // One creditor per case: another creditor's account is refused and changes nothing.
    let case_id = open(&desk, &u, "bank").await;
    let before = entries(db, &case_id).await;
    assert_eq!(
        code(
            desk.open_account(&u.sup, &case_id, loan("L2", "other-bank"), None)
                .await
                .unwrap_err()
        ),
        "CREDITOR_MISMATCH"
    );
    assert_eq!(entries(db, &case_id).await, before);

    // P1 under the creditor's order: principal first.
    desk.record_payment(&u.agent, &case_id, pay("P1", "2000"), None)
        .await
        .unwrap();
    // Back to the default order: P2 pays fees first, P1 keeps its allocation.
    desk.set_creditor_settings(
        &u.sup,
        "bank",
        SettingsChange {
            allocation_order: Some(Component::ALL.to_vec()),
            ..SettingsChange::default()
        },
    )
    .await
    .unwrap();
    desk.record_payment(&u.agent, &case_id, pay("P2", "2000"), None)
        .await
        .unwrap();
    let ledger = desk.ledger(&u.agent, &case_id).await.unwrap().unwrap();
    let first = |r: &str| ledger.payment(r).unwrap().allocation.parts[0].component;
    assert_eq!(first("P1"), Component::Principal);
    assert_eq!(first("P2"), Component::Fees);
    assert_eq!(
        ledger.accounts()[0].owed(Component::Principal),
        cop("98000")
    );

    // A promise gets the creditor's grace (1 day) and zone: due 2026-01-07, its deadline
    // ends at midnight in Bogotá, 2026-01-09T05:00Z, not at midnight UTC.
    let due = NaiveDate::from_ymd_opt(2026, 1, 7).unwrap();
    desk.make_promise(&u.agent, &case_id, vec![(due, cop("50000"))], None)
        .await
        .unwrap();
    let rows = timers::Entity::find()
        .filter(timers::Column::CaseId.eq(&case_id))
        .all(db)
        .await
        .unwrap();
    let deadline = Utc.with_ymd_and_hms(2026, 1, 9, 5, 0, 0).unwrap();
    assert_eq!(
        rows.iter().map(|t| t.due_at).collect::<Vec<_>>(),
        vec![deadline]
    );
    // A later change of grace does not move it.
    desk.set_creditor_settings(
        &u.sup,
        "bank",
        SettingsChange {
            promise_grace_days: Some(10),
            ..SettingsChange::default()
        },
    )
    .await
    .unwrap();
    clock.advance_to(deadline - Duration::seconds(1));
    assert_eq!(desk.runtime().fire_due_timers(10).await.unwrap().fired, 0);
    clock.advance_to(deadline);
    assert_eq!(desk.runtime().fire_due_timers(10).await.unwrap().fired, 1);
    let ledger = desk.ledger(&u.agent, &case_id).await.unwrap().unwrap();
    assert_eq!(
        ledger.promises()[0].status.clone(),
        collections::ledger::PromiseStatus::Broken {
            deadline: NaiveDate::from_ymd_opt(2026, 1, 8).unwrap()
        }
    );
    assert_eq!(ledger.promises()[0].grace_days, 1);
    // The next promise is made under the new grace.
    let later = clock.now().date_naive() + Duration::days(3);
    desk.make_promise(&u.agent, &case_id, vec![(later, cop("1000"))], None)
        .await
        .unwrap();
    let ledger = desk.ledger(&u.agent, &case_id).await.unwrap().unwrap();
    assert_eq!(ledger.promises()[1].grace_days, 10);

    let replayed = desk.runtime().replay(&case_id).await.unwrap().unwrap();
    assert_eq!(replayed.ledger, Some(ledger));
    let check = desk.runtime().check_projection(&case_id).await.unwrap();
    assert!(check.mismatches.is_empty(), "{:?}", check.mismatches);
}
on_both!(
    creditor_settings_govern_later_operations,
    settings_govern_later_operations
);

/// Under Mexican law a partner may not take payments: it reports them, and the creditor
/// confirms (the balance moves, the process hears `payment-received`) or rejects.
async fn partners_report_and_the_creditor_confirms(db: &DatabaseConnection) {
    let clock = clock();
    let desk = Desk::new(runtime(db, clock.clone()).await);
    let u = users();
    desk.deploy(&u.sup, "pay.bpmn", PAY_UNTIL_PAID)
        .await
        .unwrap();
    let mx = desk
        .set_creditor_settings(
            &u.sup,
            "banco-mx",
            SettingsChange {
                jurisdiction: Some("MX".into()),
                ..SettingsChange::default()
            },
        )
        .await
        .unwrap();
    assert!(!mx.settings.partners_take_payments);
    let case_id = open(&desk, &u, "banco-mx").await;
    let placed = CaseFact::Placed {
        partner: "cobra".into(),
        note: None,
        accept_by: None,
    };
    desk.record(&u.sup, &case_id, placed, None).await.unwrap();

    let before = entries(db, &case_id).await;
    assert_eq!(
        code(
            desk.record_payment(&u.partner, &case_id, pay("R-1", "106000"), None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_MUST_BE_REPORTED"
    );
    assert_eq!(entries(db, &case_id).await, before);
    assert_eq!(
        code(
            desk.report_payment(&u.agent, &case_id, pay("R-1", "106000"), None)
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );

    // Reported: on record, nothing owed changes, the process still waits.
    let out = desk
        .report_payment(&u.partner, &case_id, pay("R-1", "106000"), None)
        .await
        .unwrap();
    assert_eq!(out.status, "active");
    desk.report_payment(&u.partner, &case_id, pay("R-2", "5000"), None)
        .await
        .unwrap();
    let ledger = desk.ledger(&u.agent, &case_id).await.unwrap().unwrap();
    assert_eq!(ledger.balance(), cop("106000"));
    assert_eq!(ledger.payments().count(), 0);
    assert_eq!(ledger.reports()[0].status, ReportStatus::Pending);
    assert_eq!(ledger.reports()[0].reported_by, "partner:pat@cobra");
    // The partner sees its own reports; another partner none.
    assert_eq!(Desk::visible_reports(&u.partner, &ledger).len(), 2);
    assert!(Desk::visible_reports(&u.other_partner, &ledger).is_empty());
    assert_eq!(Desk::visible_reports(&u.auditor, &ledger).len(), 2);

    for refused in [
        desk.report_payment(&u.partner, &case_id, pay("R-1", "106000"), None)
            .await
            .unwrap_err(),
        desk.record_payment(&u.agent, &case_id, pay("R-1", "106000"), None)
            .await
            .unwrap_err(),
    ] {
        assert_eq!(code(refused), "PAYMENT_REFERENCE_REUSED");
    }
    assert_eq!(
        code(
            desk.confirm_reported_payment(&u.partner, &case_id, "R-1", None)
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            desk.confirm_reported_payment(&u.agent, &case_id, "R-9", None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_REPORT_NOT_FOUND"
    );

    // R-2 did not arrive: rejected, on record, nothing paid.
    desk.reject_reported_payment(&u.sup, &case_id, "R-2", "not in the bank", None)
        .await
        .unwrap();
    assert_eq!(
        code(
            desk.confirm_reported_payment(&u.agent, &case_id, "R-2", None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_REPORT_DECIDED"
    );

    // R-1 confirmed: recorded now, the whole debt paid, and the process hears it in the
    // same entry and completes.
    let out = desk
        .confirm_reported_payment(&u.agent, &case_id, "R-1", None)
        .await
        .unwrap();
    assert_eq!(out.status, "completed");
    assert_eq!(
        code(
            desk.confirm_reported_payment(&u.agent, &case_id, "R-1", None)
                .await
                .unwrap_err()
        ),
        "PAYMENT_REPORT_DECIDED"
    );
    let ledger = desk.ledger(&u.auditor, &case_id).await.unwrap().unwrap();
    assert!(ledger.balance().is_zero());
    assert_eq!(ledger.payment("R-1").unwrap().amount, cop("106000"));
    let today = clock.now().date_naive();
    assert_eq!(
        ledger.report("R-1").unwrap().status,
        ReportStatus::Confirmed {
            by: "agent:alex".into(),
            on: today
        }
    );
    assert!(matches!(
        &ledger.report("R-2").unwrap().status,
        ReportStatus::Rejected { reason, .. } if reason == "not in the bank"
    ));

    let types: Vec<String> = {
        use sea_orm::QueryOrder;
        case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(&case_id))
            .order_by_asc(case_journal::Column::Seq)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    };
    assert_eq!(
        types[types.len() - 4..],
        [
            "PaymentReported",
            "PaymentReported",
            "ReportedPaymentRejected",
            "ReportedPaymentConfirmed"
        ]
    );
    let replayed = desk.runtime().replay(&case_id).await.unwrap().unwrap();
    assert_eq!(replayed.ledger, Some(ledger));

    // A creditor that lets partners take payments: the partner records directly.
    let case_id = open(&desk, &u, "bank").await;
    let placed = CaseFact::Placed {
        partner: "cobra".into(),
        note: None,
        accept_by: None,
    };
    desk.record(&u.sup, &case_id, placed, None).await.unwrap();
    desk.record_payment(&u.partner, &case_id, pay("P-1", "1000"), None)
        .await
        .unwrap();
}
on_both!(
    creditor_partners_report_and_the_creditor_confirms,
    partners_report_and_the_creditor_confirms
);
