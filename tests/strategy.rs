//! The bundled strategy (`docs/examples/collections.bpmn`) end to end inside the real
//! binary, with no external worker: the file channel sends the reminders and letters,
//! the built-in partner steps place and release, and four cases reach every end — paid
//! at once, paid through a plan, paid at the agency, closed after legal action. Time
//! moves through `serve --virtual-clock` and `POST /clock/advance`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Datelike as _;
use serde_json::{Value, json};

use orm::testing::TestDb;

use crate::portal::{graphql, http_post, token_with as token};
use crate::serve::{Server, TempDir};

const MODEL: &str = include_str!("../docs/examples/collections.bpmn");

struct Run {
    addr: SocketAddr,
    admin: String,
    supervisor: String,
    agent: String,
}

impl Run {
    fn q(&self, who: &str, query: &str, variables: Value) -> Value {
        graphql(self.addr, who, query, variables)
    }

    fn case(&self, case: &str) -> Value {
        self.q(
            &self.supervisor,
            "query($c: ID!) { case(id: $c) { status stage partner { id } balance { amount }
                openTasks { id elementId }
                contactAttempts { id channel status provider destination recipient
                                  template { name version } }
                incidents { elementId message }
                history { eventType } } }",
            json!({"c": case}),
        )["case"]
            .clone()
    }

    /// Waits (the server works on its own: polled, with a deadline) until `ready`
    /// holds for the case; fails with the case as it stands.
    fn until(&self, case: &str, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let c = self.case(case);
            if ready(&c) {
                return c;
            }
            assert!(
                c["incidents"].as_array().is_none_or(Vec::is_empty),
                "case {case} has incidents while waiting for {what}: {c:#}"
            );
            assert!(
                Instant::now() < deadline,
                "case {case}: no {what} in 30 s: {c:#}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn task(&self, case: &str, element: &str) -> String {
        let c = self.until(case, element, |c| has_task(c, element));
        c["openTasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["elementId"] == element)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn complete(&self, case: &str, element: &str, variables: Value) {
        let task = self.task(case, element);
        self.q(
            &self.agent,
            "mutation($t: ID!, $v: JSON) { completeTask(taskId: $t, variables: $v) { seq } }",
            json!({"t": task, "v": variables}),
        );
    }

    fn pay(&self, case: &str, reference: &str, amount: &str) {
        self.q(
            &self.supervisor,
            "mutation($c: ID!, $r: String!, $a: String!) {
                recordPayment(caseId: $c, input: {reference: $r, amount: $a, currency: \"COP\"}) { seq } }",
            json!({"c": case, "r": reference, "a": amount}),
        );
    }

    /// Moves case time to the next working weekday morning in Bogotá (10:00, not a
    /// Colombian holiday): the SMS reminders go out at once only in lawful hours.
    fn to_a_lawful_morning(&self) {
        let now: chrono::DateTime<chrono::Utc> = self.advance("PT0S").parse().unwrap();
        let co = collections::debtor::Country::from_code("CO").unwrap();
        let morning = (0..30)
            .map(|d| {
                (now.date_naive() + chrono::Days::new(d))
                    .and_hms_opt(15, 0, 0)
                    .unwrap()
                    .and_utc()
            })
            .find(|t| {
                *t > now
                    && !matches!(t.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun)
                    && collections::holidays::holiday(co, t.date_naive()) == Ok(None)
            })
            .unwrap();
        let auth = format!("Bearer {}", self.admin);
        let (status, body) = http_post(
            self.addr,
            "/clock/advance",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &json!({"to": morning}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
    }

    /// Moves case time on; answers the clock's new time.
    fn advance(&self, by: &str) -> String {
        let auth = format!("Bearer {}", self.admin);
        let (status, body) = http_post(
            self.addr,
            "/clock/advance",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &json!({"by": by}).to_string(),
        );
        assert_eq!(status, 200, "{body}");
        body["now"].as_str().unwrap().to_string()
    }

    fn open(&self, n: u32) -> String {
        let debtor = format!("D-{n}");
        self.q(
            &self.supervisor,
            "mutation($i: RegisterDebtorInput!) { registerDebtor(input: $i) { debtor { id } } }",
            json!({"i": {
            "id": debtor, "kind": "PERSON", "name": format!("Deudor {n}"), "country": "CO",
            "language": "es-CO",
            "contacts": [
                // Ley 2300: only the channels the debtor authorised.
                {"point": {"phone": {"number": format!("+57 310 123 456{n}")}},
                 "consents": [{"channel": "SMS", "how": "WRITTEN", "givenBy": "debtor",
                               "givenAt": "2025-06-01T15:00:00Z"}]},
                {"point": {"postalAddress": {"lines": [format!("Calle {n} # 5-20")],
                    "locality": "Bogotá", "country": "CO"}}}
            ]}}),
        );
        self.q(
            &self.supervisor,
            "mutation($i: OpenCaseInput!) { openCase(input: $i) { caseId } }",
            json!({"i": {
                "processId": "consumer-collections", "externalRef": format!("L-{n}"),
                "debtor": {"id": debtor, "name": format!("Deudor {n}")},
                "accounts": [{"id": format!("L-{n}"), "product": "loan", "currency": "COP",
                              "principal": "1250000", "delinquentSince": "2026-11-01"}],
                "variables": {"parties": ["debtor"], "balance": 1250000, "dpd": 36}}}),
        )["openCase"]["caseId"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

fn has_task(c: &Value, element: &str) -> bool {
    c["openTasks"]
        .as_array()
        .is_some_and(|ts| ts.iter().any(|t| t["elementId"] == element))
}

fn history_has(c: &Value, kind: &str) -> bool {
    c["history"]
        .as_array()
        .is_some_and(|h| h.iter().any(|e| e["eventType"] == kind))
}

fn completed(c: &Value) -> bool {
    c["status"] == "completed"
}

/// The files the file channel wrote for a channel.
fn outbox(dir: &Path, channel: &str) -> Vec<Value> {
    let Ok(entries) = std::fs::read_dir(dir.join("outbox").join(channel)) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}

#[test]
fn the_bundled_strategy_reaches_every_end_inside_serve() {
    every_end(&[]);
}

#[tokio::test]
async fn the_bundled_strategy_reaches_every_end_inside_serve_on_postgres() {
    let Some(pg) = TestDb::postgres_unopened("strategy_ends").await else {
        return;
    };
    let url = pg.url().to_string();
    tokio::task::spawn_blocking(move || every_end(&[("RECOBRO_DATABASE_URL", &url)]))
        .await
        .unwrap();
    pg.remove().await.unwrap();
}

fn every_end(env: &[(&str, &str)]) {
    let dir = TempDir::new();
    let data = dir.0.to_str().unwrap();
    let server = Server::start(&["--data-dir", data, "--virtual-clock"], env);
    let groups = [
        "early-collectors",
        "late-collectors",
        "agency-partners",
        "law-firms",
    ];
    let mut agent_args = vec!["--role", "agent", "--subject", "alex"];
    for g in &groups {
        agent_args.extend(["--group", g]);
    }
    let run = Run {
        addr: server.addr,
        admin: token(&dir, env, &["--role", "admin", "--subject", "ops"]),
        supervisor: token(&dir, env, &["--role", "supervisor", "--subject", "sam"]),
        agent: token(&dir, env, &agent_args),
    };
    run.q(
        &run.supervisor,
        "mutation($x: String!) { deployProcess(name: \"collections.bpmn\", xml: $x) { created } }",
        json!({"x": MODEL}),
    );
    let agency = run.q(
        &run.supervisor,
        "mutation { registerPartner(name: \"Cobranzas Andinas\", kind: AGENCY) { id } }",
        json!({}),
    )["registerPartner"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    run.q(
        &run.supervisor,
        "mutation { registerPartner(name: \"Lex & Co\", kind: LAW_FIRM) { id } }",
        json!({}),
    );
    run.to_a_lawful_morning();
    let [paid, plan, at_agency, legal] = [1, 2, 3, 4].map(|n| run.open(n));

    // Early: every case gets its SMS reminder from the file channel, rendered with the
    // balance, recorded as an attempt that was not sent.
    for case in [&paid, &plan, &at_agency, &legal] {
        let c = run.until(case, "the SMS reminder", |c| {
            c["contactAttempts"][0]["status"] == "WRITTEN" && has_task(c, "CallDebtor")
        });
        let sms = &c["contactAttempts"][0];
        assert_eq!(sms["channel"], "SMS");
        assert_eq!(sms["provider"], "file");
        assert_eq!(sms["template"]["name"], "reminder-1");
        assert!(
            sms["destination"].as_str().unwrap().starts_with("+57310"),
            "{sms}"
        );
    }
    let written = outbox(&dir.0, "sms");
    assert_eq!(written.len(), 4, "{written:#?}");
    for m in &written {
        let body = m["body"].as_str().unwrap();
        assert!(body.contains("Deudor") && body.contains("L-"), "{body}");
        assert!(!body.contains("none") && !body.contains("null"), "{body}");
    }

    // Paid at once: the payment pays it off, the case closes itself.
    run.pay(&paid, "PAY-1", "1250000");
    run.until(&paid, "the case closed as paid", |c| {
        completed(c) && history_has(c, "PaymentRecorded")
    });

    // No promise on the call: the grace period runs out and the late stage writes.
    for case in [&plan, &at_agency, &legal] {
        run.complete(case, "CallDebtor", json!({"promiseToPay": false}));
    }
    let after_grace = run.advance("P15D");
    for case in [&plan, &at_agency, &legal] {
        let c = run.until(case, "the demand letter and the negotiation", |c| {
            has_task(c, "Negotiate")
                && c["contactAttempts"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x["channel"] == "LETTER"))
        });
        assert_eq!(c["stage"], "late", "{c:#}");
    }
    assert_eq!(outbox(&dir.0, "letter").len(), 3);

    // Through a plan: offered and accepted, paid in two instalments.
    let today = &after_grace[..10];
    let first_due =
        chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap() + chrono::Days::new(5);
    run.q(
        &run.supervisor,
        "mutation($c: ID!, $d: NaiveDate!) { offerPlan(caseId: $c, input: {currency: \"COP\",
            total: \"1250000\", instalments: 2, frequency: MONTHLY, firstDue: $d}) { seq } }",
        json!({"c": plan, "d": first_due}),
    );
    run.q(
        &run.supervisor,
        "mutation($c: ID!) { acceptPlan(caseId: $c, planId: 1) { seq } }",
        json!({"c": plan}),
    );
    run.until(&plan, "the plan watched", |c| !has_task(c, "Negotiate"));
    run.pay(&plan, "PLAN-1", "625000");
    run.pay(&plan, "PLAN-2", "625000");
    run.until(&plan, "the case closed through the plan", |c| {
        completed(c) && history_has(c, "PlanAccepted")
    });

    // No agreement: the strategy places the case with the agency by itself.
    for case in [&at_agency, &legal] {
        run.complete(case, "Negotiate", json!({}));
        // Fields are read one by one: wait until they agree.
        let c = run.until(case, "the agency's work", |c| {
            has_task(c, "AgencyWork") && c["partner"]["id"] == agency.as_str()
        });
        assert_eq!(c["stage"], "agency", "{c:#}");
    }
    // Paid at the agency: closing releases the placement.
    run.pay(&at_agency, "AG-1", "1250000");
    run.until(&at_agency, "the case closed at the agency", |c| {
        completed(c) && history_has(c, "PlacementRecalled") && c["partner"].is_null()
    });

    // Unpaid for 60 days at the agency: the law firm reviews, the claim is filed.
    run.advance("P61D");
    run.complete(&legal, "LegalReview", json!({}));
    let c = run.until(&legal, "the case closed after legal action", |c| {
        completed(c) && history_has(c, "ActivityRecorded")
    });
    assert_eq!(c["balance"]["amount"], "1250000.00", "{c:#}");

    let (status, _) = server.terminate();
    assert!(status.success());
}
