//! Contact attempts through the API: every role that reads the case sees its attempts,
//! a partner only with the destination masked and no provider id; an agent records
//! what came of one; a wrong attempt number or an outcome from an auditor is refused.

use collections::contact::{Channel, ContactAttempt, DeliveryStatus, TemplateUse};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::case::{CaseFact, ContactFact};

use super::{World, on_both};

const ATTEMPTS: &str = "query($c: ID!) { case(id: $c) { contactAttempts {
    id channel destination recipient provider providerMessageId status outcome key
    template { name language version } } } }";
const OUTCOME: &str = "mutation($c: ID!, $a: Int!, $o: ContactOutcome!) {
    recordContactOutcome(caseId: $c, attempt: $a, outcome: $o, note: \"spoke to her\") { seq } }";

async fn attempts_by_role(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let case = w.open_case("CT-1", 120_000.0).await;
    let now = services::clock::Clock::now(w.h.clock.as_ref());
    let attempt = ContactAttempt {
        id: 1,
        key: "job-7".into(),
        channel: Channel::Sms,
        destination: "+573101234567".into(),
        recipient: "debtor".into(),
        template: Some(TemplateUse {
            name: "reminder-1".into(),
            language: "es".into(),
            version: 2,
        }),
        provider: "twilio".into(),
        provider_message_id: None,
        status: DeliveryStatus::Sending,
        detail: None,
        outcome: None,
        made_at: now,
        updated_at: now,
    };
    let rt = w.h.desk.runtime();
    for fact in [
        ContactFact::AttemptMade { attempt },
        ContactFact::DeliveryUpdated {
            attempt: 1,
            status: DeliveryStatus::Delivered,
            provider: None,
            provider_message_id: Some("SM123".into()),
            detail: None,
        },
        // A late "sent" after "delivered" is kept in the history, never moves it back.
        ContactFact::DeliveryUpdated {
            attempt: 1,
            status: DeliveryStatus::Sent,
            provider: None,
            provider_message_id: None,
            detail: None,
        },
    ] {
        rt.record_fact(&case, CaseFact::Contact(fact), "worker:contact.sms", None)
            .await
            .unwrap();
    }

    let full = json!({
        "id": 1, "channel": "SMS", "destination": "+573101234567", "recipient": "debtor",
        "provider": "twilio", "providerMessageId": "SM123", "status": "DELIVERED",
        "outcome": null, "key": "job-7",
        "template": {"name": "reminder-1", "language": "es", "version": 2}
    });
    for who in [&w.admin, &w.supervisor, &w.agent, &w.auditor] {
        let seen = w.h.ok(who, ATTEMPTS, json!({"c": case})).await;
        assert_eq!(seen["case"]["contactAttempts"], json!([full]));
    }
    // The placed agency learns that the debtor was written to, not where.
    w.place(&case, &w.agency).await;
    let seen = w.h.ok(&w.agency_token, ATTEMPTS, json!({"c": case})).await;
    let a = &seen["case"]["contactAttempts"][0];
    assert_eq!(a["destination"], "+57******4567");
    assert_eq!(a["providerMessageId"], Value::Null);
    assert_eq!(a["status"], "DELIVERED");
    // Another partner does not reach the case at all.
    assert_eq!(
        w.h.err(&w.law_firm_token, ATTEMPTS, json!({"c": case}))
            .await,
        "CASE_NOT_FOUND"
    );

    // What came of it: the agent records it; the auditor may not; no such attempt.
    w.h.ok(
        &w.agent,
        OUTCOME,
        json!({"c": case, "a": 1, "o": "REACHED"}),
    )
    .await;
    assert_eq!(
        w.h.err(
            &w.auditor,
            OUTCOME,
            json!({"c": case, "a": 1, "o": "REACHED"})
        )
        .await,
        "FORBIDDEN"
    );
    assert_eq!(
        w.h.err(
            &w.agent,
            OUTCOME,
            json!({"c": case, "a": 9, "o": "PROMISE"})
        )
        .await,
        "CONTACT_ATTEMPT_CONFLICT"
    );
    let seen = w.h.ok(&w.auditor, ATTEMPTS, json!({"c": case})).await;
    assert_eq!(seen["case"]["contactAttempts"][0]["outcome"], "REACHED");
    let history =
        w.h.ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType } } }",
            json!({"c": case}),
        )
        .await;
    let kinds: Vec<&str> = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for kind in [
        "ContactAttempted",
        "ContactDeliveryUpdated",
        "ContactOutcomeRecorded",
    ] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
}

on_both!(contact_attempts_by_role, attempts_by_role);
