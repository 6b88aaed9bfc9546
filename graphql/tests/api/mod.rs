//! GraphQL over real HTTP: a server on 127.0.0.1:0 per test, real bearer tokens, a fresh
//! database (SQLite, and PostgreSQL when `RECOBRO_TEST_DATABASE_URL` is set).

mod authz;
mod callbacks;
mod clock;
mod commissions;
mod compliance;
mod contact_receipts;
mod contacts;
mod debtors;
mod disclosure;
mod documents;
mod flows;
mod incidents;
mod isolation;
mod ledger;
mod limits;
mod partner_api;
mod partner_ops;
mod placements;
mod sdl;
mod sql_budget;
mod templates;
mod tooling;
mod voicebot;
mod webhooks;
mod workers;

use std::sync::Arc;

use ::documents::{DocumentConfig, DocumentService, StoreConfig};
use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use chrono::{TimeZone, Utc};
use graphql::app::HttpApp;
use graphql::auth::{Auth, AuthConfig};
use graphql::schema::Limits;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::access::{Principal, Role};
use services::clock::VirtualClock;
use services::desk::Desk;
use services::runtime::{Runtime, RuntimeConfig};

pub const TENANT: &str = "acme";
/// The test payment provider `pagos`'s Standard Webhooks secret.
pub const PAYMENT_PROVIDER_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

static DOCS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A small collections process: an agent calls the debtor, then a partner (agency or
/// law firm) works the placed case, then a payment closes it.
pub const PROCESS: &str = include_str!("../../../docs/examples/collections-lite.bpmn");

pub struct Harness {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<VirtualClock>,
    pub desk: Desk,
    pub auth: Auth,
    server: ServerHandle,
    docs_dir: std::path::PathBuf,
}

impl Harness {
    pub async fn start(db: &DatabaseConnection) -> Harness {
        Self::start_with(db, Limits::default()).await
    }

    pub async fn start_with(db: &DatabaseConnection, limits: Limits) -> Harness {
        Self::start_full(db, limits, false).await
    }

    /// As `serve --virtual-clock`: an admin may move the harness clock over HTTP.
    pub async fn start_with_clock_route(db: &DatabaseConnection) -> Harness {
        Self::start_full(db, Limits::default(), true).await
    }

    async fn start_full(db: &DatabaseConnection, limits: Limits, clock_route: bool) -> Harness {
        orm::migrate(db).await.expect("migrate");
        let clock = Arc::new(VirtualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap(),
        ));
        let runtime = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
        let desk = Desk::new(runtime);
        let auth = Auth::new(db.clone(), clock.clone(), AuthConfig::default())
            .await
            .expect("auth");
        let docs_dir = std::env::temp_dir().join(format!(
            "recobro-test-docs-{}-{}",
            std::process::id(),
            DOCS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        // Bound first: the local store's signed links name the server.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().unwrap();
        let documents = DocumentService::new(
            desk.clone(),
            DocumentConfig {
                store: StoreConfig::Local {
                    dir: docs_dir.clone(),
                },
                public_url: format!("http://{addr}"),
                ..DocumentConfig::default()
            },
        )
        .expect("document store");
        let providers = graphql::payment_callbacks::PaymentProviders::new(vec![
            graphql::payment_callbacks::PaymentProvider {
                name: "pagos".into(),
                tenant: TENANT.into(),
                secret: PAYMENT_PROVIDER_SECRET.into(),
            },
        ])
        .expect("provider");
        let receipts = graphql::contact_callbacks::ContactReceipts::new(
            contact_receipts::verifiers(&format!("http://{addr}")),
        )
        .expect("messaging providers");
        let mut app = HttpApp::new(desk.clone(), auth.clone(), documents, limits)
            .with_payment_providers(providers)
            .with_contact_receipts(receipts);
        if clock_route {
            app = app.with_virtual_clock(clock.clone());
        }
        let server = HttpServer::new(move || App::new().configure(|cfg| app.configure(cfg)))
            .workers(1)
            .disable_signals()
            .listen(listener)
            .expect("listen");
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Harness {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            clock,
            desk,
            auth,
            server: handle,
            docs_dir,
        }
    }

    pub async fn stop(self) {
        self.server.stop(true).await;
        let _ = std::fs::remove_dir_all(&self.docs_dir);
    }

    pub fn principal(role: Role, subject: &str, partner: Option<&str>) -> Principal {
        let groups = match role {
            Role::Agent => vec!["early-collectors".to_string()],
            _ => vec![],
        };
        Principal::new(subject, TENANT, role, partner.map(str::to_string), groups)
            .expect("valid principal")
    }

    /// A real token from the own issuer for a user of `role` (a partner user of
    /// `partner`).
    pub async fn token(&self, role: Role, subject: &str, partner: Option<&str>) -> String {
        self.auth
            .issuer()
            .issue(
                &Self::principal(role, subject, partner),
                chrono::Duration::hours(1),
            )
            .expect("issue token")
    }

    /// POSTs a GraphQL request; answers the HTTP status and the JSON body.
    pub async fn post(&self, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut req = self.http.post(format!("{}/graphql", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("HTTP request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("status {status}, body is not JSON: {text}"));
        (status, json)
    }

    /// A query that must succeed; answers `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self
            .post(Some(token), json!({"query": query, "variables": variables}))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            body.get("errors").is_none(),
            "unexpected errors: {body}\nquery: {}",
            clip(query)
        );
        body["data"].clone()
    }

    /// A query that must fail; answers the first error's `extensions.code`.
    pub async fn err(&self, token: &str, query: &str, variables: Value) -> String {
        let (status, body) = self
            .post(Some(token), json!({"query": query, "variables": variables}))
            .await;
        assert_eq!(status, 200, "{body}");
        error_code(&body).unwrap_or_else(|| {
            panic!(
                "expected an error: {}\nquery: {}",
                clip(&body.to_string()),
                clip(query)
            )
        })
    }
}

fn clip(s: &str) -> &str {
    &s[..s.floor_char_boundary(400.min(s.len()))]
}

pub fn error_code(body: &Value) -> Option<String> {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_string)
}

/// [`orm::on_both`] on actix_web::test's runtime.
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix_web::test] $($scenario)*);
    };
}
pub(crate) use on_both;

/// Common set-up: the process deployed, two partners, tokens for every role.
pub struct World {
    pub h: Harness,
    pub admin: String,
    pub supervisor: String,
    pub agent: String,
    pub auditor: String,
    pub agency: String,
    pub law_firm: String,
    pub agency_token: String,
    pub law_firm_token: String,
}

impl World {
    /// Fresh tokens for the people, after the clock moved past their hour.
    pub async fn renew_tokens(&mut self) {
        self.admin = self.h.token(Role::Admin, "ada", None).await;
        self.supervisor = self.h.token(Role::Supervisor, "sam", None).await;
        self.agent = self.h.token(Role::Agent, "alex", None).await;
        self.auditor = self.h.token(Role::Auditor, "aud", None).await;
        self.agency_token = self.h.token(Role::Partner, "pat", Some(&self.agency)).await;
        self.law_firm_token = self
            .h
            .token(Role::Partner, "lou", Some(&self.law_firm))
            .await;
    }

    pub async fn new(db: &DatabaseConnection) -> World {
        let h = Harness::start(db).await;
        let admin = h.token(Role::Admin, "ada", None).await;
        let supervisor = h.token(Role::Supervisor, "sam", None).await;
        let agent = h.token(Role::Agent, "alex", None).await;
        let auditor = h.token(Role::Auditor, "aud", None).await;
        h.ok(
            &supervisor,
            "mutation($xml: String!) { deployProcess(name: \"collections-lite.bpmn\", xml: $xml) { created } }",
            json!({"xml": PROCESS}),
        )
        .await;
        let register = "mutation($name: String!, $kind: PartnerKind!) { registerPartner(name: $name, kind: $kind) { id } }";
        let agency = h
            .ok(
                &admin,
                register,
                json!({"name": "Cobra Agency", "kind": "AGENCY"}),
            )
            .await["registerPartner"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let law_firm = h
            .ok(
                &admin,
                register,
                json!({"name": "Lex & Co", "kind": "LAW_FIRM"}),
            )
            .await["registerPartner"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let agency_token = h.token(Role::Partner, "pat", Some(&agency)).await;
        let law_firm_token = h.token(Role::Partner, "lou", Some(&law_firm)).await;
        World {
            h,
            admin,
            supervisor,
            agent,
            auditor,
            agency,
            law_firm,
            agency_token,
            law_firm_token,
        }
    }

    /// Opens a case for debtor `D-<external_ref>` with `amount` due in COP through the
    /// deprecated float (it becomes the case's first account); answers its id.
    pub async fn open_case(&self, external_ref: &str, amount: f64) -> String {
        self.open(external_ref, Some(amount)).await
    }

    /// Opens a case with no debt yet, for tests that open its accounts themselves.
    pub async fn open_bare_case(&self, external_ref: &str) -> String {
        self.open(external_ref, None).await
    }

    async fn open(&self, external_ref: &str, amount: Option<f64>) -> String {
        let data = self
            .h
            .ok(
                &self.agent,
                "mutation($input: OpenCaseInput!) { openCase(input: $input) { caseId } }",
                json!({"input": {
                    "processId": "collections-lite",
                    "externalRef": external_ref,
                    "debtor": {"id": format!("D-{external_ref}"), "name": format!("Debtor {external_ref}")},
                    "amountDue": amount,
                    "currency": "COP",
                    "delinquentSince": "2026-01-15",
                }}),
            )
            .await;
        data["openCase"]["caseId"].as_str().unwrap().to_string()
    }

    /// Completes the case's first open task as `token`.
    pub async fn complete_first_task(&self, case_id: &str, token: &str) {
        let tasks = self
            .h
            .ok(
                &self.admin,
                "query($c: ID!) { case(id: $c) { openTasks { id } } }",
                json!({"c": case_id}),
            )
            .await;
        let task = tasks["case"]["openTasks"][0]["id"].clone();
        self.h
            .ok(
                token,
                "mutation($t: ID!) { completeTask(taskId: $t) { seq } }",
                json!({"t": task}),
            )
            .await;
    }

    pub async fn place(&self, case_id: &str, partner: &str) {
        self.h
            .ok(
                &self.supervisor,
                "mutation($c: ID!, $p: ID!) { placeCase(caseId: $c, partnerId: $p) { seq } }",
                json!({"c": case_id, "p": partner}),
            )
            .await;
    }
}
