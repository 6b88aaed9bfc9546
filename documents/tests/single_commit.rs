//! The `documents` row commits with its `DocumentAdded` journal entry (one transaction):
//! one exists exactly when the other does, holds carry over to new versions, a repeated
//! confirmation changes nothing, and the sweeper's repair may run any number of times.
//! On the local store: these are about the database, not the object store.

use chrono::Duration;
use documents::{DocumentFact, DocumentKind, NewDocument, StoreConfig, UploadTicket};
use futures_util::future::join;
use orm::entities::{case_journal, document_uploads, documents as document_rows};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};
use services::case::CaseFact;
use services::error_code::ApiError;
use services::journal::verify_chain;
use services::runtime::{Runtime, RuntimeConfig};
use sha2::{Digest, Sha256};

use super::scenarios::{Fx, chunks, grant, pdf, sha};

async fn local(db: &DatabaseConnection, dir: &tempfile::TempDir) -> Fx {
    let store = StoreConfig::Local {
        dir: dir.path().into(),
    };
    Fx::new(db, store, |_| {}).await
}

async fn added_entries(db: &DatabaseConnection) -> Vec<case_journal::Model> {
    case_journal::Entity::find()
        .filter(case_journal::Column::EventType.eq("DocumentAdded"))
        .all(db)
        .await
        .unwrap()
}

async fn intents(db: &DatabaseConnection) -> u64 {
    document_uploads::Entity::find().count(db).await.unwrap()
}

/// A presigned upload through the local store's signed route, not yet confirmed.
async fn put_presigned(fx: &Fx, new: NewDocument, seed: u8) -> UploadTicket {
    let data = pdf(5_000, seed);
    let t = fx
        .docs
        .request_upload(&fx.admin, new, data.len() as u64, &sha(&data))
        .await
        .unwrap();
    fx.docs
        .local_upload(&grant(&t.request.url), chunks(data, 1000))
        .await
        .unwrap();
    t
}

/// Every entry has its row, written by the same commit (its time and actor), and a
/// refused entry leaves no row behind.
pub async fn row_with_entry(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = local(db, &dir).await;
    let streamed = fx
        .docs
        .upload(
            &fx.lawco,
            fx.new_doc(DocumentKind::Other, "a.pdf"),
            chunks(pdf(3000, 1), 700),
        )
        .await
        .unwrap();
    let t = put_presigned(&fx, fx.new_doc(DocumentKind::Other, "b.pdf"), 2).await;
    assert_eq!(intents(db).await, 1);
    let confirmed = fx
        .docs
        .confirm_upload(&fx.admin, &t.upload_id)
        .await
        .unwrap();
    assert_eq!(intents(db).await, 0, "the intent ended with the entry");
    let entries = added_entries(db).await;
    assert_eq!(entries.len(), 2);
    assert_eq!(fx.count_docs().await, 2);
    for doc in [&streamed, &confirmed] {
        let row = document_rows::Entity::find_by_id(doc.version_id.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&row, doc, "the returned document is the row");
        let entry = entries
            .iter()
            .find(|e| e.payload.contains(&doc.object_key))
            .unwrap();
        assert_eq!(row.created_at, entry.recorded_at, "stamped by its entry");
        assert_eq!(row.uploaded_by, entry.actor);
        assert_eq!(row.retain_until, row.created_at + Duration::days(6 * 365));
    }
    // Two new versions prepared against the same latest one: the second's entry is
    // refused with its row, and its object removed.
    let next = |seed| {
        let mut n = fx.new_doc(DocumentKind::Other, "b2.pdf");
        n.replaces = Some(confirmed.document_id.clone());
        put_presigned(&fx, n, seed)
    };
    let (first, second) = (next(3).await, next(4).await);
    assert_eq!((first.version, second.version), (2, 2));
    fx.docs
        .confirm_upload(&fx.admin, &first.upload_id)
        .await
        .unwrap();
    let e = fx
        .docs
        .confirm_upload(&fx.admin, &second.upload_id)
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "DOCUMENT_STATE", "{e}");
    assert_eq!(added_entries(db).await.len(), 3);
    assert_eq!(fx.count_docs().await, 3);
    assert_eq!(intents(db).await, 0);
    let keys: Vec<_> = fx.docs.store().list().await.unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(verify_chain(&fx.docs_journal(&fx.case).await).is_ok());
}

/// A hold on a logical document covers its later versions, however they arrive.
pub async fn hold_carries_over(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = local(db, &dir).await;
    let upload = |name: &'static str, replaces: Option<String>, seed| {
        let mut n = fx.new_doc(DocumentKind::Other, name);
        n.replaces = replaces;
        fx.docs.upload(&fx.admin, n, chunks(pdf(2000, seed), 500))
    };
    let held = upload("held.pdf", None, 1).await.unwrap();
    let free = upload("free.pdf", None, 2).await.unwrap();
    fx.docs
        .set_legal_hold(&fx.admin, &held.document_id, "dispute")
        .await
        .unwrap();
    let v2 = upload("held.pdf", Some(held.document_id.clone()), 3)
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert!(v2.legal_hold, "a streamed new version is held");
    let mut n = fx.new_doc(DocumentKind::Other, "held.pdf");
    n.replaces = Some(held.document_id.clone());
    let t = put_presigned(&fx, n, 4).await;
    let v3 = fx
        .docs
        .confirm_upload(&fx.admin, &t.upload_id)
        .await
        .unwrap();
    assert_eq!(v3.version, 3);
    assert!(v3.legal_hold, "a confirmed new version is held");
    let free2 = upload("free.pdf", Some(free.document_id.clone()), 5)
        .await
        .unwrap();
    assert!(!free2.legal_hold, "no hold, nothing carried");
    for doc in [&v2, &v3, &free2] {
        let row = document_rows::Entity::find_by_id(doc.version_id.clone())
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&row, doc);
    }
    // Older versions keep their state: the new one does not supersede them.
    let versions = fx
        .docs
        .versions(&fx.admin, &held.document_id)
        .await
        .unwrap();
    assert_eq!(versions.len(), 3);
    assert!(
        versions
            .iter()
            .all(|v| v.status == "active" && v.legal_hold)
    );
}

/// Confirming again, one after the other or both at once, records the upload once.
pub async fn repeated_confirm(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = local(db, &dir).await;
    let t = put_presigned(&fx, fx.new_doc(DocumentKind::Other, "a.pdf"), 1).await;
    let doc = fx
        .docs
        .confirm_upload(&fx.admin, &t.upload_id)
        .await
        .unwrap();
    let e = fx
        .docs
        .confirm_upload(&fx.admin, &t.upload_id)
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "UPLOAD_NOT_FOUND");
    assert_eq!(added_entries(db).await.len(), 1);
    assert_eq!(fx.count_docs().await, 1);
    // Racing confirmations: the journal's idempotency key lets one through; the other
    // gets the same document, or finds the upload already over.
    let t2 = put_presigned(&fx, fx.new_doc(DocumentKind::Other, "b.pdf"), 2).await;
    let (a, b) = join(
        fx.docs.confirm_upload(&fx.admin, &t2.upload_id),
        fx.docs.confirm_upload(&fx.admin, &t2.upload_id),
    )
    .await;
    let mut ok = Vec::new();
    for r in [a, b] {
        match r {
            Ok(d) => ok.push(d),
            Err(e) => assert_eq!(e.code().as_str(), "UPLOAD_NOT_FOUND", "{e}"),
        }
    }
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|d| d.version_id == t2.upload_id));
    assert_eq!(added_entries(db).await.len(), 2);
    assert_eq!(fx.count_docs().await, 2);
    assert_eq!(intents(db).await, 0);
    assert!(
        fx.docs
            .store()
            .head(&doc.object_key)
            .await
            .unwrap()
            .is_some(),
        "the repeat removed nothing"
    );
}

/// The sweeper projects entries whose row is missing (a lost row, an entry written
/// before rows came with entries), and running it again, or over a row that exists,
/// changes nothing.
pub async fn sweeper_repair_is_idempotent(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = local(db, &dir).await;
    let lost = fx
        .docs
        .upload(
            &fx.admin,
            fx.new_doc(DocumentKind::Other, "lost.pdf"),
            chunks(pdf(2000, 1), 500),
        )
        .await
        .unwrap();
    document_rows::Entity::delete_by_id(lost.version_id.clone())
        .exec(db)
        .await
        .unwrap();
    // An entry in the old shape (no upload id, no retention period), with its object.
    let key = format!("acme/{}/old-doc/v1-old-upload", fx.case);
    let bytes = pdf(1500, 2);
    let mut w = fx.docs.store().writer(&key).await.unwrap();
    w.write(bytes.clone().into()).await.unwrap();
    w.finish(&Sha256::digest(&bytes).into()).await.unwrap();
    let old = DocumentFact::Added {
        document_id: "old-doc".into(),
        version: 1,
        kind: "other".into(),
        file_name: "old.pdf".into(),
        content_type: "application/pdf".into(),
        size: bytes.len() as u64,
        sha256: sha(&bytes),
        retention_class: "short".into(),
        object_key: key.clone(),
        upload_id: None,
        retention_days: None,
        presigned: false,
    };
    let rt = Runtime::start(db.clone(), fx.clock.clone(), RuntimeConfig::default());
    rt.record_fact(&fx.case, CaseFact::Document(old), "agent:old", None)
        .await
        .unwrap();
    assert_eq!(fx.count_docs().await, 0, "an old-shape entry brings no row");
    // A confirmed upload whose intent a second sweeper still holds (it read the intent
    // just before the confirmation ended it): its repair meets the row.
    let t = put_presigned(&fx, fx.new_doc(DocumentKind::Other, "c.pdf"), 3).await;
    let intent = document_uploads::Entity::find_by_id(t.upload_id.clone())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let confirmed = fx
        .docs
        .confirm_upload(&fx.admin, &t.upload_id)
        .await
        .unwrap();
    intent.into_active_model().insert(db).await.unwrap();

    // The clock starts an hour behind the objects' times: past the grace by both.
    fx.clock.advance(Duration::hours(3));
    let r = fx.docs.sweep().await.unwrap();
    assert_eq!(
        (r.recovered, r.abandoned_uploads, r.unreferenced_objects),
        (3, 0, 0)
    );
    assert_eq!(fx.count_docs().await, 3);
    assert_eq!(intents(db).await, 0);
    let back = fx
        .docs
        .document(&fx.admin, &lost.document_id, None)
        .await
        .unwrap();
    assert_eq!(back, lost);
    let again = fx
        .docs
        .document(&fx.admin, &confirmed.document_id, None)
        .await
        .unwrap();
    assert_eq!(again, confirmed, "the existing row is left as it was");
    let old = fx.docs.document(&fx.admin, "old-doc", None).await.unwrap();
    assert_eq!(old.version_id, "old-upload");
    assert_eq!(old.uploaded_by, "agent:old");
    assert_eq!(old.retain_until, old.created_at + Duration::days(365));

    let r = fx.docs.sweep().await.unwrap();
    assert_eq!(
        (r.recovered, r.abandoned_uploads, r.unreferenced_objects),
        (0, 0, 0)
    );
    assert_eq!(fx.count_docs().await, 3);
    assert!(
        dir.path().join(".signing-key").exists(),
        "the sweeper leaves the signing key alone"
    );
    assert!(fx.docs.verify_all(None, None).await.unwrap().is_ok());
}
