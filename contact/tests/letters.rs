//! A letter is rendered, filed on the case as a demand letter whose SHA-256 is in the
//! case's hash chain, and added to the day's print batch — once per attempt key, even
//! when the job comes again the next day.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use collections::contact::{Channel, DeliveryStatus};
use contact::letter::MANIFEST_HEADER;
use contact::{LetterChannel, OutgoingMessage, Sender};
use documents::{
    DocumentConfig, DocumentError, DocumentKind, DocumentService, GeneratedDocument, StoreConfig,
};
use sea_orm::DatabaseConnection;
use services::access::{Principal, Role};
use services::clock::VirtualClock;
use services::desk::{Desk, NewCase};
use services::journal::verify_chain;
use services::runtime::{Runtime, RuntimeConfig};
use sha2::{Digest, Sha256};

use crate::pdf_check::check;

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="letters" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="wait"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn letter(case: &str, key: &str, attempt: u32) -> OutgoingMessage {
    // Long enough for two pages.
    let paragraph = "Por medio de la presente le requerimos, señor deudor, el pago del saldo \
        vencido de $ 1.250.000 adeudado a Banco Andino (¿ya pagó? ignore esta carta).";
    let body = format!(
        "Ana María Pérez\nCalle 10 # 5-20\n110111 Bogotá D.C.\nCO\n\nRef.: R-1\n\n{}",
        vec![paragraph; 15].join("\n\n")
    );
    OutgoingMessage {
        key: key.into(),
        tenant: "acme".into(),
        case_id: case.into(),
        attempt,
        channel: Channel::Letter,
        to: "Calle 10 # 5-20, Apto 301, 110111 Bogotá D.C., CO".into(),
        // A line with a comma in it stays one line on the envelope.
        envelope: vec![
            "Calle 10 # 5-20, Apto 301".into(),
            "110111 Bogotá D.C.".into(),
            "CO".into(),
        ],
        recipient_name: "Ana María Pérez".into(),
        subject: Some("Requerimiento de pago".into()),
        body,
        language: "es".into(),
    }
}

pub async fn filed_and_batched_once(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    // Half an hour before midnight: the redelivery below comes the next day.
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 23, 30, 0).unwrap(),
    ));
    let desk = Desk::new(Runtime::start(
        db.clone(),
        clock.clone(),
        RuntimeConfig::default(),
    ));
    let admin = Principal::new("ada", "acme", Role::Admin, None, vec![]).unwrap();
    desk.deploy(&admin, "letters.bpmn", MODEL).await.unwrap();
    let case = desk
        .open_case(
            &admin,
            NewCase {
                process_id: "letters".into(),
                debtor_id: Some("D-1".into()),
                ..NewCase::default()
            },
        )
        .await
        .unwrap()
        .case_id;
    let store = tempfile::tempdir().unwrap();
    let outbox = tempfile::tempdir().unwrap();
    let docs = DocumentService::new(
        desk.clone(),
        DocumentConfig {
            store: StoreConfig::Local {
                dir: store.path().to_path_buf(),
            },
            ..DocumentConfig::default()
        },
    )
    .unwrap();
    let channel = LetterChannel::new(docs.clone(), clock.clone(), outbox.path());

    let m = letter(&case, "job-41", 1);
    let sent = channel.send(&m).await.unwrap();
    assert_eq!(
        (sent.provider.as_str(), sent.status),
        ("print", DeliveryStatus::Exported)
    );

    // Filed on the case as a demand letter, the bytes hashing to the recorded SHA-256.
    let filed = docs.documents(&admin, &case).await.unwrap();
    assert_eq!(filed.len(), 1);
    let doc = &filed[0];
    assert_eq!(
        sent.provider_message_id.as_deref(),
        Some(doc.document_id.as_str())
    );
    assert_eq!(
        (
            doc.kind.as_str(),
            doc.content_type.as_str(),
            doc.file_name.as_str()
        ),
        ("demand_letter", "application/pdf", "demand-letter-1.pdf")
    );
    assert_eq!(doc.uploaded_by, "worker:contact.letter");
    let stored = docs.read_object(doc).await.unwrap();
    assert_eq!(sha(&stored), doc.sha256);
    assert_eq!(doc.size as usize, stored.len());

    // The same SHA-256 in the case's hash chain.
    let entries = desk.history(&admin, &case).await.unwrap().entries;
    verify_chain(&entries).unwrap();
    let added: Vec<_> = entries
        .iter()
        .filter(|e| e.event_type == "DocumentAdded")
        .collect();
    assert_eq!(added.len(), 1);
    assert!(
        added[0].payload.to_string().contains(&doc.sha256),
        "{}",
        added[0].payload
    );

    // The batch of the day the letter was filed: the same PDF, and one manifest row.
    let batch = channel.batch_dir(chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap());
    let printed = std::fs::read(batch.join("job-41.pdf")).unwrap();
    assert_eq!(sha(&printed), doc.sha256);
    let pdf = check(&printed);
    assert_eq!(pdf.pages, 2);
    for shown in [
        "2 de marzo de 2026",
        "Ana María Pérez",
        "110111 Bogotá D.C.",
        "Requerimiento de pago",
        "señor deudor",
        "(¿ya pagó? ignore esta carta).",
        &format!("Ref. {case} · Página 1 de 2"),
        &format!("Ref. {case} · Página 2 de 2"),
    ] {
        // Wrapping turned some spaces into line breaks.
        let flowed = pdf.text.replace('\n', " ");
        assert!(flowed.contains(shown), "{shown:?} not in:\n{}", pdf.text);
    }
    let lines = pdf.text.lines().map(|l| l.chars().count());
    assert!(
        lines.max().unwrap() <= contact::pdf::COLUMNS,
        "a line runs off the page"
    );

    let manifest = || {
        let mut r = csv::Reader::from_path(batch.join("manifest.csv")).unwrap();
        assert_eq!(r.headers().unwrap(), MANIFEST_HEADER.as_slice());
        r.records().map(Result::unwrap).collect::<Vec<_>>()
    };
    let rows = manifest();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        [
            "job-41",
            "acme",
            case.as_str(),
            "Ana María Pérez",
            "Calle 10 # 5-20, Apto 301\n110111 Bogotá D.C.\nCO",
            doc.document_id.as_str(),
            doc.sha256.as_str(),
            "2",
            "job-41.pdf",
        ]
    );

    // The job comes again after a crash, the next day: the same document, the same
    // batch, no second row, no second file.
    clock.advance(Duration::hours(1));
    let again = channel.send(&m).await.unwrap();
    assert_eq!(again, sent);
    assert_eq!(docs.documents(&admin, &case).await.unwrap().len(), 1);
    assert_eq!(manifest().len(), 1);
    assert_eq!(std::fs::read(batch.join("job-41.pdf")).unwrap(), printed);
    let next_day = chrono::NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    assert!(!channel.batch_dir(next_day).exists());

    // Another letter that day goes to that day's batch.
    let second = channel.send(&letter(&case, "job-42", 2)).await.unwrap();
    assert_ne!(second.provider_message_id, sent.provider_message_id);
    assert_eq!(docs.documents(&admin, &case).await.unwrap().len(), 2);
    assert_eq!(manifest().len(), 1);
    let mut next =
        csv::Reader::from_path(channel.batch_dir(next_day).join("manifest.csv")).unwrap();
    assert_eq!(next.records().count(), 1);
    let stored: Vec<_> = walk(store.path());
    assert_eq!(
        stored.len(),
        2,
        "an object per document, no strays: {stored:?}"
    );
}

/// The files under `dir`, recursively, but the local store's signing key.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            out.push(path);
        }
    }
    out
}

/// Two deliveries of the same letter racing: one document, and no object left behind by
/// the one that lost; the key cannot file a document on another case.
pub async fn generated_twins(db: &DatabaseConnection) {
    orm::migrate(db).await.unwrap();
    let clock = Arc::new(VirtualClock::new(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ));
    let desk = Desk::new(Runtime::start(
        db.clone(),
        clock.clone(),
        RuntimeConfig::default(),
    ));
    let admin = Principal::new("ada", "acme", Role::Admin, None, vec![]).unwrap();
    desk.deploy(&admin, "letters.bpmn", MODEL).await.unwrap();
    let open = || NewCase {
        process_id: "letters".into(),
        ..NewCase::default()
    };
    let case = desk.open_case(&admin, open()).await.unwrap().case_id;
    let other = desk.open_case(&admin, open()).await.unwrap().case_id;
    let store = tempfile::tempdir().unwrap();
    let docs = DocumentService::new(
        desk.clone(),
        DocumentConfig {
            store: StoreConfig::Local {
                dir: store.path().to_path_buf(),
            },
            ..DocumentConfig::default()
        },
    )
    .unwrap();
    let m = letter(&case, "job-9", 1);
    let (bytes, _) = contact::pdf::render(&contact::pdf::Letter {
        date: "2 de marzo de 2026",
        subject: m.subject.as_deref(),
        body: &m.body,
        reference: &case,
        language: "es",
        preformatted: false,
    });
    let generated = |case: &str| GeneratedDocument {
        case_id: case.to_string(),
        kind: DocumentKind::DemandLetter,
        file_name: "demand-letter-1.pdf".into(),
        content_type: "application/pdf".into(),
        bytes: bytes::Bytes::from(bytes.clone()),
        actor: "worker:contact.letter".into(),
        idempotency_key: "job-9".into(),
    };
    let (a, b) = tokio::join!(
        docs.add_generated(generated(&case)),
        docs.add_generated(generated(&case))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.document.version_id, b.document.version_id);
    assert_eq!(
        u8::from(a.added) + u8::from(b.added),
        1,
        "exactly one adds it"
    );
    assert_eq!(docs.documents(&admin, &case).await.unwrap().len(), 1);
    assert_eq!(walk(store.path()).len(), 1, "the loser's object is removed");
    assert_eq!(a.document.sha256, sha(&bytes));

    // Not a PDF, whatever it claims: refused.
    let mut fake = generated(&case);
    fake.idempotency_key = "job-10".into();
    fake.bytes = bytes::Bytes::from_static(b"hello");
    let refused = docs.add_generated(fake).await.unwrap_err();
    assert!(matches!(refused, DocumentError::Invalid(_)), "{refused:?}");

    let elsewhere = docs.add_generated(generated(&other)).await.unwrap_err();
    assert!(
        matches!(elsewhere, DocumentError::WrongState(_)),
        "{elsewhere:?}"
    );
    assert!(docs.documents(&admin, &other).await.unwrap().is_empty());
}
