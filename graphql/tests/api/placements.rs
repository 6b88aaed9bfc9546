//! The placement lifecycle in the process (issue 19): offered → accepted or declined (by
//! the partner, or by its acceptance deadline lapsing) → returned, recalled or closed;
//! each change a journal entry and, where the process waits, a BPMN message — so a
//! strategy waits for acceptance and else offers the case to the next agency.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::clock::Clock as _;

use super::{World, on_both};

/// Waits for the agency's answer: accepted, its partner works the case; declined (or
/// lapsed), a supervisor offers it to the next agency, and the model waits again.
const OFFER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="A" name="placement-accepted" />
  <bpmn:message id="D" name="placement-declined" />
  <bpmn:message id="R" name="placement-returned" />
  <bpmn:process id="offer" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="merge" />
    <bpmn:exclusiveGateway id="merge" />
    <bpmn:sequenceFlow id="f2" sourceRef="merge" targetRef="answer" />
    <bpmn:eventBasedGateway id="answer" />
    <bpmn:sequenceFlow id="f3" sourceRef="answer" targetRef="accepted" />
    <bpmn:sequenceFlow id="f4" sourceRef="answer" targetRef="declined" />
    <bpmn:intermediateCatchEvent id="accepted"><bpmn:messageEventDefinition messageRef="A" /></bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="declined"><bpmn:messageEventDefinition messageRef="D" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="accepted" targetRef="Work" />
    <bpmn:userTask id="Work" name="Work the case">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="partner" /></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f6" sourceRef="Work" targetRef="back" />
    <bpmn:intermediateCatchEvent id="back"><bpmn:messageEventDefinition messageRef="R" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f7" sourceRef="back" targetRef="end" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f8" sourceRef="declined" targetRef="Next" />
    <bpmn:userTask id="Next" name="Offer the next agency">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="supervisors" /></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f9" sourceRef="Next" targetRef="merge" />
  </bpmn:process>
</bpmn:definitions>"#;

async fn open(w: &World, reference: &str) -> String {
    w.h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"offer.bpmn\", xml: $x) { created } }",
        json!({"x": OFFER}),
    )
    .await;
    w.h.ok(
        &w.agent,
        "mutation($input: OpenCaseInput!) { openCase(input: $input) { caseId } }",
        json!({"input": {"processId": "offer", "externalRef": reference,
            "debtor": {"id": format!("D-{reference}"), "name": "Ana"}}}),
    )
    .await["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn state(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { placementStatus partner { id } openTasks { elementId }
            history { eventType actor } } }",
        json!({"c": case}),
    )
    .await["case"]
        .clone()
}

fn open_tasks(s: &Value) -> Vec<String> {
    s["openTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["elementId"].as_str().unwrap().to_string())
        .collect()
}

fn events(s: &Value) -> Vec<String> {
    s["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect()
}

/// Moves the virtual clock, fires what fell due (answers how many) and renews the
/// tokens that expired meanwhile.
async fn advance(w: &mut World, by: chrono::Duration) -> u64 {
    w.h.clock.advance(by);
    let fired = w.h.desk.runtime().fire_due_timers(100).await.unwrap().fired;
    w.renew_tokens().await;
    fired as u64
}

const PLACE: &str = "mutation($c: ID!, $p: ID!, $h: Int) { placeCase(caseId: $c, partnerId: $p, acceptWithinHours: $h) { seq } }";

async fn placement_moves_the_process(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    let case = open(&w, "PL-1").await;

    // Offered; the agency lets the 24-hour deadline pass: declined by itself, and the
    // process offers the case to the next agency.
    w.h.ok(
        &w.supervisor,
        PLACE,
        json!({"c": case, "p": w.agency, "h": 24}),
    )
    .await;
    assert_eq!(state(&w, &case).await["placementStatus"], "placed");
    assert_eq!(advance(&mut w, chrono::Duration::hours(23)).await, 0);
    assert_eq!(advance(&mut w, chrono::Duration::hours(2)).await, 1);
    let h = &w.h;
    let s = state(&w, &case).await;
    assert_eq!(s["placementStatus"], Value::Null);
    assert_eq!(open_tasks(&s), ["Next"]);
    let lapsed = s["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["eventType"] == "PlacementLapsed")
        .unwrap();
    assert_eq!(lapsed["actor"], "system:timer");
    // The lapsed offer is over: accepting it now is refused.
    assert_eq!(
        h.err(
            &w.agency_token,
            "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
            json!({"c": case})
        )
        .await,
        "CASE_NOT_FOUND"
    );

    // The next agency (here the law firm) declines at once; then, offered again, accepts.
    w.complete_first_task(&case, &w.supervisor).await;
    h.ok(&w.supervisor, PLACE, json!({"c": case, "p": w.law_firm}))
        .await;
    let decline =
        "mutation($c: ID!, $r: String!) { declinePlacement(caseId: $c, reason: $r) { seq } }";
    assert_eq!(
        h.err(&w.law_firm_token, decline, json!({"c": case, "r": "  "}))
            .await,
        "BAD_INPUT"
    );
    h.ok(
        &w.law_firm_token,
        decline,
        json!({"c": case, "r": "conflict of interest"}),
    )
    .await;
    assert_eq!(open_tasks(&state(&w, &case).await), ["Next"]);
    w.complete_first_task(&case, &w.supervisor).await;
    h.ok(&w.supervisor, PLACE, json!({"c": case, "p": w.agency}))
        .await;
    h.ok(
        &w.agency_token,
        "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
        json!({"c": case}),
    )
    .await;
    let s = state(&w, &case).await;
    assert_eq!(s["placementStatus"], "accepted");
    assert_eq!(open_tasks(&s), ["Work"]);
    // An accepted placement has no deadline left: it does not lapse.
    assert_eq!(advance(&mut w, chrono::Duration::days(5)).await, 0);
    let h = &w.h;
    assert_eq!(
        h.err(
            &w.agency_token,
            decline,
            json!({"c": case, "r": "too late"})
        )
        .await,
        "PLACEMENT_CONFLICT"
    );

    // Worked and returned: the process hears it and ends.
    let task = h
        .ok(
            &w.agency_token,
            "query($c: ID!) { case(id: $c) { openTasks { id } } }",
            json!({"c": case}),
        )
        .await["case"]["openTasks"][0]["id"]
        .clone();
    h.ok(
        &w.agency_token,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
    h.ok(
        &w.agency_token,
        "mutation($c: ID!) { returnPlacement(caseId: $c, reason: \"debtor abroad\") { seq } }",
        json!({"c": case}),
    )
    .await;
    let s = state(&w, &case).await;
    assert_eq!(s["placementStatus"], Value::Null);
    let history = events(&s);
    let placement_events: Vec<&str> = history
        .iter()
        .map(String::as_str)
        .filter(|e| e.starts_with("Placement") || *e == "CasePlaced")
        .collect();
    assert_eq!(
        placement_events,
        [
            "CasePlaced",
            "PlacementLapsed",
            "CasePlaced",
            "PlacementDeclined",
            "CasePlaced",
            "PlacementAccepted",
            "PlacementReturned"
        ]
    );
    let done = h
        .ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { status } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(done["case"]["status"], "completed");

    // Bad input: a deadline out of range; closing a case that is not placed.
    let other = open(&w, "PL-2").await;
    assert_eq!(
        h.err(
            &w.supervisor,
            PLACE,
            json!({"c": other, "p": w.agency, "h": 0})
        )
        .await,
        "BAD_INPUT"
    );
    let close = "mutation($c: ID!) { closePlacement(caseId: $c, reason: \"paid\") { seq } }";
    assert_eq!(
        h.err(&w.supervisor, close, json!({"c": other})).await,
        "CONFLICT"
    );
    h.ok(&w.supervisor, PLACE, json!({"c": other, "p": w.agency}))
        .await;
    assert_eq!(
        h.err(&w.agency_token, close, json!({"c": other})).await,
        "FORBIDDEN"
    );
    h.ok(&w.supervisor, close, json!({"c": other})).await;
    assert!(events(&state(&w, &other).await).contains(&"PlacementClosed".to_string()));
    // The closed offer's deadline no longer fires.
    assert_eq!(advance(&mut w, chrono::Duration::days(3)).await, 0);
    w.h.stop().await;
}

on_both!(placement_lifecycle, placement_moves_the_process);

/// Waits for the judgment, then the law firm enforces it.
const COURT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="J" name="legal-judgment" />
  <bpmn:process id="court" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="judged" />
    <bpmn:intermediateCatchEvent id="judged"><bpmn:messageEventDefinition messageRef="J" /></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="judged" targetRef="Enforce" />
    <bpmn:userTask id="Enforce" name="Enforce the judgment">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="partner" /></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="Enforce" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>"#;

const MILESTONE: &str = "mutation($c: ID!, $m: LegalMilestone!, $on: NaiveDate!, $r: String!, $n: String) {
    reportLegalMilestone(caseId: $c, milestone: $m, on: $on, reference: $r, note: $n) { seq repeated } }";

async fn legal_milestones_reach_the_process(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"court.bpmn\", xml: $x) { created } }",
        json!({"x": COURT}),
    )
    .await;
    let case = h
        .ok(
            &w.agent,
            "mutation($input: OpenCaseInput!) { openCase(input: $input) { caseId } }",
            json!({"input": {"processId": "court", "externalRef": "LEX-1",
                "debtor": {"id": "D-LEX-1", "name": "Ana"}}}),
        )
        .await["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string();
    h.ok(&w.supervisor, PLACE, json!({"c": case, "p": w.law_firm}))
        .await;
    let firm = &w.law_firm_token;
    let today = h.clock.now().date_naive();

    // The claim is filed: recorded, the process (waiting for the judgment) unmoved.
    let filed = h
        .ok(
            firm,
            MILESTONE,
            json!({"c": case, "m": "CLAIM_FILED", "on": today, "r": "22/1931", "n": "Juzgado 3 Civil"}),
        )
        .await;
    assert_eq!(filed["reportLegalMilestone"]["repeated"], false);
    assert!(open_tasks(&state(&w, &case).await).is_empty());
    // The same report again records nothing new.
    let again = h
        .ok(
            firm,
            MILESTONE,
            json!({"c": case, "m": "CLAIM_FILED", "on": today, "r": "22/1931"}),
        )
        .await;
    assert_eq!(again["reportLegalMilestone"]["repeated"], true);
    assert_eq!(
        again["reportLegalMilestone"]["seq"],
        filed["reportLegalMilestone"]["seq"]
    );
    // A hearing may be set for a later day; a judgment may not be reported ahead.
    let later = today + chrono::Days::new(30);
    h.ok(
        firm,
        MILESTONE,
        json!({"c": case, "m": "HEARING_SCHEDULED", "on": later, "r": "H-1"}),
    )
    .await;
    for (vars, code) in [
        (
            json!({"c": case, "m": "JUDGMENT", "on": later, "r": "S-1"}),
            "BAD_INPUT",
        ),
        (
            json!({"c": case, "m": "JUDGMENT", "on": today, "r": "  "}),
            "BAD_INPUT",
        ),
        (
            json!({"c": case, "m": "VERDICT", "on": today, "r": "S-1"}),
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ] {
        assert_eq!(h.err(firm, MILESTONE, vars.clone()).await, code, "{vars}");
    }
    // Not the agency's case.
    assert_eq!(
        h.err(
            &w.agency_token,
            MILESTONE,
            json!({"c": case, "m": "JUDGMENT", "on": today, "r": "S-1"})
        )
        .await,
        "CASE_NOT_FOUND"
    );

    // The judgment: the process hears it in the same entry and the firm enforces.
    h.ok(
        firm,
        MILESTONE,
        json!({"c": case, "m": "JUDGMENT", "on": today, "r": "S-1"}),
    )
    .await;
    let s = state(&w, &case).await;
    assert_eq!(open_tasks(&s), ["Enforce"]);
    let history = events(&s);
    assert_eq!(
        history
            .iter()
            .filter(|e| *e == "LegalMilestoneReported")
            .count(),
        3
    );
    // The firm reads its reports among its notes.
    let notes = h
        .ok(
            firm,
            "query($c: ID!) { case(id: $c) { notes { kind text } } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(notes["case"]["notes"][0]["kind"], "legal_claim_filed");
    assert_eq!(
        notes["case"]["notes"][0]["text"],
        json!(format!("claim_filed on {today} (22/1931): Juzgado 3 Civil"))
    );
    w.h.stop().await;
}

on_both!(legal_milestones, legal_milestones_reach_the_process);
