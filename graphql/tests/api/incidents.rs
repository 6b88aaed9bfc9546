//! The incidents console: a case stopped by a gateway that cannot decide, found by its
//! status, read by who may, fixed and resolved by a supervisor with the reasons on record.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, on_both};

const DECIDE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="decide" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="g" />
    <bpmn:exclusiveGateway id="g" />
    <bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="approved">
      <bpmn:conditionExpression>= approved</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="g" targetRef="refused">
      <bpmn:conditionExpression>= not(approved)</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:endEvent id="approved" />
    <bpmn:endEvent id="refused" />
  </bpmn:process>
</bpmn:definitions>
"#;

const INCIDENTS: &str =
    "query($c: ID!) { case(id: $c) { status incidents { id elementId message phase } } }";

async fn a_supervisor_fixes_and_resolves(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"decide.bpmn\", xml: $x) { created } }",
        json!({"x": DECIDE}),
    )
    .await;
    let opened = h
        .ok(
            &w.agent,
            "mutation { openCase(input: {processId: \"decide\", externalRef: \"INC-1\"}) { caseId status } }",
            json!({}),
        )
        .await;
    let case = opened["openCase"]["caseId"].as_str().unwrap().to_string();
    assert_eq!(opened["openCase"]["status"], "incident");
    let listed = h
        .ok(
            &w.supervisor,
            "{ cases(filter: {status: \"incident\"}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["cases"]["edges"], json!([{"node": {"id": case}}]));

    // Auditors and supervisors read what stopped it; agents do not.
    let seen = h.ok(&w.auditor, INCIDENTS, json!({"c": case})).await;
    let incident = &seen["case"]["incidents"][0];
    assert_eq!(
        (incident["elementId"].as_str(), incident["phase"].as_str()),
        (Some("g"), Some("complete"))
    );
    let id = incident["id"].as_i64().unwrap();
    assert_eq!(
        h.err(&w.agent, INCIDENTS, json!({"c": case})).await,
        "FORBIDDEN"
    );

    let set = "mutation($c: ID!, $r: String!) { setCaseVariables(caseId: $c, variables: {approved: true}, reason: $r) { seq } }";
    let resolve = "mutation($c: ID!, $i: Int!, $r: String!) { resolveIncident(caseId: $c, incidentId: $i, reason: $r) { status } }";
    let why = "debtor approved on the phone, recorded call 88";
    assert_eq!(
        h.err(&w.agent, set, json!({"c": case, "r": why})).await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.auditor, set, json!({"c": case, "r": why})).await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.supervisor, set, json!({"c": case, "r": "  "}))
            .await,
        "BAD_INPUT"
    );
    assert_eq!(
        h.err(
            &w.supervisor,
            resolve,
            json!({"c": case, "i": id + 7, "r": why})
        )
        .await,
        "CONFLICT"
    );
    h.ok(&w.supervisor, set, json!({"c": case, "r": why})).await;
    let done = h
        .ok(
            &w.supervisor,
            resolve,
            json!({"c": case, "i": id, "r": "data fixed"}),
        )
        .await;
    assert_eq!(done["resolveIncident"]["status"], "completed");
    let after = h.ok(&w.auditor, INCIDENTS, json!({"c": case})).await;
    assert_eq!(after["case"]["incidents"], json!([]));

    // The history says what was done, by whom and why.
    let history = h
        .ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType actor payload } } }",
            json!({"c": case}),
        )
        .await;
    let entries: Vec<&Value> = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let kinds: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["eventType"].as_str())
        .collect();
    let tail = &kinds[kinds.len() - 4..];
    assert_eq!(
        tail,
        [
            "CommentAdded",
            "VariablesSet",
            "CommentAdded",
            "IncidentResolved"
        ]
    );
    let comment = entries[kinds.len() - 4]["payload"].to_string();
    assert!(
        comment.contains("variables set (approved): debtor approved on the phone"),
        "{comment}"
    );
    assert_eq!(entries[kinds.len() - 1]["actor"], "supervisor:sam");
    w.h.stop().await;
}

on_both!(incidents_console, a_supervisor_fixes_and_resolves);
