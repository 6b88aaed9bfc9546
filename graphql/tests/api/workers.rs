//! External job workers over GraphQL: activation locks a job to one worker, an expired
//! lock hands it to another and refuses the first one's late answer, answers are
//! idempotent, errors reach the model's boundary event, and a worker works only its
//! types. (The job type here is not a contact: contact jobs also pass the compliance
//! gate, tested in `compliance.rs`.)

use std::sync::{Arc, Mutex};

use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use services::access::{Principal, Role};

use super::{TENANT, World, on_both};

const SMS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:error id="Invalid" errorCode="INVALID_CONTACT" />
  <bpmn:process id="sms" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="send" />
    <bpmn:serviceTask id="send">
      <bpmn:extensionElements><zeebe:taskDefinition type="debtor.enrich" retries="3" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="bad" attachedToRef="send">
      <bpmn:errorEventDefinition errorRef="Invalid" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="send" targetRef="sent" />
    <bpmn:sequenceFlow id="f3" sourceRef="bad" targetRef="unreachable" />
    <bpmn:endEvent id="sent" />
    <bpmn:endEvent id="unreachable" />
  </bpmn:process>
</bpmn:definitions>
"#;

const ACTIVATE: &str = "mutation($t: String!, $w: String!, $wait: Int) {
    activateJobs(type: $t, maxJobs: 10, lockDuration: 60000, worker: $w, wait: $wait) {
      id caseId type elementId retries variables deadline } }";
const COMPLETE: &str = "mutation($j: ID!, $w: String!) {
    completeJob(jobId: $j, worker: $w, variables: {delivered: true}) { seq status repeated } }";

async fn worker_token(w: &World, types: &[&str]) -> String {
    client_token(w, "sms-bot", types).await
}

async fn client_token(w: &World, subject: &str, types: &[&str]) -> String {
    let p = Principal::new(
        subject,
        TENANT,
        Role::Worker,
        None,
        types.iter().map(|t| t.to_string()).collect(),
    )
    .unwrap();
    w.h.auth
        .issuer()
        .issue(&p, chrono::Duration::hours(1))
        .unwrap()
}

async fn open(w: &World, reference: &str) -> String {
    w.h.ok(
        &w.agent,
        "mutation($r: String!) { openCase(input: {processId: \"sms\", externalRef: $r, variables: {phone: \"+573101234567\"}}) { caseId } }",
        json!({"r": reference}),
    )
    .await["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string()
}

fn activate(worker: &str, wait: i64) -> Value {
    json!({"t": "debtor.enrich", "w": worker, "wait": wait})
}

async fn workers_take_jobs_under_locks(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"sms.bpmn\", xml: $x) { created } }",
        json!({"x": SMS}),
    )
    .await;
    let bot = worker_token(&w, &["debtor.enrich"]).await;
    let mailer = worker_token(&w, &["contact.email"]).await;

    // Nothing to do: a bounded wait answers empty.
    let none = h.ok(&bot, ACTIVATE, activate("w1", 50)).await;
    assert_eq!(none["activateJobs"], json!([]));

    let case = open(&w, "SMS-1").await;
    let got = h.ok(&bot, ACTIVATE, activate("w1", 0)).await;
    let job = &got["activateJobs"][0];
    assert_eq!(
        (job["caseId"].as_str(), job["elementId"].as_str()),
        (Some(case.as_str()), Some("send"))
    );
    assert_eq!(job["variables"]["phone"], "+573101234567");
    assert_eq!(job["retries"], 3);
    let id = job["id"].as_str().unwrap().to_string();
    // Locked: nobody else gets it meanwhile.
    assert_eq!(
        h.ok(&bot, ACTIVATE, activate("w2", 0)).await["activateJobs"],
        json!([])
    );
    // Who may work jobs, and which.
    assert_eq!(
        h.err(&mailer, ACTIVATE, activate("m1", 0)).await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.agent, ACTIVATE, activate("a1", 0)).await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.supervisor, ACTIVATE, activate("s1", 0)).await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&bot, "{ cases { edges { node { id } } } }", json!({}))
            .await,
        "FORBIDDEN"
    );

    // The lock expires (virtual clock): the job goes to w2, and w1's late answer is refused.
    h.clock.advance(chrono::Duration::seconds(61));
    let again = h.ok(&bot, ACTIVATE, activate("w2", 0)).await;
    assert_eq!(again["activateJobs"][0]["id"], json!(id));
    assert_eq!(
        h.err(&bot, COMPLETE, json!({"j": id, "w": "w1"})).await,
        "JOB_LOCK_LOST"
    );
    let done = h.ok(&bot, COMPLETE, json!({"j": id, "w": "w2"})).await;
    assert_eq!(
        (
            done["completeJob"]["status"].as_str(),
            done["completeJob"]["repeated"].as_bool()
        ),
        (Some("completed"), Some(false))
    );
    // The row is delivered by the answer's own commit: at its entry's time.
    let row = |id: &str| {
        let id: i64 = id.parse().unwrap();
        async move {
            orm::entities::outbox::Entity::find_by_id(id)
                .one(db)
                .await
                .unwrap()
                .unwrap()
        }
    };
    let answered_at = h
        .ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType recordedAt } } }",
            json!({"c": case}),
        )
        .await["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["eventType"] == "JobCompleted")
        .unwrap()["recordedAt"]
        .clone();
    let answered_at = chrono::DateTime::parse_from_rfc3339(answered_at.as_str().unwrap())
        .unwrap()
        .to_utc();
    let delivered = row(&id).await;
    assert_eq!(delivered.delivered_at, Some(answered_at), "{delivered:?}");
    assert_eq!(delivered.attempts, 1);
    // Answering again is the same answer, recorded once, delivered once.
    let repeat = h.ok(&bot, COMPLETE, json!({"j": id, "w": "w2"})).await;
    assert_eq!(repeat["completeJob"]["seq"], done["completeJob"]["seq"]);
    assert_eq!(repeat["completeJob"]["repeated"], true);
    assert_eq!(row(&id).await, delivered);
    assert_eq!(
        h.err(&bot, COMPLETE, json!({"j": "999999", "w": "w2"}))
            .await,
        "JOB_NOT_FOUND"
    );

    // A BPMN error reaches the boundary event; a failure without retries is an incident.
    let unreachable = open(&w, "SMS-2").await;
    let broken = open(&w, "SMS-3").await;
    let jobs = h.ok(&bot, ACTIVATE, activate("w3", 0)).await;
    let jobs = jobs["activateJobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    let job_of = |case: &str| {
        jobs.iter().find(|j| j["caseId"] == case).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let thrown = h
        .ok(
            &bot,
            "mutation($j: ID!) { throwJobError(jobId: $j, worker: \"w3\", errorCode: \"INVALID_CONTACT\", message: \"not a mobile\") { status } }",
            json!({"j": job_of(&unreachable)}),
        )
        .await;
    assert_eq!(thrown["throwJobError"]["status"], "completed");
    let failed = h
        .ok(
            &bot,
            "mutation($j: ID!) { failJob(jobId: $j, worker: \"w3\", retries: 0, message: \"provider down\") { status } }",
            json!({"j": job_of(&broken)}),
        )
        .await;
    assert_eq!(failed["failJob"]["status"], "incident");
    let path = h
        .ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType actor } } }",
            json!({"c": unreachable}),
        )
        .await;
    let last = path["case"]["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["actor"], "worker:sms-bot/w3");

    // A waiting activation is answered by a job created while it waits.
    let waiting = {
        let (h2, bot2) = (h.http.clone(), bot.clone());
        let url = format!("{}/graphql", h.base);
        actix_web::rt::spawn(async move {
            let body = json!({"query": ACTIVATE, "variables": activate("w4", 10_000)});
            let resp = h2
                .post(url)
                .bearer_auth(bot2)
                .json(&body)
                .send()
                .await
                .unwrap();
            resp.json::<Value>().await.unwrap()
        })
    };
    // The job is created only once the activation really waits, so the wait is tested.
    let mut waiting_workers = h.desk.waiting_workers();
    waiting_workers.wait_for(|n| *n == 1).await.unwrap();
    let later = open(&w, "SMS-4").await;
    let answered = waiting.await.unwrap();
    waiting_workers.wait_for(|n| *n == 0).await.unwrap();
    assert_eq!(
        answered["data"]["activateJobs"][0]["caseId"],
        json!(later),
        "{answered}"
    );
    w.h.stop().await;
}

on_both!(job_workers, workers_take_jobs_under_locks);

/// Activating many jobs costs a few statements, not two per job: one scan of the outbox,
/// then per lock batch one tenant check and one conditional update; another tenant's
/// jobs are never handed out.
async fn activation_costs_one_statement(db: &DatabaseConnection) {
    let statements: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut counted = db.clone();
    let sink = statements.clone();
    counted.set_metric_callback(move |info| {
        sink.lock().unwrap().push(info.statement.sql.clone());
    });
    let w = World::new(&counted).await;
    let h = &w.h;
    h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"sms.bpmn\", xml: $x) { created } }",
        json!({"x": SMS}),
    )
    .await;
    let bot = worker_token(&w, &["debtor.enrich"]).await;
    // Another tenant's jobs first, among the candidates the first lock batch reads.
    let rt = h.desk.runtime();
    rt.deploy("sms.bpmn", SMS, "elsewhere").await.unwrap();
    for i in 0..3 {
        rt.open_case(
            "elsewhere",
            "sms",
            None,
            Some(format!("ELSE-{i}")),
            serde_json::Map::new(),
            "test",
            None,
        )
        .await
        .unwrap();
    }
    let mut ours = Vec::new();
    for i in 0..40 {
        ours.push(open(&w, &format!("BULK-{i}")).await);
    }
    statements.lock().unwrap().clear();
    let got = h
        .ok(
            &bot,
            "mutation { activateJobs(type: \"debtor.enrich\", maxJobs: 32, lockDuration: 60000, worker: \"bulk\") { id caseId } }",
            json!({}),
        )
        .await;
    let jobs = got["activateJobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 32);
    let own = |j: &Value| ours.iter().any(|c| j["caseId"] == c.as_str());
    assert!(jobs.iter().all(own), "{jobs:#?}");
    let seen = statements.lock().unwrap().clone();
    // One statement finds the jobs, checks their tenant (skipping the other tenant's
    // three, which come first) and locks them.
    let on_outbox = seen.iter().filter(|s| s.contains("outbox")).count();
    assert_eq!(on_outbox, 1, "{seen:#?}");
    // No tenant check of its own (waking a case that fell asleep meanwhile reads it with
    // its journal: not a check).
    let tenant_checks = seen
        .iter()
        .filter(|s| s.contains("\"cases\"") && !s.contains("\"case_journal\""))
        .count();
    assert_eq!(tenant_checks, 0, "{seen:#?}");
    // The locks hold: another worker gets the other 8, and none twice.
    let rest = h
        .ok(
            &bot,
            "mutation { activateJobs(type: \"debtor.enrich\", maxJobs: 32, lockDuration: 60000, worker: \"other\") { id caseId } }",
            json!({}),
        )
        .await;
    let rest = rest["activateJobs"].as_array().unwrap();
    assert_eq!(rest.len(), 8);
    assert!(rest.iter().all(own), "{rest:#?}");
    assert!(
        rest.iter()
            .all(|r| !jobs.iter().any(|j| j["id"] == r["id"]))
    );
    w.h.stop().await;
}

on_both!(job_activation_budget, activation_costs_one_statement);
