//! Each user does their work end to end through GraphQL alone.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, on_both};

const QUEUE: &str = "query($g: String!) { queue(group: $g, first: 10) {
    edges { node { id name caseId priority assignee } } pageInfo { hasNextPage } } }";
const AGENDA: &str = "{ agenda(first: 10) { score priorityPoints amountPoints duePoints reasons
    task { id name caseId case { amountDue currency debtor { name } } } } }";
const CASE: &str = "query($id: ID!) { case(id: $id) { id stage status owner placementStatus
    amountDue currency daysPastDue debtor { id name } partner { id name kind }
    openTasks { id name assignee partnerId } notes { text author } } }";

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn four_roles_end_to_end(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    // Supervisor: the process is deployed; versions and XML are readable.
    let defs = h
        .ok(
            &w.supervisor,
            "{ processDefinitions { id processId version xml } }",
            json!({}),
        )
        .await;
    assert_eq!(
        defs["processDefinitions"][0]["processId"],
        "collections-lite"
    );
    assert!(
        defs["processDefinitions"][0]["xml"]
            .as_str()
            .unwrap()
            .contains("PartnerWork")
    );

    // Agent: opens two cases; the bigger debt ranks first on the agenda.
    let small = w.open_case("R-1", 120.0).await;
    let big = w.open_case("R-2", 15_000.0).await;
    let queue = h
        .ok(&w.agent, QUEUE, json!({"g": "early-collectors"}))
        .await;
    let edges = &queue["queue"]["edges"];
    assert_eq!(edges.as_array().unwrap().len(), 2, "{queue}");
    let agenda = h.ok(&w.agent, AGENDA, json!({})).await["agenda"].clone();
    assert_eq!(agenda[0]["task"]["caseId"], big.as_str(), "{agenda}");
    assert_eq!(agenda[1]["task"]["caseId"], small.as_str(), "{agenda}");
    assert!(agenda[0]["amountPoints"].as_i64() > agenda[1]["amountPoints"].as_i64());
    assert!(!agenda[0]["reasons"].as_array().unwrap().is_empty());
    assert_eq!(agenda[0]["task"]["case"]["debtor"]["name"], "Debtor R-2");
    let task = agenda[0]["task"]["id"].as_str().unwrap().to_string();

    // Claim, comment, complete with variables.
    h.ok(
        &w.agent,
        "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
        json!({"t": task}),
    )
    .await;
    let mine = h
        .ok(
            &w.agent,
            "{ myTasks { edges { node { id assignee } } } }",
            json!({}),
        )
        .await;
    assert_eq!(ids(&mine["myTasks"]["edges"]), vec![task.clone()]);
    assert_eq!(mine["myTasks"]["edges"][0]["node"]["assignee"], "alex");
    h.ok(
        &w.agent,
        "mutation($c: ID!, $t: ID!) { addComment(caseId: $c, taskId: $t, text: \"debtor asks for a plan\") { seq } }",
        json!({"c": big, "t": task}),
    )
    .await;
    h.ok(
        &w.agent,
        "mutation($t: ID!) { completeTask(taskId: $t, variables: {contacted: true}) { status stage } }",
        json!({"t": task}),
    )
    .await;
    let case = h.ok(&w.agent, CASE, json!({"id": big})).await["case"].clone();
    assert_eq!(case["stage"], "agency", "{case}");
    assert_eq!(case["amountDue"], "15000.00");
    assert_eq!(case["notes"][0]["text"], "debtor asks for a plan");
    assert_eq!(case["openTasks"][0]["name"], "Partner collects");

    // Supervisor places the case with the law firm.
    w.place(&big, &w.law_firm).await;

    // Law firm: sees only its case, accepts, works the partner task, records activity.
    let mine = h
        .ok(
            &w.law_firm_token,
            "{ cases { edges { node { id placementStatus } } } }",
            json!({}),
        )
        .await;
    assert_eq!(ids(&mine["cases"]["edges"]), vec![big.clone()]);
    h.ok(
        &w.law_firm_token,
        "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
        json!({"c": big}),
    )
    .await;
    let agenda = h.ok(&w.law_firm_token, AGENDA, json!({})).await["agenda"].clone();
    assert_eq!(agenda.as_array().unwrap().len(), 1, "{agenda}");
    let partner_task = agenda[0]["task"]["id"].as_str().unwrap().to_string();
    h.ok(
        &w.law_firm_token,
        "mutation($c: ID!) { recordActivity(caseId: $c, kind: \"court_filing\", note: \"claim filed\") { seq } }",
        json!({"c": big}),
    )
    .await;
    h.ok(
        &w.law_firm_token,
        "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
        json!({"t": partner_task}),
    )
    .await;
    h.ok(
        &w.law_firm_token,
        "mutation($t: ID!) { completeTask(taskId: $t, variables: {judgment: true}) { seq } }",
        json!({"t": partner_task}),
    )
    .await;

    // A payment arrives: the message closes the case.
    let paid = h
        .ok(
            &w.agent,
            "mutation($k: String!) { correlateMessage(name: \"payment-received\", correlationKey: $k) { caseId status } }",
            json!({"k": "R-2"}),
        )
        .await;
    assert_eq!(
        paid["correlateMessage"][0]["caseId"],
        big.as_str(),
        "{paid}"
    );
    assert_eq!(paid["correlateMessage"][0]["status"], "completed", "{paid}");

    // Auditor: reads the whole history, every entry chained, and verifies it.
    let history = h
        .ok(
            &w.auditor,
            "query($id: ID!) { case(id: $id) { history { seq eventType actor prevHash hash }
                historyCheck { entries valid problem } } }",
            json!({"id": big}),
        )
        .await["case"]
        .clone();
    let entries = history["history"].as_array().unwrap();
    assert!(entries.len() >= 8, "{history}");
    for pair in entries.windows(2) {
        assert_eq!(pair[1]["prevHash"], pair[0]["hash"]);
    }
    let actors: Vec<&str> = entries
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(actors.contains(&"agent:alex"), "{actors:?}");
    assert!(actors.contains(&"supervisor:sam"), "{actors:?}");
    assert!(
        actors.iter().any(|a| a.starts_with("partner:lou@")),
        "{actors:?}"
    );
    assert_eq!(history["historyCheck"]["valid"], true);
    assert_eq!(history["historyCheck"]["entries"], entries.len());

    // The auditor changes nothing.
    let code = h
        .err(
            &w.auditor,
            "mutation($c: ID!) { cancelCase(caseId: $c) { seq } }",
            json!({"c": small}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    w.h.stop().await;
}

on_both!(supervisor_agent_partner_auditor, four_roles_end_to_end);

async fn idempotent_commands(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let case = w.open_case("R-9", 300.0).await;
    let m = "mutation($c: ID!) { assignCaseOwner(caseId: $c, owner: \"alex\", idempotencyKey: \"k-1\") { seq repeated } }";
    let first = w.h.ok(&w.supervisor, m, json!({"c": case})).await;
    let again = w.h.ok(&w.supervisor, m, json!({"c": case})).await;
    assert_eq!(first["assignCaseOwner"]["repeated"], false);
    assert_eq!(again["assignCaseOwner"]["repeated"], true);
    assert_eq!(
        first["assignCaseOwner"]["seq"],
        again["assignCaseOwner"]["seq"]
    );
    let owned =
        w.h.ok(
            &w.supervisor,
            "{ cases(filter: {owner: \"alex\"}) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(ids(&owned["cases"]["edges"]), vec![case]);
    w.h.stop().await;
}

on_both!(
    repeated_idempotency_keys_change_nothing,
    idempotent_commands
);

async fn deploy_errors_have_positions(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let broken = "<?xml version=\"1.0\"?>\n<bpmn:definitions xmlns:bpmn=\"http://www.omg.org/spec/BPMN/20100524/MODEL\">\n  <bpmn:process id=\"p\" isExecutable=\"true\">\n    <bpmn:startEvent id=\"s\"></bpmn:endEvent>\n  </bpmn:process>\n</bpmn:definitions>\n";
    let (status, body) = w
        .h
        .post(
            Some(&w.supervisor),
            json!({"query": "mutation($x: String!) { deployProcess(name: \"b.bpmn\", xml: $x) { created } }", "variables": {"x": broken}}),
        )
        .await;
    assert_eq!(status, 200);
    let err = &body["errors"][0];
    assert_eq!(err["extensions"]["code"], "INVALID_MODEL", "{body}");
    let problem = &err["extensions"]["problems"][0];
    assert_eq!(problem["line"], 4, "{body}");
    assert!(problem["column"].as_u64().unwrap() > 0, "{body}");
    w.h.stop().await;
}

on_both!(
    invalid_models_report_line_and_column,
    deploy_errors_have_positions
);

async fn api_clients_by_admin(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let created = h
        .ok(
            &w.admin,
            "mutation($p: ID!) { createApiClient(role: PARTNER, partnerId: $p) { clientSecret client { clientId partnerId role } } }",
            json!({"p": w.law_firm}),
        )
        .await["createApiClient"]
        .clone();
    let id = created["client"]["clientId"].as_str().unwrap().to_string();
    let secret = created["clientSecret"].as_str().unwrap().to_string();
    assert_eq!(created["client"]["partnerId"], w.law_firm.as_str());
    // The partner's system logs in with it and sees the law firm's portfolio.
    let resp = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let grant: Value = resp.json().await.unwrap();
    let token = grant["access_token"].as_str().unwrap();
    let me = h.ok(token, "{ me { role partnerId } }", json!({})).await;
    assert_eq!(me["me"]["partnerId"], w.law_firm.as_str(), "{me}");
    // A partner id that does not exist is refused; revocation stops new tokens.
    let code = h
        .err(
            &w.admin,
            "mutation { createApiClient(role: PARTNER, partnerId: \"nope\") { clientSecret } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "PARTNER_NOT_FOUND");
    h.ok(
        &w.admin,
        "mutation($c: ID!) { revokeApiClient(clientId: $c) { revokedAt } }",
        json!({"c": id}),
    )
    .await;
    let resp = h
        .http
        .post(format!("{}/oauth/token", h.base))
        .basic_auth(&id, Some(&secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    w.h.stop().await;
}

on_both!(admins_manage_partner_api_clients, api_clients_by_admin);
