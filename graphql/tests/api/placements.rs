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

const AUTO_PLACE: &str = "mutation($c: ID!) { placeCase(caseId: $c) { seq } }";
const ALLOCATION: &str = "mutation($p: ID!, $j: [String!], $cap: Int, $w: Int) {
    setPartnerAllocation(partnerId: $p, jurisdictions: $j, capacity: $cap, weight: $w) {
        allocation { jurisdictions capacity weight } } }";

async fn partner_of(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { partner { id } } }",
        json!({"c": case}),
    )
    .await["case"]["partner"]["id"]
        .clone()
}

async fn allocation_rules_choose_the_agency(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let challenger = h
        .ok(
            &w.admin,
            "mutation { registerPartner(name: \"Norte Cobranzas\", kind: AGENCY) { id } }",
            json!({}),
        )
        .await["registerPartner"]["id"]
        .clone();
    let set = h
        .ok(&w.supervisor, ALLOCATION, json!({"p": w.agency, "w": 3}))
        .await;
    assert_eq!(
        set["setPartnerAllocation"]["allocation"],
        json!({"jurisdictions": [], "capacity": null, "weight": 3})
    );
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": challenger, "w": 1, "cap": 1}),
    )
    .await;

    // Eight cases offered with no partner named: agencies only (never the law firm),
    // the challenger at most its capacity of one.
    let mut cases = Vec::new();
    for i in 0..8 {
        let case = w.open_case(&format!("AL-{i}"), 100.0).await;
        h.ok(&w.supervisor, AUTO_PLACE, json!({"c": case})).await;
        cases.push(case);
    }
    let mut chosen = Vec::new();
    for case in &cases {
        chosen.push(partner_of(&w, case).await);
    }
    let to_challenger = chosen.iter().filter(|p| **p == challenger).count();
    assert!(to_challenger <= 1, "{chosen:?}");
    assert_eq!(
        chosen.iter().filter(|p| **p == json!(w.agency)).count(),
        8 - to_challenger
    );

    // Without a capacity in the way, a case offered again goes where it went before.
    h.ok(&w.supervisor, ALLOCATION, json!({"p": challenger, "w": 1}))
        .await;
    for case in &cases[..4] {
        let before = partner_of(&w, case).await;
        h.ok(
            &w.supervisor,
            "mutation($c: ID!) { recallCase(caseId: $c, reason: \"again\") { seq } }",
            json!({"c": case}),
        )
        .await;
        h.ok(&w.supervisor, AUTO_PLACE, json!({"c": case})).await;
        let first = partner_of(&w, case).await;
        h.ok(
            &w.supervisor,
            "mutation($c: ID!) { recallCase(caseId: $c, reason: \"again\") { seq } }",
            json!({"c": case}),
        )
        .await;
        h.ok(&w.supervisor, AUTO_PLACE, json!({"c": case})).await;
        assert_eq!(partner_of(&w, case).await, first, "{case} (first {before})");
    }

    // Both restricted to countries, a debtor of unknown jurisdiction has no agency.
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": w.agency, "j": ["co"]}),
    )
    .await;
    h.ok(
        &w.supervisor,
        ALLOCATION,
        json!({"p": challenger, "j": ["MX"]}),
    )
    .await;
    let unknown = w.open_case("AL-X", 100.0).await;
    assert_eq!(
        h.err(&w.supervisor, AUTO_PLACE, json!({"c": unknown}))
            .await,
        "CONFLICT"
    );
    let partners = h
        .ok(
            &w.admin,
            "{ partners { id allocation { jurisdictions } } }",
            json!({}),
        )
        .await;
    assert!(partners["partners"].as_array().unwrap().iter().any(|p| {
        p["id"] == json!(w.agency) && p["allocation"]["jurisdictions"] == json!(["CO"])
    }));

    // Bad input and who may.
    for (vars, code) in [
        (json!({"p": w.agency, "j": ["XX"]}), "BAD_INPUT"),
        (json!({"p": w.agency, "w": 5000}), "BAD_INPUT"),
        (json!({"p": w.agency, "w": -1}), "BAD_INPUT"),
        (json!({"p": w.agency, "cap": -3}), "BAD_INPUT"),
        (json!({"p": "nobody", "w": 1}), "PARTNER_NOT_FOUND"),
    ] {
        assert_eq!(
            h.err(&w.supervisor, ALLOCATION, vars.clone()).await,
            code,
            "{vars}"
        );
    }
    assert_eq!(
        h.err(&w.agent, ALLOCATION, json!({"p": w.agency, "w": 2}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.agent, AUTO_PLACE, json!({"c": unknown})).await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}

on_both!(allocation_rules, allocation_rules_choose_the_agency);

const PLACE_MANY: &str = "mutation($f: CaseFilterInput!, $p: ID, $l: Int, $k: String) {
    placeCases(filter: $f, partnerId: $p, limit: $l, idempotencyKey: $k) { done refused { caseId code message } } }";
const RECALL_MANY: &str = "mutation($f: CaseFilterInput!, $r: String!, $l: Int) {
    recallCases(filter: $f, reason: $r, limit: $l) { done refused { caseId code } } }";

async fn many_cases_are_placed_and_recalled_by_filter(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let mut cases = Vec::new();
    for i in 0..5 {
        cases.push(w.open_case(&format!("BULK-{i}"), 100.0).await);
    }
    let ours = json!({"processId": "collections-lite"});
    let placed = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.agency, "k": "portfolio-7"}),
        )
        .await["placeCases"]
        .clone();
    assert_eq!(placed["done"].as_array().unwrap().len(), 5, "{placed}");
    assert_eq!(placed["refused"], json!([]));
    for case in &cases {
        assert_eq!(partner_of(&w, case).await, json!(w.agency));
    }
    // The same call again repeats nothing; without its key each case is refused, with why.
    let again = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.agency, "k": "portfolio-7"}),
        )
        .await["placeCases"]
        .clone();
    assert_eq!(again["done"].as_array().unwrap().len(), 5);
    let refused = h
        .ok(
            &w.supervisor,
            PLACE_MANY,
            json!({"f": ours, "p": w.law_firm}),
        )
        .await["placeCases"]["refused"]
        .clone();
    let refused = refused.as_array().unwrap();
    assert_eq!(refused.len(), 5);
    assert!(
        refused.iter().all(|r| r["code"] == "PLACEMENT_CONFLICT"),
        "{refused:?}"
    );
    let history = h
        .ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { history { eventType } } }",
            json!({"c": cases[0]}),
        )
        .await;
    let placements = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "CasePlaced")
        .count();
    assert_eq!(placements, 1, "placed once");

    // Recalled by filter, at most `limit`.
    let by_agency = json!({"partnerId": w.agency});
    let two = h
        .ok(
            &w.supervisor,
            RECALL_MANY,
            json!({"f": by_agency, "r": "portfolio sold", "l": 2}),
        )
        .await;
    assert_eq!(two["recallCases"]["done"].as_array().unwrap().len(), 2);
    let rest = h
        .ok(
            &w.supervisor,
            RECALL_MANY,
            json!({"f": by_agency, "r": "portfolio sold"}),
        )
        .await;
    assert_eq!(rest["recallCases"]["done"].as_array().unwrap().len(), 3);
    for case in &cases {
        assert_eq!(partner_of(&w, case).await, Value::Null);
    }

    // Bad input and who may.
    for (query, vars) in [
        (PLACE_MANY, json!({"f": ours, "p": w.agency, "l": 0})),
        (PLACE_MANY, json!({"f": ours, "p": w.agency, "l": 10_001})),
        (RECALL_MANY, json!({"f": ours, "r": " "})),
    ] {
        assert_eq!(
            h.err(&w.supervisor, query, vars.clone()).await,
            "BAD_INPUT",
            "{vars}"
        );
    }
    assert_eq!(
        h.err(&w.agent, PLACE_MANY, json!({"f": ours, "p": w.agency}))
            .await,
        "FORBIDDEN"
    );
    assert_eq!(
        h.err(&w.agency_token, RECALL_MANY, json!({"f": ours, "r": "x"}))
            .await,
        "FORBIDDEN"
    );
    w.h.stop().await;
}

on_both!(bulk_placement, many_cases_are_placed_and_recalled_by_filter);

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

async fn activities_are_recorded_once_per_partner_reference(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let case = w.open_case("ACT-1", 100.0).await;
    w.place(&case, &w.agency).await;
    let record = "mutation($c: ID!, $r: String, $k: String) {
        recordActivity(caseId: $c, kind: \"call\", note: \"promised Friday\", reference: $r, idempotencyKey: $k) { seq repeated } }";
    let first = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-881"}))
        .await;
    let again = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-881"}))
        .await;
    assert_eq!(again["recordActivity"]["repeated"], true);
    assert_eq!(
        again["recordActivity"]["seq"],
        first["recordActivity"]["seq"]
    );
    let other = h
        .ok(&w.agency_token, record, json!({"c": case, "r": "CALL-882"}))
        .await;
    assert_eq!(other["recordActivity"]["repeated"], false);
    let notes = h
        .ok(
            &w.agency_token,
            "query($c: ID!) { case(id: $c) { notes { text } } }",
            json!({"c": case}),
        )
        .await;
    assert_eq!(notes["case"]["notes"].as_array().unwrap().len(), 2);
    for vars in [
        json!({"c": case, "r": "CALL-9", "k": "k-1"}),
        json!({"c": case, "r": " "}),
    ] {
        assert_eq!(
            h.err(&w.agency_token, record, vars.clone()).await,
            "BAD_INPUT",
            "{vars}"
        );
    }
    w.h.stop().await;
}

on_both!(
    activity_references,
    activities_are_recorded_once_per_partner_reference
);

const REPORT: &str = "mutation($file: Upload!) { uploadPartnerReport(file: $file) {
    applied repeated errors { row column code message } } }";

async fn report(w: &World, token: &str, csv: &str) -> Value {
    super::documents::upload(
        w,
        token,
        REPORT,
        json!({"file": null}),
        "report.csv",
        csv.as_bytes(),
    )
    .await
}

async fn reported(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.admin,
        "query($c: ID!) { case(id: $c) { notes { kind } reportedPayments { reference } } }",
        json!({"c": case}),
    )
    .await["case"]
        .clone()
}

async fn report_files_apply_whole_or_not_at_all(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let mine = w.open_case("RPT-1", 900.0).await;
    let theirs = w.open_case("RPT-2", 900.0).await;
    w.place(&mine, &w.agency).await;
    w.place(&theirs, &w.law_firm).await;
    let before = reported(&w, &mine).await;

    // One wrong amount and one case of another partner: nothing is applied.
    let bad = report(
        &w,
        &w.agency_token,
        "case_ref,type,date,reference,kind,amount,currency,note
RPT-1,activity,2026-03-01,V-1,visit,,,not at home
RPT-1,payment,2026-03-01,P-1,,10.123,COP,
RPT-2,activity,2026-03-01,V-2,call,,,
",
    )
    .await;
    let errors = &bad["data"]["uploadPartnerReport"]["errors"];
    assert_eq!(errors.as_array().unwrap().len(), 1, "{bad}");
    assert_eq!(errors[0]["row"], 2);
    assert_eq!(errors[0]["column"], "amount");
    assert_eq!(bad["data"]["uploadPartnerReport"]["applied"], 0);
    assert_eq!(reported(&w, &mine).await, before, "nothing half-applied");
    let foreign = report(
        &w,
        &w.agency_token,
        "case_ref,type,date,reference,kind\nRPT-2,activity,2026-03-01,V-2,call\n",
    )
    .await;
    assert_eq!(
        foreign["data"]["uploadPartnerReport"]["errors"][0]["code"],
        "CASE_NOT_FOUND"
    );

    // A good file applies every row; sent again, it records nothing twice.
    let good = "case_ref,type,date,reference,kind,amount,currency,note
RPT-1,activity,2026-03-01,V-1,visit,,,not at home
RPT-1,legal_milestone,2026-03-01,22/1931,claim_filed,,,Juzgado 3
RPT-1,payment,2026-03-01,P-1,,250000,COP,
";
    let first = report(&w, &w.agency_token, good).await;
    assert_eq!(
        first["data"]["uploadPartnerReport"]["applied"], 3,
        "{first}"
    );
    let again = report(&w, &w.agency_token, good).await;
    assert_eq!(again["data"]["uploadPartnerReport"]["applied"], 0);
    assert_eq!(again["data"]["uploadPartnerReport"]["repeated"], 3);
    let after = reported(&w, &mine).await;
    assert_eq!(after["notes"].as_array().unwrap().len(), 2, "{after}");
    assert_eq!(after["reportedPayments"], json!([{"reference": "P-1"}]));

    // Partners only.
    let staff = report(&w, &w.agent, good).await;
    assert_eq!(super::error_code(&staff).as_deref(), Some("FORBIDDEN"));
    w.h.stop().await;
}

on_both!(partner_report_files, report_files_apply_whole_or_not_at_all);
