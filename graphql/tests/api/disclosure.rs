//! Data minimisation for partners (issue 19, decision 0023): a partner reads of a placed
//! case only what its policy gives it at the case's stage, field by field; never the
//! creditor's internal notes nor another partner's; and every read of a debtor's
//! personal data is on the auditors' record.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::documents::upload;
use super::{World, on_both};

/// Opens a case, takes it past its first task to the partner stage (`agency`), with an
/// internal comment made before placement, and places it with `partner`.
async fn placed(w: &World, reference: &str, partner: &str) -> String {
    let case = w.open_case(reference, 900.0).await;
    w.complete_first_task(&case, &w.admin).await;
    w.h.ok(
        &w.supervisor,
        "mutation($c: ID!) { addComment(caseId: $c, text: \"debtor has a lawyer, salary 3000, do not settle below 80%\") { seq } }",
        json!({"c": case}),
    )
    .await;
    w.place(&case, partner).await;
    case
}

fn texts(data: &Value) -> Vec<String> {
    data["case"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect()
}

const NOTES: &str = "query($c: ID!) { case(id: $c) { notes { text author } } }";

/// Each field a partner might ask of a case, with the kind of data it needs.
const FIELDS: [(&str, &str); 10] = [
    ("amountDue", "balance"),
    ("balance { amount }", "balance"),
    ("accounts { id }", "balance"),
    ("payments { reference }", "payment_history"),
    ("promises { id }", "payment_history"),
    ("plans { id }", "payment_history"),
    ("contactAttempts { id }", "contact_history"),
    (
        "contactPermission(channel: SMS) { allowed }",
        "debtor_contacts",
    ),
    ("debtor { contacts { kind } }", "debtor_contacts"),
    ("debtor { name }", "debtor_identity"),
];

async fn field(w: &World, token: &str, case: &str, field: &str) -> Result<(), String> {
    let (status, body) =
        w.h.post(
            Some(token),
            json!({"query": format!("query($c: ID!) {{ case(id: $c) {{ {field} }} }}"), "variables": {"c": case}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    match super::error_code(&body) {
        None => Ok(()),
        Some(code) => Err(format!("{code}: {}", body["errors"][0]["message"])),
    }
}

async fn partners_read_what_their_stage_needs(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = placed(&w, "MIN-1", &w.agency).await;
    let agency = &w.agency_token;

    // The measured leak: the supervisor's comment made before placement.
    h.ok(
        agency,
        "mutation($c: ID!) { recordActivity(caseId: $c, kind: \"call\", note: \"no answer\") { seq } }",
        json!({"c": case}),
    )
    .await;
    let seen = texts(&h.ok(agency, NOTES, json!({"c": case})).await);
    assert_eq!(seen, ["no answer"], "the agency reads only its own notes");
    let all = texts(&h.ok(&w.admin, NOTES, json!({"c": case})).await);
    assert_eq!(all.len(), 2, "{all:?}");

    // By default an agency reads every field its work needs.
    for (f, _) in FIELDS {
        assert_eq!(field(&w, agency, &case, f).await, Ok(()), "{f}");
    }

    // Narrowed for the stage the case is at, field by field; others read all.
    let set = "mutation($p: ID!, $s: String, $d: [CaseData!]!) {
        setPartnerDisclosure(partnerId: $p, stage: $s, data: $d) { disclosure { stage data } } }";
    let after = h
        .ok(
            &w.supervisor,
            set,
            json!({"p": w.agency, "s": "agency", "d": ["DEBTOR_IDENTITY"]}),
        )
        .await;
    assert_eq!(
        after["setPartnerDisclosure"]["disclosure"][1],
        json!({"stage": "agency", "data": ["DEBTOR_IDENTITY"]})
    );
    for (f, needs) in FIELDS {
        let got = field(&w, agency, &case, f).await;
        if needs == "debtor_identity" {
            assert_eq!(got, Ok(()), "{f}");
        } else {
            let refused = got.expect_err(f);
            assert!(
                refused.starts_with("FORBIDDEN")
                    && refused.contains(needs)
                    && refused.contains("stage agency"),
                "{f}: {refused}"
            );
        }
        for staff in [&w.admin, &w.supervisor, &w.agent] {
            assert_eq!(field(&w, staff, &case, f).await, Ok(()), "{f} for staff");
        }
    }
    // Other stages keep the default.
    let default = h
        .ok(
            &w.admin,
            "{ partners { id disclosure { stage data } } }",
            json!({}),
        )
        .await;
    let ours = default["partners"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == json!(w.agency))
        .unwrap();
    assert_eq!(ours["disclosure"][0]["stage"], Value::Null);
    assert!(
        ours["disclosure"][0]["data"]
            .as_array()
            .unwrap()
            .contains(&json!("BALANCE"))
    );

    // Who may set it, and bad input.
    assert_eq!(
        h.err(
            &w.agent,
            set,
            json!({"p": w.agency, "s": "agency", "d": []})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(agency, set, json!({"p": w.agency, "d": ["BALANCE"]}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(
            &w.supervisor,
            set,
            json!({"p": w.agency, "s": "Legal Stage", "d": []})
        )
        .await,
        "BAD_INPUT"
    );
    assert_eq!(
        h.err(&w.supervisor, set, json!({"p": "no-such-partner", "d": []}))
            .await,
        "PARTNER_NOT_FOUND"
    );
    assert_eq!(
        h.err(&w.supervisor, set, json!({"p": w.agency, "d": ["SALARY"]}))
            .await,
        "GRAPHQL_VALIDATION_FAILED"
    );

    // Every read of personal data is on the record, once per kind and request; the
    // refused ones are not reads.
    let log =
        "query($c: ID) { partnerReadLog(caseId: $c) { partnerId actor caseId debtorId data at } }";
    let entries = h.ok(&w.auditor, log, json!({"c": case})).await["partnerReadLog"]
        .as_array()
        .unwrap()
        .clone();
    let kinds = |data: &str| entries.iter().filter(|e| e["data"] == data).count();
    // Ten default reads of the fields above, then one identity read after narrowing.
    assert_eq!(kinds("BALANCE"), 3, "{entries:#?}");
    assert_eq!(kinds("PAYMENT_HISTORY"), 3);
    assert_eq!(kinds("CONTACT_HISTORY"), 1);
    assert_eq!(kinds("DEBTOR_CONTACTS"), 2);
    assert_eq!(kinds("DEBTOR_IDENTITY"), 2);
    assert!(
        entries
            .iter()
            .all(|e| e["actor"] == json!(format!("partner:pat@{}", w.agency))
                && e["caseId"] == json!(case)
                && e["debtorId"] == "D-MIN-1"
                && e["partnerId"] == json!(w.agency))
    );
    for who in [agency, &w.agent, &w.supervisor] {
        assert_eq!(h.err(who, log, json!({"c": case})).await, "FORBIDDEN");
    }
    // Staff reads are not partner reads.
    let before = entries.len();
    field(&w, &w.admin, &case, "balance { amount }")
        .await
        .unwrap();
    let again = h.ok(&w.auditor, log, json!({"c": case})).await;
    assert_eq!(again["partnerReadLog"].as_array().unwrap().len(), before);
    w.h.stop().await;
}

on_both!(partner_disclosure, partners_read_what_their_stage_needs);

async fn documents_and_notes_follow_the_partner(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = placed(&w, "MIN-2", &w.agency).await;
    let kinds = [
        "CONTRACT",
        "ACCOUNT_STATEMENT",
        "COURT_FILING",
        "CALL_RECORDING",
    ];
    let mut ids = Vec::new();
    for kind in kinds {
        let body = upload(
            &w,
            &w.admin,
            &format!("mutation($c: ID!, $file: Upload!) {{ uploadDocument(caseId: $c, kind: {kind}, file: $file) {{ id }} }}"),
            json!({"c": case, "file": null}),
            "file.pdf",
            b"%PDF-1.4 minimal",
        )
        .await;
        ids.push(
            body["data"]["uploadDocument"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let docs = "query($c: ID!) { case(id: $c) { documents { kind } } }";
    let kinds_seen = |data: Value| -> Vec<String> {
        data["case"]["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["kind"].as_str().unwrap().to_string())
            .collect()
    };
    // An agency: no contract file nor statements; a call recording with contact history.
    assert_eq!(
        kinds_seen(h.ok(&w.agency_token, docs, json!({"c": case})).await),
        ["court_filing", "call_recording"]
    );
    let one = "query($d: ID!) { document(id: $d) { id } }";
    assert_eq!(
        h.err(&w.agency_token, one, json!({"d": ids[0]})).await,
        "DOCUMENT_NOT_FOUND"
    );
    assert_eq!(
        kinds_seen(h.ok(&w.admin, docs, json!({"c": case})).await).len(),
        4
    );

    // Recalled and placed with a law firm: it reads the contract file, and neither the
    // creditor's notes nor the agency's.
    h.ok(
        &w.agency_token,
        "mutation($c: ID!) { recordActivity(caseId: $c, kind: \"visit\", note: \"debtor not home\") { seq } }",
        json!({"c": case}),
    )
    .await;
    h.ok(
        &w.supervisor,
        "mutation($c: ID!) { recallCase(caseId: $c, reason: \"to court\") { seq } }",
        json!({"c": case}),
    )
    .await;
    w.place(&case, &w.law_firm).await;
    assert_eq!(
        kinds_seen(h.ok(&w.law_firm_token, docs, json!({"c": case})).await),
        kinds.map(str::to_lowercase)
    );
    assert_eq!(
        h.ok(&w.law_firm_token, one, json!({"d": ids[0]})).await["document"]["id"],
        json!(ids[0])
    );
    assert!(texts(&h.ok(&w.law_firm_token, NOTES, json!({"c": case})).await).is_empty());
    w.h.stop().await;
}

on_both!(
    partner_documents_and_notes,
    documents_and_notes_follow_the_partner
);
