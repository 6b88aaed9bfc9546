//! The e-mail channel inside a case: a `contact.email` service task run by the runtime's
//! job dispatcher with `ContactJobs` and `SmtpChannel` against a real SMTP server —
//! sent and recorded; an unknown mailbox caught by the model's INVALID_CONTACT boundary
//! event; a relay that is down retried with back-off, then an incident.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use collections::contact::{Channel, DeliveryStatus};
use collections::debtor::{
    ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind, Email,
    Jurisdiction,
};
use contact::ContactJobs;
use contact::email::{SmtpChannel, SmtpConfig};
use contact::templates::Templates;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use services::access::{Principal, Role};
use services::case::CaseState;
use services::clock::VirtualClock;
use services::desk::{Desk, NewCase};
use services::runtime::jobs::{self, JobHandlers, JobsHandle};
use services::runtime::{Runtime, RuntimeConfig};

use crate::support::smtp::{PASSWORD, SmtpServer, USER};

/// [`orm::on_both`] on actix's runtime, which the job dispatcher runs on.
macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}

const EMAIL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:error id="Invalid" errorCode="INVALID_CONTACT" />
  <bpmn:process id="email" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="remind" />
    <bpmn:serviceTask id="remind">
      <bpmn:extensionElements><zeebe:taskDefinition type="contact.email" retries="2" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="bad" attachedToRef="remind">
      <bpmn:errorEventDefinition errorRef="Invalid" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="sent" />
    <bpmn:sequenceFlow id="f3" sourceRef="bad" targetRef="unreachable" />
    <bpmn:endEvent id="sent" />
    <bpmn:endEvent id="unreachable" />
  </bpmn:process>
</bpmn:definitions>
"#;

struct Case {
    rt: Runtime,
    clock: Arc<VirtualClock>,
    id: String,
    dispatcher: JobsHandle,
}

/// A case whose debtor's only e-mail is `to`, its reminder job handed to `smtp`.
async fn case_mailing(db: &DatabaseConnection, to: &str, smtp: SmtpChannel) -> Case {
    orm::migrate(db).await.expect("migrate");
    let clock = Arc::new(VirtualClock::new(
        // Monday 5 January 2026, 9:00 in Bogotá: a lawful hour (Ley 2300).
        Utc.with_ymd_and_hms(2026, 1, 5, 14, 0, 0).unwrap(),
    ));
    let rt = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    let desk = Desk::new(rt.clone());
    rt.deploy("email.bpmn", EMAIL, "supervisor:eva")
        .await
        .unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    desk.register_debtor(
        &agent,
        "D-1",
        vec![
            DebtorChange::Registered {
                kind: DebtorKind::Person,
                name: "Ana Pérez".into(),
                jurisdiction: Jurisdiction::new("CO", None).unwrap(),
            },
            DebtorChange::ContactAdded {
                owner: ContactOwner::Debtor,
                point: ContactPoint::Email(Email::parse(to).unwrap()),
                consents: vec![ConsentGrant {
                    channel: Channel::Email,
                    given_at: Utc.with_ymd_and_hms(2025, 1, 10, 15, 0, 0).unwrap(),
                    how: ConsentMethod::Written,
                    given_by: "Ana Pérez".into(),
                }],
            },
        ],
        None,
    )
    .await
    .unwrap();
    let opened = desk
        .open_case(
            &agent,
            NewCase {
                process_id: "email".into(),
                version: None,
                external_ref: Some("L-1".into()),
                debtor_id: Some("D-1".into()),
                debtor_name: Some("Ana Pérez".into()),
                amount_due: Some(1_250_000.0),
                currency: Some("COP".into()),
                delinquent_since: None,
                variables: Default::default(),
                idempotency_key: None,
                accounts: Vec::new(),
            },
        )
        .await
        .unwrap();
    let handler = ContactJobs::new(desk.clone(), Templates::new(db.clone()))
        .with_sender(Channel::Email, Arc::new(smtp));
    let dispatcher = jobs::spawn(
        rt.clone(),
        JobHandlers::default().with("contact.email", handler),
        Default::default(),
    );
    Case {
        rt,
        clock,
        id: opened.case_id,
        dispatcher,
    }
}

impl Case {
    async fn settled(&self, n: u64) {
        let mut settled = self.dispatcher.settled.clone();
        settled.wait_for(|s| *s >= n).await.unwrap();
    }

    async fn state(&self) -> CaseState {
        self.rt.case(&self.id).await.unwrap().unwrap()
    }
}

fn smtp(server: &SmtpServer) -> SmtpChannel {
    let config: SmtpConfig = serde_json::from_value(json!({
        "host": "127.0.0.1", "port": server.port, "security": "starttls",
        "username": USER, "password": PASSWORD, "rootCertificate": server.ca,
        "from": {"address": "cobros@acme.co", "name": "Acme"}, "timeoutSeconds": 10,
    }))
    .unwrap();
    SmtpChannel::new(&config).unwrap()
}

async fn a_reminder_is_mailed_and_recorded(db: &DatabaseConnection) {
    let server = SmtpServer::start("starttls", true).await;
    let case = case_mailing(db, "ana.perez@example.com", smtp(&server)).await;
    case.settled(1).await;
    let state = case.state().await;
    assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
    assert_eq!(
        state.instance.variables().unwrap()["contactStatus"],
        json!("sent")
    );
    let [attempt] = state.contacts.as_slice() else {
        panic!("one attempt: {:?}", state.contacts)
    };
    let mail = server.received();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["rcptTos"], json!(["ana.perez@example.com"]));
    assert_eq!(
        (
            attempt.status,
            attempt.provider_message_id.as_ref(),
            attempt.channel
        ),
        (
            DeliveryStatus::Sent,
            mail[0]["messageId"].as_str().map(str::to_string).as_ref(),
            Channel::Email
        )
    );
    assert!(
        mail[0]["messageId"]
            .as_str()
            .unwrap()
            .starts_with(&format!("<{}", attempt.key)),
        "the Message-ID is the attempt's key: {}",
        mail[0]["messageId"]
    );
    assert!(
        mail[0]["body"].as_str().unwrap().contains("L-1"),
        "{}",
        mail[0]["body"]
    );
    case.dispatcher.stop().await.unwrap();
}
on_both!(reminder_mailed, super::a_reminder_is_mailed_and_recorded);

async fn an_unknown_mailbox_is_caught_by_the_model(db: &DatabaseConnection) {
    let server = SmtpServer::start("starttls", true).await;
    let case = case_mailing(db, "nobody@example.com", smtp(&server)).await;
    case.settled(1).await;
    let state = case.state().await;
    // Caught by the INVALID_CONTACT boundary event: ended, not an incident, no result.
    assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
    assert!(state.instance.incidents.is_empty());
    assert!(
        !state
            .instance
            .variables()
            .unwrap()
            .contains_key("contactStatus")
    );
    let [attempt] = state.contacts.as_slice() else {
        panic!("one attempt: {:?}", state.contacts)
    };
    assert_eq!(attempt.status, DeliveryStatus::Failed);
    assert!(
        attempt.detail.as_deref().unwrap_or("").contains("5.1.1"),
        "{:?}",
        attempt.detail
    );
    assert!(server.received().is_empty());
    case.dispatcher.stop().await.unwrap();
}
on_both!(
    unknown_mailbox,
    super::an_unknown_mailbox_is_caught_by_the_model
);

async fn a_relay_that_is_down_ends_in_an_incident(db: &DatabaseConnection) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config: SmtpConfig = serde_json::from_value(json!({
        "host": "127.0.0.1", "port": port, "security": "none",
        "from": {"address": "cobros@acme.co"}, "timeoutSeconds": 2,
    }))
    .unwrap();
    let case = case_mailing(
        db,
        "ana.perez@example.com",
        SmtpChannel::new(&config).unwrap(),
    )
    .await;
    // retries="2": the first failure waits for its back-off, the second is the last.
    case.settled(1).await;
    assert!(
        case.state().await.instance.incidents.is_empty(),
        "retried first"
    );
    case.clock.advance(Duration::hours(1));
    case.settled(2).await;
    let row = orm::entities::cases::Entity::find_by_id(case.id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "incident");
    let state = case.state().await;
    let incident = state.instance.incidents.values().next().expect("incident");
    assert!(
        incident.message.contains("SMTP relay"),
        "{}",
        incident.message
    );
    assert!(!state.contacts.is_empty());
    assert!(
        state
            .contacts
            .iter()
            .all(|a| a.status == DeliveryStatus::Failed),
        "{:?}",
        state.contacts
    );
    case.dispatcher.stop().await.unwrap();
}
on_both!(relay_down, super::a_relay_that_is_down_ends_in_an_incident);
