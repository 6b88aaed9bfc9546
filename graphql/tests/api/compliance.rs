//! The compliance gate through GraphQL: an agent asks whether a channel may be used now
//! (and when next, in UTC and local time); auditors read the decisions journalled on a
//! case; a partner asks only about cases placed with it and never reads the evidence.

use collections::compliance::{Recipient, Request};
use collections::debtor::Channel;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, on_both};

const REGISTER: &str =
    "mutation($i: RegisterDebtorInput!) { registerDebtor(input: $i) { debtor { id } } }";

const PERMISSION: &str =
    "query($c: ID!, $ch: ContactChannel!, $r: String! = \"debtor\") { case(id: $c) {
    contactPermission(channel: $ch, recipient: $r) { allowed channel recipient
      packs { id version } blocks { pack version rule reference reason }
      refusal refusalMessage nextLawfulSlot nextLawfulSlotLocal { zone local }
      basis { country zones flags consentInForce earlierContacts } actor } } }";

const DECISIONS: &str = "query($c: ID!) { case(id: $c) { complianceDecisions {
    at allowed actor channel blocks { rule reference } nextLawfulSlot } } }";

/// A Colombian debtor in Bogotá with a mobile authorised for SMS and calls.
pub(super) async fn colombian(w: &World, id: &str) {
    w.h.ok(
        &w.agent,
        REGISTER,
        json!({"i": {
            "id": id, "kind": "PERSON", "name": "Ana Pérez", "country": "CO",
            "timeZone": "America/Bogota",
            "contacts": [{"point": {"phone": {"number": "+57 310 1234567"}},
                          "consents": [{"channel": "SMS", "how": "WRITTEN", "givenBy": "debtor",
                                        "givenAt": "2025-12-01T10:00:00Z"},
                                       {"channel": "CALL", "how": "WRITTEN", "givenBy": "debtor",
                                        "givenAt": "2025-12-01T10:00:00Z"}]}],
        }}),
    )
    .await;
}

async fn permission(
    w: &World,
    token: &str,
    case: &str,
    channel: &str,
    recipient: Option<&str>,
) -> Value {
    w.h.ok(
        token,
        PERMISSION,
        json!({"c": case, "ch": channel, "r": recipient.unwrap_or("debtor")}),
    )
    .await["case"]["contactPermission"]
        .clone()
}

async fn agents_see_why_and_until_when(db: &DatabaseConnection) {
    let w = World::new(db).await;
    colombian(&w, "D-CO-1").await;
    let case = w.open_case("CO-1", 100_000.0).await;
    // Harness time: Monday 2 March 2026, 8:00 UTC = 3:00 in Bogotá.
    let sms = permission(&w, &w.agent, &case, "SMS", None).await;
    assert_eq!(sms["allowed"], false, "{sms}");
    assert_eq!(sms["packs"], json!([{"id": "co-ley-2300", "version": 1}]));
    assert_eq!(sms["blocks"][0]["rule"], "hours");
    assert_eq!(sms["blocks"][0]["reference"], "Ley 2300 de 2023 art. 3");
    assert_eq!(sms["nextLawfulSlot"], "2026-03-02T12:00:00+00:00");
    assert_eq!(
        sms["nextLawfulSlotLocal"],
        json!([{"zone": "America/Bogota", "local": "2026-03-02T07:00:00-05:00"}])
    );
    assert_eq!(sms["basis"]["country"], "CO");
    assert_eq!(sms["basis"]["consentInForce"], true);
    assert_eq!(sms["actor"], Value::Null, "asking is not journalled");
    // WhatsApp was never authorised: no hour will do.
    let whatsapp = permission(&w, &w.agent, &case, "WHATSAPP", None).await;
    let rules: Vec<&str> = whatsapp["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["hours", "authorised-channels"]);
    assert_eq!(whatsapp["nextLawfulSlot"], Value::Null);
    // A relative is never told, at any hour.
    let relative = permission(&w, &w.agent, &case, "CALL", Some("relative")).await;
    assert!(
        relative["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["rule"] == "third-parties"),
        "{relative}"
    );
    // Five hours later the SMS is lawful.
    w.h.clock.advance(chrono::Duration::hours(5));
    let agent = w.h.token(services::access::Role::Agent, "alex", None).await;
    let later = permission(&w, &agent, &case, "SMS", None).await;
    assert_eq!(later["allowed"], true, "{later}");
    assert_eq!(later["blocks"], json!([]));
    assert_eq!(later["nextLawfulSlot"], Value::Null);
    w.h.stop().await;
}
on_both!(contact_permission, super::agents_see_why_and_until_when);

async fn a_case_without_a_debtor_file_or_a_known_law_is_refused(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let unregistered = w.open_case("NF-1", 100_000.0).await;
    let sms = permission(&w, &w.agent, &unregistered, "SMS", None).await;
    assert_eq!(sms["allowed"], false);
    assert_eq!(sms["refusal"], "UNKNOWN_DEBTOR");
    w.h.ok(
        &w.agent,
        REGISTER,
        json!({"i": {"id": "D-PE-1", "kind": "PERSON", "name": "Rosa Quispe", "country": "PE",
                     "contacts": [{"point": {"phone": {"number": "+51 912 345 678"}}}]}}),
    )
    .await;
    let peru = w.open_case("PE-1", 100_000.0).await;
    let sms = permission(&w, &w.agent, &peru, "SMS", None).await;
    assert_eq!(sms["refusal"], "UNKNOWN_JURISDICTION");
    assert!(
        sms["refusalMessage"]
            .as_str()
            .unwrap()
            .contains("no rule pack for the law of PE")
    );
    w.h.stop().await;
}
on_both!(
    refused_without_law,
    super::a_case_without_a_debtor_file_or_a_known_law_is_refused
);

async fn auditors_read_the_journalled_decisions_and_partners_do_not(db: &DatabaseConnection) {
    let w = World::new(db).await;
    colombian(&w, "D-CO-2").await;
    let case = w.open_case("CO-2", 100_000.0).await;
    let sms = Request {
        channel: Channel::Sms,
        recipient: Recipient::Debtor,
    };
    let state = w.h.desk.runtime().case(&case).await.unwrap().unwrap();
    let decision =
        w.h.desk
            .check_contact("acme", &state, sms, "worker:contact.sms", "job-7")
            .await
            .unwrap();
    assert!(!decision.allowed());
    let read =
        w.h.ok(&w.auditor, DECISIONS, json!({"c": case})).await["case"]["complianceDecisions"]
            .clone();
    assert_eq!(read.as_array().unwrap().len(), 1, "{read}");
    assert_eq!(read[0]["actor"], "worker:contact.sms");
    assert_eq!(read[0]["channel"], "SMS");
    assert_eq!(read[0]["blocks"][0]["reference"], "Ley 2300 de 2023 art. 3");
    assert_eq!(read[0]["nextLawfulSlot"], "2026-03-02T12:00:00+00:00");
    // Agents too; a partner reaches the case once placed, but not the evidence.
    let by_agent = w.h.ok(&w.agent, DECISIONS, json!({"c": case})).await;
    assert_eq!(by_agent["case"]["complianceDecisions"], read);
    assert_eq!(
        w.h.err(&w.agency_token, PERMISSION, json!({"c": case, "ch": "SMS"}))
            .await,
        "CASE_NOT_FOUND"
    );
    w.place(&case, &w.agency).await;
    let placed = permission(&w, &w.agency_token, &case, "SMS", None).await;
    assert_eq!(placed["allowed"], false);
    assert_eq!(
        w.h.err(&w.agency_token, DECISIONS, json!({"c": case}))
            .await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}
on_both!(
    decisions_for_auditors,
    super::auditors_read_the_journalled_decisions_and_partners_do_not
);

const CALL: &str = "mutation($c: ID!, $k: String) { startCall(caseId: $c, idempotencyKey: $k) {
    id channel provider status destination } }";

async fn a_call_is_placed_only_when_the_law_allows(db: &DatabaseConnection) {
    let w = World::new(db).await;
    colombian(&w, "D-CO-3").await;
    let case = w.open_case("CO-3", 100_000.0).await;
    // 3:00 in Bogotá: refused, with the rule and the slot in the error.
    let (status, body) =
        w.h.post(
            Some(&w.agent),
            json!({"query": CALL, "variables": {"c": case, "k": "a"}}),
        )
        .await;
    assert_eq!(status, 200);
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "CONTACT_BLOCKED", "{body}");
    assert_eq!(error["extensions"]["blocks"][0]["rule"], "hours");
    assert_eq!(
        error["extensions"]["nextLawfulSlot"],
        "2026-03-02T12:00:00Z"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("Ley 2300 de 2023 art. 3")
    );
    // 10:00: placed and recorded.
    w.h.clock.advance(chrono::Duration::hours(7));
    let agent = w.h.token(services::access::Role::Agent, "alex", None).await;
    let call = w.h.ok(&agent, CALL, json!({"c": case, "k": "b"})).await["startCall"].clone();
    assert_eq!(call["provider"], "agent");
    assert_eq!(call["channel"], "CALL");
    assert_eq!(call["destination"], "+573101234567");
    // The same key again: the same attempt, not a second call.
    let again = w.h.ok(&agent, CALL, json!({"c": case, "k": "b"})).await["startCall"].clone();
    assert_eq!(again["id"], call["id"]);
    // Another call the same day: Ley 2300 allows one contact a day.
    let (_, body) =
        w.h.post(
            Some(&agent),
            json!({"query": CALL, "variables": {"c": case, "k": "c"}}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "CONTACT_BLOCKED",
        "{body}"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["blocks"][0]["rule"],
        "once-a-day"
    );
    assert_eq!(
        body["errors"][0]["extensions"]["nextLawfulSlot"],
        "2026-03-03T12:00:00Z"
    );
    let attempts = w
        .h
        .ok(&agent, "query($c: ID!) { case(id: $c) { contactAttempts { id } complianceDecisions { allowed } } }", json!({"c": case}))
        .await;
    assert_eq!(
        attempts["case"]["contactAttempts"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        attempts["case"]["complianceDecisions"],
        json!([{"allowed": false}, {"allowed": true}, {"allowed": false}])
    );
    // Auditors change nothing: they cannot call.
    let auditor =
        w.h.token(services::access::Role::Auditor, "aud", None)
            .await;
    assert_eq!(
        w.h.err(&auditor, CALL, json!({"c": case})).await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}
on_both!(start_call, super::a_call_is_placed_only_when_the_law_allows);

const SMS_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="gateway-sms" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="send" />
    <bpmn:serviceTask id="send">
      <bpmn:extensionElements><zeebe:taskDefinition type="contact.sms" retries="3" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="send" targetRef="sent" />
    <bpmn:endEvent id="sent" />
  </bpmn:process>
</bpmn:definitions>
"#;

async fn deploy_gateway_sms(w: &World) {
    w.h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"gateway-sms.bpmn\", xml: $x) { created } }",
        json!({"x": SMS_MODEL}),
    )
    .await;
}

/// A token for the creditor's own SMS gateway, a worker for `contact.sms`, valid an hour.
fn gateway_token(h: &super::Harness) -> String {
    let p = services::access::Principal::new(
        "sms-gateway",
        super::TENANT,
        services::access::Role::Worker,
        None,
        vec!["contact.sms".into()],
    )
    .unwrap();
    h.auth
        .issuer()
        .issue(&p, chrono::Duration::hours(1))
        .unwrap()
}

const ACTIVATE: &str = "mutation($w: String!) {
    activateJobs(type: \"contact.sms\", maxJobs: 10, lockDuration: 60000, worker: $w) { id caseId } }";

/// The creditor's own SMS gateway works `contact.sms` as an external worker: the gate
/// stands in front of it as in front of the built-in channels.
async fn an_external_contact_worker_gets_a_job_only_when_the_law_allows(db: &DatabaseConnection) {
    let w = World::new(db).await;
    deploy_gateway_sms(&w).await;
    colombian(&w, "D-CO-9").await;
    let open = "mutation($d: ID!, $r: String!) { openCase(input: {processId: \"gateway-sms\",
        externalRef: $r, debtor: {id: $d, name: \"Ana\"}}) { caseId } }";
    let case =
        w.h.ok(&w.agent, open, json!({"d": "D-CO-9", "r": "GW-1"}))
            .await["openCase"]["caseId"]
            .as_str()
            .unwrap()
            .to_string();
    let worker = gateway_token;
    // 3:00 in Bogotá: nothing to work; the decision is journalled, the job waits.
    let got = w.h.ok(&worker(&w.h), ACTIVATE, json!({"w": "gw"})).await;
    assert_eq!(got["activateJobs"], json!([]));
    let read = "query($c: ID!) { case(id: $c) { status contactAttempts { provider status }
        complianceDecisions { allowed actor nextLawfulSlot } } }";
    let c = w.h.ok(&w.auditor, read, json!({"c": case})).await["case"].clone();
    assert_eq!(c["contactAttempts"], json!([]));
    assert_eq!(
        c["complianceDecisions"],
        json!([{"allowed": false, "actor": "worker:contact.sms", "nextLawfulSlot": "2026-03-02T12:00:00+00:00"}])
    );
    // Still too early a minute before 7:00.
    w.h.clock.advance(chrono::Duration::minutes(3 * 60 + 59));
    let got = w.h.ok(&worker(&w.h), ACTIVATE, json!({"w": "gw"})).await;
    assert_eq!(got["activateJobs"], json!([]));
    // At 7:00 the job goes out, and the attempt is on the case for the limits to count.
    w.h.clock.advance(chrono::Duration::minutes(1));
    let got = w.h.ok(&worker(&w.h), ACTIVATE, json!({"w": "gw"})).await;
    assert_eq!(got["activateJobs"][0]["caseId"], case.as_str(), "{got}");
    let auditor =
        w.h.token(services::access::Role::Auditor, "aud", None)
            .await;
    let c = w.h.ok(&auditor, read, json!({"c": case})).await["case"].clone();
    assert_eq!(
        c["contactAttempts"],
        json!([{"provider": "worker:gw", "status": "SENDING"}])
    );
    assert_eq!(c["complianceDecisions"].as_array().unwrap().len(), 2);
    assert_eq!(c["complianceDecisions"][1]["allowed"], true);
    // The lock lapses: the next worker gets the same job, not a second attempt.
    w.h.clock.advance(chrono::Duration::minutes(2));
    let got = w.h.ok(&worker(&w.h), ACTIVATE, json!({"w": "gw-2"})).await;
    assert_eq!(got["activateJobs"][0]["caseId"], case.as_str(), "{got}");
    let c = w.h.ok(&auditor, read, json!({"c": case})).await["case"].clone();
    assert_eq!(c["contactAttempts"].as_array().unwrap().len(), 1);
    assert_eq!(c["complianceDecisions"].as_array().unwrap().len(), 2);
    // The gateway's answer settles the attempt.
    let job = got["activateJobs"][0]["id"].clone();
    w.h.ok(
        &worker(&w.h),
        "mutation($j: ID!) { completeJob(jobId: $j, worker: \"gw-2\") { seq } }",
        json!({"j": job}),
    )
    .await;
    let c = w.h.ok(&auditor, read, json!({"c": case})).await["case"].clone();
    assert_eq!(
        c["contactAttempts"],
        json!([{"provider": "worker:gw", "status": "SENT"}])
    );
    assert_eq!(c["status"], "completed");

    // Under a law with no pack, the job becomes an incident and goes to no worker.
    let agent = w.h.token(services::access::Role::Agent, "alex", None).await;
    w.h.ok(
        &agent,
        REGISTER,
        json!({"i": {"id": "D-PE-9", "kind": "PERSON", "name": "Rosa", "country": "PE",
                     "contacts": [{"point": {"phone": {"number": "+51 912 345 678"}}}]}}),
    )
    .await;
    let peru =
        w.h.ok(&agent, open, json!({"d": "D-PE-9", "r": "GW-2"}))
            .await["openCase"]["caseId"]
            .as_str()
            .unwrap()
            .to_string();
    let got = w.h.ok(&worker(&w.h), ACTIVATE, json!({"w": "gw"})).await;
    assert_eq!(got["activateJobs"], json!([]), "{got}");
    let c = w.h.ok(&auditor, read, json!({"c": peru})).await["case"].clone();
    assert_eq!(c["status"], "incident", "{c}");
    w.h.stop().await;
}
on_both!(
    external_contact_worker,
    super::an_external_contact_worker_gets_a_job_only_when_the_law_allows
);

/// Two debts of one Colombian debtor, each at an SMS that an external gateway works, and
/// two gateway instances asking at the same moment: Ley 2300 allows one contact a day
/// with the debtor, so one SMS goes out and the other waits for tomorrow — the gate
/// decides one contact with a debtor at a time, each on the history the other left.
async fn two_workers_at_once_do_not_both_pass_a_daily_limit(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    deploy_gateway_sms(&w).await;
    colombian(&w, "D-CO-10").await;
    let open = "mutation($r: String!) { openCase(input: {processId: \"gateway-sms\",
        externalRef: $r, debtor: {id: \"D-CO-10\", name: \"Ana\"}}) { caseId } }";
    let mut cases = Vec::new();
    for r in ["TW-1", "TW-2"] {
        let c = w.h.ok(&w.agent, open, json!({"r": r})).await["openCase"]["caseId"]
            .as_str()
            .unwrap()
            .to_string();
        cases.push(c);
    }
    // 8:00 in Bogotá on a Monday.
    w.h.clock.advance(chrono::Duration::hours(5));
    w.renew_tokens().await;
    let token = gateway_token(&w.h);
    let one = "mutation($w: String!) {
        activateJobs(type: \"contact.sms\", maxJobs: 1, lockDuration: 60000, worker: $w) { caseId } }";
    let (a, b) = tokio::join!(
        w.h.ok(&token, one, json!({"w": "gw-a"})),
        w.h.ok(&token, one, json!({"w": "gw-b"})),
    );
    let mut got: Vec<Value> = [a, b]
        .iter()
        .flat_map(|r| r["activateJobs"].as_array().unwrap().clone())
        .collect();
    // Whatever the first two asks found, a third takes what is left that is lawful.
    let c = w.h.ok(&token, one, json!({"w": "gw-c"})).await;
    got.extend(c["activateJobs"].as_array().unwrap().clone());
    assert_eq!(got.len(), 1, "one SMS a day to the debtor: {got:?}");
    let read = "query($c: ID!) { case(id: $c) { contactAttempts { status }
        complianceDecisions { allowed blocks { rule } nextLawfulSlot } } }";
    let sent = got[0]["caseId"].as_str().unwrap();
    let waiting = cases.iter().find(|c| *c != sent).unwrap();
    let c = w.h.ok(&w.auditor, read, json!({"c": waiting})).await["case"].clone();
    assert_eq!(c["contactAttempts"], json!([]));
    let last = c["complianceDecisions"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        last,
        json!({"allowed": false, "blocks": [{"rule": "once-a-day"}],
               "nextLawfulSlot": "2026-03-03T12:00:00+00:00"})
    );
    w.h.stop().await;
}
on_both!(
    concurrent_contact_workers,
    super::two_workers_at_once_do_not_both_pass_a_daily_limit
);

/// The gateway could not send: its failure settles the attempt as failed (a message that
/// reached nobody does not count), and the retried job asks the gate again and is a new
/// attempt — it is not waved through as the one already allowed.
async fn a_failed_message_is_asked_about_again(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    deploy_gateway_sms(&w).await;
    colombian(&w, "D-CO-11").await;
    let open = "mutation { openCase(input: {processId: \"gateway-sms\", externalRef: \"FR-1\",
        debtor: {id: \"D-CO-11\", name: \"Ana\"}}) { caseId } }";
    let case = w.h.ok(&w.agent, open, json!({})).await["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string();
    // 8:00 in Bogotá on a Monday.
    w.h.clock.advance(chrono::Duration::hours(5));
    w.renew_tokens().await;
    let token = gateway_token(&w.h);
    let got = w.h.ok(&token, ACTIVATE, json!({"w": "gw"})).await;
    let job = got["activateJobs"][0]["id"].clone();
    w.h.ok(
        &token,
        "mutation($j: ID!) { failJob(jobId: $j, worker: \"gw\", retries: 2,
            message: \"provider down\") { seq } }",
        json!({"j": job}),
    )
    .await;
    let got = w.h.ok(&token, ACTIVATE, json!({"w": "gw"})).await;
    assert_eq!(got["activateJobs"][0]["caseId"], case.as_str(), "{got}");
    let read = "query($c: ID!) { case(id: $c) { contactAttempts { status }
        complianceDecisions { allowed } } }";
    let c = w.h.ok(&w.auditor, read, json!({"c": case})).await["case"].clone();
    assert_eq!(
        c["contactAttempts"],
        json!([{"status": "FAILED"}, {"status": "SENDING"}])
    );
    assert_eq!(
        c["complianceDecisions"],
        json!([{"allowed": true}, {"allowed": true}])
    );
    w.h.stop().await;
}
on_both!(
    failed_message_asked_again,
    super::a_failed_message_is_asked_about_again
);
