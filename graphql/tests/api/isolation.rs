//! Partner isolation: a partner reaches only cases placed with it, and anything else
//! answers exactly like something that does not exist.

use futures_util::{SinkExt, StreamExt};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{World, on_both};

async fn tasks_of(w: &World, case: &str) -> Vec<String> {
    let data =
        w.h.ok(
            &w.admin,
            "query($c: ID!) { case(id: $c) { openTasks { id } } }",
            json!({"c": case}),
        )
        .await;
    data["case"]["openTasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// Opens a case, takes it to the partner task and places it with `partner`.
async fn placed_case(w: &World, reference: &str, partner: &str) -> (String, String) {
    let case = w.open_case(reference, 900.0).await;
    let first = tasks_of(w, &case).await.remove(0);
    w.h.ok(
        &w.admin,
        "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
        json!({"t": first}),
    )
    .await;
    w.place(&case, partner).await;
    let partner_task = tasks_of(w, &case).await.remove(0);
    (case, partner_task)
}

fn node_ids(conn: &Value) -> Vec<String> {
    conn["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn probes(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let (agency_case, agency_task) = placed_case(&w, "AG-1", &w.agency).await;
    let (law_case, _law_task) = placed_case(&w, "LF-1", &w.law_firm).await;
    let unplaced = w.open_case("IN-1", 50.0).await;
    let lf = &w.law_firm_token;

    // Guessing ids: a real case of another partner answers like a made-up one.
    let q = "query($c: ID!) { case(id: $c) { id } }";
    for id in [agency_case.as_str(), unplaced.as_str(), "no-such-case"] {
        let (_, body) = h
            .post(Some(lf), json!({"query": q, "variables": {"c": id}}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "CASE_NOT_FOUND",
            "{body}"
        );
        assert_eq!(
            body["errors"][0]["message"],
            format!("case {id} does not exist"),
            "the message must not tell real from made-up ids"
        );
    }
    let t = "query($t: ID!) { task(id: $t) { id } }";
    assert_eq!(
        h.err(lf, t, json!({"t": agency_task})).await,
        "TASK_NOT_FOUND"
    );
    // Commands on another partner's case or task.
    let commands = [
        (
            "mutation($c: ID!) { acceptPlacement(caseId: $c) { seq } }",
            "CASE_NOT_FOUND",
        ),
        (
            "mutation($c: ID!) { returnPlacement(caseId: $c, reason: \"x\") { seq } }",
            "CASE_NOT_FOUND",
        ),
        (
            "mutation($c: ID!) { addComment(caseId: $c, text: \"x\") { seq } }",
            "CASE_NOT_FOUND",
        ),
        (
            "mutation($c: ID!) { recordActivity(caseId: $c, kind: \"call\", note: \"x\") { seq } }",
            "CASE_NOT_FOUND",
        ),
        (
            "mutation($c: ID!) { correlateMessage(name: \"payment-received\", caseId: $c) { seq } }",
            "CASE_NOT_FOUND",
        ),
        (
            "mutation($t: ID!) { claimTask(taskId: $t) { seq } }",
            "TASK_NOT_FOUND",
        ),
        (
            "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
            "TASK_NOT_FOUND",
        ),
    ];
    for (m, code) in commands {
        let vars = json!({"c": agency_case, "t": agency_task});
        assert_eq!(h.err(lf, m, vars).await, code, "{m}");
    }
    // A broadcast message cannot reach other partners' cases.
    let code = h
        .err(
            lf,
            "mutation { correlateMessage(name: \"payment-received\", correlationKey: \"AG-1\") { seq } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_INPUT");

    // Filters: naming another partner, reference or debtor finds nothing.
    let list = "query($f: CaseFilterInput) { cases(filter: $f) { edges { node { id } } } }";
    for filter in [
        json!({}),
        json!({"partnerId": w.agency}),
        json!({"externalRef": "AG-1"}),
        json!({"debtorId": "D-AG-1"}),
        json!({"stage": "agency"}),
    ] {
        let data = h.ok(lf, list, json!({"f": filter})).await;
        let ids = node_ids(&data["cases"]);
        assert!(ids.iter().all(|id| id == &law_case), "{filter}: {ids:?}");
    }
    // Cursors: a cursor from the supervisor's full list pages only through the partner's.
    let all = h
        .ok(
            &w.supervisor,
            "{ cases(first: 1) { edges { cursor node { id } } } }",
            json!({}),
        )
        .await;
    let cursor = all["cases"]["edges"][0]["cursor"].as_str().unwrap();
    let data = h
        .ok(
            lf,
            "query($a: String) { cases(after: $a) { edges { node { id } } } }",
            json!({"a": cursor}),
        )
        .await;
    assert!(node_ids(&data["cases"]).iter().all(|id| id == &law_case));
    // Related objects: only the partner's own organisation, tasks and agenda.
    let data = h.ok(lf, "{ partners { id } }", json!({})).await;
    assert_eq!(data["partners"], json!([{"id": w.law_firm}]));
    let data = h.ok(lf, "{ agenda { task { caseId } } }", json!({})).await;
    for item in data["agenda"].as_array().unwrap() {
        assert_eq!(item["task"]["caseId"], law_case.as_str());
    }
    let code = h
        .err(
            lf,
            "{ queue(group: \"partner\") { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    w.h.stop().await;
}

on_both!(partners_cannot_reach_other_cases, probes);

/// A graphql-ws (graphql-transport-ws) client.
struct Ws {
    conn: actix_codec::Framed<awc::BoxedSocket, awc::ws::Codec>,
}

impl Ws {
    async fn connect(base: &str, token: &str) -> Ws {
        let url = format!("{}/graphql", base.replace("http://", "ws://"));
        let (_, mut conn) = awc::Client::new()
            .ws(url)
            .protocols(["graphql-transport-ws"])
            .connect()
            .await
            .expect("websocket");
        let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
        conn.send(awc::ws::Message::Text(init.to_string().into()))
            .await
            .unwrap();
        let mut ws = Ws { conn };
        let ack = ws.next().await;
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws
    }

    async fn subscribe(&mut self, id: &str, query: &str) {
        let msg = json!({"id": id, "type": "subscribe", "payload": {"query": query}});
        self.conn
            .send(awc::ws::Message::Text(msg.to_string().into()))
            .await
            .unwrap();
    }

    /// The next protocol message (pings answered on the way).
    async fn next(&mut self) -> Value {
        loop {
            match self.conn.next().await {
                Some(Ok(awc::ws::Frame::Text(t))) => {
                    let v: Value = serde_json::from_slice(&t).unwrap();
                    if v["type"] == "ping" {
                        let pong = json!({"type": "pong"}).to_string();
                        self.conn
                            .send(awc::ws::Message::Text(pong.into()))
                            .await
                            .unwrap();
                        continue;
                    }
                    return v;
                }
                Some(Ok(awc::ws::Frame::Close(reason))) => {
                    return json!({"closed": format!("{reason:?}")});
                }
                Some(Ok(_)) => continue,
                other => return json!({"closed": format!("{other:?}")}),
            }
        }
    }
}

async fn subscription_probes(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let (agency_case, _) = placed_case(&w, "AG-2", &w.agency).await;
    let (law_case, _) = placed_case(&w, "LF-2", &w.law_firm).await;

    // Another partner's case: refused like a missing one.
    let mut ws = Ws::connect(&w.h.base, &w.law_firm_token).await;
    ws.subscribe(
        "1",
        &format!("subscription {{ caseEvents(caseId: \"{agency_case}\") {{ seq }} }}"),
    )
    .await;
    let msg = ws.next().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(
        msg["payload"]["errors"][0]["extensions"]["code"], "CASE_NOT_FOUND",
        "{msg}"
    );
    assert_eq!(ws.next().await["type"], "complete");

    // Its own case and queue: only its own events arrive.
    ws.subscribe(
        "2",
        &format!("subscription {{ caseEvents(caseId: \"{law_case}\") {{ seq eventType }} }}"),
    )
    .await;
    ws.subscribe("3", "subscription { queueChanged { caseId } }")
        .await;
    let comment = "mutation($c: ID!) { addComment(caseId: $c, text: \"update\") { seq } }";
    // Events on the agency's case first: had they leaked, they would arrive first.
    w.h.ok(&w.supervisor, comment, json!({"c": agency_case}))
        .await;
    w.h.ok(
        &w.supervisor,
        "mutation($c: ID!) { recallCase(caseId: $c, reason: \"r\") { seq } }",
        json!({"c": agency_case}),
    )
    .await;
    w.h.ok(&w.supervisor, comment, json!({"c": law_case})).await;
    let msg = ws.next().await;
    assert_eq!(msg["type"], "next", "{msg}");
    assert_eq!(msg["id"], "2", "only the law firm's case events: {msg}");
    w.h.ok(
        &w.supervisor,
        "mutation($c: ID!) { recallCase(caseId: $c, reason: \"r\") { seq } }",
        json!({"c": law_case}),
    )
    .await;
    // The recall touches the law firm's task: its queue hears of it, about its own case.
    let mut saw_queue = false;
    for _ in 0..3 {
        let msg = ws.next().await;
        if msg["id"] == "3" && msg["type"] == "next" {
            assert_eq!(
                msg["payload"]["data"]["queueChanged"]["caseId"],
                law_case.as_str()
            );
            saw_queue = true;
            break;
        }
    }
    assert!(saw_queue);

    // No token, no subscription.
    let url = format!("{}/graphql", w.h.base.replace("http://", "ws://"));
    let (_, mut conn) = awc::Client::new()
        .ws(url)
        .protocols(["graphql-transport-ws"])
        .connect()
        .await
        .unwrap();
    conn.send(awc::ws::Message::Text(
        json!({"type": "connection_init"}).to_string().into(),
    ))
    .await
    .unwrap();
    let mut anon = Ws { conn };
    let msg = anon.next().await;
    assert!(
        msg.get("closed").is_some() || msg["type"] == "error",
        "{msg}"
    );
    // Open sockets would hold up the graceful stop.
    drop((ws, anon));
    w.h.stop().await;
}

on_both!(subscriptions_stay_inside_placements, subscription_probes);
