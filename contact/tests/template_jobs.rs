//! Saved templates at work: real contact jobs run by the runtime's job dispatcher with
//! the file channel. The attempt records the version it was sent with; a template that
//! names a variable the case lacks makes an incident, never a message with a hole.

use std::sync::Arc;

use bpmn::engine::Status;
use chrono::NaiveDate;
use collections::contact::{Channel, DeliveryStatus};
use contact::file::FileChannel;
use contact::{ContactJobs, NewTemplate, Templates};
use orm::entities::cases;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::json;
use services::access::Role;
use services::desk::NewCase;
use services::runtime::jobs::{self, JobHandlers};

use crate::support::{desk, on_both, principal, register_debtor};

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:process id="notice" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="Notice">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="contact.sms"/>
        <zeebe:taskHeaders><zeebe:header key="template" value="late-notice"/></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Notice"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Notice" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

async fn a_saved_template_is_sent_or_makes_an_incident(db: &DatabaseConnection) {
    let (desk, _clock) = desk(db).await;
    let sam = principal(Role::Supervisor);
    desk.deploy(&sam, "notice.bpmn", MODEL).await.unwrap();
    register_debtor(&desk, "D-1", "Ana Pérez", "es-CO").await;
    register_debtor(&desk, "D-2", "Luis Gómez", "es-CO").await;
    let open = |debtor: &str, reference: &str, vars: serde_json::Value| NewCase {
        process_id: "notice".into(),
        version: None,
        external_ref: Some(reference.into()),
        debtor_id: Some(debtor.into()),
        debtor_name: None,
        amount_due: Some(1_250_000.0),
        currency: Some("COP".into()),
        delinquent_since: NaiveDate::from_ymd_opt(2026, 1, 15),
        variables: vars.as_object().cloned().unwrap_or_default(),
        idempotency_key: None,
        accounts: Vec::new(),
    };
    let agent = principal(Role::Agent);
    let sent = desk
        .open_case(&agent, open("D-1", "LOAN-1", json!({"loanId": "L-77"})))
        .await
        .unwrap()
        .case_id;
    // This case's process has no loanId.
    let stuck = desk
        .open_case(&agent, open("D-2", "LOAN-2", json!({})))
        .await
        .unwrap()
        .case_id;
    let creditor = desk
        .runtime()
        .case(&sent)
        .await
        .unwrap()
        .unwrap()
        .ledger
        .unwrap()
        .creditor()
        .unwrap()
        .to_string();

    let templates = Templates::new(db.clone());
    let saved = templates
        .save(
            &sam,
            NewTemplate {
                creditor: creditor.clone(),
                channel: Channel::Sms,
                name: "late-notice".into(),
                language: "es".into(),
                subject: None,
                body: "Hola {{ recipient.name }}: su préstamo {{ vars.loanId }} ({{ case.reference }}) debe {{ balance }}, {{ days_past_due }} días de mora. {{ opt_out }}".into(),
            },
            desk.clock().now(),
        )
        .await
        .unwrap();
    assert_eq!(saved.version, 1);

    let outbox = tempfile::tempdir().unwrap();
    let handler = ContactJobs::new(desk.clone(), templates)
        .with_sender(Channel::Sms, Arc::new(FileChannel::new(outbox.path())));
    let dispatcher = jobs::spawn(
        desk.runtime().clone(),
        JobHandlers::default().with("contact.sms", handler),
        Default::default(),
    );
    let mut settled = dispatcher.settled.clone();
    settled.wait_for(|n| *n >= 2).await.unwrap();
    dispatcher.stop().await.unwrap();

    // Sent: the money written for a Colombian reader, the version recorded.
    let state = desk.runtime().case(&sent).await.unwrap().unwrap();
    assert_eq!(state.instance.status, Status::Completed);
    let attempt = &state.contacts[0];
    assert_eq!(attempt.status, DeliveryStatus::Written);
    let used = attempt.template.as_ref().unwrap();
    assert_eq!(
        (used.name.as_str(), used.language.as_str(), used.version),
        ("late-notice", "es", 1)
    );
    let file = FileChannel::new(outbox.path()).path_of("sms", &attempt.key);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(
        written["body"],
        "Hola Ana Pérez: su préstamo L-77 (LOAN-1) debe $ 1.250.000, 46 días de mora. Responda STOP para no recibir más mensajes."
    );

    // Stuck: an incident naming the variable, no attempt recorded, nothing written.
    let row = cases::Entity::find_by_id(stuck.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "incident");
    let state = desk.runtime().case(&stuck).await.unwrap().unwrap();
    let incident = state.instance.incidents.values().next().expect("incident");
    assert!(
        incident.message.contains("vars.loanId") && incident.message.contains("late-notice v1"),
        "{}",
        incident.message
    );
    assert!(state.contacts.is_empty());
    assert_eq!(
        std::fs::read_dir(outbox.path().join("sms"))
            .unwrap()
            .count(),
        1
    );
}
on_both!(
    saved_template_jobs,
    a_saved_template_is_sent_or_makes_an_incident
);
