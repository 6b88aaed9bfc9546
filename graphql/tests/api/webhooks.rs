//! Outbound partner webhooks (issue 19): a real HTTP receiver on port 0 verifies each
//! request with the Standard Webhooks reference verifier; it goes down and comes back,
//! and every event still arrives once, in its case's order, carrying only what the
//! partner may read; secrets rotate with both signing meanwhile; a day of failures
//! dead-letters an event, and a replay sends it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use chrono::Duration;
use partners::webhooks::deliver::{self, DeliveryConfig, DeliveryHandle};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{World, on_both};

#[derive(Debug, Clone)]
struct Received {
    id: String,
    body: Value,
    /// Whether each of the receiver's secrets verified it (reference algorithm).
    verified: Vec<bool>,
    accepted: bool,
}

struct ReceiverState {
    secrets: Mutex<Vec<String>>,
    up: AtomicBool,
    log: Mutex<Vec<Received>>,
    requests: watch::Sender<usize>,
}

struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    server: actix_web::dev::ServerHandle,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<Arc<ReceiverState>>,
) -> HttpResponse {
    let mut headers = http::HeaderMap::new();
    for name in [
        standardwebhooks::HEADER_WEBHOOK_ID,
        standardwebhooks::HEADER_WEBHOOK_TIMESTAMP,
        standardwebhooks::HEADER_WEBHOOK_SIGNATURE,
    ] {
        if let Some(v) = req.headers().get(name) {
            headers.insert(name, http::HeaderValue::from_bytes(v.as_bytes()).unwrap());
        }
    }
    let verified = state
        .secrets
        .lock()
        .unwrap()
        .iter()
        .map(|s| {
            standardwebhooks::Webhook::new(s)
                .unwrap()
                .verify(&body, &headers)
                .is_ok()
        })
        .collect::<Vec<_>>();
    let accepted = state.up.load(Ordering::SeqCst) && verified.iter().any(|v| *v);
    state.log.lock().unwrap().push(Received {
        id: headers[standardwebhooks::HEADER_WEBHOOK_ID]
            .to_str()
            .unwrap()
            .to_string(),
        body: serde_json::from_slice(&body).unwrap(),
        verified,
        accepted,
    });
    state.requests.send_modify(|n| *n += 1);
    if accepted {
        HttpResponse::NoContent().finish()
    } else {
        HttpResponse::ServiceUnavailable().body("down for maintenance")
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let state = Arc::new(ReceiverState {
            secrets: Mutex::new(Vec::new()),
            up: AtomicBool::new(true),
            log: Mutex::new(Vec::new()),
            requests: watch::channel(0).0,
        });
        let data = web::Data::new(state.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/recobro", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hooks/recobro", web::post().to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver {
            url,
            state,
            server: handle,
        }
    }

    fn trust(&self, secrets: &[&str]) {
        *self.state.secrets.lock().unwrap() = secrets.iter().map(|s| s.to_string()).collect();
    }

    fn log(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.log().into_iter().filter(|r| r.accepted).collect()
    }

    /// Waits until `n` requests in all have arrived.
    async fn wait_requests(&self, n: usize) {
        let mut rx = self.state.requests.subscribe();
        tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|k| *k >= n))
            .await
            .unwrap_or_else(|_| panic!("{n} webhook requests did not arrive: {:#?}", self.log()))
            .unwrap();
    }
}

async fn set_webhook(w: &World, partner: &str, url: &str, events: Value) -> Value {
    w.h.ok(
        &w.supervisor,
        "mutation($p: ID!, $u: String!, $e: [WebhookEventType!]) {
            setPartnerWebhook(partnerId: $p, url: $u, events: $e) {
                secret webhook { url events secretIssuedAt previousSecretValidUntil } } }",
        json!({"p": partner, "u": url, "e": events}),
    )
    .await["setPartnerWebhook"]
        .clone()
}

fn delivery(w: &World) -> DeliveryHandle {
    deliver::spawn(w.h.desk.clone(), DeliveryConfig::default())
}

/// Waits until the delivery has settled `n` events in all.
async fn wait_settled(d: &DeliveryHandle, n: u64) {
    let mut rx = d.settled.clone();
    tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|k| *k >= n))
        .await
        .unwrap_or_else(|_| panic!("{n} events were not settled"))
        .unwrap();
}

async fn events(w: &World, token: &str, partner: &str) -> Vec<Value> {
    w.h.ok(
        token,
        "query($p: ID) { webhookEvents(partnerId: $p, first: 500) { id partnerId caseId type
            status reason attempts nextAttemptAt deliveredAt
            attemptLog { attempt statusCode outcome error } } }",
        json!({"p": partner}),
    )
    .await["webhookEvents"]
        .as_array()
        .unwrap()
        .clone()
}

async fn webhooks_survive_an_outage_in_case_order(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    let rx = Receiver::start().await;
    let setup = set_webhook(&w, &w.agency, &rx.url, json!(null)).await;
    let secret = setup["secret"]
        .as_str()
        .expect("a secret is issued")
        .to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(setup["webhook"]["url"], rx.url);
    rx.trust(&[&secret]);
    // The agency may not read balances or payments at any stage.
    w.h.ok(
        &w.supervisor,
        "mutation($p: ID!) { setPartnerDisclosure(partnerId: $p, data: [DEBTOR_IDENTITY, DEBTOR_CONTACTS]) { id } }",
        json!({"p": w.agency}),
    )
    .await;

    // The receiver is down while two cases are placed and worked.
    rx.state.up.store(false, Ordering::SeqCst);
    let d = delivery(&w);
    let mut cases = Vec::new();
    for r in ["W-1", "W-2"] {
        let case = w.open_case(r, 1000.0).await;
        w.place(&case, &w.agency).await;
        w.complete_first_task(&case, &w.agent).await;
        w.h.ok(
            &w.agent,
            "mutation($c: ID!) { addComment(caseId: $c, text: \"debtor has a lawyer, do not settle below 80%\") { seq } }",
            json!({"c": case}),
        )
        .await;
        w.h.ok(
            &w.supervisor,
            "mutation($c: ID!) { recordPayment(caseId: $c, input: {reference: \"P-1\", amount: \"100\", currency: \"COP\"}) { seq } }",
            json!({"c": case}),
        )
        .await;
        cases.push(case);
    }
    // Each case's first event is tried and refused; its later ones wait behind it.
    wait_attempted(&d, 2).await;
    let listed = events(&w, &w.supervisor, &w.agency).await;
    let pending = listed.iter().filter(|e| e["status"] == "PENDING").count();
    assert_eq!(pending, listed.len(), "{listed:#?}");
    let tried: Vec<_> = listed.iter().filter(|e| e["attempts"] == 1).collect();
    assert_eq!(
        tried.len(),
        2,
        "only the head of each case was tried: {listed:#?}"
    );
    assert_eq!(tried[0]["attemptLog"][0]["statusCode"], 503);
    assert_eq!(tried[0]["attemptLog"][0]["outcome"], "failed");

    // Back up; the retries come due.
    rx.state.up.store(true, Ordering::SeqCst);
    w.h.clock.advance(Duration::hours(1));
    w.renew_tokens().await;
    let total = listed.len();
    let not_sent = listed
        .iter()
        .filter(|e| e["type"] == "PAYMENT_ALLOCATED")
        .count();
    assert_eq!(not_sent, 2, "one payment per case: {listed:#?}");
    wait_settled(&d, total as u64).await;

    let accepted = rx.accepted();
    assert_eq!(accepted.len(), total - not_sent, "{accepted:#?}");
    let mut ids: Vec<_> = accepted.iter().map(|r| r.id.clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), accepted.len(), "each event delivered once");
    assert!(
        accepted.iter().all(|r| r.verified == [true]),
        "signatures verify"
    );
    for case in &cases {
        let seen: Vec<i64> = rx
            .log()
            .iter()
            .filter(|r| r.body["data"]["caseId"] == *case)
            .map(|r| r.id.trim_start_matches("msg_").parse().unwrap())
            .collect();
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(
            seen, sorted,
            "case {case}: never a later event before an earlier one"
        );
        let kinds: Vec<&str> = accepted
            .iter()
            .filter(|r| r.body["data"]["caseId"] == *case)
            .map(|r| r.body["type"].as_str().unwrap())
            .collect();
        assert_eq!(kinds[0], "placement.offered", "{kinds:?}");
        assert!(kinds.contains(&"task.created"), "{kinds:?}");
        assert!(
            !kinds.contains(&"payment.allocated"),
            "payments are withheld: {kinds:?}"
        );
    }
    // Minimised: no balance anywhere, no internal note, nothing but the envelope.
    for r in &accepted {
        let text = r.body.to_string();
        assert!(!text.contains("amountDue"), "{text}");
        assert!(!text.contains("lawyer"), "{text}");
        let keys: Vec<_> = r.body.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["type", "timestamp", "data"], "{text}");
    }
    let listed = events(&w, &w.agency_token, &w.agency).await;
    let withheld: Vec<_> = listed
        .iter()
        .filter(|e| e["status"] == "NOT_SENT")
        .collect();
    assert_eq!(withheld.len(), 2);
    assert_eq!(withheld[0]["reason"], "withheld_by_disclosure_policy");
    let delivered = listed
        .iter()
        .find(|e| e["attempts"] == 2)
        .expect("a retried event");
    assert_eq!(delivered["status"], "DELIVERED");
    assert_eq!(delivered["attemptLog"][1]["outcome"], "delivered");

    // Isolation: the law firm reads none of the agency's log; an agent reads no log.
    let code =
        w.h.err(
            &w.law_firm_token,
            "query($p: ID) { webhookEvents(partnerId: $p) { id } }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(code, "PARTNER_NOT_FOUND");
    assert!(events(&w, &w.law_firm_token, &w.law_firm).await.is_empty());
    let code =
        w.h.err(&w.agent, "query { webhookEvents { id } }", json!({}))
            .await;
    assert_eq!(code, "FORBIDDEN");
    // The secret is never read back, by anyone.
    let partner =
        w.h.ok(
            &w.agency_token,
            "query { partners { webhook { url events secretIssuedAt } } }",
            json!({}),
        )
        .await;
    assert!(!partner.to_string().contains("whsec_"), "{partner}");
    d.stop().await;
    rx.server.stop(true).await;
    w.h.stop().await;
}
on_both!(
    webhooks_outage,
    super::webhooks_survive_an_outage_in_case_order
);

async fn rotation_signs_with_both_secrets(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    let rx = Receiver::start().await;
    let old = set_webhook(&w, &w.agency, &rx.url, json!(["PLACEMENT_OFFERED"])).await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let rotated =
        w.h.ok(
            &w.supervisor,
            "mutation($p: ID!) { rotatePartnerWebhookSecret(partnerId: $p, previousValidHours: 2) {
                secret webhook { previousSecretValidUntil } } }",
            json!({"p": w.agency}),
        )
        .await["rotatePartnerWebhookSecret"]
            .clone();
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(
        rotated["webhook"]["previousSecretValidUntil"],
        "2026-03-02T10:00:00+00:00"
    );
    rx.trust(&[&old, &new]);
    let d = delivery(&w);
    let first = w.open_case("R-1", 50.0).await;
    w.place(&first, &w.agency).await;
    rx.wait_requests(1).await;
    assert_eq!(
        rx.log()[0].verified,
        [true, true],
        "both secrets sign during the switch"
    );
    // After the switch, only the new one signs.
    w.h.clock.advance(Duration::hours(3));
    w.renew_tokens().await;
    let second = w.open_case("R-2", 50.0).await;
    w.place(&second, &w.agency).await;
    rx.wait_requests(2).await;
    assert_eq!(rx.log()[1].verified, [false, true]);
    // Only the subscribed type is sent; the task of the placed case is not.
    w.complete_first_task(&second, &w.agent).await;
    let listed = events(&w, &w.supervisor, &w.agency).await;
    wait_settled(&d, listed.len() as u64).await;
    assert_eq!(rx.log().len(), 2);
    let listed = events(&w, &w.supervisor, &w.agency).await;
    let task = listed
        .iter()
        .find(|e| e["type"] == "TASK_CREATED")
        .expect("a task event");
    assert_eq!(task["status"], "NOT_SENT");
    assert_eq!(task["reason"], "not_subscribed");
    d.stop().await;
    rx.server.stop(true).await;
    w.h.stop().await;
}
on_both!(webhook_rotation, super::rotation_signs_with_both_secrets);

async fn a_day_of_failures_dead_letters_and_a_replay_delivers(db: &DatabaseConnection) {
    let mut w = World::new(db).await;
    let rx = Receiver::start().await;
    let secret = set_webhook(&w, &w.agency, &rx.url, json!(null)).await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    rx.trust(&[&secret]);
    rx.state.up.store(false, Ordering::SeqCst);
    let d = delivery(&w);
    let case = w.open_case("DL-1", 50.0).await;
    w.place(&case, &w.agency).await;
    // Each failure is retried later; move the clock to each retry until none is left.
    let mut tries = 0;
    loop {
        tries += 1;
        // The attempt was made and its outcome written.
        wait_attempted(&d, tries as u64).await;
        w.renew_tokens().await;
        let head = events(&w, &w.supervisor, &w.agency).await.pop().unwrap();
        if head["status"] == "DEAD_LETTERED" {
            break;
        }
        assert_eq!(head["attempts"], tries, "{head}");
        let next = head["nextAttemptAt"].as_str().expect("a retry is due");
        let next = chrono::DateTime::parse_from_rfc3339(next).unwrap().to_utc();
        w.h.clock.advance_to(next);
    }
    assert!((25..45).contains(&tries), "{tries} attempts in a day");
    let head = events(&w, &w.supervisor, &w.agency).await.pop().unwrap();
    assert_eq!(head["attemptLog"].as_array().unwrap().len(), tries);
    assert_eq!(head["attemptLog"][tries - 1]["outcome"], "dead_lettered");
    // The partner replays its dead letters once its receiver is back.
    rx.state.up.store(true, Ordering::SeqCst);
    let replayed =
        w.h.ok(
            &w.agency_token,
            "mutation($p: ID!) { replayWebhookEvents(partnerId: $p) }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(replayed["replayWebhookEvents"], 1);
    wait_settled(&d, 2).await;
    let head = events(&w, &w.supervisor, &w.agency).await.pop().unwrap();
    assert_eq!(head["status"], "DELIVERED");
    assert_eq!(rx.accepted().len(), 1);
    let code =
        w.h.err(
            &w.agency_token,
            "mutation($p: ID!) { replayWebhookEvents(partnerId: $p, eventIds: [\"999999\"]) }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(code, "BAD_INPUT");
    d.stop().await;
    rx.server.stop(true).await;
    w.h.stop().await;
}
on_both!(
    webhook_dead_letters,
    super::a_day_of_failures_dead_letters_and_a_replay_delivers
);

async fn wait_attempted(d: &DeliveryHandle, n: u64) {
    let mut rx = d.attempted.clone();
    tokio::time::timeout(std::time::Duration::from_secs(30), rx.wait_for(|k| *k >= n))
        .await
        .unwrap_or_else(|_| panic!("{n} attempts were not recorded"))
        .unwrap();
}

async fn bad_webhook_settings_are_refused(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let set =
        "mutation($p: ID!, $u: String!) { setPartnerWebhook(partnerId: $p, url: $u) { secret } }";
    for url in [
        "ftp://example.com/x",
        "not a url",
        "https://user:pw@example.com/x",
    ] {
        let code =
            w.h.err(&w.supervisor, set, json!({"p": w.agency, "u": url}))
                .await;
        assert_eq!(code, "BAD_INPUT", "{url}");
    }
    let code =
        w.h.err(
            &w.agent,
            set,
            json!({"p": w.agency, "u": "https://example.com/x"}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code =
        w.h.err(
            &w.agency_token,
            set,
            json!({"p": w.agency, "u": "https://example.com/x"}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let code =
        w.h.err(
            &w.supervisor,
            "mutation($p: ID!) { rotatePartnerWebhookSecret(partnerId: $p) { secret } }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    let first = set_webhook(&w, &w.agency, "https://example.com/a", json!(null)).await;
    let again = set_webhook(
        &w,
        &w.agency,
        "https://example.com/b",
        json!(["CASE_UPDATED"]),
    )
    .await;
    assert!(first["secret"].is_string());
    assert_eq!(
        again["secret"],
        Value::Null,
        "a changed URL keeps the secret"
    );
    assert_eq!(again["webhook"]["events"], json!(["CASE_UPDATED"]));
    let code = w
        .h
        .err(
            &w.supervisor,
            "mutation($p: ID!) { rotatePartnerWebhookSecret(partnerId: $p, previousValidHours: 200) { secret } }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(code, "BAD_INPUT");
    w.h.stop().await;
}
on_both!(webhook_settings, super::bad_webhook_settings_are_refused);
