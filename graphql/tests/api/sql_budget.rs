//! A page of 100 cases with their debtor and open tasks costs at most 3 SQL statements,
//! whatever the page size (batch loaders, not one query per case).

use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;
use serde_json::json;
use services::access::Role;
use services::desk::NewCase;

use super::{Harness, on_both};

const PAGE: &str = "query($n: Int) { cases(first: $n) { edges { node { id
    debtor { id name } openTasks { id name priority } } } } }";

async fn budget(db: &DatabaseConnection) {
    let statements: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut counted = db.clone();
    let sink = statements.clone();
    counted.set_metric_callback(move |info| {
        sink.lock().unwrap().push(info.statement.sql.clone());
    });
    let h = Harness::start(&counted).await;
    let supervisor = h.token(Role::Supervisor, "sam", None).await;
    h.ok(
        &supervisor,
        "mutation($xml: String!) { deployProcess(name: \"lite.bpmn\", xml: $xml) { created } }",
        json!({"xml": super::PROCESS}),
    )
    .await;
    let opener = Harness::principal(Role::Supervisor, "sam", None);
    for i in 0..100 {
        h.desk
            .open_case(
                &opener,
                NewCase {
                    process_id: "collections-lite".into(),
                    external_ref: Some(format!("B-{i}")),
                    debtor_id: Some(format!("D-{i}")),
                    debtor_name: Some(format!("Debtor {i}")),
                    amount_due: Some(100.0 + f64::from(i)),
                    ..NewCase::default()
                },
            )
            .await
            .expect("open case");
    }
    for n in [10, 100] {
        statements.lock().unwrap().clear();
        let data = h.ok(&supervisor, PAGE, json!({"n": n})).await;
        let edges = data["cases"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), n);
        for e in edges {
            assert!(
                e["node"]["debtor"]["name"]
                    .as_str()
                    .unwrap()
                    .starts_with("Debtor ")
            );
            assert_eq!(e["node"]["openTasks"][0]["name"], "Call debtor");
        }
        let seen = statements.lock().unwrap().clone();
        // Background work of the runtime (timer polling) is not the request's.
        let ours: Vec<&String> = seen
            .iter()
            .filter(|s| !s.contains("\"timers\"") && !s.contains("\"outbox\""))
            .collect();
        // The counter works: the loaders' statements are among those seen.
        assert!(ours.iter().any(|s| s.contains("\"debtors\"")), "{ours:#?}");
        assert!(ours.iter().any(|s| s.contains("\"tasks\"")), "{ours:#?}");
        assert!(
            ours.len() <= 3,
            "a page of {n} cost {} statements: {ours:#?}",
            ours.len()
        );
    }
    h.stop().await;
}

on_both!(a_page_of_cases_costs_three_statements, budget);
