//! The e-mail channel against a real SMTP server (aiosmtpd): each security mode, login,
//! the Message-ID from the idempotency key, and every kind of failure classified.

use collections::contact::{Channel, DeliveryStatus};
use contact::email::{SmtpChannel, SmtpConfig};
use contact::{SendError, Sender};
use serde_json::{Value, json};

use crate::support::message;
use crate::support::smtp::{PASSWORD, SmtpServer, USER};

fn config(server: &SmtpServer, security: &str, login: bool) -> SmtpConfig {
    let mut c = json!({
        "host": "127.0.0.1",
        "port": server.port,
        "security": security,
        "from": {"address": "cobros@acme.co", "name": "Acme Cobranzas"},
        "replyTo": {"address": "ayuda@acme.co"},
        "rootCertificate": server.ca,
        "timeoutSeconds": 10,
    });
    if login {
        c["username"] = json!(USER);
        c["password"] = json!(PASSWORD);
    }
    serde_json::from_value(c).unwrap()
}

fn channel(config: &SmtpConfig) -> SmtpChannel {
    SmtpChannel::new(config).expect("valid configuration")
}

async fn delivers(security: &str, login: bool) {
    let server = SmtpServer::start(security, login).await;
    let smtp = channel(&config(&server, security, login));
    let m = message("job-7", Channel::Email, "ana.perez@example.com");
    let sent = smtp.send(&m).await.expect("sent");
    assert_eq!(
        (
            sent.provider.as_str(),
            sent.provider_message_id.as_deref(),
            sent.status
        ),
        ("smtp", Some("<job-7@acme.co>"), DeliveryStatus::Sent)
    );
    let got = server.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let got = &got[0];
    assert_eq!(got["tls"], json!(security != "none"), "{security}");
    assert_eq!(got["login"], if login { json!(USER) } else { Value::Null });
    assert_eq!(got["mailFrom"], "cobros@acme.co");
    assert_eq!(got["rcptTos"], json!(["ana.perez@example.com"]));
    assert_eq!(got["from"], "Acme Cobranzas <cobros@acme.co>");
    assert_eq!(got["to"], "Ana Pérez <ana.perez@example.com>");
    assert_eq!(got["replyTo"], "ayuda@acme.co");
    assert_eq!(got["subject"], "Su saldo con Acme");
    assert_eq!(got["messageId"], "<job-7@acme.co>");
    assert_eq!(got["body"].as_str().unwrap().trim_end(), m.body);
}

#[tokio::test]
async fn delivers_over_starttls_with_a_login() {
    delivers("starttls", true).await;
}

#[tokio::test]
async fn delivers_over_implicit_tls_with_a_login() {
    delivers("tls", true).await;
}

#[tokio::test]
async fn delivers_in_plain_text_to_a_local_relay() {
    delivers("none", false).await;
}

#[tokio::test]
async fn a_message_handed_over_again_keeps_its_message_id() {
    let server = SmtpServer::start("starttls", true).await;
    let smtp = channel(&config(&server, "starttls", true));
    let m = message("job-8", Channel::Email, "ana.perez@example.com");
    smtp.send(&m).await.unwrap();
    smtp.send(&m).await.unwrap();
    let ids: Vec<Value> = server
        .received()
        .iter()
        .map(|r| r["messageId"].clone())
        .collect();
    // SMTP cannot refuse the repeat; receivers de-duplicate on the shared Message-ID.
    assert_eq!(
        ids,
        vec![json!("<job-8@acme.co>"), json!("<job-8@acme.co>")]
    );
}

fn kind(e: &SendError) -> &'static str {
    match e {
        SendError::Unavailable(_) => "unavailable",
        SendError::InvalidContact(_) => "invalid_contact",
        SendError::Rejected(_) => "rejected",
    }
}

#[tokio::test]
async fn refusals_are_classified_from_the_relays_replies() {
    let server = SmtpServer::start("starttls", true).await;
    let smtp = channel(&config(&server, "starttls", true));
    for (to, want, says) in [
        // 550 5.1.1: no such mailbox, never deliverable.
        ("nobody@example.com", "invalid_contact", "5.1.1"),
        // 554 5.7.1: refused by policy.
        ("blocked@example.com", "rejected", "5.7.1"),
        // 451 4.3.0: try again later.
        ("busy@example.com", "unavailable", "451"),
        // Not an address at all: refused before connecting.
        (
            "ana.perez(at)example.com",
            "invalid_contact",
            "not an e-mail address",
        ),
    ] {
        let err = smtp
            .send(&message("job-9", Channel::Email, to))
            .await
            .expect_err(to);
        assert_eq!(kind(&err), want, "{to}: {err}");
        assert!(err.to_string().contains(says), "{to}: {err}");
    }
    assert!(server.received().is_empty(), "nothing was accepted");
}

#[tokio::test]
async fn wrong_credentials_are_an_operators_problem_and_retried() {
    let server = SmtpServer::start("tls", true).await;
    let mut c = config(&server, "tls", true);
    c.password = Some("not-the-password".into());
    let err = channel(&c)
        .send(&message("job-10", Channel::Email, "ana.perez@example.com"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert!(err.to_string().contains("credentials"), "{err}");
    assert!(err.to_string().contains("535"), "{err}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn an_untrusted_certificate_is_not_spoken_to() {
    let server = SmtpServer::start("starttls", true).await;
    let mut c = config(&server, "starttls", true);
    c.root_certificate = None;
    let err = channel(&c)
        .send(&message("job-11", Channel::Email, "ana.perez@example.com"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn a_relay_that_is_down_or_silent_is_unavailable() {
    // Bound and released: nothing listens there any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let c: SmtpConfig = serde_json::from_value(json!({
        "host": "127.0.0.1", "port": port, "security": "none",
        "from": {"address": "cobros@acme.co"}, "timeoutSeconds": 1,
    }))
    .unwrap();
    let m = message("job-12", Channel::Email, "ana.perez@example.com");
    let err = channel(&c).send(&m).await.unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");

    // Accepts the connection and never greets.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        // Keep the connection open until the test ends.
        std::future::pending::<()>().await;
        drop(socket);
    });
    let c = SmtpConfig {
        port: Some(port),
        ..c
    };
    let started = std::time::Instant::now();
    let err = channel(&c).send(&m).await.unwrap_err();
    assert_eq!(kind(&err), "unavailable", "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the 1 s timeout applies: took {:?}",
        started.elapsed()
    );
    held.abort();
}
