//! Messaging providers' delivery receipts over real HTTP: a signed receipt moves its
//! attempt on, once; a receipt whose signature, provider, case, attempt or message is
//! wrong is refused with its code and changes nothing.

use collections::contact::{Channel, ContactAttempt, DeliveryStatus};
use contact::sms::{HttpMessagingChannel, MessagingConfig, ReceiptVerifier, twilio};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use services::case::{CaseFact, ContactFact};
use services::clock::Clock;

use super::{TENANT, World, on_both};

const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-auth-token-for-tests";
const GATEWAY_SECRET: &str = "whsec_c2VjcmV0LWZvci10aGUtZ2F0ZXdheS10ZXN0cw==";

/// The receipts of the providers the harness accepts: Twilio as `twilio`, a webhook
/// gateway as `gateway`; `public` is the harness's own base URL.
pub fn verifiers(public: &str) -> Vec<ReceiptVerifier> {
    [
        json!({"api": "twilio", "baseUrl": "http://127.0.0.1:9", "accountSid": TWILIO_SID,
               "authToken": TWILIO_TOKEN, "from": {"sms": "+15005550006"}, "publicUrl": public}),
        json!({"api": "webhook", "name": "gateway", "url": "http://127.0.0.1:9/messages",
               "secret": GATEWAY_SECRET, "publicUrl": public}),
    ]
    .into_iter()
    .map(|c| {
        let c: MessagingConfig = serde_json::from_value(c).unwrap();
        HttpMessagingChannel::new(&c).unwrap().receipts().unwrap()
    })
    .collect()
}

/// Records an attempt on the case as the contact job does: made, then taken by the
/// provider as `provider_id`.
async fn attempt(w: &World, case: &str, id: u32, channel: Channel, provider_id: &str) {
    let rt = w.h.desk.runtime();
    let now = w.h.clock.now();
    let key = format!("job-{id}");
    let made = ContactAttempt {
        id,
        key: key.clone(),
        channel,
        destination: "+573101234567".into(),
        recipient: "debtor".into(),
        template: None,
        provider: "pending".into(),
        provider_message_id: None,
        status: DeliveryStatus::Sending,
        detail: None,
        outcome: None,
        made_at: now,
        updated_at: now,
    };
    for (fact, step) in [
        (ContactFact::AttemptMade { attempt: made }, "made"),
        (
            ContactFact::DeliveryUpdated {
                attempt: id,
                status: DeliveryStatus::Sent,
                provider: Some("webhook".into()),
                provider_message_id: Some(provider_id.into()),
                detail: None,
            },
            "answered",
        ),
    ] {
        rt.record_fact(
            case,
            CaseFact::Contact(fact),
            "worker:contact.sms",
            Some(format!("{key}:{step}")),
        )
        .await
        .expect("recorded");
    }
}

/// POSTs a Twilio status callback for `query`, signed over `signed_query` (the same,
/// unless the test forges one).
async fn twilio_receipt(
    w: &World,
    provider: &str,
    query: &str,
    signed_query: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = format!("/callbacks/contact/{provider}");
    let signature = twilio::signature(
        TWILIO_TOKEN,
        &format!("{}{path}?{signed_query}", w.h.base),
        &params,
    );
    let resp =
        w.h.http
            .post(format!("{}{path}?{query}", w.h.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(serde_urlencoded::to_string(&params).unwrap())
            .send()
            .await
            .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn query(case: &str, attempt: u32) -> String {
    serde_urlencoded::to_string([
        ("tenant", TENANT),
        ("case", case),
        ("attempt", &attempt.to_string()),
    ])
    .unwrap()
}

fn twilio_status(sid: &str, status: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MessageSid", sid.to_string()),
        ("SmsSid", sid.to_string()),
        ("MessageStatus", status.to_string()),
        ("SmsStatus", status.to_string()),
        ("AccountSid", TWILIO_SID.to_string()),
        ("To", "+573101234567".to_string()),
        ("From", "+15005550006".to_string()),
        ("ApiVersion", "2010-04-01".to_string()),
    ]
}

async fn twilio_says(w: &World, case: &str, attempt: u32, sid: &str, status: &str) -> (u16, Value) {
    let q = query(case, attempt);
    let params = twilio_status(sid, status);
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    twilio_receipt(w, "twilio", &q, &q, &params).await
}

/// POSTs a generic gateway's receipt, signed (or not) `age` seconds ago.
async fn gateway_receipt(
    w: &World,
    id: &str,
    body: &Value,
    signed_body: Option<&str>,
    age: i64,
) -> (u16, Value) {
    let text = body.to_string();
    let ts = chrono::Utc::now().timestamp() - age;
    let mut req =
        w.h.http
            .post(format!("{}/callbacks/contact/gateway", w.h.base))
            .header("content-type", "application/json")
            .body(text.clone());
    if let Some(signed) = signed_body {
        let hook = standardwebhooks::Webhook::new(GATEWAY_SECRET).unwrap();
        req = req
            .header("webhook-id", id)
            .header("webhook-timestamp", ts.to_string())
            .header(
                "webhook-signature",
                hook.sign(id, ts, signed.as_bytes()).unwrap(),
            );
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn attempts(w: &World, case: &str) -> Vec<(DeliveryStatus, Option<String>, Option<String>)> {
    let state = w.h.desk.runtime().case(case).await.unwrap().unwrap();
    state
        .contacts
        .iter()
        .map(|a| (a.status, a.provider_message_id.clone(), a.detail.clone()))
        .collect()
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn providers_report_delivery(db: &DatabaseConnection) {
    let w = World::new(db).await;
    let case = w.open_case("CR-1", 500.0).await;
    attempt(&w, &case, 1, Channel::Sms, "SM1").await;
    attempt(&w, &case, 2, Channel::WhatsApp, "gw-job-2").await;

    // Twilio: delivered, once.
    let (status, first) = twilio_says(&w, &case, 1, "SM1", "delivered").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (
            first["caseId"].as_str(),
            first["attempt"].as_u64(),
            first["status"].as_str(),
            first["repeated"].as_bool()
        ),
        (Some(case.as_str()), Some(1), Some("delivered"), Some(false))
    );
    let (status, again) = twilio_says(&w, &case, 1, "SM1", "delivered").await;
    assert_eq!(
        (status, again["seq"].clone(), again["repeated"].clone()),
        (200, first["seq"].clone(), json!(true))
    );
    // A late "sent" is journalled but does not move the attempt back.
    let (status, late) = twilio_says(&w, &case, 1, "SM1", "sent").await;
    assert_eq!(
        (status, late["status"].as_str()),
        (200, Some("delivered")),
        "{late}"
    );

    // The generic gateway: failed, with the reason.
    let failed = json!({"id": "gw-job-2", "status": "failed", "error": "carrier rejected",
        "reference": {"tenant": TENANT, "caseId": case, "attempt": 2}});
    let text = failed.to_string();
    let (status, body) = gateway_receipt(&w, "msg_1", &failed, Some(&text), 0).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("failed")),
        "{body}"
    );
    let (_, again) = gateway_receipt(&w, "msg_1", &failed, Some(&text), 0).await;
    assert_eq!(again["repeated"], json!(true), "{again}");

    let want = vec![
        (DeliveryStatus::Delivered, Some("SM1".to_string()), None),
        (
            DeliveryStatus::Failed,
            Some("gw-job-2".to_string()),
            Some("failed: carrier rejected".to_string()),
        ),
    ];
    assert_eq!(attempts(&w, &case).await, want);

    // Refused, each with its code, changing nothing.
    let q1 = query(&case, 1);
    let delivered = twilio_status("SM1", "delivered");
    let delivered: Vec<(&str, &str)> = delivered.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let read = twilio_status("SM1", "read");
    let read: Vec<(&str, &str)> = read.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The attempt in the URL changed after Twilio signed it.
    let (status, body) = twilio_receipt(&w, "twilio", &query(&case, 2), &q1, &read).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("WEBHOOK_SIGNATURE_INVALID")),
        "{body}"
    );
    // Signed for another provider's path.
    let (status, body) = twilio_receipt(&w, "gateway", &q1, &q1, &delivered).await;
    assert_eq!(
        (status, code(&body)),
        (401, Some("WEBHOOK_SIGNATURE_INVALID")),
        "{body}"
    );
    let (status, body) = twilio_receipt(&w, "nobody", &q1, &q1, &delivered).await;
    assert_eq!((status, code(&body)), (404, Some("NOT_FOUND")), "{body}");
    for (case_id, attempt_no, sid, said, want_status, want_code) in [
        ("no-such-case", 1, "SM1", "read", 404, "CASE_NOT_FOUND"),
        (
            case.as_str(),
            9,
            "SM1",
            "read",
            409,
            "CONTACT_ATTEMPT_CONFLICT",
        ),
        // Another message than the one the attempt was taken as.
        (
            case.as_str(),
            1,
            "SM999",
            "read",
            409,
            "CONTACT_ATTEMPT_CONFLICT",
        ),
        (case.as_str(), 1, "SM1", "exploded", 400, "BAD_REQUEST"),
    ] {
        let (status, body) = twilio_says(&w, case_id, attempt_no, sid, said).await;
        assert_eq!(
            (status, code(&body)),
            (want_status, Some(want_code)),
            "{case_id} {attempt_no} {sid} {said}: {body}"
        );
    }
    // Signed by the right provider, for another tenant's case of the same id.
    let other = serde_urlencoded::to_string([
        ("tenant", "globex"),
        ("case", case.as_str()),
        ("attempt", "1"),
    ])
    .unwrap();
    let (status, body) = twilio_receipt(&w, "twilio", &other, &other, &read).await;
    assert_eq!(
        (status, code(&body)),
        (404, Some("CASE_NOT_FOUND")),
        "{body}"
    );

    let read_gw = json!({"id": "gw-job-2", "status": "read",
        "reference": {"tenant": TENANT, "caseId": case, "attempt": 1}});
    let forged = read_gw
        .to_string()
        .replace("\"attempt\":1", "\"attempt\":2");
    for (sent, signed_as, age) in [
        // The attempt changed after signing.
        (
            serde_json::from_str::<Value>(&forged).unwrap(),
            Some(read_gw.to_string()),
            0,
        ),
        // Replayed after the five-minute window.
        (read_gw.clone(), Some(read_gw.to_string()), 600),
        (read_gw.clone(), None, 0),
    ] {
        let (status, body) = gateway_receipt(&w, "msg_2", &sent, signed_as.as_deref(), age).await;
        assert_eq!(
            (status, code(&body)),
            (401, Some("WEBHOOK_SIGNATURE_INVALID")),
            "{body}"
        );
    }
    assert_eq!(
        attempts(&w, &case).await,
        want,
        "nothing refused was recorded"
    );

    // On the record as the providers'.
    let history =
        w.h.ok(
            &w.auditor,
            "query($c: ID!) { case(id: $c) { history { eventType actor } } }",
            json!({"c": case}),
        )
        .await;
    let receipts: Vec<&str> = history["case"]["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "ContactDeliveryUpdated")
        .filter_map(|e| e["actor"].as_str())
        .filter(|a| a.starts_with("contact-provider:"))
        .collect();
    assert_eq!(
        receipts,
        [
            "contact-provider:twilio",
            "contact-provider:twilio",
            "contact-provider:gateway"
        ]
    );
    w.h.stop().await;
}

on_both!(contact_delivery_receipts, providers_report_delivery);
