//! The compliance gate in front of the built-in channels: a contact outside the law's
//! hours waits for the next lawful slot (the job deferred, not failed), a contact no time
//! can make lawful becomes an incident or, if the model asks, a BPMN error, and every
//! decision is journalled with its pack and reasons.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use collections::contact::{Channel, DeliveryStatus};
use collections::debtor::{
    ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind,
    Jurisdiction, Phone, Tz,
};

fn bogota_zone() -> Tz {
    "America/Bogota".parse().unwrap()
}
use contact::ContactJobs;
use contact::file::FileChannel;
use contact::templates::Templates;
use orm::entities::case_journal;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;
use services::access::{Principal, Role};
use services::clock::VirtualClock;
use services::desk::{Desk, NewCase};
use services::runtime::jobs::{self, JobHandlers, JobsHandle};
use services::runtime::{Runtime, RuntimeConfig};

macro_rules! on_both {
    ($($scenario:tt)*) => {
        orm::on_both!(#[actix::test] $($scenario)*);
    };
}

/// One SMS; a `CONTACT_BLOCKED` error, where the model catches it, ends elsewhere.
fn model(on_blocked: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:error id="Blocked" errorCode="CONTACT_BLOCKED" />
  <bpmn:process id="sms" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="remind" />
    <bpmn:serviceTask id="remind">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="contact.sms" retries="3" />
        <zeebe:taskHeaders>{on_blocked}</zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="blocked" attachedToRef="remind">
      <bpmn:errorEventDefinition errorRef="Blocked" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="remind" targetRef="sent" />
    <bpmn:sequenceFlow id="f3" sourceRef="blocked" targetRef="not_contacted" />
    <bpmn:endEvent id="sent" />
    <bpmn:endEvent id="not_contacted" />
  </bpmn:process>
</bpmn:definitions>
"#
    )
}

struct Case {
    rt: Runtime,
    clock: Arc<VirtualClock>,
    id: String,
    dispatcher: JobsHandle,
    outbox: std::path::PathBuf,
}

/// A Colombian debtor with a mobile (SMS consent when `consent`), under `country`'s law,
/// whose case sends one SMS at `at`.
async fn case(
    db: &DatabaseConnection,
    at: DateTime<Utc>,
    country: &str,
    consent: bool,
    on_blocked: &str,
) -> Case {
    orm::migrate(db).await.expect("migrate");
    let clock = Arc::new(VirtualClock::new(at));
    let rt = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    let desk = Desk::new(rt.clone());
    rt.deploy("sms.bpmn", &model(on_blocked), "supervisor:eva")
        .await
        .unwrap();
    let agent = Principal::new("alex", "acme", Role::Agent, None, vec![]).unwrap();
    let consents = if consent {
        vec![ConsentGrant {
            channel: Channel::Sms,
            given_at: Utc.with_ymd_and_hms(2025, 1, 10, 15, 0, 0).unwrap(),
            how: ConsentMethod::Written,
            given_by: "Ana Pérez".into(),
        }]
    } else {
        Vec::new()
    };
    desk.register_debtor(
        &agent,
        "D-1",
        vec![
            DebtorChange::Registered {
                kind: DebtorKind::Person,
                name: "Ana Pérez".into(),
                jurisdiction: Jurisdiction::new(country, None).unwrap(),
            },
            DebtorChange::TimeZoneSet {
                time_zone: Some(bogota_zone()),
            },
            DebtorChange::ContactAdded {
                owner: ContactOwner::Debtor,
                point: ContactPoint::Phone(Phone::parse("+57 310 1234567", None).unwrap()),
                consents,
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
                process_id: "sms".into(),
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
    let outbox = std::env::temp_dir().join(format!(
        "recobro-gate-{}-{}",
        std::process::id(),
        opened.case_id
    ));
    let handler = ContactJobs::new(desk.clone(), Templates::new(db.clone()))
        .with_sender(Channel::Sms, Arc::new(FileChannel::new(&outbox)));
    let dispatcher = jobs::spawn(
        rt.clone(),
        JobHandlers::default().with("contact.sms", handler),
        Default::default(),
    );
    Case {
        rt,
        clock,
        id: opened.case_id,
        dispatcher,
        outbox,
    }
}

impl Case {
    async fn settled(&self, n: u64) {
        let mut settled = self.dispatcher.settled.clone();
        settled.wait_for(|s| *s >= n).await.unwrap();
    }

    /// The gate's decisions journalled on the case, oldest first.
    async fn decisions(&self, db: &DatabaseConnection) -> Vec<Value> {
        case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(self.id.as_str()))
            .filter(case_journal::Column::EventType.eq("ContactGateChecked"))
            .order_by_asc(case_journal::Column::Seq)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| serde_json::from_str::<Value>(&e.payload).unwrap()["fact"]["decision"].clone())
            .collect()
    }

    async fn finish(self) {
        self.dispatcher.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(&self.outbox);
    }
}

fn bogota(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    bogota_zone()
        .with_ymd_and_hms(2026, 3, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn outside_the_hours_the_sms_waits_for_the_next_lawful_slot(db: &DatabaseConnection) {
    // Monday 2 March 2026, 5:30 in Bogotá: Ley 2300 allows from 7:00.
    let case = case(db, bogota(2, 5, 30), "CO", true, "").await;
    case.settled(1).await;
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert!(state.contacts.is_empty(), "nothing sent before 7:00");
    assert!(state.instance.incidents.is_empty(), "deferred, not failed");
    let first = case.decisions(db).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["blocks"][0]["rule"], "hours");
    assert_eq!(
        first[0]["blocks"][0]["reference"],
        "Ley 2300 de 2023 art. 3"
    );
    assert_eq!(first[0]["packs"][0]["id"], "co-ley-2300");
    assert_eq!(
        first[0]["next_slot"],
        serde_json::json!(bogota(2, 7, 0)),
        "{first:?}"
    );
    assert_eq!(first[0]["basis"]["zones"][0], "America/Bogota");
    // A minute early: still waiting.
    case.clock.advance(bogota(2, 6, 59) - bogota(2, 5, 30));
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert!(state.contacts.is_empty());
    case.clock.advance(Duration::minutes(1));
    case.settled(2).await;
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert_eq!(state.contacts.len(), 1);
    assert_eq!(state.contacts[0].status, DeliveryStatus::Written);
    assert_eq!(state.contacts[0].made_at, bogota(2, 7, 0));
    assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
    let decisions = case.decisions(db).await;
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[1]["blocks"], serde_json::json!([]));
    case.finish().await;
}
on_both!(
    deferred_to_the_slot,
    super::outside_the_hours_the_sms_waits_for_the_next_lawful_slot
);

async fn without_consent_no_slot_comes_and_a_person_decides(db: &DatabaseConnection) {
    let case = case(db, bogota(2, 10, 0), "CO", false, "").await;
    case.settled(1).await;
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert!(state.contacts.is_empty());
    let incident = state.instance.incidents.values().next().expect("incident");
    assert!(
        incident.message.contains("authorised-channels")
            && incident.message.contains("Ley 2300 de 2023 art. 2")
            && incident.message.contains("no lawful slot"),
        "{}",
        incident.message
    );
    case.finish().await;
}
on_both!(
    no_consent_incident,
    super::without_consent_no_slot_comes_and_a_person_decides
);

async fn a_model_that_catches_the_block_takes_its_other_path(db: &DatabaseConnection) {
    let header = r#"<zeebe:header key="onBlocked" value="error" />"#;
    // Sunday 1 March: never in Colombia.
    let case = case(db, bogota(1, 10, 0), "CO", true, header).await;
    case.settled(1).await;
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert!(state.contacts.is_empty());
    assert_eq!(state.instance.status, bpmn::engine::Status::Completed);
    let journal = case_journal::Entity::find()
        .filter(case_journal::Column::CaseId.eq(case.id.as_str()))
        .all(db)
        .await
        .unwrap();
    // The error the model caught, and no incident: the process ended on its other path.
    assert!(
        journal
            .iter()
            .any(|e| e.event_type != "ContactGateChecked" && e.payload.contains("CONTACT_BLOCKED")),
        "{journal:#?}"
    );
    assert!(state.instance.incidents.is_empty());
    case.finish().await;
}
on_both!(
    blocked_as_bpmn_error,
    super::a_model_that_catches_the_block_takes_its_other_path
);

async fn a_debtor_under_a_law_without_a_pack_is_not_contacted(db: &DatabaseConnection) {
    let case = case(db, bogota(2, 10, 0), "PE", true, "").await;
    case.settled(1).await;
    let state = case.rt.case(&case.id).await.unwrap().unwrap();
    assert!(state.contacts.is_empty());
    let incident = state.instance.incidents.values().next().expect("incident");
    assert!(
        incident.message.contains("no rule pack for the law of PE"),
        "{}",
        incident.message
    );
    let decisions = case.decisions(db).await;
    assert_eq!(decisions[0]["refusal"]["code"], "UNKNOWN_JURISDICTION");
    case.finish().await;
}
on_both!(
    unknown_jurisdiction,
    super::a_debtor_under_a_law_without_a_pack_is_not_contacted
);
