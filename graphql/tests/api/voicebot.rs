//! The voice bot as an external worker: it activates a `contact.voicebot` job and
//! completes it with what came of the call. The call becomes a contact attempt with its
//! outcome, a verified debtor's promise a promise in the ledger, and `followUpSms` a
//! variable the model branches on; a promise the ledger refuses, or one from an
//! unverified caller, leaves the job open; answering twice records once. The bot dials:
//! the compliance gate holds the job back outside the law's calling hours.

use collections::contact::{Channel, ContactOutcome, DeliveryStatus};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::access::{Principal, Role};

use super::compliance::colombian;
use super::{TENANT, World, on_both};

const BOT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="voicebot" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="call" />
    <bpmn:serviceTask id="call">
      <bpmn:extensionElements><zeebe:taskDefinition type="contact.voicebot" retries="3" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="g" />
    <bpmn:exclusiveGateway id="g" />
    <bpmn:sequenceFlow id="sms" sourceRef="g" targetRef="followUp">
      <bpmn:conditionExpression>= followUpSms</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="quiet" sourceRef="g" targetRef="done">
      <bpmn:conditionExpression>= not(followUpSms)</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:userTask id="followUp" name="Send the follow-up SMS" />
    <bpmn:sequenceFlow id="f3" sourceRef="followUp" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
"#;

const ACTIVATE: &str = "mutation($w: String!) {
    activateJobs(type: \"contact.voicebot\", maxJobs: 10, lockDuration: 60000, worker: $w, wait: 0) {
      id caseId variables } }";
const COMPLETE: &str = "mutation($j: ID!, $w: String!, $v: JSON) {
    completeJob(jobId: $j, worker: $w, variables: $v) { seq status repeated } }";
const READ: &str = "query($c: ID!) { case(id: $c) { status
    promises { status channel total { amount currency } parts { due amount { amount } } }
    openTasks { elementId }
    history { eventType actor } } }";

async fn bot_token(w: &World) -> String {
    let p = Principal::new(
        "voice-bot",
        TENANT,
        Role::Worker,
        None,
        vec!["contact.voicebot".to_string()],
    )
    .unwrap();
    w.h.auth
        .issuer()
        .issue(&p, chrono::Duration::hours(1))
        .unwrap()
}

/// A case of a Colombian debtor in Bogotá who authorised calls.
async fn open(w: &World, reference: &str) -> String {
    let h = &w.h;
    colombian(w, &format!("D-{reference}")).await;
    let case = h
        .ok(
            &w.agent,
            "mutation($i: OpenCaseInput!) { openCase(input: $i) { caseId } }",
            json!({"i": {"processId": "voicebot", "externalRef": reference,
                         "debtor": {"id": format!("D-{reference}"), "name": "Ana Pérez"},
                         "variables": {"phone": "+573101234567"}}}),
        )
        .await["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string();
    h.ok(
        &w.supervisor,
        "mutation($c: ID!, $i: AccountInput!) { openAccount(caseId: $c, input: $i) { seq } }",
        json!({"c": case, "i": {"id": format!("A-{reference}"), "product": "consumer_loan",
               "currency": "COP", "principal": "100000", "delinquentSince": "2026-01-15"}}),
    )
    .await;
    case
}

fn promise(verified: bool, amount: &str, due: &str) -> Value {
    json!({"identityVerified": verified, "outcome": "promise", "followUpSms": true,
           "phone": "+57 310 123 4567", "callId": "call-77",
           "promise": {"amount": amount, "dueDate": due}})
}

fn events(read: &Value, kind: &str) -> usize {
    read["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == kind)
        .count()
}

async fn a_bots_promise_lands_in_the_ledger(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    w.h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"voicebot.bpmn\", xml: $x) { created } }",
        json!({"x": BOT}),
    )
    .await;
    let bot = bot_token(&w).await;
    let case = open(&w, "VB-1").await;
    let h = &w.h;
    // 3:00 in Bogotá: Ley 2300 allows no call before 7:00, so the bot gets nothing and
    // the gate's answer is on the case.
    let night = h.ok(&bot, ACTIVATE, json!({"w": "b1"})).await;
    assert_eq!(night["activateJobs"], json!([]));
    let held = h.desk.runtime().case(&case).await.unwrap().unwrap();
    assert!(held.contacts.is_empty());
    let decisions = h
        .ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { complianceDecisions {
               allowed channel blocks { rule } nextLawfulSlot } } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(
        decisions["case"]["complianceDecisions"],
        json!([{"allowed": false, "channel": "CALL", "blocks": [{"rule": "hours"}],
                "nextLawfulSlot": "2026-03-02T12:00:00+00:00"}])
    );
    w.h.clock.advance(chrono::Duration::hours(4));
    w.renew_tokens().await;
    let bot = bot_token(&w).await;
    let h = &w.h;
    let got = h.ok(&bot, ACTIVATE, json!({"w": "b1"})).await;
    let job = got["activateJobs"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(got["activateJobs"][0]["caseId"], json!(case));
    let answer = |v: Value| json!({"j": job, "w": "b1", "v": v});

    // Refused answers record nothing and leave the job with the bot (the server's clock
    // reads 2026-03-02, 7:00 in Bogotá; the case owes 100000 COP).
    for (v, code) in [
        (
            promise(false, "50000", "2026-03-20"),
            "IDENTITY_NOT_VERIFIED",
        ),
        (promise(true, "100000.01", "2026-03-20"), "INVALID_PROMISE"),
        (promise(true, "50000", "2026-03-01"), "INVALID_PROMISE"),
        (promise(true, "12.345", "2026-03-20"), "INVALID_AMOUNT"),
        (json!({"outcome": "promise"}), "BAD_INPUT"),
        (
            json!({"outcome": "reached", "phone": "12"}),
            "INVALID_PHONE_NUMBER",
        ),
    ] {
        assert_eq!(h.err(&bot, COMPLETE, answer(v.clone())).await, code, "{v}");
    }
    let before = h.ok(&w.auditor, READ, json!({"c": case})).await;
    assert_eq!(before["case"]["promises"], json!([]));
    // The call is on the case since the gate let the bot have the job (it counts for
    // the law's limits from then); no outcome yet.
    assert_eq!(events(&before, "ContactAttempted"), 1, "{before:#}");
    assert_eq!(events(&before, "ContactOutcomeRecorded"), 0);
    assert_eq!(before["case"]["status"], "active");

    // The lock runs out meanwhile. The bot may have dialled, so that call counts (settled
    // as failed), and Ley 2300 allows one contact a day: no instance gets the job today.
    h.clock.advance(chrono::Duration::seconds(61));
    let again = h.ok(&bot, ACTIVATE, json!({"w": "b2"})).await;
    assert_eq!(again["activateJobs"], json!([]));
    let lapsed = h.desk.runtime().case(&case).await.unwrap().unwrap();
    assert_eq!(
        (lapsed.contacts.len(), lapsed.contacts[0].status),
        (1, DeliveryStatus::Failed)
    );
    // The next morning at 7:00 in Bogotá another instance gets it: a new call, counted.
    w.h.clock
        .advance(chrono::Duration::hours(24) - chrono::Duration::seconds(61));
    w.renew_tokens().await;
    let bot = bot_token(&w).await;
    let h = &w.h;
    let again = h.ok(&bot, ACTIVATE, json!({"w": "b2"})).await;
    assert_eq!(again["activateJobs"][0]["id"], json!(job));
    // A call to another number than the one the gate allowed is not accepted.
    let elsewhere = json!({"j": job, "w": "b2",
                           "v": {"outcome": "reached", "phone": "+57 310 765 4321"}});
    assert_eq!(h.err(&bot, COMPLETE, elsewhere).await, "BAD_INPUT");
    let good = json!({"j": job, "w": "b2", "v": promise(true, "50000", "2026-03-20")});
    let done = h.ok(&bot, COMPLETE, good.clone()).await;
    assert_eq!(done["completeJob"]["repeated"], false);

    let read = h.ok(&w.auditor, READ, json!({"c": case})).await;
    assert_eq!(
        read["case"]["promises"],
        json!([{"status": "OPEN", "channel": "voicebot",
                "total": {"amount": "50000.00", "currency": "COP"},
                "parts": [{"due": "2026-03-20", "amount": {"amount": "50000.00"}}]}])
    );
    // followUpSms took the model to the follow-up task.
    assert_eq!(
        read["case"]["openTasks"],
        json!([{"elementId": "followUp"}])
    );
    assert_eq!(events(&read, "ContactAttempted"), 2);
    assert_eq!(events(&read, "ContactOutcomeRecorded"), 1);
    assert_eq!(events(&read, "PromiseMade"), 1);
    let state = h.desk.runtime().case(&case).await.unwrap().unwrap();
    assert_eq!(state.contacts[0].status, DeliveryStatus::Failed);
    let attempt = &state.contacts[1];
    assert_eq!(
        (
            attempt.channel,
            attempt.provider.as_str(),
            attempt.destination.as_str(),
            attempt.status,
            attempt.outcome,
            attempt.provider_message_id.as_deref(),
        ),
        (
            Channel::Call,
            "voicebot",
            "+573101234567",
            DeliveryStatus::Delivered,
            Some(ContactOutcome::Promise),
            Some("call-77"),
        )
    );

    // Answering again changes nothing.
    let repeat = h.ok(&bot, COMPLETE, good).await;
    assert_eq!(repeat["completeJob"]["repeated"], true);
    assert_eq!(repeat["completeJob"]["seq"], done["completeJob"]["seq"]);
    let after = h.ok(&w.auditor, READ, json!({"c": case})).await;
    assert_eq!(after["case"]["promises"].as_array().unwrap().len(), 1);
    assert_eq!(events(&after, "ContactAttempted"), 2);
    assert_eq!(events(&after, "PromiseMade"), 1);

    // No answer: an attempt without a promise, and no follow-up.
    let quiet = open(&w, "VB-2").await;
    let got = h.ok(&bot, ACTIVATE, json!({"w": "b3"})).await;
    let job = got["activateJobs"][0]["id"].as_str().unwrap().to_string();
    let v = json!({"outcome": "no_answer"});
    h.ok(&bot, COMPLETE, json!({"j": job, "w": "b3", "v": v}))
        .await;
    let read = h.ok(&w.auditor, READ, json!({"c": quiet})).await;
    assert_eq!(read["case"]["status"], "completed");
    assert_eq!(read["case"]["promises"], json!([]));
    let state = h.desk.runtime().case(&quiet).await.unwrap().unwrap();
    assert_eq!(
        (
            state.contacts[0].destination.as_str(),
            state.contacts[0].status,
            state.contacts[0].outcome
        ),
        (
            "+573101234567",
            DeliveryStatus::Sent,
            Some(ContactOutcome::NoAnswer)
        )
    );
    w.h.stop().await;
}

on_both!(voice_bot, a_bots_promise_lands_in_the_ledger);
