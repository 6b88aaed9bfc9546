//! The ledger over GraphQL: a supervisor opens the debt, an agent records a part
//! payment, the partner finishes its work, the full payment arrives and the process
//! closes the case — money as exact strings throughout, bad input refused with its code.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, error_code, on_both};

const OPEN: &str =
    "mutation($c: ID!, $i: AccountInput!) { openAccount(caseId: $c, input: $i) { seq } }";
const PAY: &str =
    "mutation($c: ID!, $i: PaymentInput!) { recordPayment(caseId: $c, input: $i) { status } }";
const READ: &str = "query($c: ID!) { case(id: $c) { status amountDue currency
    balance { amount currency } credit { amount }
    accounts { id balance { amount } owed(component: INTEREST) { amount } }
    payments { reference amount { amount currency } credit { amount }
               allocation { accountId component amount { amount } } reversedOn }
    promises { status keptOn total { amount } }
    openTasks { id } } }";

fn account(id: &str, currency: &str, principal: &str) -> Value {
    json!({"id": id, "product": "consumer_loan", "currency": currency, "principal": principal,
           "interest": "5000", "delinquentSince": "2026-01-15"})
}

fn payment(reference: &str, amount: &str) -> Value {
    json!({"reference": reference, "amount": amount, "currency": "COP"})
}

async fn refused(w: &World, token: &str, query: &str, vars: Value) -> String {
    let (status, body) =
        w.h.post(Some(token), json!({"query": query, "variables": vars}))
            .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["data"].is_null() || body["errors"].is_array(),
        "{body}"
    );
    error_code(&body).unwrap_or_else(|| panic!("not refused: {body}"))
}

async fn a_payment_closes_the_case(db: &DatabaseConnection) {
    let w = World::new(db).await;
    // The deprecated float is read exactly as written, so a float the currency cannot
    // hold is refused, not rounded; one it can hold is the case's first account.
    let open = "mutation($i: OpenCaseInput!) { openCase(input: $i) { caseId case { balance { amount currency } accounts { id } } } }";
    let legacy = |amount: f64| {
        json!({"i": {"processId": "collections-lite", "externalRef": "FLOAT-1",
                     "amountDue": amount, "currency": "COP"}})
    };
    assert_eq!(
        w.h.err(&w.agent, open, legacy(10.123)).await,
        "INVALID_AMOUNT"
    );
    let opened = w.h.ok(&w.agent, open, legacy(1250.5)).await;
    assert_eq!(
        opened["openCase"]["case"],
        json!({"balance": {"amount": "1250.50", "currency": "COP"}, "accounts": [{"id": "FLOAT-1"}]})
    );

    // Filtering by balance: exact bounds in one currency, never across currencies.
    let by_balance =
        "query($f: CaseFilterInput) { cases(filter: $f) { edges { node { externalRef } } } }";
    let found = |min: &str, max: &str, currency: &str| json!({"f": {"minBalance": min, "maxBalance": max, "balanceCurrency": currency}});
    let hits =
        w.h.ok(&w.agent, by_balance, found("1250.50", "1250.50", "COP"))
            .await;
    assert_eq!(
        hits["cases"]["edges"],
        json!([{"node": {"externalRef": "FLOAT-1"}}])
    );
    for (min, currency) in [("1250.51", "COP"), ("1000", "USD")] {
        let none =
            w.h.ok(&w.agent, by_balance, found(min, "9999", currency))
                .await;
        assert_eq!(none["cases"]["edges"], json!([]), "{min} {currency}");
    }
    for (vars, want) in [
        (json!({"f": {"minBalance": "1000"}}), "BAD_INPUT"),
        (found("10.123", "20", "COP"), "INVALID_AMOUNT"),
        (found("10", "20", "XYZ"), "UNKNOWN_CURRENCY"),
    ] {
        assert_eq!(w.h.err(&w.agent, by_balance, vars).await, want);
    }

    let case = w.open_bare_case("LEDGER-1").await;
    let c = |v: Value| {
        let mut v = v;
        v["c"] = json!(case);
        v
    };

    // Who may open a debt, and what a debt may look like.
    assert_eq!(
        refused(
            &w,
            &w.agent,
            OPEN,
            c(json!({"i": account("L-1", "COP", "100000")}))
        )
        .await,
        "FORBIDDEN"
    );
    for (input, code) in [
        (account("L-1", "COP", "10.123"), "INVALID_AMOUNT"),
        (account("L-1", "COP", "-5"), "INVALID_AMOUNT"),
        (account("L-1", "COP", "NaN"), "INVALID_AMOUNT"),
        (account("L-1", "XYZ", "100"), "UNKNOWN_CURRENCY"),
    ] {
        assert_eq!(
            refused(&w, &w.supervisor, OPEN, c(json!({"i": input}))).await,
            code
        );
    }
    w.h.ok(
        &w.supervisor,
        OPEN,
        c(json!({"i": account("L-1", "COP", "100000")})),
    )
    .await;
    assert_eq!(
        refused(
            &w,
            &w.supervisor,
            OPEN,
            c(json!({"i": account("L-1", "COP", "1")}))
        )
        .await,
        "DUPLICATE_ACCOUNT"
    );
    assert_eq!(
        refused(
            &w,
            &w.supervisor,
            OPEN,
            c(json!({"i": account("L-2", "USD", "1")}))
        )
        .await,
        "CURRENCY_MISMATCH"
    );

    // The agent takes a promise (the server's clock reads 2026-03-02); one in the past is
    // refused.
    let promise = "mutation($c: ID!, $due: NaiveDate!) { makePromise(caseId: $c, currency: \"COP\", parts: [{due: $due, amount: \"5000\"}]) { seq } }";
    assert_eq!(
        refused(&w, &w.agent, promise, c(json!({"due": "2026-03-01"}))).await,
        "INVALID_PROMISE"
    );
    w.h.ok(&w.agent, promise, c(json!({"due": "2026-03-06"})))
        .await;

    // A part payment while the agent still works the case: interest first. It keeps
    // the promise.
    let out =
        w.h.ok(&w.agent, PAY, c(json!({"i": payment("P-1", "5000")})))
            .await;
    assert_eq!(out["recordPayment"]["status"], "active");
    assert_eq!(
        refused(&w, &w.agent, PAY, c(json!({"i": payment("P-1", "5000")}))).await,
        "PAYMENT_REFERENCE_REUSED"
    );
    assert_eq!(
        refused(&w, &w.agent, PAY, c(json!({"i": payment("P-2", "1.001")}))).await,
        "INVALID_AMOUNT"
    );
    let read = w.h.ok(&w.auditor, READ, c(json!({}))).await;
    let case_view = &read["case"];
    assert_eq!(
        case_view["promises"],
        json!([{"status": "KEPT", "keptOn": "2026-03-02", "total": {"amount": "5000.00"}}])
    );
    assert_eq!(
        case_view["balance"],
        json!({"amount": "100000.00", "currency": "COP"})
    );
    assert_eq!(case_view["amountDue"], "100000.00");
    assert_eq!(case_view["currency"], "COP");
    assert_eq!(case_view["accounts"][0]["owed"]["amount"], "0.00");
    assert_eq!(
        case_view["payments"][0]["allocation"],
        json!([{"accountId": "L-1", "component": "INTEREST", "amount": {"amount": "5000.00"}}])
    );

    // A plan for the rest: offered in three monthly instalments (the last absorbs the
    // remainder), then declined by the debtor.
    let offer = "mutation($c: ID!) { offerPlan(caseId: $c, input: {currency: \"COP\", total: \"100000\", instalments: 3, frequency: MONTHLY, firstDue: \"2026-03-31\"}) { seq } }";
    w.h.ok(&w.agent, offer, c(json!({}))).await;
    let plans = w
        .h
        .ok(&w.agent, "query($c: ID!) { case(id: $c) { plans { id status schedule { due amount { amount } } } } }", c(json!({})))
        .await;
    assert_eq!(
        plans["case"]["plans"][0]["schedule"],
        json!([
            {"due": "2026-03-31", "amount": {"amount": "33333.33"}},
            {"due": "2026-04-30", "amount": {"amount": "33333.33"}},
            {"due": "2026-05-31", "amount": {"amount": "33333.34"}},
        ])
    );
    w.h.ok(
        &w.agent,
        "mutation($c: ID!) { declinePlan(caseId: $c, planId: 1, reason: \"cannot afford it\") { seq } }",
        c(json!({})),
    )
    .await;
    assert_eq!(
        refused(
            &w,
            &w.agent,
            "mutation($c: ID!) { acceptPlan(caseId: $c, planId: 1) { seq } }",
            c(json!({}))
        )
        .await,
        "CONFLICT"
    );
    assert_eq!(
        refused(&w, &w.agent, "mutation($c: ID!) { offerPlan(caseId: $c, input: {currency: \"COP\", total: \"100\", instalments: 0, frequency: WEEKLY, firstDue: \"2026-03-31\"}) { seq } }", c(json!({}))).await,
        "INVALID_PLAN"
    );

    // A settlement at 20 % off waits for a supervisor; the agent may not approve it.
    let settle = "mutation($c: ID!) { offerPlan(caseId: $c, input: {currency: \"COP\", total: \"80000\", instalments: 1, frequency: MONTHLY, firstDue: \"2026-03-31\", settlement: true}) { seq } }";
    w.h.ok(&w.agent, settle, c(json!({}))).await;
    let approve = "mutation($c: ID!) { approvePlan(caseId: $c, planId: 2) { seq } }";
    assert_eq!(
        refused(&w, &w.agent, approve, c(json!({}))).await,
        "FORBIDDEN"
    );
    let plans =
        w.h.ok(
            &w.supervisor,
            "query($c: ID!) { case(id: $c) { plans { status settlement } } }",
            c(json!({})),
        )
        .await;
    assert_eq!(
        plans["case"]["plans"][1],
        json!({"status": "AWAITING_APPROVAL", "settlement": true})
    );
    w.h.ok(&w.supervisor, approve, c(json!({}))).await;
    w.h.ok(
        &w.agent,
        "mutation($c: ID!) { declinePlan(caseId: $c, planId: 2, reason: \"pays in full instead\") { seq } }",
        c(json!({})),
    )
    .await;

    // The agent's call, then the agency's work: the process now waits for the payment.
    let task = case_view["openTasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.h.ok(
        &w.admin,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
    w.place(&case, &w.agency).await;
    let read = w.h.ok(&w.agency_token, READ, c(json!({}))).await;
    let task = read["case"]["openTasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.h.ok(
        &w.agency_token,
        "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
    w.h.ok(
        &w.agency_token,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;

    // The agency takes the rest (and 250 over): the process hears `payment-received` and
    // closes the case in the payment's own history entry.
    let out =
        w.h.ok(
            &w.agency_token,
            PAY,
            c(json!({"i": payment("P-2", "100250")})),
        )
        .await;
    assert_eq!(out["recordPayment"]["status"], "completed");
    let read = w.h.ok(&w.supervisor, READ, c(json!({}))).await;
    assert_eq!(read["case"]["status"], "completed");
    assert_eq!(read["case"]["balance"]["amount"], "0.00");
    assert_eq!(read["case"]["credit"]["amount"], "250.00");
    assert_eq!(read["case"]["payments"][1]["credit"]["amount"], "250.00");
    assert_eq!(
        refused(&w, &w.agent, PAY, c(json!({"i": payment("P-3", "1")}))).await,
        "CASE_CLOSED"
    );

    // The auditor reads it all, changes nothing.
    assert_eq!(
        refused(&w, &w.auditor, PAY, c(json!({"i": payment("P-9", "1")}))).await,
        "FORBIDDEN"
    );
    let history =
        w.h.ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType } } }",
            c(json!({})),
        )
        .await;
    let types: Vec<&str> = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "PaymentRecorded").count(),
        2,
        "{types:?}"
    );
    assert_eq!(types.last(), Some(&"PaymentRecorded"), "{types:?}");
    w.h.stop().await;
}
on_both!(
    a_payment_closes_the_case_through_its_process,
    a_payment_closes_the_case
);

const SETTINGS: &str = "mutation($id: ID!, $i: CreditorSettingsInput!) { setCreditorSettings(creditorId: $id, input: $i) {
    id allocationOrder promiseGraceDays planGraceDays settlementLimitPercent timeZone jurisdiction
    partnersTakePayments updatedBy } }";
const REPORT: &str =
    "mutation($c: ID!, $i: PaymentInput!) { reportPayment(caseId: $c, input: $i) { status } }";
const REPORTS: &str = "query($c: ID!) { case(id: $c) { balance { amount }
    reportedPayments { reference status amount { amount } partnerId reportedBy decidedBy rejectionReason }
    payments { reference allocation { component } } } }";

/// A Mexican creditor: its settings (checked, read by internal users only) govern the
/// case; its agency may not take payments, so it reports them, and the creditor confirms
/// one (the process hears the payment and closes the case) and rejects another.
async fn a_creditor_governs_its_cases(db: &DatabaseConnection) {
    let w = World::new(db).await;
    for (input, code) in [
        (json!({"timeZone": "Nowhere/City"}), "UNKNOWN_TIME_ZONE"),
        (json!({"promiseGraceDays": -2}), "INVALID_GRACE_DAYS"),
        (
            json!({"settlementLimitPercent": 150}),
            "INVALID_SETTLEMENT_LIMIT",
        ),
        (
            json!({"allocationOrder": ["FEES"]}),
            "INVALID_ALLOCATION_ORDER",
        ),
        (json!({"jurisdiction": "XX"}), "UNKNOWN_COUNTRY"),
        (
            json!({"jurisdiction": "MX", "partnersTakePayments": true}),
            "PARTNER_PAYMENTS_FORBIDDEN",
        ),
    ] {
        let vars = json!({"id": "banco-mx", "i": input});
        assert_eq!(refused(&w, &w.supervisor, SETTINGS, vars).await, code);
    }
    let vars = json!({"id": "banco-mx", "i": {"jurisdiction": "MX", "timeZone": "America/Mexico_City",
        "allocationOrder": ["PRINCIPAL", "INTEREST", "FEES", "COSTS"], "promiseGraceDays": 5,
        "settlementLimitPercent": 5}});
    assert_eq!(
        refused(&w, &w.agent, SETTINGS, vars.clone()).await,
        "FORBIDDEN"
    );
    let set = w.h.ok(&w.supervisor, SETTINGS, vars).await;
    assert_eq!(
        set["setCreditorSettings"],
        json!({"id": "banco-mx", "allocationOrder": ["PRINCIPAL", "INTEREST", "FEES", "COSTS"],
               "promiseGraceDays": 5, "planGraceDays": 3, "settlementLimitPercent": 5,
               "timeZone": "America/Mexico_City", "jurisdiction": "MX",
               "partnersTakePayments": false, "updatedBy": "supervisor:sam"})
    );
    let read = "{ creditors { id partnersTakePayments } default: creditor(id: \"default\") { timeZone updatedAt } }";
    assert_eq!(
        w.h.ok(&w.auditor, read, json!({})).await,
        json!({"creditors": [{"id": "banco-mx", "partnersTakePayments": false}],
               "default": {"timeZone": "UTC", "updatedAt": null}})
    );
    assert_eq!(
        refused(&w, &w.agency_token, read, json!({})).await,
        "FORBIDDEN"
    );

    // The case holds banco-mx's debt, and only banco-mx's.
    let case = w.open_bare_case("MX-1").await;
    let c = |v: Value| {
        let mut v = v;
        v["c"] = json!(case);
        v
    };
    let mut debt = account("L-1", "COP", "100000");
    debt["creditorId"] = json!("banco-mx");
    debt["portfolio"] = json!("2026-Q1");
    w.h.ok(&w.supervisor, OPEN, c(json!({"i": debt}))).await;
    let mut other = account("L-2", "COP", "1");
    other["creditorId"] = json!("otro-banco");
    assert_eq!(
        refused(&w, &w.supervisor, OPEN, c(json!({"i": other}))).await,
        "CREDITOR_MISMATCH"
    );

    // Its settings: 5 days' grace on a promise, a settlement 8 % off needs approval.
    w.h.ok(
        &w.agent,
        "mutation($c: ID!) { makePromise(caseId: $c, currency: \"COP\", parts: [{due: \"2026-03-20\", amount: \"1000\"}]) { seq } }",
        c(json!({})),
    )
    .await;
    w.h.ok(
        &w.agent,
        "mutation($c: ID!) { offerPlan(caseId: $c, input: {currency: \"COP\", total: \"96600\", instalments: 1, frequency: MONTHLY, firstDue: \"2026-03-31\", settlement: true}) { seq } }",
        c(json!({})),
    )
    .await;
    let terms = w
        .h
        .ok(&w.agent, "query($c: ID!) { case(id: $c) { accounts { creditorId portfolio } promises { graceDays } plans { status } } }", c(json!({})))
        .await;
    assert_eq!(
        terms["case"],
        json!({"accounts": [{"creditorId": "banco-mx", "portfolio": "2026-Q1"}],
               "promises": [{"graceDays": 5}], "plans": [{"status": "AWAITING_APPROVAL"}]})
    );

    // The agent's call, then the agency's work: the process waits for the payment.
    let task = |v: &Value| {
        v["case"]["openTasks"][0]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let tasks = "query($c: ID!) { case(id: $c) { openTasks { id } } }";
    let first = task(&w.h.ok(&w.admin, tasks, c(json!({}))).await);
    w.h.ok(
        &w.admin,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": first}),
    )
    .await;
    w.place(&case, &w.agency).await;
    let second = task(&w.h.ok(&w.agency_token, tasks, c(json!({}))).await);
    for m in [
        "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
    ] {
        w.h.ok(&w.agency_token, m, json!({"t": second})).await;
    }

    // The agency may not take the payment: it reports it, and the balance stays.
    assert_eq!(
        refused(
            &w,
            &w.agency_token,
            PAY,
            c(json!({"i": payment("R-1", "105000")}))
        )
        .await,
        "PAYMENT_MUST_BE_REPORTED"
    );
    let out =
        w.h.ok(
            &w.agency_token,
            REPORT,
            c(json!({"i": payment("R-1", "105000")})),
        )
        .await;
    assert_eq!(out["reportPayment"]["status"], "active");
    w.h.ok(
        &w.agency_token,
        REPORT,
        c(json!({"i": payment("R-2", "500")})),
    )
    .await;
    assert_eq!(
        refused(
            &w,
            &w.agency_token,
            REPORT,
            c(json!({"i": payment("R-1", "105000")}))
        )
        .await,
        "PAYMENT_REFERENCE_REUSED"
    );
    let seen = w.h.ok(&w.agency_token, REPORTS, c(json!({}))).await;
    assert_eq!(seen["case"]["balance"]["amount"], "105000.00");
    assert_eq!(
        seen["case"]["reportedPayments"][0],
        json!({"reference": "R-1", "status": "PENDING", "amount": {"amount": "105000.00"},
               "partnerId": w.agency, "reportedBy": format!("partner:pat@{}", w.agency),
               "decidedBy": null, "rejectionReason": null})
    );

    // The creditor rejects R-2 and confirms R-1: allocated principal first, the process
    // hears `payment-received` and closes the case in that entry.
    let reject = "mutation($c: ID!, $r: String!) { rejectReportedPayment(caseId: $c, reference: $r, reason: \"not in the bank\") { seq } }";
    let confirm = "mutation($c: ID!, $r: String!) { confirmReportedPayment(caseId: $c, reference: $r) { status } }";
    assert_eq!(
        refused(&w, &w.agency_token, confirm, c(json!({"r": "R-1"}))).await,
        "FORBIDDEN"
    );
    w.h.ok(&w.supervisor, reject, c(json!({"r": "R-2"}))).await;
    assert_eq!(
        refused(&w, &w.agent, confirm, c(json!({"r": "R-2"}))).await,
        "PAYMENT_REPORT_DECIDED"
    );
    assert_eq!(
        refused(&w, &w.agent, confirm, c(json!({"r": "R-9"}))).await,
        "PAYMENT_REPORT_NOT_FOUND"
    );
    let out = w.h.ok(&w.agent, confirm, c(json!({"r": "R-1"}))).await;
    assert_eq!(out["confirmReportedPayment"]["status"], "completed");
    assert_eq!(
        refused(&w, &w.agent, confirm, c(json!({"r": "R-1"}))).await,
        "PAYMENT_REPORT_DECIDED"
    );
    let after = w.h.ok(&w.auditor, REPORTS, c(json!({}))).await;
    let case_view = &after["case"];
    assert_eq!(case_view["balance"]["amount"], "0.00");
    assert_eq!(
        case_view["payments"],
        json!([{"reference": "R-1", "allocation": [{"component": "PRINCIPAL"}, {"component": "INTEREST"}]}])
    );
    let statuses: Vec<(&str, &str, &str)> = case_view["reportedPayments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap(),
                r["decidedBy"].as_str().unwrap(),
                r["rejectionReason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("CONFIRMED", "agent:alex", ""),
            ("REJECTED", "supervisor:sam", "not in the bank")
        ]
    );
    w.h.stop().await;
}
on_both!(
    a_creditor_governs_its_cases_and_confirms_reports,
    a_creditor_governs_its_cases
);
