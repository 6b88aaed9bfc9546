//! Message templates over GraphQL: a supervisor saves versions, agents and auditors list
//! them, a case's message is previewed with its real context (saved template or draft),
//! and what a message could not send is refused with INVALID_TEMPLATE naming the problem.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, error_code, on_both};

const SAVE: &str = "mutation($i: ContactTemplateInput!) { saveContactTemplate(input: $i) {
    creditor channel name language version subject body createdAt createdBy } }";
const LIST: &str = "query($c: String, $ch: ContactChannel, $n: String) {
    contactTemplates(creditor: $c, channel: $ch, name: $n) { language version body } }";
const PREVIEW: &str =
    "query($c: ID!, $ch: ContactChannel!, $n: String, $l: String, $d: ContactTemplateDraft) {
    previewContactTemplate(caseId: $c, channel: $ch, name: $n, language: $l, draft: $d) {
      subject body template { name language version } recipient { role name destination } } }";

fn sms(language: &str, body: &str) -> Value {
    json!({"creditor": "default", "channel": "SMS", "name": "reminder-1",
           "language": language, "body": body})
}

/// The first error's message.
fn message(body: &Value) -> String {
    body["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn templates_are_saved_listed_and_previewed(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = w.open_case("TPL-1", 1_250_000.0).await;
    h.ok(
        &w.agent,
        "mutation($i: RegisterDebtorInput!) { registerDebtor(input: $i) { debtor { id } } }",
        json!({"i": {"id": "D-TPL-1", "kind": "PERSON", "name": "Ana Pérez", "country": "CO",
                     "language": "es-CO",
                     "contacts": [{"point": {"phone": {"number": "+57 310 1234567"}}}]}}),
    )
    .await;

    // Before the creditor has its own: the built-in Spanish reminder, money written for
    // a Colombian reader, the opt-out line, the debtor's mobile.
    let p = &h
        .ok(&w.agent, PREVIEW, json!({"c": case, "ch": "SMS"}))
        .await["previewContactTemplate"];
    assert_eq!(
        p["template"],
        json!({"name": "reminder-1", "language": "es", "version": 0})
    );
    assert_eq!(
        p["recipient"],
        json!({"role": "debtor", "name": "Ana Pérez", "destination": "+573101234567"})
    );
    let body = p["body"].as_str().unwrap();
    assert!(body.contains("Hola Ana Pérez"), "{body}");
    assert!(body.contains("$ 1.250.000"), "{body}");
    assert!(
        body.ends_with("Responda STOP para no recibir más mensajes."),
        "{body}"
    );

    // A supervisor saves two versions; they list newest first, for agents and auditors.
    let v1 = &h
        .ok(
            &w.supervisor,
            SAVE,
            json!({"i": sms("es", "{{ recipient.name }}: debe {{ balance }} ({{ days_past_due }} días). {{ opt_out }}")}),
        )
        .await["saveContactTemplate"];
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["channel"], "SMS");
    assert_eq!(v1["createdBy"], "supervisor:sam");
    assert!(
        v1["createdAt"]
            .as_str()
            .is_some_and(|t| t.starts_with("2026-03-02T08:00:00")),
        "{v1}"
    );
    let v2 = &h
        .ok(
            &w.admin,
            SAVE,
            json!({"i": sms("ES", "{{ recipient.name }}, su saldo es {{ balance }}. {{ opt_out }}")}),
        )
        .await["saveContactTemplate"];
    assert_eq!(
        (v2["language"].as_str(), v2["version"].as_u64()),
        (Some("es"), Some(2))
    );
    for reader in [&w.agent, &w.auditor] {
        let listed = &h
            .ok(
                reader,
                LIST,
                json!({"c": "default", "ch": "SMS", "n": "reminder-1"}),
            )
            .await["contactTemplates"];
        let versions: Vec<u64> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["version"].as_u64().unwrap())
            .collect();
        assert_eq!(versions, [2, 1]);
    }
    assert_eq!(
        h.ok(&w.agent, LIST, json!({"ch": "EMAIL"})).await["contactTemplates"],
        json!([])
    );

    // The preview now uses the newest version, with the case's real context.
    let p = &h
        .ok(&w.agent, PREVIEW, json!({"c": case, "ch": "SMS"}))
        .await["previewContactTemplate"];
    assert_eq!(p["template"]["version"], 2);
    assert_eq!(
        p["body"],
        "Ana Pérez, su saldo es $ 1.250.000. Responda STOP para no recibir más mensajes."
    );
    // A draft, in English, with the money filter on an account's exact balance.
    let p = &h
        .ok(
            &w.auditor,
            PREVIEW,
            json!({"c": case, "ch": "EMAIL", "l": "en", "d": {
                "subject": "Account {{ accounts[0].id }}",
                "body": "{{ accounts[0].balance_amount | money }} in {{ locale }}\n{{ opt_out }}"}}),
        )
        .await["previewContactTemplate"];
    assert_eq!(p["subject"], "Account TPL-1");
    assert_eq!(
        p["body"],
        "$ 1.250.000 in es-CO\nTo stop receiving these e-mails, reply with the word UNSUBSCRIBE."
    );
    assert_eq!(p["template"]["version"], Value::Null);
    // No e-mail address on file: the preview renders and says so.
    assert_eq!(p["recipient"]["destination"], Value::Null);

    // A variable the case lacks names itself; so does a missing opt-out line.
    let (_, body) = h
        .post(
            Some(&w.agent),
            json!({"query": PREVIEW, "variables": {"c": case, "ch": "SMS",
                   "d": {"body": "{{ debtor.nmae }} {{ opt_out }}"}}}),
        )
        .await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("INVALID_TEMPLATE"),
        "{body}"
    );
    assert!(message(&body).contains("debtor.nmae"), "{body}");
    let (_, body) = h
        .post(
            Some(&w.agent),
            json!({"query": PREVIEW, "variables": {"c": case, "ch": "SMS",
                   "d": {"body": "{{ vars.loanId }} {{ opt_out }}"}}}),
        )
        .await;
    assert!(message(&body).contains("vars.loanId"), "{body}");
    let (_, body) = h
        .post(
            Some(&w.agent),
            json!({"query": PREVIEW, "variables": {"c": case, "ch": "WHATSAPP",
                   "d": {"body": "Hola {{ debtor.name }}"}}}),
        )
        .await;
    assert_eq!(
        error_code(&body).as_deref(),
        Some("INVALID_TEMPLATE"),
        "{body}"
    );
    assert!(message(&body).contains("opt_out"), "{body}");

    // Refused saves say why, and add no version.
    for (input, code, says) in [
        (
            sms("es", "Hola {{ recipient.name }}"),
            "INVALID_TEMPLATE",
            "opt_out",
        ),
        (
            sms("es", "Hola {{ recipient.nombre }} {{ opt_out }}"),
            "INVALID_TEMPLATE",
            "recipient.nombre",
        ),
        (
            sms("es", "{% if %}{{ opt_out }}"),
            "INVALID_TEMPLATE",
            "parse",
        ),
        (sms("klingon!", "{{ opt_out }}"), "INVALID_LANGUAGE", ""),
        (
            json!({"creditor": "default", "channel": "EMAIL", "name": "reminder-1",
                   "language": "es", "body": "{{ opt_out }}"}),
            "BAD_INPUT",
            "subject",
        ),
    ] {
        let (_, body) = h
            .post(
                Some(&w.supervisor),
                json!({"query": SAVE, "variables": {"i": input}}),
            )
            .await;
        assert_eq!(error_code(&body).as_deref(), Some(code), "{input}: {body}");
        assert!(message(&body).contains(says), "{input}: {body}");
    }
    let all = &h.ok(&w.admin, LIST, json!({})).await["contactTemplates"];
    assert_eq!(all.as_array().unwrap().len(), 2);

    // Unknown cases and templates, and a case whose debtor was never registered.
    assert_eq!(
        h.err(&w.agent, PREVIEW, json!({"c": "no-such-case", "ch": "SMS"}))
            .await,
        "CASE_NOT_FOUND"
    );
    assert_eq!(
        h.err(
            &w.agent,
            PREVIEW,
            json!({"c": case, "ch": "SMS", "n": "reminder-9"})
        )
        .await,
        "TEMPLATE_NOT_FOUND"
    );
    let bare = w.open_case("TPL-2", 10.0).await;
    assert_eq!(
        h.err(&w.agent, PREVIEW, json!({"c": bare, "ch": "SMS"}))
            .await,
        "BAD_INPUT"
    );

    // Partners neither read nor preview templates; agents and auditors do not save.
    for (token, query, vars) in [
        (&w.agency_token, LIST, json!({})),
        (&w.agency_token, PREVIEW, json!({"c": case, "ch": "SMS"})),
        (&w.agent, SAVE, json!({"i": sms("es", "{{ opt_out }}")})),
        (&w.auditor, SAVE, json!({"i": sms("es", "{{ opt_out }}")})),
    ] {
        assert_eq!(h.err(token, query, vars).await, "FORBIDDEN");
    }
    w.h.stop().await;
}
on_both!(templates, templates_are_saved_listed_and_previewed);
