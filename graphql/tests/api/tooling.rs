//! GraphQL tooling: the standard introspection query works (within its own size cap),
//! and GraphiQL is served from this origin only.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use orm::testing::TestDb;

use super::{Harness, World, error_code, on_both};

/// graphql-js 16.15.0 `getIntrospectionQuery()`, verbatim (what Apollo, graphql-codegen
/// and Postman send).
const STANDARD: &str = r#"
    query IntrospectionQuery {
      __schema {
        
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          
          
          
          locations
          args {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      
      
      fields(includeDeprecated: true) {
        name
        description
        args {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      
      
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        name
        kind
        ofType {
          name
          kind
          ofType {
            name
            kind
            ofType {
              name
              kind
              ofType {
                name
                kind
                ofType {
                  name
                  kind
                  ofType {
                    name
                    kind
                    ofType {
                      name
                      kind
                      ofType {
                        name
                        kind
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;

/// graphql-js 16.15.0 `getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
/// directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true })`,
/// verbatim (GraphiQL 3 turns some of these on).
const WITH_OPTIONS: &str = r#"
    query IntrospectionQuery {
      __schema {
        description
        queryType { name kind }
        mutationType { name kind }
        subscriptionType { name kind }
        types {
          ...FullType
        }
        directives {
          name
          description
          isRepeatable
          
          
          locations
          args(includeDeprecated: true) {
            ...InputValue
          }
        }
      }
    }

    fragment FullType on __Type {
      kind
      name
      description
      specifiedByURL
      
      fields(includeDeprecated: true) {
        name
        description
        args(includeDeprecated: true) {
          ...InputValue
        }
        type {
          ...TypeRef
        }
        isDeprecated
        deprecationReason
      }
      inputFields(includeDeprecated: true) {
        ...InputValue
      }
      interfaces {
        ...TypeRef
      }
      enumValues(includeDeprecated: true) {
        name
        description
        isDeprecated
        deprecationReason
      }
      possibleTypes {
        ...TypeRef
      }
    }

    fragment InputValue on __InputValue {
      name
      description
      type { ...TypeRef }
      defaultValue
      isDeprecated
      deprecationReason
    }

    fragment TypeRef on __Type {
      kind
      name
      ofType {
        name
        kind
        ofType {
          name
          kind
          ofType {
            name
            kind
            ofType {
              name
              kind
              ofType {
                name
                kind
                ofType {
                  name
                  kind
                  ofType {
                    name
                    kind
                    ofType {
                      name
                      kind
                      ofType {
                        name
                        kind
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  "#;

fn type_names(data: &Value) -> Vec<&str> {
    data["__schema"]["types"]
        .as_array()
        .expect("__schema.types")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect()
}

/// The values in an answer, counted as the introspection estimate counts them: each
/// field of each object, and each element of each list.
fn values(v: &Value) -> u64 {
    match v {
        Value::Object(m) => m.values().map(|x| 1 + values(x)).sum(),
        Value::Array(a) => a.iter().map(|x| 1 + values(x)).sum(),
        _ => 0,
    }
}

async fn introspection(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let h = &w.h;
    let limits = graphql::introspection::Introspection::new(&graphql::schema::Limits::default());
    // The cap's yardstick is the query with every option on.
    assert_eq!(limits.estimate(WITH_OPTIONS), Some(limits.reference_cost()));
    assert_eq!(
        limits.cap(),
        graphql::introspection::CAP_MULTIPLE * limits.reference_cost()
    );
    for token in [&w.agent, &w.agency_token] {
        for query in [STANDARD, WITH_OPTIONS] {
            let (status, body) = h
                .post(
                    Some(token),
                    json!({"query": query, "operationName": "IntrospectionQuery"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert!(body.get("errors").is_none(), "{body}");
            let data = &body["data"];
            // The estimate bounds the answer.
            let estimate = limits.estimate(query).unwrap();
            assert!(values(data) <= estimate, "{} > {estimate}", values(data));
            assert_eq!(data["__schema"]["queryType"]["name"], "Query");
            let names = type_names(data);
            for name in ["Case", "Task", "Query", "Mutation", "__Type"] {
                assert!(names.contains(&name), "{name} missing from {names:?}");
            }
            let case = data["__schema"]["types"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["name"] == "Case")
                .unwrap();
            let history = case["fields"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["name"] == "history")
                .unwrap();
            assert_eq!(
                history["description"],
                "Every journal entry, hash-chained: what happened, when, by whom."
            );
        }
    }

    // In a batch, each operation goes its own way.
    let (status, body) = h
        .post(
            Some(&w.agent),
            json!([{"query": STANDARD}, {"query": "{ me { subject } }"}]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(type_names(&body[0]["data"]).contains(&"Case"), "{body}");
    assert_eq!(body[1]["data"]["me"]["subject"], "alex");

    // Small lookups, also through fragments.
    let data = h
        .ok(
            &w.agent,
            "{ ...Root } fragment Root on Query { __typename t: __type(name: \"Case\") { ... on __Type { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["t"]["name"], "Case");

    // No token: refused as before.
    let (status, body) = h.post(None, json!({"query": STANDARD})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body).as_deref(), Some("UNAUTHENTICATED"));
    w.h.stop().await;
}

on_both!(the_standard_introspection_query_succeeds, introspection);

async fn limits_still_hold(db: &DatabaseConnection) {
    let h = Harness::start(db).await;
    let agent = h.token(services::access::Role::Agent, "alex", None).await;
    let too_complex = |body: &Value| {
        assert_eq!(
            error_code(body).as_deref(),
            Some("QUERY_TOO_COMPLEX"),
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
        body["errors"][0]["message"].as_str().unwrap().to_string()
    };

    // An ordinary query deeper than 12.
    let mut deep = String::from("id");
    for _ in 0..8 {
        deep = format!("openTasks {{ case {{ {deep} }} }}");
    }
    let (_, body) = h
        .post(
            Some(&agent),
            json!({"query": format!("{{ cases {{ edges {{ node {{ {deep} }} }} }} }}")}),
        )
        .await;
    too_complex(&body);

    // Introspection next to an ordinary field keeps the ordinary limits: the
    // standard TypeRef depth is refused there.
    let type_ref = STANDARD[STANDARD.find("fragment TypeRef").unwrap()..].to_string();
    let mixed = format!(
        "{{ me {{ subject }} __schema {{ types {{ fields {{ type {{ ...TypeRef }} }} }} }} }} {type_ref}"
    );
    let message = too_complex(&h.post(Some(&agent), json!({"query": mixed})).await.1);
    assert!(message.contains("nested too deep"), "{message}");

    // Recursion through the introspection types: within the relaxed depth, far above
    // the size cap.
    let mut nested = String::from("name");
    for _ in 0..4 {
        nested = format!("fields {{ type {{ {nested} }} }}");
    }
    let query = format!("{{ __schema {{ types {{ {nested} }} }} }}");
    let message = too_complex(&h.post(Some(&agent), json!({"query": query})).await.1);
    assert!(message.contains("too complex"), "{message}");

    // The standard query many times over, by aliases.
    let full_type = &STANDARD[STANDARD.find("fragment FullType").unwrap()..];
    let aliases: String = (0..10)
        .map(|n| format!("a{n}: __schema {{ types {{ ...FullType }} }} "))
        .collect();
    let query = format!("query Many {{ {aliases} }} {full_type}");
    let message = too_complex(&h.post(Some(&agent), json!({"query": query})).await.1);
    assert!(message.contains("too complex"), "{message}");

    // Deeper than the introspection depth limit.
    let mut deep = String::from("name");
    for _ in 0..25 {
        deep = format!("ofType {{ {deep} }}");
    }
    let query = format!("{{ __type(name: \"Case\") {{ {deep} }} }}");
    let message = too_complex(&h.post(Some(&agent), json!({"query": query})).await.1);
    assert!(message.contains("nested too deep"), "{message}");
    h.stop().await;
}

on_both!(
    limits_still_hold_for_ordinary_and_introspection_queries,
    limits_still_hold
);

/// Every `src="…"` and `href="…"` in `html`.
fn urls(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attr in ["src=\"", "href=\""] {
        let mut rest = html;
        while let Some(i) = rest.find(attr) {
            rest = &rest[i + attr.len()..];
            let end = rest.find('"').expect("a closing quote");
            found.push(rest[..end].replace("&amp;", "&"));
            rest = &rest[end..];
        }
    }
    found
}

#[actix_web::test]
async fn graphiql_is_served_from_this_origin_only() {
    let t = TestDb::sqlite().await;
    let h = Harness::start(&t.db).await;
    let resp = h
        .http
        .get(format!("{}/graphql", h.base))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let header = |resp: &reqwest::Response, name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(header(&resp, "content-type").starts_with("text/html"));
    let csp = header(&resp, "content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self';",
        "style-src 'self';",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
    let html = resp.text().await.unwrap();

    // Every script is a file of this origin: no inline code, no inline styles.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script src=\"/").count(),
        "{html}"
    );
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "{html}"
    );
    let urls = urls(&html);
    assert!(urls.len() >= 6, "{urls:?}");
    let mut scripts = 0;
    for url in &urls {
        assert!(
            url.starts_with('/') && !url.starts_with("//"),
            "{url} is not a same-origin path"
        );
        let resp = h.http.get(format!("{}{url}", h.base)).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{url}");
        let content_type = header(&resp, "content-type");
        let expected = if url.contains(".js?") {
            scripts += 1;
            "text/javascript"
        } else if url.contains(".css?") {
            "text/css"
        } else {
            "text/plain"
        };
        assert!(content_type.starts_with(expected), "{url}: {content_type}");
        assert!(
            header(&resp, "cache-control").contains("max-age=31536000"),
            "{url}"
        );
        let body = resp.bytes().await.unwrap();
        assert!(!body.is_empty(), "{url}");
    }
    assert_eq!(scripts, 4, "{urls:?}");
    // The licences are among them.
    assert!(
        urls.iter().any(|u| u.contains("LICENSE-graphiql")),
        "{urls:?}"
    );

    // GraphiQL speaks to /graphql, and graphql-ws on the same path.
    let init = urls
        .iter()
        .find(|u| u.contains("recobro-graphiql.js"))
        .unwrap();
    let init = h
        .http
        .get(format!("{}{init}", h.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("url: '/graphql'"), "{init}");
    assert!(init.contains("window.location.host + '/graphql'"), "{init}");

    let resp = h
        .http
        .get(format!("{}/graphql/assets/no-such.js", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    h.stop().await;
}
