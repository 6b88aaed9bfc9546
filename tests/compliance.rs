//! `recobro compliance replay`: contacts recorded on a case (here bypassing the gate, as
//! an import or a bug might) are asked again under the rules of their day; a lawful
//! history exits 0, one contact too many exits 1 and is named with its rule.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use collections::contact::{Channel, ContactAttempt, DeliveryStatus};
use collections::debtor::{
    ConsentGrant, ConsentMethod, ContactOwner, ContactPoint, DebtorChange, DebtorKind,
    Jurisdiction, Phone,
};
use services::access::{Principal, Role};
use services::case::{CaseFact, ContactFact};
use services::clock::{Clock, VirtualClock};
use services::desk::{Desk, NewCase};
use services::runtime::{Runtime, RuntimeConfig};

use crate::serve::{TempDir, recobro};

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="call" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="Call"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Call"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Call" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// Records an SMS as made now, without asking the gate.
async fn sms_made(rt: &Runtime, clock: &VirtualClock, case: &str, id: u32) {
    let now = clock.now();
    let attempt = ContactAttempt {
        id,
        key: format!("import-{id}"),
        channel: Channel::Sms,
        destination: "+573101234567".into(),
        recipient: "debtor".into(),
        template: None,
        provider: "file".into(),
        provider_message_id: None,
        status: DeliveryStatus::Written,
        detail: None,
        outcome: None,
        made_at: now,
        updated_at: now,
    };
    rt.record_fact(
        case,
        CaseFact::Contact(ContactFact::AttemptMade { attempt }),
        "import",
        Some(format!("import-{id}")),
    )
    .await
    .unwrap();
}

fn replay(data: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out = recobro()
        .args(["compliance", "replay", "--data-dir", data])
        .args(extra)
        .output()
        .expect("run recobro compliance replay");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        out.status.code(),
        format!("{}{stderr}", String::from_utf8_lossy(&out.stdout)),
    )
}

#[actix_web::test]
async fn replay_names_the_contact_the_law_did_not_allow() {
    let tmp = TempDir::new();
    let data = tmp.0.to_str().unwrap().to_owned();
    let url = format!("sqlite://{}?mode=rwc", tmp.0.join("recobro.db").display());
    let db = orm::connect(&url).await.unwrap();
    orm::migrate(&db).await.unwrap();
    // Monday 2 March 2026, 10:00 in Bogotá.
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 15, 0, 0).unwrap(),
    ));
    let rt = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
    let desk = Desk::new(rt.clone());
    rt.deploy("call.bpmn", MODEL, "supervisor:eva")
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
                point: ContactPoint::Phone(Phone::parse("+57 310 1234567", None).unwrap()),
                consents: vec![ConsentGrant {
                    channel: Channel::Sms,
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
    let case = desk
        .open_case(
            &agent,
            NewCase {
                process_id: "call".into(),
                version: None,
                external_ref: Some("L-1".into()),
                debtor_id: Some("D-1".into()),
                debtor_name: Some("Ana Pérez".into()),
                amount_due: None,
                currency: None,
                delinquent_since: None,
                variables: Default::default(),
                idempotency_key: None,
                accounts: Vec::new(),
            },
        )
        .await
        .unwrap()
        .case_id;
    sms_made(&rt, &clock, &case, 1).await;

    let (code, out) = replay(&data, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "replayed 1 contacts on 1 cases: ok\n");

    // Half an hour later, a second SMS the same day: Ley 2300 allows one.
    clock.advance(Duration::minutes(30));
    sms_made(&rt, &clock, &case, 2).await;
    // The next day's is lawful again.
    clock.advance(Duration::days(1));
    sms_made(&rt, &clock, &case, 3).await;
    // Then she moves to Madrid: Spain has no once-a-day rule, but the second SMS was
    // sent to a debtor under Colombian law, and is judged so.
    clock.advance(Duration::days(1));
    desk.change_debtor(
        &agent,
        "D-1",
        vec![
            DebtorChange::JurisdictionSet {
                jurisdiction: Jurisdiction::new("ES", None).unwrap(),
            },
            DebtorChange::TimeZoneSet {
                time_zone: Some("Europe/Madrid".parse().unwrap()),
            },
        ],
        None,
    )
    .await
    .unwrap();
    db.close().await.unwrap();

    let (code, out) = replay(&data, &[]);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with(&format!(
            "violation: case {case} (acme) attempt 2 Sms at 2026-03-02 15:30:00 UTC"
        )) && lines[0].contains("once-a-day (Ley 2300 de 2023 art. 3)")
            && lines[0].contains("next lawful slot 2026-03-03 12:00:00 UTC"),
        "{out}"
    );
    assert_eq!(lines[1], "replayed 3 contacts on 1 cases: 1 violations");
    let (code, out) = replay(&data, &["--case", &case]);
    assert_eq!(code, Some(1), "{out}");
    let (code, out) = replay(&data, &["--case", "no-such-case"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("case no-such-case does not exist"), "{out}");
}
