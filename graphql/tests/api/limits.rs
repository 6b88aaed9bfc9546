//! Bad requests get clean, coded errors; never a 500.

use sea_orm::DatabaseConnection;
use serde_json::json;
use services::access::Role;

use super::{Harness, error_code, on_both};
use graphql::schema::Limits;

async fn malformed_requests(db: &DatabaseConnection) {
    let h = Harness::start_with(
        db,
        Limits {
            body_bytes: 64 * 1024,
            ..Limits::default()
        },
    )
    .await;
    let agent = h.token(Role::Agent, "alex", None).await;
    let url = format!("{}/graphql", h.base);

    // No token, a garbage token.
    let (status, body) = h.post(None, json!({"query": "{ me { subject } }"})).await;
    assert_eq!(status, 401);
    assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
    let (status, body) = h
        .post(Some("not-a-token"), json!({"query": "{ me { subject } }"}))
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(error_code(&body).is_some(), "{body}");

    // A required argument fed a variable left unset: the request's fault, BAD_INPUT.
    let (status, body) = h
        .post(
            Some(&agent),
            json!({"query": "query($c: ID) { case(id: $c) { id } }"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_code(&body).as_deref(), Some("BAD_INPUT"), "{body}");

    // Body is not JSON / not a GraphQL request / wrong content type.
    for (content_type, body) in [
        ("application/json", "{not json"),
        ("application/json", "[1, 2]"),
        ("application/json", "{\"variables\": {}}"),
        ("text/plain", "{\"query\": \"{ me { subject } }\"}"),
    ] {
        let resp = h
            .http
            .post(&url)
            .bearer_auth(&agent)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let json: serde_json::Value = resp.json().await.expect("a JSON error body");
        assert!((400..500).contains(&status), "{body}: {status} {json}");
        assert!(error_code(&json).is_some(), "{json}");
    }

    // Oversized body, declared or streamed without a length.
    let big = "x".repeat(70 * 1024);
    let (status, body) = h
        .post(
            Some(&agent),
            json!({"query": format!("{{ me {{ subject }} }} # {big}")}),
        )
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(error_code(&body).as_deref(), Some("PAYLOAD_TOO_LARGE"));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..80).map(|_| Ok(vec![b' '; 1024])).collect();
    let resp = h
        .http
        .post(&url)
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 413);

    // Batches: a few operations answer together; too many are refused.
    let op = json!({"query": "{ me { subject } }"});
    let (status, body) = h.post(Some(&agent), json!([op, op])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body[1]["data"]["me"]["subject"], "alex");
    let many: Vec<_> = (0..11).map(|_| op.clone()).collect();
    let (status, body) = h.post(Some(&agent), json!(many)).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body).as_deref(), Some("BAD_REQUEST"));

    // GraphQL-level problems: answered 200 with a coded error.
    let cases = [
        ("{ me { subject ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ case(id: 42) { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ cases(first: 1000) { edges { node { id } } } }",
            "BAD_INPUT",
        ),
        ("{ cases(first: 0) { edges { node { id } } } }", "BAD_INPUT"),
        (
            "{ cases(after: \"garbage\") { edges { node { id } } } }",
            "BAD_CURSOR",
        ),
        ("{ task(id: \"nonsense\") { id } }", "TASK_NOT_FOUND"),
        ("{ case(id: \"does-not-exist\") { id } }", "CASE_NOT_FOUND"),
    ];
    for (query, code) in cases {
        assert_eq!(h.err(&agent, query, json!({})).await, code, "{query}");
    }
    // Variables of the wrong type.
    let code = h
        .err(
            &agent,
            "query($n: Int) { cases(first: $n) { edges { cursor } } }",
            json!({"n": "ten"}),
        )
        .await;
    assert_eq!(code, "GRAPHQL_VALIDATION_FAILED");

    // Too deep: case -> openTasks -> case -> openTasks ...
    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("openTasks {{ case {{ {deep} }} }}");
    }
    let code = h
        .err(
            &agent,
            &format!("{{ cases {{ edges {{ node {{ {deep} }} }} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code, "QUERY_TOO_COMPLEX");
    // Too complex: many aliased lists.
    let wide: String = (0..400)
        .map(|i| format!("c{i}: cases(first: 100) {{ edges {{ node {{ id stage }} }} }} "))
        .collect();
    assert_eq!(
        h.err(&agent, &format!("{{ {wide} }}"), json!({})).await,
        "QUERY_TOO_COMPLEX"
    );

    // Nothing above hurt the server.
    let data = h.ok(&agent, "{ me { subject role } }", json!({})).await;
    assert_eq!(data["me"]["subject"], "alex");

    // Two hours later the one-hour token is refused at /graphql.
    h.clock.advance(chrono::Duration::hours(2));
    let (status, body) = h
        .post(Some(&agent), json!({"query": "{ me { subject } }"}))
        .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body).as_deref(), Some("TOKEN_EXPIRED"));
    h.stop().await;
}

on_both!(malformed_requests_get_clean_errors, malformed_requests);

#[derive(Debug, Clone)]
struct ArbitraryQuery(String);

/// Random bytes and random GraphQL-ish text never make the server fail.
async fn fuzz_queries(db: &DatabaseConnection) {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let h = Harness::start(db).await;
    let agent = h.token(Role::Agent, "alex", None).await;
    let tokens = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("cases".to_string()),
        Just("case(id: \"x\")".to_string()),
        Just("edges".to_string()),
        Just("node".to_string()),
        Just("id".to_string()),
        Just("...".to_string()),
        Just("fragment F on Case".to_string()),
        Just("$v".to_string()),
        Just("mutation".to_string()),
        Just("@skip(if: true)".to_string()),
        "[a-zA-Z_]{1,8}",
        "\\PC{0,6}",
    ];
    let strategy =
        proptest::collection::vec(tokens, 0..40).prop_map(|t| ArbitraryQuery(t.join(" ")));
    let mut runner = TestRunner::deterministic();
    for _ in 0..150 {
        let ArbitraryQuery(query) = strategy.new_tree(&mut runner).unwrap().current();
        let (status, body) = h.post(Some(&agent), json!({"query": query})).await;
        let expected = if query.trim().is_empty() { 400 } else { 200 };
        assert_eq!(status, expected, "{query}: {body}");
        if let Some(errors) = body["errors"].as_array() {
            for e in errors {
                let code = e["extensions"]["code"].as_str().unwrap_or("none");
                assert_ne!(code, "INTERNAL", "{query}: {body}");
                assert_ne!(code, "none", "{query}: {body}");
            }
        }
    }
    h.stop().await;
}

on_both!(arbitrary_queries_never_fail_the_server, fuzz_queries);
