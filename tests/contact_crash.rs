//! Nothing is sent twice after a crash between handing a message to the provider and
//! recording its answer: `recobro serve` is SIGKILLed by the provider itself, the moment
//! the SMS request arrives (before answering), and started again on the same data. The
//! job is redelivered, the attempt already recorded (`sending`) is handed over again
//! under the same idempotency key, and the provider — which de-duplicates by that key,
//! as gateways do — delivers it once. The case records one attempt, sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::portal::{graphql, token};
use crate::serve::{Server, TempDir};

const ONE_SMS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="one-sms" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="remind" />
    <bpmn:serviceTask id="remind">
      <bpmn:extensionElements><zeebe:taskDefinition type="contact.sms" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
"#;

/// One request as the gateway received it.
#[derive(Debug, Clone)]
struct Received {
    idempotency_key: String,
    webhook_id: String,
    body: Value,
}

/// A messaging gateway on port 0: it kills the server on the first request instead of
/// answering, and answers every later one with the message id it gave the key.
fn gateway(victim: Arc<AtomicU32>, seen: Arc<Mutex<Vec<Received>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                headers.push(line.trim_end().to_string());
            }
            let header = |name: &str| {
                headers
                    .iter()
                    .find_map(|h| {
                        let (k, v) = h.split_once(':')?;
                        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
                    })
                    .unwrap_or_default()
            };
            let length: usize = header("content-length").parse().unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let first = {
                let mut seen = seen.lock().unwrap();
                seen.push(Received {
                    idempotency_key: header("idempotency-key"),
                    webhook_id: header("webhook-id"),
                    body: serde_json::from_slice(&body).unwrap(),
                });
                seen.len() == 1
            };
            if first {
                // The message reached the provider; the server dies before it hears so.
                let pid = victim.load(Ordering::SeqCst);
                std::process::Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status()
                    .unwrap();
                continue;
            }
            let answer = json!({"id": "gw-1"}).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    port
}

#[test]
fn a_message_is_not_sent_twice_when_serve_dies_before_recording_the_answer() {
    let dir = TempDir::new();
    let data = dir.0.to_str().unwrap().to_string();
    let victim = Arc::new(AtomicU32::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = gateway(victim.clone(), seen.clone());
    let channels = dir.0.join("channels.json");
    std::fs::write(
        &channels,
        json!({"messaging": [{
            "api": "webhook", "name": "gateway",
            "url": format!("http://127.0.0.1:{port}/v1/messages"),
            "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "from": {"sms": "ACME"}
        }]})
        .to_string(),
    )
    .unwrap();
    let args = [
        "--data-dir",
        &data,
        "--channels",
        channels.to_str().unwrap(),
    ];

    let first = Server::start(&args, &[]);
    victim.store(first.pid(), Ordering::SeqCst);
    let addr = first.addr;
    let supervisor = token(&dir, &["--role", "supervisor", "--subject", "sam"]);
    graphql(
        addr,
        &supervisor,
        "mutation($x: String!) { deployProcess(name: \"one-sms.bpmn\", xml: $x) { created } }",
        json!({"x": ONE_SMS}),
    );
    graphql(
        addr,
        &supervisor,
        // Under Spain's pack, which sets no calling hours: this runs on the system
        // clock, at whatever hour CI runs it, and is about crashes, not the gate.
        "mutation { registerDebtor(input: {id: \"D-1\", kind: PERSON, name: \"Ana Pérez\",
            country: \"ES\", language: \"es-CO\",
            contacts: [{point: {phone: {number: \"+57 310 123 4567\"}}}]}) { debtor { id } } }",
        json!({}),
    );
    let case = graphql(
        addr,
        &supervisor,
        "mutation { openCase(input: {processId: \"one-sms\", externalRef: \"L-1\",
            debtor: {id: \"D-1\", name: \"Ana Pérez\"},
            accounts: [{id: \"L-1\", product: \"loan\", currency: \"COP\",
                        principal: \"1250000\", delinquentSince: \"2026-11-01\"}]}) { caseId } }",
        json!({}),
    )["openCase"]["caseId"]
        .as_str()
        .unwrap()
        .to_string();
    // The gateway kills it when the SMS arrives.
    assert!(!first.wait().success());
    assert_eq!(seen.lock().unwrap().len(), 1);

    let second = Server::start(&args, &[]);
    let query = "query($c: ID!) { case(id: $c) { status
        contactAttempts { id status provider providerMessageId key }
        history { eventType } } }";
    let deadline = Instant::now() + Duration::from_secs(30);
    let c = loop {
        let c = graphql(second.addr, &supervisor, query, json!({"c": case}))["case"].clone();
        let history_done = c["history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|e| e["eventType"] == "JobCompleted"));
        if c["status"] == "completed" && history_done {
            break c;
        }
        assert!(
            Instant::now() < deadline,
            "the redelivered job did not finish: {c:#}"
        );
        std::thread::sleep(Duration::from_millis(25));
    };

    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.len(),
        2,
        "handed over once before the crash, once after"
    );
    assert!(!seen[0].idempotency_key.is_empty());
    assert_eq!(seen[0].idempotency_key, seen[1].idempotency_key);
    assert_eq!(seen[0].webhook_id, seen[1].webhook_id);
    assert_eq!(seen[0].body["id"], seen[1].body["id"]);
    assert_eq!(
        seen[0].body["body"], seen[1].body["body"],
        "the same message"
    );
    assert_eq!(seen[0].body["to"], "+573101234567");
    let attempts = c["contactAttempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{c:#}");
    assert_eq!(attempts[0]["status"], "SENT");
    assert_eq!(attempts[0]["provider"], "webhook");
    assert_eq!(attempts[0]["providerMessageId"], "gw-1");
    assert_eq!(attempts[0]["key"], seen[0].idempotency_key.as_str());
    let made = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["eventType"] == "ContactAttempted")
        .count();
    assert_eq!(made, 1);
    let (status, _) = second.terminate();
    assert!(status.success());
}
