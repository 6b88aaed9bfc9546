//! SMS and WhatsApp through an HTTP provider, against a real HTTP server answering as
//! Twilio and as a generic webhook gateway would; and their receipts' signatures.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use collections::contact::{Channel, DeliveryStatus};
use contact::receipts::ReceiptError;
use contact::sms::{HttpMessagingChannel, MessagingConfig, ReceiptRequest, twilio};
use contact::{SendError, Sender};
use serde_json::{Value, json};

use crate::support::http::{Receiver, Recorded};
use crate::support::message;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const PUBLIC: &str = "https://recobro.example.com";

fn kind(e: &SendError) -> &'static str {
    match e {
        SendError::Unavailable(_) => "unavailable",
        SendError::InvalidContact(_) => "invalid_contact",
        SendError::Rejected(_) => "rejected",
    }
}

fn channel(config: Value) -> HttpMessagingChannel {
    let config: MessagingConfig = serde_json::from_value(config).expect("config");
    HttpMessagingChannel::new(&config).expect("valid config")
}

/// Twilio as its Messages API answers, with its test numbers' refusals
/// (+1500555000x): 0001 invalid, 0009 not a mobile, 0004 unsubscribed, 0002 cannot be
/// routed; and 0500 and 0429 for its own failure and throttling.
async fn twilio_receiver() -> Receiver {
    let created = AtomicU32::new(0);
    Receiver::start(move |r: &Recorded| {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
        if r.header("authorization") != Some(&format!("Basic {basic}")) {
            return (
                401,
                json!({"code": 20003, "message": "Authenticate", "status": 401}),
            );
        }
        let to = r.form_field("To").unwrap_or_default();
        let number = to.trim_start_matches("whatsapp:");
        let refuse = |status: u16, code: u32, message: &str| {
            (
                status,
                json!({"code": code, "message": message, "status": status,
                       "more_info": format!("https://www.twilio.com/docs/errors/{code}")}),
            )
        };
        match number {
            "+15005550001" => refuse(400, 21211, "The 'To' number is not a valid phone number."),
            "+15005550009" => refuse(400, 21614, "'To' number is not a valid mobile number"),
            "+15005550004" => refuse(400, 21610, "Attempt to send to unsubscribed recipient"),
            "+15005550002" => refuse(
                400,
                21612,
                "The 'To' phone number is not currently reachable",
            ),
            "+15005550500" => refuse(500, 20500, "Internal Server Error"),
            "+15005550429" => refuse(429, 20429, "Too Many Requests"),
            _ => {
                let n = created.fetch_add(1, Ordering::Relaxed) + 1;
                (
                    201,
                    json!({"sid": format!("SM{n:032}"), "status": "queued", "to": to,
                           "body": r.form_field("Body")}),
                )
            }
        }
    })
    .await
}

fn twilio_config(receiver: &Receiver) -> Value {
    json!({
        "api": "twilio",
        "baseUrl": receiver.base,
        "accountSid": SID,
        "authToken": TOKEN,
        "from": {"sms": "+15005550006", "whatsapp": "+14155238886"},
        "publicUrl": PUBLIC,
        "timeoutSeconds": 5,
    })
}

#[tokio::test]
async fn twilio_gets_the_message_the_key_and_the_receipt_url() {
    let receiver = twilio_receiver().await;
    let twilio = channel(twilio_config(&receiver));
    assert_eq!(twilio.channels(), vec![Channel::Sms, Channel::WhatsApp]);
    let sms = message("job-21", Channel::Sms, "+573101234567");
    let sent = twilio.send(&sms).await.expect("sent");
    assert_eq!(
        (sent.provider.as_str(), sent.status),
        ("twilio", DeliveryStatus::Sent)
    );
    assert_eq!(
        sent.provider_message_id.as_deref(),
        Some("SM00000000000000000000000000000001")
    );
    let whatsapp = message("job-22", Channel::WhatsApp, "+573101234567");
    twilio.send(&whatsapp).await.expect("sent");

    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    for r in &got {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
        assert_eq!(r.query, "");
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
    }
    assert_eq!(got[0].header("i-twilio-idempotency-token"), Some("job-21"));
    assert_eq!(got[1].header("i-twilio-idempotency-token"), Some("job-22"));
    let form = |r: &Recorded| -> Vec<(String, String)> { r.form() };
    let callback = format!("{PUBLIC}/callbacks/contact/twilio?tenant=acme&case=case-1&attempt=3");
    assert_eq!(
        form(&got[0]),
        vec![
            ("To".to_string(), "+573101234567".to_string()),
            ("Body".into(), sms.body.clone()),
            ("From".into(), "+15005550006".into()),
            ("StatusCallback".into(), callback.clone()),
        ]
    );
    assert_eq!(
        form(&got[1]),
        vec![
            ("To".to_string(), "whatsapp:+573101234567".to_string()),
            ("Body".into(), whatsapp.body.clone()),
            ("From".into(), "whatsapp:+14155238886".into()),
            ("StatusCallback".into(), callback),
        ]
    );
}

#[tokio::test]
async fn twilio_through_a_messaging_service_names_no_sender() {
    let receiver = twilio_receiver().await;
    let mut config = twilio_config(&receiver);
    config["from"] = json!({});
    config["messagingServiceSid"] = json!("MG0123456789abcdef0123456789abcdef");
    config.as_object_mut().unwrap().remove("publicUrl");
    let twilio = channel(config);
    assert_eq!(twilio.channels(), vec![Channel::Sms, Channel::WhatsApp]);
    assert!(twilio.receipts().is_none(), "no publicUrl: no receipts");
    twilio
        .send(&message("job-23", Channel::Sms, "+573101234567"))
        .await
        .unwrap();
    let form = receiver.requests()[0].form();
    let names: Vec<&str> = form.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["To", "Body", "MessagingServiceSid"]);
    assert_eq!(form[2].1, "MG0123456789abcdef0123456789abcdef");
}

#[tokio::test]
async fn twilio_refusals_are_classified() {
    let receiver = twilio_receiver().await;
    let twilio = channel(twilio_config(&receiver));
    for (to, want, says) in [
        ("+15005550001", "invalid_contact", "21211"),
        ("+15005550009", "invalid_contact", "21614"),
        ("+15005550004", "rejected", "21610"),
        ("+15005550002", "rejected", "21612"),
        ("+15005550500", "unavailable", "500"),
        ("+15005550429", "unavailable", "429"),
    ] {
        let err = twilio
            .send(&message("job-24", Channel::Sms, to))
            .await
            .expect_err(to);
        assert_eq!(kind(&err), want, "{to}: {err}");
        assert!(err.to_string().contains(says), "{to}: {err}");
    }

    let mut wrong = twilio_config(&receiver);
    wrong["authToken"] = json!("not-the-token");
    let err = channel(wrong)
        .send(&message("job-25", Channel::Sms, "+573101234567"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert!(err.to_string().contains("auth token"), "{err}");

    // No WhatsApp sender configured: an operator's problem, retried.
    let mut sms_only = twilio_config(&receiver);
    sms_only["from"] = json!({"sms": "+15005550006"});
    let sms_only = channel(sms_only);
    assert_eq!(sms_only.channels(), vec![Channel::Sms]);
    let err = sms_only
        .send(&message("job-26", Channel::WhatsApp, "+573101234567"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert_eq!(receiver.requests().len(), 7, "the last was never sent");
}

#[tokio::test]
async fn a_provider_that_is_down_or_silent_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    for base in [down, hanging] {
        for config in [
            json!({"api": "twilio", "baseUrl": base, "accountSid": SID, "authToken": TOKEN,
                   "from": {"sms": "+15005550006"}, "timeoutSeconds": 1}),
            json!({"api": "webhook", "url": format!("{base}/messages"), "secret": SECRET,
                   "timeoutSeconds": 1}),
        ] {
            let started = std::time::Instant::now();
            let err = channel(config)
                .send(&message("job-27", Channel::Sms, "+573101234567"))
                .await
                .unwrap_err();
            assert_eq!(kind(&err), "unavailable", "{base}: {err}");
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the 1 s timeout applies"
            );
        }
    }
    held.abort();
}

/// A gateway speaking the generic shape: checks the Standard Webhooks signature with
/// the shared secret, refuses by destination, and names its own message id.
async fn webhook_receiver() -> Receiver {
    Receiver::start(|r: &Recorded| {
        let hook = standardwebhooks::Webhook::new(SECRET).unwrap();
        if let Err(e) = hook.verify(&r.body, &r.header_map()) {
            return (
                401,
                json!({"error": "unauthorized", "message": e.to_string()}),
            );
        }
        let body = r.json();
        match body["to"].as_str().unwrap_or_default() {
            "+570000000001" => (
                422,
                json!({"error": "invalid_contact", "message": "no such subscriber"}),
            ),
            "+570000000002" => (
                400,
                json!({"error": "rejected", "message": "sender blocked by the carrier"}),
            ),
            "+570000000003" => (400, json!({"message": "content refused"})),
            "+570000000503" => (503, json!({"message": "maintenance"})),
            _ => (
                202,
                json!({"id": format!("gw-{}", body["id"].as_str().unwrap())}),
            ),
        }
    })
    .await
}

fn webhook_config(receiver: &Receiver) -> Value {
    json!({
        "api": "webhook",
        "name": "gateway",
        "url": format!("{}/v1/messages", receiver.base),
        "secret": SECRET,
        "from": {"whatsapp": "+14155238886"},
        "publicUrl": PUBLIC,
    })
}

#[tokio::test]
async fn the_webhook_gets_a_signed_json_request_with_the_key() {
    let receiver = webhook_receiver().await;
    let gateway = channel(webhook_config(&receiver));
    let sms = message("job-31", Channel::Sms, "+573101234567");
    let sent = gateway.send(&sms).await.expect("sent");
    assert_eq!(
        (
            sent.provider.as_str(),
            sent.provider_message_id.as_deref(),
            sent.status
        ),
        ("webhook", Some("gw-job-31"), DeliveryStatus::Sent)
    );
    let whatsapp = message("job-32", Channel::WhatsApp, "+573101234567");
    gateway.send(&whatsapp).await.expect("sent");

    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].path, "/v1/messages");
    assert_eq!(got[0].header("idempotency-key"), Some("job-31"));
    assert_eq!(got[0].header("webhook-id"), Some("job-31"));
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    let callback = format!("{PUBLIC}/callbacks/contact/gateway?tenant=acme&case=case-1&attempt=3");
    assert_eq!(
        got[0].json(),
        json!({
            "id": "job-31", "channel": "sms", "to": "+573101234567", "body": sms.body,
            "reference": {"tenant": "acme", "caseId": "case-1", "attempt": 3},
            "statusCallback": callback,
        })
    );
    assert_eq!(got[1].json()["channel"], "whatsapp");
    assert_eq!(got[1].json()["from"], "+14155238886");
}

#[tokio::test]
async fn webhook_refusals_are_classified() {
    let receiver = webhook_receiver().await;
    let gateway = channel(webhook_config(&receiver));
    for (to, want, says) in [
        ("+570000000001", "invalid_contact", "no such subscriber"),
        ("+570000000002", "rejected", "sender blocked"),
        ("+570000000003", "rejected", "content refused"),
        ("+570000000503", "unavailable", "503"),
    ] {
        let err = gateway
            .send(&message("job-33", Channel::Sms, to))
            .await
            .expect_err(to);
        assert_eq!(kind(&err), want, "{to}: {err}");
        assert!(err.to_string().contains(says), "{to}: {err}");
    }
    // Signed with another secret: the gateway refuses it, an operator must fix it.
    let mut wrong = webhook_config(&receiver);
    wrong["secret"] = json!("whsec_c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1nYXRld2F5cw==");
    let err = channel(wrong)
        .send(&message("job-34", Channel::Sms, "+573101234567"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert!(err.to_string().contains("401"), "{err}");
}

fn headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    map
}

#[tokio::test]
async fn twilio_receipts_are_read_only_when_signed() {
    let receiver = twilio_receiver().await;
    let receipts = channel(twilio_config(&receiver)).receipts().unwrap();
    assert_eq!(receipts.name(), "twilio");
    let query = "tenant=acme&case=case-1&attempt=3";
    let url = format!("{PUBLIC}/callbacks/contact/twilio?{query}");
    let params: Vec<(String, String)> = [
        ("SmsSid", "SM1"),
        ("SmsStatus", "undelivered"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("To", "+573101234567"),
        ("MessageSid", "SM1"),
        ("AccountSid", SID),
        ("From", "+15005550006"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let body = serde_urlencoded::to_string(&params).unwrap();
    let signature = twilio::signature(TOKEN, &url, &params);
    let signed = headers(&[("x-twilio-signature", &signature)]);
    let receipt = receipts
        .verify(ReceiptRequest {
            query,
            headers: &signed,
            body: body.as_bytes(),
        })
        .expect("verified");
    assert_eq!(
        (
            receipt.tenant.as_str(),
            receipt.case_id.as_str(),
            receipt.attempt,
            receipt.status,
            receipt.provider_message_id.as_deref(),
            receipt.detail.as_deref()
        ),
        (
            "acme",
            "case-1",
            3,
            DeliveryStatus::Failed,
            Some("SM1"),
            Some("twilio: undelivered (error 30003)")
        )
    );

    // Another attempt named in the query than the one Twilio signed.
    let err = receipts
        .verify(ReceiptRequest {
            query: "tenant=acme&case=case-1&attempt=4",
            headers: &signed,
            body: body.as_bytes(),
        })
        .unwrap_err();
    assert!(matches!(err, ReceiptError::Signature(_)), "{err}");
    // A status changed after signing.
    let forged = body.replace("undelivered", "delivered");
    let err = receipts
        .verify(ReceiptRequest {
            query,
            headers: &signed,
            body: forged.as_bytes(),
        })
        .unwrap_err();
    assert!(matches!(err, ReceiptError::Signature(_)), "{err}");
    let err = receipts
        .verify(ReceiptRequest {
            query,
            headers: &headers(&[]),
            body: body.as_bytes(),
        })
        .unwrap_err();
    assert!(matches!(err, ReceiptError::Signature(_)), "{err}");
}

#[tokio::test]
async fn webhook_receipts_are_read_only_when_signed() {
    let receiver = webhook_receiver().await;
    let receipts = channel(webhook_config(&receiver)).receipts().unwrap();
    assert_eq!(receipts.name(), "gateway");
    let body = json!({"id": "gw-job-31", "status": "read",
        "reference": {"tenant": "acme", "caseId": "case-1", "attempt": 3}})
    .to_string();
    let hook = standardwebhooks::Webhook::new(SECRET).unwrap();
    let ts = chrono::Utc::now().timestamp();
    let sign = |body: &str| hook.sign("msg_1", ts, body.as_bytes()).unwrap();
    let ts = ts.to_string();
    let signed = |sig: &str| {
        headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", &ts),
            ("webhook-signature", sig),
        ])
    };
    let receipt = receipts
        .verify(ReceiptRequest {
            query: "",
            headers: &signed(&sign(&body)),
            body: body.as_bytes(),
        })
        .expect("verified");
    assert_eq!(
        (
            receipt.case_id.as_str(),
            receipt.attempt,
            receipt.status,
            receipt.provider_message_id.as_deref()
        ),
        ("case-1", 3, DeliveryStatus::Read, Some("gw-job-31"))
    );
    let forged = body.replace("\"attempt\":3", "\"attempt\":2");
    assert_ne!(forged, body);
    let err = receipts
        .verify(ReceiptRequest {
            query: "",
            headers: &signed(&sign(&body)),
            body: forged.as_bytes(),
        })
        .unwrap_err();
    assert!(matches!(err, ReceiptError::Signature(_)), "{err}");
    let odd = json!({"id": "x", "status": "exploded",
        "reference": {"tenant": "acme", "caseId": "case-1", "attempt": 3}})
    .to_string();
    let err = receipts
        .verify(ReceiptRequest {
            query: "",
            headers: &signed(&sign(&odd)),
            body: odd.as_bytes(),
        })
        .unwrap_err();
    assert!(matches!(err, ReceiptError::Malformed(_)), "{err}");
}
