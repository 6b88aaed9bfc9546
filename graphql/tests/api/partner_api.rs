//! Partner APIs (decision 0026): Recobro calls a partner's own REST API with an OAuth2
//! client-credentials token. The token endpoint is a real one — this Recobro's own
//! `/oauth/token`, for an API client created here — and the partner API is a server on
//! 127.0.0.1:0 that checks every bearer token at Recobro's `/auth/whoami` (signature,
//! expiry by the virtual clock, subject) and can be told what to answer next.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use partners::partner_api::{ApiConfig, CallPartner, PartnerApiError, PartnerApis};
use reqwest::Method;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use services::runtime::jobs::{JobConfig, JobHandlers};

use super::{World, on_both};

/// One request the partner API received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    token: String,
    /// The API client the token was issued to; none: the token was refused.
    subject: Option<String>,
    body: Value,
}

#[derive(Default)]
struct Seen {
    requests: Vec<Received>,
    answer_next: VecDeque<(u16, Value)>,
}

/// The partner's API.
struct Receiver {
    base: String,
    seen: Arc<Mutex<Seen>>,
    server: ServerHandle,
}

struct ReceiverData {
    seen: Arc<Mutex<Seen>>,
    recobro: String,
    http: reqwest::Client,
}

async fn receive(
    req: HttpRequest,
    body: web::Bytes,
    data: web::Data<ReceiverData>,
) -> HttpResponse {
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let whoami = data
        .http
        .get(format!("{}/auth/whoami", data.recobro))
        .bearer_auth(&token)
        .send()
        .await
        .expect("whoami");
    let subject = if whoami.status().as_u16() == 200 {
        let me: Value = whoami.json().await.unwrap();
        me["subject"].as_str().map(str::to_string)
    } else {
        None
    };
    let mut seen = data.seen.lock().unwrap();
    seen.requests.push(Received {
        path: req.path().to_string(),
        token,
        subject: subject.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    if subject.is_none() {
        return HttpResponse::Unauthorized().json(json!({"message": "invalid token"}));
    }
    if let Some((status, answer)) = seen.answer_next.pop_front() {
        return HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
            .json(answer);
    }
    let n = seen.requests.len();
    HttpResponse::Ok().json(json!({"accepted": true, "agencyRef": format!("AG-{n}")}))
}

impl Receiver {
    async fn start(recobro: &str) -> Receiver {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let data = web::Data::new(ReceiverData {
            seen: seen.clone(),
            recobro: recobro.to_string(),
            http: reqwest::Client::new(),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver {
            base,
            seen,
            server: handle,
        }
    }

    fn answer_next(&self, status: u16, body: Value) {
        self.seen
            .lock()
            .unwrap()
            .answer_next
            .push_back((status, body));
    }

    fn requests(&self) -> Vec<Received> {
        self.seen.lock().unwrap().requests.clone()
    }
}

/// A real API client of this Recobro, standing for Recobro's client at the partner.
async fn credentials(w: &World) -> (String, String) {
    let created =
        w.h.ok(
            &w.admin,
            "mutation { createApiClient(role: WORKER) { clientSecret client { clientId } } }",
            json!({}),
        )
        .await["createApiClient"]
            .clone();
    (
        created["client"]["clientId"].as_str().unwrap().to_string(),
        created["clientSecret"].as_str().unwrap().to_string(),
    )
}

fn config(w: &World, rx: &Receiver, prefix: &str, (id, secret): &(String, String)) -> ApiConfig {
    ApiConfig {
        base_url: format!("{}/{prefix}", rx.base),
        token_url: format!("{}/oauth/token", w.h.base),
        client_id: id.clone(),
        client_secret: secret.clone(),
        scopes: vec!["cases:write".into()],
    }
}

async fn tokens_are_cached_renewed_once_on_401_and_at_expiry(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let rx = Receiver::start(&w.h.base).await;
    let creds = credentials(&w).await;
    let cfg = config(&w, &rx, "agency", &creds);
    let apis = PartnerApis::new(w.h.desk.clock().clone()).unwrap();
    let call = |n: i32| {
        let (apis, cfg) = (apis.clone(), cfg.clone());
        async move {
            apis.call(
                "acme",
                "P-1",
                &cfg,
                Method::POST,
                "/ping",
                Some(&json!({"n": n})),
            )
            .await
        }
    };

    // One token serves several calls.
    for n in 1..=3 {
        assert_eq!(call(n).await.unwrap()["accepted"], true);
    }
    assert_eq!(apis.tokens_fetched(), 1);
    let seen = rx.requests();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|r| r.token == seen[0].token));
    assert!(
        seen.iter()
            .all(|r| r.subject.as_deref() == Some(creds.0.as_str()))
    );
    assert_eq!(seen[2].path, "/agency/ping");
    assert_eq!(seen[2].body, json!({"n": 3}));

    // A 401 (say, the partner revoked it): one new token, the call tried once more.
    rx.answer_next(401, json!({"message": "token revoked"}));
    assert_eq!(call(4).await.unwrap()["accepted"], true);
    assert_eq!(apis.tokens_fetched(), 2);
    let seen = rx.requests();
    let (refused, retried) = (&seen[3], &seen[4]);
    assert_eq!(refused.token, seen[0].token);
    assert_ne!(retried.token, refused.token);
    assert_eq!(retried.body, json!({"n": 4}));
    // Refused again with the fresh one: an error, not a loop.
    rx.answer_next(401, json!({"message": "no"}));
    rx.answer_next(401, json!({"message": "still no"}));
    assert_eq!(
        call(5).await,
        Err(PartnerApiError::Unauthorized {
            message: "still no".into()
        })
    );
    assert_eq!(apis.tokens_fetched(), 3);
    assert_eq!(rx.requests().len(), 7);

    // Recobro's tokens live an hour; ours is renewed 30 s before its end, by the
    // runtime's (virtual) clock.
    w.h.clock.advance(chrono::Duration::seconds(3500));
    call(6).await.unwrap();
    assert_eq!(apis.tokens_fetched(), 3);
    w.h.clock.advance(chrono::Duration::seconds(80));
    call(7).await.unwrap();
    assert_eq!(apis.tokens_fetched(), 4);
    let seen = rx.requests();
    assert_ne!(seen[8].token, seen[7].token);
    assert!(seen[8].subject.is_some());

    // Refusals and failures are told apart.
    rx.answer_next(422, json!({"message": "debtor unknown"}));
    assert_eq!(
        call(8).await,
        Err(PartnerApiError::Rejected {
            status: 422,
            message: "debtor unknown".into()
        })
    );
    rx.answer_next(503, json!({"error": {"message": "maintenance"}}));
    let down = call(9).await.unwrap_err();
    assert!(
        down.is_transient() && down.to_string().contains("maintenance"),
        "{down}"
    );

    // A wrong secret: the token endpoint's refusal, and nothing sent to the partner.
    let before = rx.requests().len();
    let mut wrong = cfg.clone();
    wrong.client_secret = "not-the-secret".into();
    let refused = apis
        .call("acme", "P-1", &wrong, Method::POST, "/ping", None)
        .await
        .unwrap_err();
    match &refused {
        PartnerApiError::TokenRefused { status, reason } => {
            assert_eq!(*status, 401);
            assert!(reason.contains("invalid_client"), "{reason}");
        }
        other => panic!("expected a refused token, got {other:?}"),
    }
    assert!(!refused.is_transient());
    assert_eq!(rx.requests().len(), before);
    // A token endpoint nobody answers at: worth trying again later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut gone = cfg.clone();
    gone.token_url = format!("http://{}/oauth/token", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = apis
        .call("acme", "P-2", &gone, Method::POST, "/ping", None)
        .await
        .unwrap_err();
    assert!(unreachable.is_transient(), "{unreachable:?}");

    rx.server.stop(true).await;
    w.h.stop().await;
}

const SET_API: &str = "mutation($p: ID!, $api: PartnerApiInput!) {
    setPartnerApi(partnerId: $p, api: $api) { id api { baseUrl tokenUrl clientId scopes } } }";

async fn partner_apis_are_managed_by_supervisors_and_never_show_their_secret(
    db: &DatabaseConnection,
) {
    let w = World::new(db).await;
    let h = &w.h;
    let secret = "a-very-private-secret";
    let api = json!({
        "baseUrl": "https://api.cobra.example/v2/",
        "tokenUrl": "https://id.cobra.example/oauth/token",
        "clientId": "recobro-acme",
        "clientSecret": secret,
        "scopes": ["cases:write"],
    });
    let set = h
        .ok(&w.supervisor, SET_API, json!({"p": w.agency, "api": api}))
        .await;
    assert_eq!(
        set["setPartnerApi"]["api"],
        json!({
            "baseUrl": "https://api.cobra.example/v2",
            "tokenUrl": "https://id.cobra.example/oauth/token",
            "clientId": "recobro-acme",
            "scopes": ["cases:write"],
        })
    );
    // Only admins and supervisors set or remove it.
    for token in [&w.agent, &w.auditor, &w.agency_token] {
        assert_eq!(
            h.err(token, SET_API, json!({"p": w.agency, "api": api}))
                .await,
            "FORBIDDEN"
        );
        assert_eq!(
            h.err(
                token,
                "mutation($p: ID!) { removePartnerApi(partnerId: $p) { id } }",
                json!({"p": w.agency})
            )
            .await,
            "FORBIDDEN"
        );
    }

    // The secret is in no field of the schema's partner types...
    let types = h
        .ok(
            &w.admin,
            "{ a: __type(name: \"PartnerApi\") { fields { name } } p: __type(name: \"Partner\") { fields { name } } }",
            json!({}),
        )
        .await;
    let names = |t: &Value| -> Vec<String> {
        t["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&types["a"]),
        ["baseUrl", "tokenUrl", "clientId", "scopes"]
    );
    assert!(
        names(&types["p"])
            .iter()
            .all(|n| !n.to_lowercase().contains("secret"))
    );
    // ...and no role reads it through any of them; only admins and supervisors read
    // the configuration at all.
    let every_field = "{ partners { id name kind active allocation { weight } disclosure { stage } api { baseUrl tokenUrl clientId scopes } } }";
    for (token, reads) in [
        (&w.admin, true),
        (&w.supervisor, true),
        (&w.agent, false),
        (&w.auditor, false),
        (&w.agency_token, false),
        (&w.law_firm_token, false),
    ] {
        let (status, body) = h.post(Some(token), json!({"query": every_field})).await;
        assert_eq!(status, 200);
        assert!(!body.to_string().contains(secret), "{body}");
        if reads {
            assert!(body.get("errors").is_none(), "{body}");
            let agency = body["data"]["partners"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["id"] == w.agency.as_str())
                .unwrap()
                .clone();
            assert_eq!(agency["api"]["clientId"], "recobro-acme");
        } else {
            assert_eq!(
                super::error_code(&body).as_deref(),
                Some("FORBIDDEN"),
                "{body}"
            );
        }
    }

    // Bad input is refused, said why, and changes nothing.
    for (field, value, why) in [
        (
            "baseUrl",
            json!("ftp://files.cobra.example"),
            "http or https",
        ),
        ("tokenUrl", json!("id.cobra.example/token"), "absolute URL"),
        (
            "baseUrl",
            json!("https://user:pw@api.cobra.example"),
            "user name",
        ),
        ("scopes", json!(["two words"]), "scope"),
        ("clientId", json!(""), "client id"),
    ] {
        let mut bad = api.clone();
        bad[field] = value;
        let (_, body) = h
            .post(
                Some(&w.admin),
                json!({"query": SET_API, "variables": {"p": w.agency, "api": bad}}),
            )
            .await;
        assert_eq!(
            super::error_code(&body).as_deref(),
            Some("BAD_INPUT"),
            "{body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{field}: {message}");
    }
    let row = orm::entities::partners::Entity::find_by_id(w.agency.clone())
        .one(h.desk.db())
        .await
        .unwrap()
        .unwrap();
    let stored = partners::partner_api::api_of(&row).unwrap().unwrap();
    assert_eq!(stored.base_url, "https://api.cobra.example/v2");
    assert_eq!(stored.client_secret, secret);

    // A change without a secret keeps the stored one; a first one without is refused.
    let mut moved = api.clone();
    moved["baseUrl"] = json!("https://api2.cobra.example");
    moved.as_object_mut().unwrap().remove("clientSecret");
    h.ok(&w.admin, SET_API, json!({"p": w.agency, "api": moved}))
        .await;
    let row = orm::entities::partners::Entity::find_by_id(w.agency.clone())
        .one(h.desk.db())
        .await
        .unwrap()
        .unwrap();
    let stored = partners::partner_api::api_of(&row).unwrap().unwrap();
    assert_eq!(
        (stored.base_url.as_str(), stored.client_secret.as_str()),
        ("https://api2.cobra.example", secret)
    );
    assert_eq!(
        h.err(&w.admin, SET_API, json!({"p": w.law_firm, "api": moved}))
            .await,
        "BAD_INPUT"
    );
    assert_eq!(
        h.err(&w.admin, SET_API, json!({"p": "nope", "api": api}))
            .await,
        "PARTNER_NOT_FOUND"
    );
    let removed = h
        .ok(
            &w.admin,
            "mutation($p: ID!) { removePartnerApi(partnerId: $p) { api { baseUrl } } }",
            json!({"p": w.agency}),
        )
        .await;
    assert_eq!(removed["removePartnerApi"]["api"], Value::Null);
    w.h.stop().await;
}

/// Placed with the partner the case names, then the partner's API is told about it.
const CALLED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="called" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="place" />
    <bpmn:serviceTask id="place">
      <bpmn:extensionElements><zeebe:taskDefinition type="partner.place" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="place" targetRef="tell" />
    <bpmn:serviceTask id="tell">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="partner.call" retries="3" />
        <zeebe:taskHeaders>
          <zeebe:header key="path" value="/cases/{caseId}" />
          <zeebe:header key="variables" value="balance,dueDate" />
        </zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f3" sourceRef="tell" targetRef="work" />
    <bpmn:userTask id="work">
      <bpmn:extensionElements><zeebe:assignmentDefinition candidateGroups="partner" /></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f4" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
  <bpmn:process id="unplaced" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:sequenceFlow id="g1" sourceRef="s" targetRef="call" />
    <bpmn:serviceTask id="call">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="partner.call" />
        <zeebe:taskHeaders><zeebe:header key="path" value="/cases" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="g2" sourceRef="call" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>
"#;

const INCIDENTS: &str =
    "query($c: ID!) { case(id: $c) { status incidents { elementId message } } }";

async fn a_partner_call_task_sends_only_named_data_and_keeps_the_answer(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let rx = Receiver::start(&h.base).await;
    h.ok(
        &w.supervisor,
        "mutation($x: String!) { deployProcess(name: \"called.bpmn\", xml: $x) { created } }",
        json!({"x": CALLED}),
    )
    .await;
    // Each partner its own credentials at its own API.
    let (agency_creds, firm_creds) = (credentials(&w).await, credentials(&w).await);
    for (partner, prefix, creds) in [
        (&w.agency, "agency", &agency_creds),
        (&w.law_firm, "firm", &firm_creds),
    ] {
        let c = config(&w, &rx, prefix, creds);
        h.ok(
            &w.admin,
            SET_API,
            json!({"p": partner, "api": {
                "baseUrl": c.base_url, "tokenUrl": c.token_url,
                "clientId": c.client_id, "clientSecret": c.client_secret,
            }}),
        )
        .await;
    }
    h.ok(
        &w.admin,
        "mutation { registerPartner(name: \"Quiet Agency\", kind: AGENCY) { id } }",
        json!({}),
    )
    .await;

    let partners = partners::Partners::new(h.desk.clone());
    let apis = PartnerApis::new(h.desk.clock().clone()).unwrap();
    let handlers = JobHandlers::default()
        .with(
            "partner.place",
            partners::jobs::PlaceWithPartner(partners.clone()),
        )
        .with(
            "partner.call",
            CallPartner {
                partners,
                apis: apis.clone(),
            },
        );
    let jobs =
        services::runtime::jobs::spawn(h.desk.runtime().clone(), handlers, JobConfig::default());
    let mut settled = jobs.settled.clone();
    let open = |process: &'static str, reference: &'static str, partner: &'static str| {
        let w = &w;
        async move {
            w.h.ok(
                &w.agent,
                "mutation($p: String!, $r: String!, $v: JSON) { openCase(input: {processId: $p, externalRef: $r, variables: $v}) { caseId } }",
                json!({"p": process, "r": reference, "v": {
                    "partner": partner,
                    "balance": "1200.50",
                    "dueDate": "2026-04-01",
                    "debtorPhone": "+573101234567",
                }}),
            )
            .await["openCase"]["caseId"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let variables = |case: String| {
        let rt = w.h.desk.runtime().clone();
        async move {
            let state = rt.case(&case).await.unwrap().unwrap();
            state.instance.visible_variables(state.instance.root)
        }
    };

    // Placed with the agency: its API hears of the case, with only what the task names.
    let case = open("called", "PC-1", "Cobra Agency").await;
    settled.wait_for(|n| *n >= 2).await.unwrap();
    let seen = rx.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, format!("/agency/cases/{case}"));
    assert_eq!(seen[0].subject.as_deref(), Some(agency_creds.0.as_str()));
    assert_eq!(
        seen[0].body,
        json!({"caseId": case, "reference": "PC-1", "variables": {"balance": "1200.50", "dueDate": "2026-04-01"}})
    );
    let vars = variables(case.clone()).await;
    assert_eq!(
        (vars["accepted"].clone(), vars["agencyRef"].clone()),
        (json!(true), json!("AG-1"))
    );
    assert_eq!(
        h.ok(&w.admin, INCIDENTS, json!({"c": case})).await["case"]["incidents"],
        json!([])
    );

    // The law firm's case goes to the law firm's API under its own client.
    let firm_case = open("called", "PC-2", "Lex & Co").await;
    settled.wait_for(|n| *n >= 4).await.unwrap();
    let seen = rx.requests();
    assert_eq!(seen[1].path, format!("/firm/cases/{firm_case}"));
    assert_eq!(seen[1].subject.as_deref(), Some(firm_creds.0.as_str()));
    assert_eq!(apis.tokens_fetched(), 2);

    // Down for a moment: tried again after the back-off, by the virtual clock.
    rx.answer_next(503, json!({"message": "maintenance"}));
    let retried = open("called", "PC-3", "Cobra Agency").await;
    settled.wait_for(|n| *n >= 6).await.unwrap();
    assert_eq!(rx.requests().len(), 3);
    assert!(variables(retried.clone()).await.get("agencyRef").is_none());
    h.clock.advance(chrono::Duration::seconds(11));
    settled.wait_for(|n| *n >= 7).await.unwrap();
    assert_eq!(variables(retried).await["agencyRef"], "AG-4");
    assert_eq!(apis.tokens_fetched(), 2, "the agency's token was reused");

    // Refused by the partner: an incident with its status and what it said.
    rx.answer_next(422, json!({"message": "debtor unknown"}));
    let refused = open("called", "PC-4", "Cobra Agency").await;
    settled.wait_for(|n| *n >= 9).await.unwrap();
    let stopped = h.ok(&w.admin, INCIDENTS, json!({"c": refused})).await;
    let message = stopped["case"]["incidents"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("422") && message.contains("debtor unknown"),
        "{message}"
    );

    // A partner without an API, and a case placed with nobody: incidents that say so.
    let quiet = open("called", "PC-5", "Quiet Agency").await;
    settled.wait_for(|n| *n >= 11).await.unwrap();
    let stopped = h.ok(&w.admin, INCIDENTS, json!({"c": quiet})).await;
    let message = stopped["case"]["incidents"][0]["message"].as_str().unwrap();
    assert!(message.contains("has no API configured"), "{message}");
    let unplaced = open("unplaced", "PC-6", "Cobra Agency").await;
    settled.wait_for(|n| *n >= 12).await.unwrap();
    let stopped = h.ok(&w.admin, INCIDENTS, json!({"c": unplaced})).await;
    let message = stopped["case"]["incidents"][0]["message"].as_str().unwrap();
    assert!(message.contains("not placed"), "{message}");
    assert_eq!(rx.requests().len(), 5, "nothing sent for either");

    jobs.stop().await.unwrap();
    rx.server.stop(true).await;
    w.h.stop().await;
}

on_both!(
    token_cache,
    tokens_are_cached_renewed_once_on_401_and_at_expiry
);
on_both!(
    api_settings,
    partner_apis_are_managed_by_supervisors_and_never_show_their_secret
);
on_both!(
    partner_call_job,
    a_partner_call_task_sends_only_named_data_and_keeps_the_answer
);
