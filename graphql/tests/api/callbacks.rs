//! A payment provider's signed callback over real HTTP: recorded once per delivery,
//! refused when the signature, the amount or the case is wrong — changing nothing.

use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use super::{PAYMENT_PROVIDER_SECRET, World, on_both};

/// POSTs `body` as provider `provider`, signed (or not) as a Standard Webhook sent
/// `age` seconds ago; answers status and JSON.
async fn deliver(
    w: &World,
    provider: &str,
    id: &str,
    body: &str,
    signed_body: Option<&str>,
    age: i64,
) -> (u16, Value) {
    let ts = chrono::Utc::now().timestamp() - age;
    let mut req =
        w.h.http
            .post(format!("{}/callbacks/payments/{provider}", w.h.base))
            .header("content-type", "application/json")
            .body(body.to_string());
    if let Some(signed) = signed_body {
        let hook = standardwebhooks::Webhook::new(PAYMENT_PROVIDER_SECRET).unwrap();
        let signature = hook.sign(id, ts, signed.as_bytes()).unwrap();
        req = req
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", signature);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn signed(w: &World, id: &str, body: &Value) -> (u16, Value) {
    let text = body.to_string();
    deliver(w, "pagos", id, &text, Some(&text), 0).await
}

async fn balance(w: &World, case: &str) -> Value {
    w.h.ok(
        &w.auditor,
        "query($c: ID!) { case(id: $c) { balance { amount } } }",
        json!({"c": case}),
    )
    .await["case"]["balance"]["amount"]
        .clone()
}

async fn providers_report_payments(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let case = w.open_case("CB-1", 500.0).await;
    let paid =
        json!({"externalRef": "CB-1", "reference": "PSP-1", "amount": "200", "currency": "COP"});

    let (status, body) = signed(&w, "msg_1", &paid).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["caseId"].as_str(), body["repeated"].as_bool()),
        (Some(case.as_str()), Some(false))
    );
    assert_eq!(balance(&w, &case).await, "300.00");
    // The provider retries the same delivery: the same answer, nothing recorded twice.
    let (status, again) = signed(&w, "msg_1", &paid).await;
    assert_eq!(
        (status, again["seq"].clone(), again["repeated"].clone()),
        (200, body["seq"].clone(), json!(true))
    );
    assert_eq!(balance(&w, &case).await, "300.00");

    let text = paid.to_string();
    let forged = text.replace("\"200\"", "\"2000\"");
    for (provider, sent, signed_as, age, want_status, want_code) in [
        // The body changed after signing.
        (
            "pagos",
            forged.as_str(),
            Some(text.as_str()),
            0,
            401,
            "WEBHOOK_SIGNATURE_INVALID",
        ),
        // Replayed after the five-minute window.
        (
            "pagos",
            text.as_str(),
            Some(text.as_str()),
            600,
            401,
            "WEBHOOK_SIGNATURE_INVALID",
        ),
        // Not signed at all.
        (
            "pagos",
            text.as_str(),
            None,
            0,
            401,
            "WEBHOOK_SIGNATURE_INVALID",
        ),
        (
            "nobody",
            text.as_str(),
            Some(text.as_str()),
            0,
            404,
            "NOT_FOUND",
        ),
    ] {
        let (status, body) = deliver(&w, provider, "msg_2", sent, signed_as, age).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (want_status, Some(want_code)),
            "{body}"
        );
    }
    for (notice, want_status, want_code) in [
        (
            json!({"externalRef": "CB-1", "reference": "PSP-3", "amount": "10.123", "currency": "COP"}),
            400,
            "INVALID_AMOUNT",
        ),
        (
            json!({"externalRef": "CB-404", "reference": "PSP-3", "amount": "1", "currency": "COP"}),
            404,
            "CASE_NOT_FOUND",
        ),
        (
            json!({"reference": "PSP-3", "amount": "1", "currency": "COP"}),
            400,
            "BAD_REQUEST",
        ),
        (
            json!({"externalRef": "CB-1", "reference": "PSP-3", "amount": "1", "currency": "COP", "tip": 1}),
            400,
            "BAD_REQUEST",
        ),
        // Another delivery of a payment already recorded.
        (paid.clone(), 409, "PAYMENT_REFERENCE_REUSED"),
    ] {
        let (status, body) = signed(&w, "msg_3", &notice).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (want_status, Some(want_code)),
            "{notice}: {body}"
        );
    }
    assert_eq!(balance(&w, &case).await, "300.00");

    // On the record as the provider's.
    let history =
        w.h.ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType actor } } }",
            json!({"c": case}),
        )
        .await;
    let entries = history["case"]["history"].as_array().unwrap();
    let recorded: Vec<&Value> = entries
        .iter()
        .filter(|e| e["eventType"] == "PaymentRecorded")
        .collect();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["actor"], "agent:payment-provider:pagos");
    w.h.stop().await;
}

on_both!(payment_provider_callbacks, providers_report_payments);
