//! The document scenarios; each runs on SQLite and PostgreSQL (see `mod.rs`).

use std::sync::Arc;

use bytes::Bytes;
use chrono::{Duration, Utc};
use documents::{
    DocumentConfig, DocumentKind, DocumentService, ErasureScope, LocalGrant, NewDocument,
    StoreConfig,
};
use futures_util::stream;
use orm::entities::{case_journal, document_uploads, documents as document_rows};
use partners::{NewPartner, Partners};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use services::access::{Principal, Role};
use services::clock::VirtualClock;
use services::desk::{Desk, NewCase};
use services::error_code::ApiError;
use services::journal::verify_chain;
use services::runtime::{Runtime, RuntimeConfig};
use sha2::{Digest, Sha256};

use super::http;
use super::s3::S3Server;

const MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:message id="m" name="JudgmentUploaded"/>
  <bpmn:process id="litigation" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="judgment"><bpmn:messageEventDefinition messageRef="m"/></bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="judgment"/>
    <bpmn:sequenceFlow id="f1" sourceRef="judgment" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

const MIB: usize = 1024 * 1024;

/// A PDF as far as content sniffing goes, of `n` bytes.
pub(super) fn pdf(n: usize, seed: u8) -> Vec<u8> {
    let mut v = b"%PDF-1.7\n".to_vec();
    v.extend((0..n.saturating_sub(v.len())).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    v
}

pub(super) fn chunks(
    data: Vec<u8>,
    size: usize,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> {
    let parts: Vec<_> = data
        .chunks(size)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

pub(super) fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub(super) fn who(role: Role, partner: Option<&str>) -> Principal {
    Principal::new(
        format!("{role}-1"),
        "acme",
        role,
        partner.map(str::to_string),
        vec![],
    )
    .unwrap()
}

pub(super) struct Fx {
    pub(super) db: DatabaseConnection,
    pub(super) clock: Arc<VirtualClock>,
    pub(super) docs: DocumentService,
    pub(super) admin: Principal,
    /// Placed with law firm `lawco`; debtor `D1`.
    pub(super) case: String,
    /// Not placed with anyone.
    pub(super) other_case: String,
    pub(super) lawco: Principal,
    pub(super) rival: Principal,
}

impl Fx {
    pub(super) async fn new(
        db: &DatabaseConnection,
        store: StoreConfig,
        tune: impl FnOnce(&mut DocumentConfig),
    ) -> Fx {
        // An hour behind real time: S3 checks presigned URLs against its own clock, so
        // URLs signed now are already expired there; `clock.advance_to(Utc::now())`
        // makes them valid.
        let clock = Arc::new(VirtualClock::new(Utc::now() - Duration::hours(1)));
        orm::migrate(db).await.unwrap();
        let rt = Runtime::start(db.clone(), clock.clone(), RuntimeConfig::default());
        let desk = Desk::new(rt);
        let admin = who(Role::Admin, None);
        desk.deploy(&admin, "litigation.bpmn", MODEL).await.unwrap();
        let open = |debtor: &str| NewCase {
            process_id: "litigation".into(),
            debtor_id: Some(debtor.into()),
            ..NewCase::default()
        };
        let case = desk.open_case(&admin, open("D1")).await.unwrap().case_id;
        let other_case = desk.open_case(&admin, open("D2")).await.unwrap().case_id;
        let partner = |name: &str| NewPartner {
            name: name.into(),
            kind: "law_firm".into(),
        };
        let partners = Partners::new(desk.clone());
        let lawco = partners.register(&admin, partner("LawCo")).await.unwrap();
        let rival = partners.register(&admin, partner("Rival")).await.unwrap();
        partners
            .place_case(&admin, &case, Some(&lawco.partner_id), None, None, None)
            .await
            .unwrap();
        let mut config = DocumentConfig {
            store,
            ..DocumentConfig::default()
        };
        tune(&mut config);
        let docs = DocumentService::new(desk, config).unwrap();
        Fx {
            db: db.clone(),
            clock,
            docs,
            admin,
            case,
            other_case,
            lawco: who(Role::Partner, Some(&lawco.partner_id)),
            rival: who(Role::Partner, Some(&rival.partner_id)),
        }
    }

    async fn s3(
        db: &DatabaseConnection,
        s3: &S3Server,
        tune: impl FnOnce(&mut DocumentConfig),
    ) -> Fx {
        Fx::new(db, StoreConfig::S3(s3.config()), tune).await
    }

    pub(super) fn new_doc(&self, kind: DocumentKind, name: &str) -> NewDocument {
        NewDocument {
            case_id: self.case.clone(),
            kind,
            file_name: name.into(),
            retention_class: None,
            replaces: None,
        }
    }

    pub(super) async fn count_docs(&self) -> u64 {
        document_rows::Entity::find().count(&self.db).await.unwrap()
    }

    pub(super) async fn journal_types(&self, case: &str) -> Vec<String> {
        case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.eq(case))
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }
}

pub async fn streamed_and_multipart(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |c| {
        c.multipart_threshold = 5 * MIB;
        c.part_size = 5 * MIB;
    })
    .await;
    // Small: one PutObject.
    let small = pdf(200_000, 1);
    let doc = fx
        .docs
        .upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::CourtFiling, "../filing.pdf"),
            chunks(small.clone(), 7000),
        )
        .await
        .unwrap();
    assert_eq!(doc.file_name, "filing.pdf");
    assert_eq!(doc.content_type, "application/pdf");
    assert_eq!(doc.sha256, sha(&small));
    assert_eq!(doc.retention_class, "statutory");
    assert_eq!(
        std::fs::read(s3.object_path(&doc.object_key)).unwrap(),
        small
    );
    // Large: multipart (12 MiB in 5 MiB parts), then a second version of it.
    let big = pdf(12 * MIB + 123, 2);
    let mut new = fx.new_doc(DocumentKind::CourtFiling, "filing-v2.pdf");
    new.replaces = Some(doc.document_id.clone());
    let v2 = fx
        .docs
        .upload(&fx.admin, new, chunks(big.clone(), 64 * 1024))
        .await
        .unwrap();
    assert_eq!((v2.version, v2.size), (2, big.len() as i64));
    assert_eq!(v2.sha256, sha(&big));
    let versions = fx.docs.versions(&fx.admin, &doc.document_id).await.unwrap();
    assert_eq!(versions.len(), 2);
    // Download: a presigned GET returns the bytes.
    fx.clock.advance_to(Utc::now());
    let dl = fx
        .docs
        .download(&fx.lawco, &doc.document_id, None)
        .await
        .unwrap();
    assert_eq!(dl.document.version, 2);
    let r = http::send("GET", &dl.request.url, &dl.request.headers, b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(sha(&r.body), sha(&big));
    // Journalled, chained.
    let types = fx.journal_types(&fx.case).await;
    assert_eq!(types.iter().filter(|t| *t == "DocumentAdded").count(), 2);
    let entries = fx.docs_journal(&fx.case).await;
    assert!(verify_chain(&entries).is_ok());
    assert!(
        fx.docs
            .verify(&fx.admin, Some(&fx.case))
            .await
            .unwrap()
            .is_ok()
    );
    // A legal hold covers later versions too.
    fx.docs
        .set_legal_hold(&fx.admin, &doc.document_id, "litigation")
        .await
        .unwrap();
    let mut new = fx.new_doc(DocumentKind::CourtFiling, "filing-v3.pdf");
    new.replaces = Some(doc.document_id.clone());
    let v3 = fx
        .docs
        .upload(&fx.admin, new, chunks(pdf(1000, 3), 100))
        .await
        .unwrap();
    assert!(v3.legal_hold && v3.version == 3);
}

impl Fx {
    /// The case history as an auditor reads it (through the desk).
    pub(super) async fn docs_journal(&self, case: &str) -> Vec<services::journal::Entry> {
        let desk = Desk::new(Runtime::start(
            self.db.clone(),
            self.clock.clone(),
            RuntimeConfig::default(),
        ));
        desk.history(&self.admin, case).await.unwrap().entries
    }
}

pub async fn presigned(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |_| {}).await;
    let data = pdf(300_000, 3);
    // Expired: signed for 15 minutes an hour ago.
    let old = fx
        .docs
        .request_upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Other, "old.pdf"),
            data.len() as u64,
            &sha(&data),
        )
        .await
        .unwrap();
    let r = http::send("PUT", &old.request.url, &old.request.headers, &data).await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    assert!(String::from_utf8_lossy(&r.body).contains("expired"));
    fx.clock.advance_to(Utc::now());
    let ticket = fx
        .docs
        .request_upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Judgment, "judgment.pdf"),
            data.len() as u64,
            &sha(&data),
        )
        .await
        .unwrap();
    // Tampered: another key under the same signature.
    let tampered = ticket.request.url.replace("/v1-", "/v9-");
    let r = http::send("PUT", &tampered, &ticket.request.headers, &data).await;
    assert_eq!(r.status, 403, "{}", String::from_utf8_lossy(&r.body));
    // Different bytes than declared: the store refuses them.
    let other = pdf(300_000, 4);
    let r = http::send("PUT", &ticket.request.url, &ticket.request.headers, &other).await;
    assert!(r.status >= 400, "{}", r.status);
    // s3s-fs answers BadDigest but leaves the bytes in place (AWS keeps nothing): the
    // confirmation re-hashes, refuses and removes them, and the upload is over.
    let code = fx
        .docs
        .confirm_upload(&fx.lawco, &ticket.upload_id)
        .await
        .unwrap_err()
        .code()
        .as_str();
    assert!(
        matches!(code, "OBJECT_MISSING" | "CHECKSUM_MISMATCH"),
        "{code}"
    );
    assert_eq!(fx.docs.store().list().await.unwrap().len(), 0);
    let ticket = fx
        .docs
        .request_upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Judgment, "judgment.pdf"),
            data.len() as u64,
            &sha(&data),
        )
        .await
        .unwrap();
    assert_eq!(
        fx.docs
            .confirm_upload(&fx.lawco, &ticket.upload_id)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "OBJECT_MISSING"
    );
    let r = http::send("PUT", &ticket.request.url, &ticket.request.headers, &data).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // Another partner cannot confirm it.
    assert_eq!(
        fx.docs
            .confirm_upload(&fx.rival, &ticket.upload_id)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "UPLOAD_NOT_FOUND"
    );
    let doc = fx
        .docs
        .confirm_upload(&fx.lawco, &ticket.upload_id)
        .await
        .unwrap();
    assert_eq!(doc.sha256, sha(&data));
    // The judgment moved the process on.
    let case = orm::entities::cases::Entity::find_by_id(fx.case.clone())
        .one(&fx.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.status, "completed", "JudgmentUploaded correlated");

    // Checksum mismatch found at confirmation: the object written behind our back.
    let ticket2 = fx
        .docs
        .request_upload(
            &fx.admin,
            fx.new_doc_other(DocumentKind::Other),
            data.len() as u64,
            &sha(&data),
        )
        .await
        .unwrap();
    let key = document_uploads::Entity::find_by_id(ticket2.upload_id.clone())
        .one(&fx.db)
        .await
        .unwrap()
        .unwrap()
        .object_key;
    let mut w = fx.docs.store().writer(&key).await.unwrap();
    let wrong = pdf(300_000, 9);
    w.write(Bytes::from(wrong.clone())).await.unwrap();
    w.finish(&Sha256::digest(&wrong).into()).await.unwrap();
    assert_eq!(
        fx.docs
            .confirm_upload(&fx.admin, &ticket2.upload_id)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "CHECKSUM_MISMATCH"
    );
    assert!(!s3.object_path(&key).exists(), "mismatching object removed");
    assert_eq!(fx.count_docs().await, 1);
}

impl Fx {
    fn new_doc_other(&self, kind: DocumentKind) -> NewDocument {
        NewDocument {
            case_id: self.other_case.clone(),
            kind,
            file_name: "note.pdf".into(),
            retention_class: None,
            replaces: None,
        }
    }
}

pub async fn partner_isolation(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |_| {}).await;
    let doc = fx
        .docs
        .upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::CourtFiling, "f.pdf"),
            chunks(pdf(5000, 1), 999),
        )
        .await
        .unwrap();
    // The rival firm: same answers as for things that do not exist.
    let e = fx
        .docs
        .upload(
            &fx.rival,
            fx.new_doc(DocumentKind::Other, "x.pdf"),
            chunks(pdf(10, 1), 10),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "CASE_NOT_FOUND");
    let mut missing = fx.new_doc(DocumentKind::Other, "x.pdf");
    missing.case_id = "no-such-case".into();
    let e2 = fx
        .docs
        .upload(&fx.rival, missing, chunks(pdf(10, 1), 10))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string().replace(&fx.case, "ID"),
        e2.to_string().replace("no-such-case", "ID")
    );
    for r in [
        fx.docs
            .download(&fx.rival, &doc.document_id, None)
            .await
            .map(|_| ()),
        fx.docs
            .document(&fx.rival, &doc.document_id, None)
            .await
            .map(|_| ()),
        fx.docs
            .versions(&fx.rival, &doc.document_id)
            .await
            .map(|_| ()),
        fx.docs
            .download(&fx.rival, "no-such-doc", None)
            .await
            .map(|_| ()),
    ] {
        assert_eq!(r.unwrap_err().code().as_str(), "DOCUMENT_NOT_FOUND");
    }
    assert_eq!(
        fx.docs
            .documents(&fx.rival, &fx.case)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "CASE_NOT_FOUND"
    );
    assert_eq!(
        fx.docs
            .documents(&fx.lawco, &fx.other_case)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "CASE_NOT_FOUND"
    );
    // The auditor reads and downloads, changes nothing, and sees who accessed what.
    let auditor = who(Role::Auditor, None);
    let e = fx
        .docs
        .upload(
            &auditor,
            fx.new_doc(DocumentKind::Other, "x.pdf"),
            chunks(pdf(10, 1), 10),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "FORBIDDEN");
    assert_eq!(
        fx.docs
            .set_legal_hold(&auditor, &doc.document_id, "x")
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "FORBIDDEN"
    );
    fx.docs
        .download(&fx.lawco, &doc.document_id, None)
        .await
        .unwrap();
    fx.docs
        .download(&auditor, &doc.document_id, None)
        .await
        .unwrap();
    assert_eq!(
        fx.docs
            .access_log(&fx.lawco, None, None, 10)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "FORBIDDEN"
    );
    let log = fx
        .docs
        .access_log(&auditor, Some(&fx.case), Some(&doc.document_id), 10)
        .await
        .unwrap();
    let actors: Vec<_> = log.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(
        actors,
        vec![auditor.acting_identity(), fx.lawco.acting_identity()]
    );
    assert!(
        log.iter()
            .all(|e| e.action == "download" && e.version_id == doc.version_id)
    );
}

pub async fn server_stopped(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |c| {
        c.multipart_threshold = 5 * MIB;
        c.part_size = 5 * MIB;
    })
    .await;
    let data = pdf(16 * MIB, 5);
    let server = &s3;
    let body = stream::iter(
        data.chunks(MIB)
            .map(Bytes::copy_from_slice)
            .enumerate()
            .collect::<Vec<_>>(),
    )
    .then(move |(i, c)| async move {
        if i == 7 {
            // One part is stored; the server dies before the next.
            server.stop();
        }
        Ok::<_, std::io::Error>(c)
    });
    let started = std::time::Instant::now();
    let e = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::CallRecording, "call.pdf"),
            body,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "STORE_UNAVAILABLE", "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!(fx.count_docs().await, 0);
    assert!(
        !fx.journal_types(&fx.case)
            .await
            .iter()
            .any(|t| t == "DocumentAdded")
    );
}

use futures_util::StreamExt as _;

pub async fn limits(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |c| c.max_size = 100_000).await;
    let e = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "big.pdf"),
            chunks(pdf(100_001, 1), 4096),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "DOCUMENT_TOO_LARGE");
    let mut exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00".to_vec();
    exe.resize(5000, 0);
    let e = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "invoice.pdf"),
            chunks(exe, 1000),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "DOCUMENT_TYPE_NOT_ALLOWED");
    let e = fx
        .docs
        .request_upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "big.pdf"),
            100_001,
            &sha(b"x"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "DOCUMENT_TOO_LARGE");
    let e = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "../.."),
            chunks(pdf(10, 1), 10),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "BAD_INPUT");
    // Plain text is fine.
    let doc = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "notes.txt"),
            chunks(b"called, no answer".to_vec(), 5),
        )
        .await
        .unwrap();
    assert_eq!(doc.content_type, "text/plain");
    assert_eq!(fx.count_docs().await, 1);
    assert_eq!(
        fx.docs.store().list().await.unwrap().len(),
        1,
        "nothing left behind"
    );
    assert_eq!(
        document_uploads::Entity::find()
            .count(&fx.db)
            .await
            .unwrap(),
        0
    );
}

pub async fn retention(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |_| {}).await;
    let letter = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::DemandLetter, "letter.pdf"),
            chunks(pdf(3000, 1), 1000),
        )
        .await
        .unwrap();
    let judgment = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Judgment, "j.pdf"),
            chunks(pdf(3000, 2), 1000),
        )
        .await
        .unwrap();
    let call = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::CallRecording, "call.pdf"),
            chunks(pdf(3000, 3), 1000),
        )
        .await
        .unwrap();
    let id = &letter.document_id;
    assert_eq!(
        fx.docs
            .soft_delete(&fx.admin, id, 1)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "RETENTION_ACTIVE"
    );
    assert_eq!(
        fx.docs
            .soft_delete(&who(Role::Supervisor, None), id, 1)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "FORBIDDEN"
    );
    fx.clock.advance(Duration::days(7 * 365));
    fx.docs
        .set_legal_hold(&who(Role::Supervisor, None), id, "dispute")
        .await
        .unwrap();
    assert_eq!(
        fx.docs
            .soft_delete(&fx.admin, id, 1)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "LEGAL_HOLD"
    );
    fx.docs
        .clear_legal_hold(&fx.admin, id, "settled")
        .await
        .unwrap();
    assert_eq!(
        fx.docs
            .purge(&fx.admin, id, 1)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "DOCUMENT_STATE"
    );
    fx.docs.soft_delete(&fx.admin, id, 1).await.unwrap();
    assert_eq!(
        fx.docs
            .download(&fx.admin, id, None)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "DOCUMENT_NOT_FOUND"
    );
    assert!(
        s3.object_path(&letter.object_key).exists(),
        "soft delete keeps the object"
    );
    fx.docs.purge(&fx.admin, id, 1).await.unwrap();
    assert!(!s3.object_path(&letter.object_key).exists());
    // Erasure on request: the judgment is kept by law (10 years), the recording goes.
    fx.docs
        .set_legal_hold(&fx.admin, &call.document_id, "x")
        .await
        .unwrap();
    let report = fx
        .docs
        .erase(&fx.admin, ErasureScope::Debtor("D1".into()), "GDPR art. 17")
        .await
        .unwrap();
    assert_eq!(report.erased, Vec::<String>::new());
    fx.docs
        .clear_legal_hold(&fx.admin, &call.document_id, "x")
        .await
        .unwrap();
    let report = fx
        .docs
        .erase(&fx.admin, ErasureScope::Debtor("D1".into()), "GDPR art. 17")
        .await
        .unwrap();
    assert_eq!(report.erased, vec![call.version_id.clone()]);
    assert_eq!(
        report.kept,
        vec![(judgment.version_id.clone(), "RETENTION_DUTY")]
    );
    assert!(!s3.object_path(&call.object_key).exists());
    let types = fx.journal_types(&fx.case).await;
    for t in [
        "DocumentLegalHoldSet",
        "DocumentLegalHoldCleared",
        "DocumentSoftDeleted",
        "DocumentPurged",
        "DocumentErased",
    ] {
        assert!(types.iter().any(|x| x == t), "{t} journalled");
    }
    assert!(verify_chain(&fx.docs_journal(&fx.case).await).is_ok());
}

pub async fn verify(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |_| {}).await;
    let mut docs = Vec::new();
    for i in 0..3 {
        let d = fx
            .docs
            .upload(
                &fx.admin,
                fx.new_doc(DocumentKind::Other, "a.pdf"),
                chunks(pdf(2000, i), 700),
            )
            .await
            .unwrap();
        docs.push(d);
    }
    assert!(fx.docs.verify_all(None, None).await.unwrap().is_ok());
    let mut altered = std::fs::read(s3.object_path(&docs[0].object_key)).unwrap();
    altered[100] ^= 1;
    std::fs::write(s3.object_path(&docs[0].object_key), altered).unwrap();
    std::fs::remove_file(s3.object_path(&docs[1].object_key)).unwrap();
    let r = fx
        .docs
        .verify(&who(Role::Auditor, None), Some(&fx.case))
        .await
        .unwrap();
    assert_eq!(r.checked, 3);
    assert_eq!(r.altered.len(), 1);
    assert_eq!(r.altered[0].0.version_id, docs[0].version_id);
    assert_eq!(r.missing.len(), 1);
    assert_eq!(r.missing[0].version_id, docs[1].version_id);
    assert_eq!(
        fx.docs
            .verify(&fx.lawco, None)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "FORBIDDEN"
    );
}

pub async fn sweeper(db: &DatabaseConnection) {
    let s3 = S3Server::start().await;
    let fx = Fx::s3(db, &s3, |_| {}).await;
    let kept = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "a.pdf"),
            chunks(pdf(2000, 1), 700),
        )
        .await
        .unwrap();
    // Abandoned: uploaded with the presigned URL, never confirmed.
    fx.clock.advance_to(Utc::now());
    let data = pdf(2000, 2);
    let t = fx
        .docs
        .request_upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "b.pdf"),
            2000,
            &sha(&data),
        )
        .await
        .unwrap();
    assert_eq!(
        http::send("PUT", &t.request.url, &t.request.headers, &data)
            .await
            .status,
        200
    );
    // A crash between the journal entry and the row: the journal has it, no row does.
    let lost = fx
        .docs
        .upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Other, "c.pdf"),
            chunks(pdf(900, 3), 300),
        )
        .await
        .unwrap();
    document_rows::Entity::delete_by_id(lost.version_id.clone())
        .exec(&fx.db)
        .await
        .unwrap();
    // A stray object nothing refers to (a crash before the journal entry).
    let mut w = fx.docs.store().writer("acme/stray/object").await.unwrap();
    w.write(Bytes::from_static(b"stray")).await.unwrap();
    w.finish(&Sha256::digest(b"stray").into()).await.unwrap();
    let r = fx.docs.sweep().await.unwrap();
    assert_eq!(
        (r.abandoned_uploads, r.unreferenced_objects),
        (0, 0),
        "all within grace"
    );
    fx.clock.advance(Duration::hours(2));
    let r = fx.docs.sweep().await.unwrap();
    assert_eq!(
        (r.abandoned_uploads, r.unreferenced_objects, r.recovered),
        (1, 1, 1)
    );
    let mut left: Vec<_> = fx
        .docs
        .store()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    left.sort();
    let mut expected = vec![kept.object_key, lost.object_key.clone()];
    expected.sort();
    assert_eq!(left, expected);
    let back = fx
        .docs
        .document(&fx.admin, &lost.document_id, None)
        .await
        .unwrap();
    assert_eq!(back, lost);
    assert_eq!(
        fx.docs
            .confirm_upload(&fx.admin, &t.upload_id)
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "UPLOAD_NOT_FOUND"
    );
}

pub(super) fn grant(url: &str) -> LocalGrant {
    let q = url.split_once('?').unwrap().1;
    let mut g = LocalGrant::default();
    for kv in q.split('&') {
        let (k, v) = kv.split_once('=').unwrap();
        let v = percent_encoding::percent_decode_str(v)
            .decode_utf8()
            .unwrap()
            .to_string();
        match k {
            "key" => g.key = v,
            "exp" => g.exp = v.parse().unwrap(),
            "size" => g.size = Some(v.parse().unwrap()),
            "sha256" => g.sha256 = Some(v),
            "name" => g.name = Some(v),
            "ct" => g.ct = Some(v),
            "sig" => g.sig = v,
            _ => panic!("{k}"),
        }
    }
    g
}

pub async fn local_store(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fx::new(
        db,
        StoreConfig::Local {
            dir: dir.path().into(),
        },
        |_| {},
    )
    .await;
    let data = pdf(150_000, 1);
    let doc = fx
        .docs
        .upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::CourtFiling, "f.pdf"),
            chunks(data.clone(), 4096),
        )
        .await
        .unwrap();
    let dl = fx
        .docs
        .download(&fx.lawco, &doc.document_id, None)
        .await
        .unwrap();
    let g = grant(&dl.request.url);
    let mut body = fx.docs.local_download(&g).await.unwrap();
    let mut got = Vec::new();
    while let Some(c) = body.body.next().await {
        got.extend_from_slice(&c.unwrap());
    }
    assert_eq!(got, data);
    let mut bad = g.clone();
    bad.key = fx.docs.versions(&fx.admin, &doc.document_id).await.unwrap()[0]
        .object_key
        .replace("v1", "v2");
    assert_eq!(
        fx.docs
            .local_download(&bad)
            .await
            .err()
            .unwrap()
            .code()
            .as_str(),
        "LINK_INVALID"
    );
    // Presigned upload through Recobro's signed local route.
    let data2 = pdf(70_000, 2);
    let t = fx
        .docs
        .request_upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Other, "x.pdf"),
            data2.len() as u64,
            &sha(&data2),
        )
        .await
        .unwrap();
    let pg = grant(&t.request.url);
    let e = fx
        .docs
        .local_upload(&pg, chunks(pdf(70_000, 3), 1000))
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "CHECKSUM_MISMATCH");
    let mut tampered = pg.clone();
    tampered.size = Some(70_001);
    assert_eq!(
        fx.docs
            .local_upload(&tampered, chunks(data2.clone(), 1000))
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "LINK_INVALID"
    );
    fx.docs
        .local_upload(&pg, chunks(data2.clone(), 1000))
        .await
        .unwrap();
    let d2 = fx
        .docs
        .confirm_upload(&fx.lawco, &t.upload_id)
        .await
        .unwrap();
    assert_eq!(d2.sha256, sha(&data2));
    // A restarted server (or another node on the directory) accepts the links signed
    // before: the key is kept in the directory, not drawn per process.
    let restarted = DocumentService::new(
        Desk::new(Runtime::start(
            fx.db.clone(),
            fx.clock.clone(),
            RuntimeConfig::default(),
        )),
        DocumentConfig {
            store: StoreConfig::Local {
                dir: dir.path().into(),
            },
            ..DocumentConfig::default()
        },
    )
    .unwrap();
    assert_eq!(restarted.local_download(&g).await.unwrap().size, 150_000);
    // Links expire on the virtual clock.
    fx.clock.advance(Duration::minutes(16));
    assert_eq!(
        fx.docs
            .local_download(&g)
            .await
            .err()
            .unwrap()
            .code()
            .as_str(),
        "LINK_EXPIRED"
    );
    assert!(fx.docs.verify_all(None, None).await.unwrap().is_ok());
}
