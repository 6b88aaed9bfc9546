//! Debtors over GraphQL: an agent registers a debtor with contacts, consents and related
//! parties; bad input is refused with its code and writes nothing; a partner reads the
//! debtor of a case placed with it field by field only as far as its work needs.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, error_code, on_both};

const REGISTER: &str = "mutation($i: RegisterDebtorInput!) { registerDebtor(input: $i) {
    debtor { id version } } }";
const FULL: &str = "query($d: ID!) { debtor(id: $d) { id name registered kind language timeZone
    candidateTimeZones jurisdiction { country region }
    contacts { id kind phone { e164 country mobile } email postalAddress { locality country }
               consents { id channel how givenBy revokedAt } authorisedChannels }
    activeFlags { flag since }
    relatedParties { index relationship name mayBeTold contacts { email } } version } }";

fn ana(id: &str) -> Value {
    json!({
        "id": id, "kind": "PERSON", "name": "Ana Pérez", "country": "US", "region": "TX",
        "language": "es_us",
        "contacts": [
            {"point": {"phone": {"number": "(212) 555-0100", "dialledIn": "US"}},
             "consents": [{"channel": "SMS", "how": "WEB_FORM", "givenBy": "debtor",
                           "givenAt": "2025-12-01T10:00:00Z"}]},
            {"point": {"email": "Ana@Example.com"}},
            {"point": {"postalAddress": {"lines": ["12 Main St"], "locality": "Austin",
                                         "region": "TX", "country": "US"}}}
        ],
        "relatedParties": [
            {"relationship": "GUARANTOR", "kind": "PERSON", "name": "Luis Pérez",
             "contacts": [{"point": {"email": "luis@example.com"}}]},
            {"relationship": "EMPLOYER", "kind": "COMPANY", "name": "Acme Oil"}
        ]
    })
}

async fn debtors_are_registered_and_read_by_role(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;

    // Bad input: each refused with its own code, and the debtor does not appear.
    for (patch, want) in [
        (
            json!({"contacts": [{"point": {"phone": {"number": "+57 999 999 9999"}}}]}),
            "INVALID_PHONE_NUMBER",
        ),
        (
            json!({"contacts": [{"point": {"phone": {"number": "310 1234567"}}}]}),
            "INVALID_PHONE_NUMBER",
        ),
        (
            json!({"contacts": [{"point": {"email": "ana@"}}]}),
            "INVALID_EMAIL",
        ),
        (json!({"country": "XX"}), "UNKNOWN_COUNTRY"),
        (json!({"region": "ZZ"}), "UNKNOWN_COUNTRY"),
        (json!({"timeZone": "Mars/Olympus"}), "UNKNOWN_TIME_ZONE"),
        (json!({"language": "spanish"}), "INVALID_LANGUAGE"),
        (json!({"name": "  "}), "BAD_INPUT"),
        (
            json!({"contacts": [{"point": {"email": "a@example.com"},
                              "consents": [{"channel": "SMS", "how": "WRITTEN", "givenBy": "x"}]}]}),
            "CHANNEL_NOT_FOR_CONTACT",
        ),
        (
            json!({"contacts": [{"point": {"email": "a@example.com"},
                              "consents": [{"channel": "EMAIL", "how": "WRITTEN", "givenBy": "x",
                                            "givenAt": "2099-01-01T00:00:00Z"}]}]}),
            "BAD_INPUT",
        ),
    ] {
        let mut input = ana("D-BAD");
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let (_, body) = h
            .post(
                Some(&w.agent),
                json!({"query": REGISTER, "variables": {"i": input}}),
            )
            .await;
        assert_eq!(error_code(&body).as_deref(), Some(want), "{patch}: {body}");
    }
    let (_, body) = h
        .post(
            Some(&w.agent),
            json!({"query": FULL, "variables": {"d": "D-BAD"}}),
        )
        .await;
    assert_eq!(error_code(&body).as_deref(), Some("DEBTOR_NOT_FOUND"));
    // A contact point is exactly one of phone, e-mail or address.
    let mut two = ana("D-BAD");
    two["contacts"] =
        json!([{"point": {"email": "a@example.com", "phone": {"number": "+12125550100"}}}]);
    assert_eq!(
        h.err(&w.agent, REGISTER, json!({"i": two})).await,
        "GRAPHQL_VALIDATION_FAILED"
    );

    // The agent registers the debtor of a case, and reads every field back checked.
    let case = w.open_case("DEBT-1", 100.0).await;
    let out = h
        .ok(&w.agent, REGISTER, json!({"i": ana("D-DEBT-1")}))
        .await;
    assert_eq!(out["registerDebtor"]["debtor"]["version"], 7);
    let d = &h.ok(&w.agent, FULL, json!({"d": "D-DEBT-1"})).await["debtor"];
    assert_eq!(d["language"], "es-US");
    assert_eq!(d["jurisdiction"], json!({"country": "US", "region": "TX"}));
    assert_eq!(d["timeZone"], Value::Null);
    // A +1 number could ring anywhere in the US: every US zone is a candidate, the
    // address's Texas ones included.
    let zones: Vec<&str> = d["candidateTimeZones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap())
        .collect();
    for zone in [
        "America/Chicago",
        "America/Denver",
        "America/New_York",
        "Pacific/Honolulu",
    ] {
        assert!(zones.contains(&zone), "{zone}: {zones:?}");
    }
    assert!(zones.is_sorted());
    assert_eq!(d["contacts"][0]["phone"]["e164"], "+12125550100");
    assert_eq!(d["contacts"][0]["authorisedChannels"], json!(["SMS"]));
    assert_eq!(d["contacts"][1]["email"], "Ana@example.com");
    assert_eq!(d["contacts"][2]["kind"], "POSTAL");
    assert_eq!(d["relatedParties"].as_array().unwrap().len(), 2);
    assert_eq!(d["relatedParties"][1]["mayBeTold"], false);

    // The agency's agent learns of a dispute and a new number.
    w.place(&case, &w.agency).await;
    h.ok(
        &w.agency_token,
        "mutation($d: ID!) { setDebtorFlag(debtorId: $d, flag: DISPUTE, reason: \"debtor sent a letter: loan repaid in 2024\") { debtor { id } } }",
        json!({"d": "D-DEBT-1"}),
    )
    .await;
    let added = h
        .ok(
            &w.agency_token,
            "mutation($d: ID!) { addDebtorContact(debtorId: $d, contact: {point: {phone: {number: \"+1 512 555 0199\"}}}, idempotencyKey: \"k-1\") { contactId } }",
            json!({"d": "D-DEBT-1"}),
        )
        .await;
    assert_eq!(added["addDebtorContact"]["contactId"], 3);

    // What the agency reads, field by field: contacts and flags in force, the guarantor;
    // not the employer, not who set a flag and why, not the file.
    let seen = &h.ok(&w.agency_token, FULL, json!({"d": "D-DEBT-1"})).await["debtor"];
    assert_eq!(seen["contacts"].as_array().unwrap().len(), 4);
    assert_eq!(seen["activeFlags"][0]["flag"], "DISPUTE");
    let parties = seen["relatedParties"].as_array().unwrap();
    assert_eq!(parties.len(), 1);
    assert_eq!(parties[0]["relationship"], "GUARANTOR");
    for field in ["flagHistory { reason }", "fileHistory { verified }"] {
        let q = format!("query($d: ID!) {{ debtor(id: $d) {{ {field} }} }}");
        assert_eq!(
            h.err(&w.agency_token, &q, json!({"d": "D-DEBT-1"})).await,
            "FORBIDDEN",
            "{field}"
        );
    }
    // Through the case too, the same cut.
    let via_case = h
        .ok(
            &w.agency_token,
            "query($c: ID!) { case(id: $c) { debtor { relatedParties { name } contacts { id } } } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(
        via_case["case"]["debtor"]["relatedParties"],
        json!([{"name": "Luis Pérez"}])
    );
    // The agency may not rename, clear the dispute or add parties.
    for q in [
        "mutation($d: ID!) { updateDebtor(id: $d, input: {name: \"X\"}) { debtor { id } } }",
        "mutation($d: ID!) { clearDebtorFlag(debtorId: $d, flag: DISPUTE, reason: \"x\") { debtor { id } } }",
    ] {
        assert_eq!(
            h.err(&w.agency_token, q, json!({"d": "D-DEBT-1"})).await,
            "FORBIDDEN"
        );
    }
    // The law firm has no case of this debtor: for it the debtor does not exist.
    assert_eq!(
        h.err(&w.law_firm_token, FULL, json!({"d": "D-DEBT-1"}))
            .await,
        "DEBTOR_NOT_FOUND"
    );

    // The auditor reads who did what, and that the file's chain holds.
    let audit = h
        .ok(
            &w.auditor,
            "query($d: ID!) { debtor(id: $d) { flagHistory { flag set by reason }
               fileHistory { verified entries { seq eventType actor } } } }",
            json!({"d": "D-DEBT-1"}),
        )
        .await;
    let history = &audit["debtor"]["flagHistory"][0];
    assert_eq!(history["by"], json!(format!("partner:pat@{}", w.agency)));
    assert_eq!(audit["debtor"]["fileHistory"]["verified"], true);
    let entries = audit["debtor"]["fileHistory"]["entries"]
        .as_array()
        .unwrap();
    assert_eq!(entries.len(), 9);
    assert_eq!(entries[8]["eventType"], "ContactAdded");

    // Revoking the SMS consent takes SMS off the authorised channels; twice is refused.
    let revoke = "mutation($d: ID!) { revokeConsent(debtorId: $d, contactId: 0, consentId: 0) {
        debtor { contacts { authorisedChannels consents { revokedAt } } } } }";
    let out = h.ok(&w.agent, revoke, json!({"d": "D-DEBT-1"})).await;
    assert_eq!(
        out["revokeConsent"]["debtor"]["contacts"][0]["authorisedChannels"],
        json!([])
    );
    assert_eq!(
        h.err(&w.agent, revoke, json!({"d": "D-DEBT-1"})).await,
        "CONSENT_ALREADY_REVOKED"
    );

    let list = h
        .ok(
            &w.agency_token,
            "{ debtors(first: 10) { edges { node { id } } pageInfo { hasNextPage } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["debtors"]["edges"],
        json!([{"node": {"id": "D-DEBT-1"}}])
    );
    w.h.stop().await;
}

on_both!(debtors_by_role, debtors_are_registered_and_read_by_role);
