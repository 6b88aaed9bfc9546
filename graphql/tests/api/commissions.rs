//! Commissions and remittances (issue 19, items 5 and 6): partner contracts, the
//! monthly statement (lines, totals, CSV, a stored PDF) with exact figures, who reads
//! what, and remittances reconciled against reported payments whole or not at all.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{World, on_both};

const SET_CONTRACT: &str = "mutation($p: ID!, $c: ContractInput) {
    setPartnerContract(partnerId: $p, contract: $c) { id contract { basis
        stageRates { extrajudicial legal } ageBands { fromDays toDays rate }
        fees { milestone amount { amount currency } } } } }";
const CONTRACT: &str = "{ partners { id contract { basis stageRates { extrajudicial legal }
    ageBands { fromDays toDays rate } fees { milestone amount { amount currency } } } } }";
const STATEMENT: &str = "query($p: ID!, $m: String!) { partnerStatement(partnerId: $p, month: $m) {
    partnerId month
    lines { kind caseRef date reference milestone payment { amount currency } rate amount { amount currency } }
    totals { currency collected { amount } commission { amount } fees { amount } payable { amount } net { amount } }
    csv } }";
const PAY: &str = "mutation($c: ID!, $r: String!, $a: String!) {
    recordPayment(caseId: $c, input: {reference: $r, amount: $a, currency: \"COP\"}) { status } }";
const REPORT: &str = "mutation($c: ID!, $r: String!, $a: String!) {
    reportPayment(caseId: $c, input: {reference: $r, amount: $a, currency: \"COP\"}) { status } }";
const CONFIRM: &str =
    "mutation($c: ID!, $r: String!) { confirmReportedPayment(caseId: $c, reference: $r) { seq } }";
const MILESTONE: &str = "mutation($c: ID!, $m: LegalMilestone!, $r: String!) {
    reportLegalMilestone(caseId: $c, milestone: $m, on: \"2026-03-02\", reference: $r) { seq } }";
const ACCEPT: &str = "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }";

fn agency_contract() -> Value {
    json!({"stageRates": {"extrajudicial": "12.5", "legal": "20"},
           "fees": [{"milestone": "CLAIM_FILED", "amount": "150000", "currency": "COP"},
                    {"milestone": "JUDGMENT", "amount": "300000.00", "currency": "COP"}]})
}

/// A case placed with `partner` and accepted by it (`token`).
async fn placed(w: &World, external_ref: &str, partner: &str, token: &str) -> String {
    let case = w.open_case(external_ref, 1_000_000.0).await;
    w.place(&case, partner).await;
    w.h.ok(token, ACCEPT, json!({"c": case})).await;
    case
}

fn line(
    kind: &str,
    reference: &str,
    payment: Option<&str>,
    rate: Option<&str>,
    amount: &str,
) -> Value {
    json!({"kind": kind, "caseRef": "CM-1", "date": "2026-03-02", "reference": reference,
           "milestone": if kind == "FEE" { json!("CLAIM_FILED") } else { Value::Null },
           "payment": payment.map(|a| json!({"amount": a, "currency": "COP"})),
           "rate": rate, "amount": {"amount": amount, "currency": "COP"}})
}

async fn contracts_price_a_month_of_work(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    let h = &w.h;

    // Contracts: checked, set by admins and supervisors only.
    for (contract, why) in [
        (
            json!({"stageRates": {"extrajudicial": "101", "legal": "20"}}),
            "over 100 %",
        ),
        (
            json!({"stageRates": {"extrajudicial": "-1", "legal": "20"}}),
            "negative",
        ),
        (
            json!({"stageRates": {"extrajudicial": "0.00001", "legal": "20"}}),
            "too precise",
        ),
        (json!({}), "no rates"),
        (
            json!({"stageRates": {"extrajudicial": "1", "legal": "2"},
                "ageBands": [{"fromDays": 0, "rate": "1"}]}),
            "both",
        ),
        (
            json!({"ageBands": [{"fromDays": 0, "toDays": 90, "rate": "10"},
                             {"fromDays": 100, "rate": "20"}]}),
            "a gap",
        ),
        (
            json!({"ageBands": [{"fromDays": 0, "toDays": 90, "rate": "10"},
                             {"fromDays": 60, "rate": "20"}]}),
            "an overlap",
        ),
        (
            json!({"ageBands": [{"fromDays": 0, "toDays": 90, "rate": "10"}]}),
            "not covering",
        ),
        (
            json!({"ageBands": [{"fromDays": -1, "rate": "10"}]}),
            "negative days",
        ),
        (
            json!({"stageRates": {"extrajudicial": "1", "legal": "2"},
                "fees": [{"milestone": "SEIZURE", "amount": "1", "currency": "COP"},
                         {"milestone": "JUDGMENT", "amount": "1", "currency": "USD"}]}),
            "two currencies",
        ),
        (
            json!({"stageRates": {"extrajudicial": "1", "legal": "2"},
                "fees": [{"milestone": "SEIZURE", "amount": "1", "currency": "COP"},
                         {"milestone": "SEIZURE", "amount": "2", "currency": "COP"}]}),
            "a fee twice",
        ),
        (
            json!({"stageRates": {"extrajudicial": "1", "legal": "2"},
                "fees": [{"milestone": "SEIZURE", "amount": "1.001", "currency": "COP"}]}),
            "a fee too precise",
        ),
    ] {
        assert_eq!(
            h.err(
                &w.supervisor,
                SET_CONTRACT,
                json!({"p": w.agency, "c": contract})
            )
            .await,
            "BAD_INPUT",
            "{why}"
        );
    }
    assert_eq!(
        h.err(
            &w.agent,
            SET_CONTRACT,
            json!({"p": w.agency, "c": agency_contract()})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(
            &w.agency_token,
            SET_CONTRACT,
            json!({"p": w.agency, "c": agency_contract()})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(
            &w.admin,
            SET_CONTRACT,
            json!({"p": "nobody", "c": agency_contract()})
        )
        .await,
        "PARTNER_NOT_FOUND"
    );
    let set = h
        .ok(
            &w.supervisor,
            SET_CONTRACT,
            json!({"p": w.agency, "c": agency_contract()}),
        )
        .await;
    let agency_terms = json!({"basis": "STAGE",
        "stageRates": {"extrajudicial": "12.5", "legal": "20"}, "ageBands": [],
        "fees": [{"milestone": "CLAIM_FILED", "amount": {"amount": "150000.00", "currency": "COP"}},
                 {"milestone": "JUDGMENT", "amount": {"amount": "300000.00", "currency": "COP"}}]});
    assert_eq!(set["setPartnerContract"]["contract"], agency_terms);
    // Before its contract, the law firm has no statement to read.
    assert_eq!(
        h.err(
            &w.admin,
            STATEMENT,
            json!({"p": w.law_firm, "m": "2026-03"})
        )
        .await,
        "CONFLICT"
    );
    h.ok(
        &w.admin,
        SET_CONTRACT,
        json!({"p": w.law_firm, "c": {"ageBands": [
            {"fromDays": 0, "toDays": 30, "rate": "10"},
            {"fromDays": 31, "toDays": 90, "rate": "15"},
            {"fromDays": 91, "rate": "25"}],
            "fees": [{"milestone": "CLAIM_FILED", "amount": "100000", "currency": "COP"}]}}),
    )
    .await;

    // Who reads a contract: the creditor's admins and supervisors, and the partner its
    // own, the same as they do; agents and auditors see the partner but not its terms.
    let by_admin = h.ok(&w.admin, CONTRACT, json!({})).await;
    let agency_row = by_admin["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(w.agency))
        .unwrap()
        .clone();
    assert_eq!(agency_row["contract"], agency_terms);
    let own = h.ok(&w.agency_token, CONTRACT, json!({})).await;
    assert_eq!(
        own["partners"],
        json!([agency_row]),
        "its own, nothing else"
    );
    for token in [&w.agent, &w.auditor] {
        assert_eq!(h.err(token, CONTRACT, json!({})).await, "FORBIDDEN");
        let names = h.ok(token, "{ partners { name } }", json!({})).await;
        assert_eq!(names["partners"].as_array().unwrap().len(), 2);
    }

    // March's work on the agency's case CM-1 (placed 46 days past due).
    let case = placed(&w, "CM-1", &w.agency, &w.agency_token).await;
    // Collected while the placement runs: 12.5 % of 100,000.50 is 12,500.0625 → 12,500.06.
    h.ok(
        &w.agent,
        PAY,
        json!({"c": case, "r": "P-1", "a": "100000.50"}),
    )
    .await;
    // Reported by the agency, confirmed by the creditor: 12.5 % of 50,000.
    h.ok(
        &w.agency_token,
        REPORT,
        json!({"c": case, "r": "R-1", "a": "50000"}),
    )
    .await;
    h.ok(&w.supervisor, CONFIRM, json!({"c": case, "r": "R-1"}))
        .await;
    // The claim is filed: a fee, and the case is legal from now on (20 %).
    h.ok(
        &w.agency_token,
        MILESTONE,
        json!({"c": case, "m": "CLAIM_FILED", "r": "22/1931"}),
    )
    .await;
    h.ok(&w.agent, PAY, json!({"c": case, "r": "P-2", "a": "200000"}))
        .await;
    // Reported before the recall, confirmed after it: the agency collected it.
    h.ok(
        &w.agency_token,
        REPORT,
        json!({"c": case, "r": "R-2", "a": "20000"}),
    )
    .await;
    // Recalled: what comes in afterwards is not the agency's.
    h.ok(
        &w.supervisor,
        "mutation($c: ID!) { recallCase(caseId: $c, reason: \"portfolio sold\") { seq } }",
        json!({"c": case}),
    )
    .await;
    h.ok(&w.supervisor, CONFIRM, json!({"c": case, "r": "R-2"}))
        .await;
    h.ok(&w.agent, PAY, json!({"c": case, "r": "P-3", "a": "70000"}))
        .await;
    // Offered but never accepted: the agency earns nothing on it.
    let offered = w.open_case("CM-2", 1_000_000.0).await;
    w.place(&offered, &w.agency).await;
    h.ok(
        &w.agent,
        PAY,
        json!({"c": offered, "r": "P-9", "a": "5000"}),
    )
    .await;
    // The law firm's case: its claim filed, then a payment at its band's 15 %.
    let lf = placed(&w, "CM-3", &w.law_firm, &w.law_firm_token).await;
    h.ok(
        &w.law_firm_token,
        MILESTONE,
        json!({"c": lf, "m": "CLAIM_FILED", "r": "LF-77"}),
    )
    .await;
    h.ok(&w.agent, PAY, json!({"c": lf, "r": "P-5", "a": "10000"}))
        .await;

    let march = h
        .ok(&w.admin, STATEMENT, json!({"p": w.agency, "m": "2026-03"}))
        .await;
    let s = &march["partnerStatement"];
    assert_eq!(
        s["lines"],
        json!([
            line("FEE", "22/1931", None, None, "150000.00"),
            line(
                "COMMISSION",
                "P-1",
                Some("100000.50"),
                Some("12.5"),
                "12500.06"
            ),
            line(
                "COMMISSION",
                "P-2",
                Some("200000.00"),
                Some("20"),
                "40000.00"
            ),
            line(
                "COMMISSION",
                "R-1",
                Some("50000.00"),
                Some("12.5"),
                "6250.00"
            ),
            line("COMMISSION", "R-2", Some("20000.00"), Some("20"), "4000.00"),
        ])
    );
    assert_eq!(
        s["totals"],
        json!([{"currency": "COP", "collected": {"amount": "370000.50"},
                "commission": {"amount": "62750.06"}, "fees": {"amount": "150000.00"},
                "payable": {"amount": "212750.06"}, "net": {"amount": "157250.44"}}])
    );
    assert_eq!(
        s["csv"],
        "kind,case_ref,date,reference,milestone,currency,payment,rate_percent,amount
fee,CM-1,2026-03-02,22/1931,claim_filed,COP,,,150000.00
commission,CM-1,2026-03-02,P-1,,COP,100000.50,12.5,12500.06
commission,CM-1,2026-03-02,P-2,,COP,200000.00,20,40000.00
commission,CM-1,2026-03-02,R-1,,COP,50000.00,12.5,6250.00
commission,CM-1,2026-03-02,R-2,,COP,20000.00,20,4000.00
total_collected,,,,,COP,,,370000.50
total_commission,,,,,COP,,,62750.06
total_fees,,,,,COP,,,150000.00
total_payable,,,,,COP,,,212750.06
net,,,,,COP,,,157250.44
"
    );
    let lf_march = h
        .ok(
            &w.law_firm_token,
            STATEMENT,
            json!({"p": w.law_firm, "m": "2026-03"}),
        )
        .await;
    let lines: Vec<(&str, &str, &str)> = lf_march["partnerStatement"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["reference"].as_str().unwrap(),
                l["rate"].as_str().unwrap_or(""),
                l["amount"]["amount"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [("LF-77", "", "100000.00"), ("P-5", "15", "1500.00")]
    );
    assert_eq!(
        lf_march["partnerStatement"]["totals"][0]["net"]["amount"],
        "-91500.00"
    );

    // Each partner reads its own statement exactly as the creditor does, and no other.
    let own = h
        .ok(
            &w.agency_token,
            STATEMENT,
            json!({"p": w.agency, "m": "2026-03"}),
        )
        .await;
    assert_eq!(own, march);
    assert_eq!(
        h.err(
            &w.law_firm_token,
            STATEMENT,
            json!({"p": w.agency, "m": "2026-03"})
        )
        .await,
        "PARTNER_NOT_FOUND"
    );
    for token in [&w.agent, &w.auditor] {
        assert_eq!(
            h.err(token, STATEMENT, json!({"p": w.agency, "m": "2026-03"}))
                .await,
            "FORBIDDEN"
        );
    }
    for month in ["2026-13", "2026-3", "March", "2026-03-01"] {
        assert_eq!(
            h.err(&w.admin, STATEMENT, json!({"p": w.agency, "m": month}))
                .await,
            "BAD_INPUT",
            "{month}"
        );
    }

    // The PDF, stored and downloaded by the agency; not by the other partner.
    let issued = h
        .ok(
            &w.supervisor,
            "mutation($p: ID!) { issuePartnerStatement(partnerId: $p, month: \"2026-03\") { id month sha256 size createdBy } }",
            json!({"p": w.agency}),
        )
        .await["issuePartnerStatement"]
        .clone();
    assert_eq!(issued["createdBy"], "supervisor:sam");
    assert_eq!(
        h.err(
            &w.agency_token,
            "mutation($p: ID!) { issuePartnerStatement(partnerId: $p, month: \"2026-03\") { id } }",
            json!({"p": w.agency})
        )
        .await,
        "FORBIDDEN"
    );
    let download = "mutation($id: ID!) { downloadPartnerStatement(id: $id) { statement { id } request { method url headers { name value } } } }";
    let link = h
        .ok(&w.agency_token, download, json!({"id": issued["id"]}))
        .await["downloadPartnerStatement"]["request"]
        .clone();
    assert_eq!(link["method"], "GET");
    let pdf = h
        .http
        .get(link["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status().as_u16(), 200);
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    assert_eq!(bytes.len() as i64, issued["size"].as_i64().unwrap());
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        issued["sha256"].as_str().unwrap()
    );
    assert_eq!(
        h.err(&w.law_firm_token, download, json!({"id": issued["id"]}))
            .await,
        "DOCUMENT_NOT_FOUND"
    );
    let listed = h
        .ok(
            &w.agency_token,
            "query($p: ID!) { issuedPartnerStatements(partnerId: $p) { id } }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(
        listed["issuedPartnerStatements"],
        json!([{"id": issued["id"]}])
    );

    // April: P-1 comes back; its commission is taken back in April, March stands.
    w.h.clock.advance(chrono::Duration::days(31));
    w.renew_tokens().await;
    let h = &w.h;
    h.ok(
        &w.supervisor,
        "mutation($c: ID!) { reversePayment(caseId: $c, reference: \"P-1\", reason: \"returned\") { seq } }",
        json!({"c": case}),
    )
    .await;
    let april = h
        .ok(&w.admin, STATEMENT, json!({"p": w.agency, "m": "2026-04"}))
        .await;
    assert_eq!(
        april["partnerStatement"]["lines"],
        json!([{"kind": "REVERSAL", "caseRef": "CM-1", "date": "2026-04-02", "reference": "P-1",
                "milestone": null, "payment": {"amount": "-100000.50", "currency": "COP"},
                "rate": "12.5", "amount": {"amount": "-12500.06", "currency": "COP"}}])
    );
    assert_eq!(
        april["partnerStatement"]["totals"][0]["net"]["amount"],
        "-87500.44"
    );
    let again = h
        .ok(&w.admin, STATEMENT, json!({"p": w.agency, "m": "2026-03"}))
        .await;
    assert_eq!(
        again["partnerStatement"]["lines"],
        march["partnerStatement"]["lines"]
    );

    // A contract cleared: no terms, no statement.
    let cleared = h
        .ok(&w.admin, SET_CONTRACT, json!({"p": w.law_firm, "c": null}))
        .await;
    assert_eq!(cleared["setPartnerContract"]["contract"], Value::Null);
    assert_eq!(
        h.err(
            &w.law_firm_token,
            STATEMENT,
            json!({"p": w.law_firm, "m": "2026-03"})
        )
        .await,
        "CONFLICT"
    );
    w.h.stop().await;
}

on_both!(commission_statements, contracts_price_a_month_of_work);

const RECONCILE: &str = "mutation($p: ID!, $r: String!, $l: [RemittanceLineInput!]!) {
    reconcileRemittance(partnerId: $p, reference: $r, lines: $l) {
        confirmed repeated errors { row column code } } }";
const UPLOAD: &str = "mutation($p: ID!, $r: String!, $file: Upload!) {
    uploadRemittance(partnerId: $p, reference: $r, file: $file) {
        confirmed repeated errors { row column code } } }";

fn rline(reference: &str, case_ref: &str, amount: &str) -> Value {
    json!({"reference": reference, "caseRef": case_ref, "amount": amount, "currency": "COP",
           "paidOn": "2026-03-01"})
}

async fn statuses(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { balance { amount } reportedPayments { reference status } } }",
        json!({"c": case}),
    )
    .await["case"]
        .clone()
}

async fn remittances_confirm_whole_or_not_at_all(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let one = placed(&w, "RM-1", &w.agency, &w.agency_token).await;
    let two = placed(&w, "RM-2", &w.agency, &w.agency_token).await;
    let theirs = placed(&w, "RM-3", &w.law_firm, &w.law_firm_token).await;
    for (token, case, reference, amount) in [
        (&w.agency_token, &one, "R-1", "50000"),
        (&w.agency_token, &two, "R-2", "25000.50"),
        (&w.agency_token, &two, "R-3", "10000"),
        (&w.law_firm_token, &theirs, "L-1", "9000"),
    ] {
        h.ok(
            token,
            REPORT,
            json!({"c": case, "r": reference, "a": amount}),
        )
        .await;
    }
    h.ok(
        &w.supervisor,
        "mutation($c: ID!) { rejectReportedPayment(caseId: $c, reference: \"R-3\", reason: \"never arrived\") { seq } }",
        json!({"c": two}),
    )
    .await;
    let before = (statuses(&w, &one).await, statuses(&w, &two).await);

    // Lines that do not read are named and nothing else is looked at.
    let unread = h
        .ok(&w.supervisor, RECONCILE, json!({"p": w.agency, "r": "REM-1", "l": [
            rline("R-1", "RM-1", "50000"),
            {"reference": "R-2", "caseRef": "RM-2", "amount": "abc", "currency": "COP", "paidOn": "2026-03-01"},
            {"reference": "R-2", "caseRef": "RM-2", "amount": "1", "currency": "XXX", "paidOn": "someday"},
        ]}))
        .await["reconcileRemittance"]
        .clone();
    assert_eq!(
        unread,
        json!({"confirmed": 0, "repeated": 0, "errors": [
            {"row": 2, "column": "amount", "code": "BAD_INPUT"},
            {"row": 3, "column": "reference", "code": "BAD_INPUT"},
            {"row": 3, "column": "currency", "code": "BAD_INPUT"},
            {"row": 3, "column": "paid_on", "code": "BAD_INPUT"}]})
    );
    // One good line among lines that do not match: none is confirmed, each is named.
    let mismatched = h
        .ok(
            &w.supervisor,
            RECONCILE,
            json!({"p": w.agency, "r": "REM-1", "l": [
                rline("R-1", "RM-1", "50000"),
                rline("R-2", "RM-2", "25000"),
                rline("R-3", "RM-2", "10000"),
                rline("NOPE", "RM-1", "1"),
                rline("L-1", "RM-3", "9000"),
                rline("R-9", "RM-404", "1"),
            ]}),
        )
        .await["reconcileRemittance"]
        .clone();
    assert_eq!(
        mismatched,
        json!({"confirmed": 0, "repeated": 0, "errors": [
            {"row": 2, "column": "amount", "code": "REPORT_AMOUNT_MISMATCH"},
            {"row": 3, "column": "reference", "code": "PAYMENT_REPORT_DECIDED"},
            {"row": 4, "column": "reference", "code": "PAYMENT_REPORT_NOT_FOUND"},
            {"row": 5, "column": "case_ref", "code": "PLACEMENT_CONFLICT"},
            {"row": 6, "column": "case_ref", "code": "CASE_NOT_FOUND"}]})
    );
    assert_eq!(
        (statuses(&w, &one).await, statuses(&w, &two).await),
        before,
        "nothing half-applied"
    );

    // Who may: the creditor's admins and supervisors, not agents nor the partner.
    let good = json!({"p": w.agency, "r": "REM-1", "l": [rline("R-1", "RM-1", "50000"), rline("R-2", "RM-2", "25000.50")]});
    for token in [&w.agent, &w.agency_token] {
        assert_eq!(h.err(token, RECONCILE, good.clone()).await, "FORBIDDEN");
    }
    let mut nobody = good.clone();
    nobody["p"] = json!("nobody");
    assert_eq!(
        h.err(&w.admin, RECONCILE, nobody).await,
        "PARTNER_NOT_FOUND"
    );

    // A matching remittance confirms every line: they count on the ledger now.
    let done = h.ok(&w.supervisor, RECONCILE, good.clone()).await;
    assert_eq!(
        done["reconcileRemittance"],
        json!({"confirmed": 2, "repeated": 0, "errors": []})
    );
    assert_eq!(
        statuses(&w, &one).await,
        json!({"balance": {"amount": "950000.00"},
               "reportedPayments": [{"reference": "R-1", "status": "CONFIRMED"}]})
    );
    assert_eq!(statuses(&w, &two).await["balance"]["amount"], "974999.50");
    // The same remittance again confirms nothing twice; other lines under its
    // reference are refused.
    let again = h.ok(&w.admin, RECONCILE, good.clone()).await;
    assert_eq!(
        again["reconcileRemittance"],
        json!({"confirmed": 0, "repeated": 2, "errors": []})
    );
    assert_eq!(statuses(&w, &one).await["balance"]["amount"], "950000.00");
    let mut other = good.clone();
    other["l"] = json!([rline("R-1", "RM-1", "50000")]);
    assert_eq!(h.err(&w.admin, RECONCILE, other).await, "CONFLICT");

    // A CSV advice, checked the same way.
    h.ok(
        &w.agency_token,
        REPORT,
        json!({"c": one, "r": "R-4", "a": "1234.56"}),
    )
    .await;
    let upload = |csv: &'static str| {
        super::documents::upload(
            &w,
            &w.supervisor,
            UPLOAD,
            json!({"p": w.agency, "r": "REM-2", "file": null}),
            "remittance.csv",
            csv.as_bytes(),
        )
    };
    let bad =
        upload("reference,case_ref,amount,currency,paid_on\nR-4,RM-1,1234.5,COP,2026-03-01\n")
            .await;
    assert_eq!(
        bad["data"]["uploadRemittance"],
        json!({"confirmed": 0, "repeated": 0, "errors": [{"row": 1, "column": "amount", "code": "REPORT_AMOUNT_MISMATCH"}]})
    );
    let ok =
        upload("paid_on,reference,case_ref,amount,currency\n2026-03-01,R-4,RM-1,1234.56,COP\n")
            .await;
    assert_eq!(
        ok["data"]["uploadRemittance"],
        json!({"confirmed": 1, "repeated": 0, "errors": []})
    );
    assert_eq!(statuses(&w, &one).await["balance"]["amount"], "948765.44");
    w.h.stop().await;
}

on_both!(remittances, remittances_confirm_whole_or_not_at_all);
