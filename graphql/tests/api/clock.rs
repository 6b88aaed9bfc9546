//! `POST /clock/advance` over real HTTP: only an admin of a node on a virtual clock moves
//! time, only forward, and every refusal is a coded answer that leaves the clock alone.

use chrono::{Duration, TimeZone, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::access::Role;
use services::clock::Clock;

use super::{Harness, on_both};

async fn post(h: &Harness, token: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = h
        .http
        .post(format!("{}/clock/advance", h.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("HTTP request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("JSON body"))
}

async fn refusals_leave_the_clock_alone(db: &DatabaseConnection) {
    let h = Harness::start_with_clock_route(db).await;
    let start = h.clock.now();
    let admin = h.token(Role::Admin, "ada", None).await;
    let supervisor = h.token(Role::Supervisor, "sam", None).await;
    let cases = [
        (
            None,
            r#"{"by": "P1D"}"#,
            401,
            "UNAUTHENTICATED",
            "authentication",
        ),
        (
            Some(supervisor.as_str()),
            r#"{"by": "P1D"}"#,
            403,
            "FORBIDDEN",
            "admin",
        ),
        (
            Some(admin.as_str()),
            "not json",
            400,
            "BAD_INPUT",
            "expected",
        ),
        (
            Some(admin.as_str()),
            r#"{"by": "P1D", "speed": 2}"#,
            400,
            "BAD_INPUT",
            "speed",
        ),
        (Some(admin.as_str()), "{}", 400, "BAD_INPUT", "exactly one"),
        (
            Some(admin.as_str()),
            r#"{"by": "P1D", "to": "2026-04-01T00:00:00Z"}"#,
            400,
            "BAD_INPUT",
            "exactly one",
        ),
        (
            Some(admin.as_str()),
            r#"{"by": "fortnight"}"#,
            400,
            "BAD_INPUT",
            "fortnight",
        ),
        (
            Some(admin.as_str()),
            r#"{"to": "2026-03-01T08:00:00Z"}"#,
            400,
            "BAD_INPUT",
            "only moves forward",
        ),
        (
            Some(admin.as_str()),
            r#"{"to": "yesterday"}"#,
            400,
            "BAD_INPUT",
            "expected",
        ),
    ];
    for (token, body, status, code, says) in cases {
        let (got, answer) = post(&h, token, body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{body}: {message}");
        assert_eq!(h.clock.now(), start, "{body} moved the clock");
    }
    // The same admin, asking well, moves it.
    let (got, answer) = post(&h, Some(&admin), r#"{"by": "P1DT2H"}"#).await;
    assert_eq!(got, 200, "{answer}");
    let moved = start + Duration::days(1) + Duration::hours(2);
    assert_eq!(h.clock.now(), moved);
    assert_eq!(answer["now"], json!(moved));
    assert_eq!(answer["timersFired"], json!(0));
    // The harness's tokens live on the case clock too: a day later, a fresh one.
    let admin = h.token(Role::Admin, "ada", None).await;
    let to = Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap();
    let (got, _) = post(&h, Some(&admin), &json!({"to": to}).to_string()).await;
    assert_eq!(got, 200);
    assert_eq!(h.clock.now(), to);
    h.stop().await;
}
on_both!(clock_refusals, super::refusals_leave_the_clock_alone);

/// A node on the system clock has no such route, whoever asks.
async fn a_node_on_the_system_clock_has_no_clock_route(db: &DatabaseConnection) {
    let h = Harness::start(db).await;
    let start = h.clock.now();
    let admin = h.token(Role::Admin, "ada", None).await;
    let (got, answer) = post(&h, Some(&admin), r#"{"by": "P1D"}"#).await;
    assert_eq!(
        (got, answer["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--virtual-clock")
    );
    assert_eq!(h.clock.now(), start);
    h.stop().await;
}
on_both!(
    clock_route_absent,
    super::a_node_on_the_system_clock_has_no_clock_route
);
