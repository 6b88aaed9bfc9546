//! Partners' statements as stored objects: who stores and downloads them, and the
//! sweeper keeping what a statement row names while it removes strays.

use bytes::Bytes;
use chrono::Duration;
use documents::StoreConfig;
use sea_orm::DatabaseConnection;
use services::access::{Principal, Role};
use services::error_code::ApiError;
use sha2::{Digest, Sha256};

use crate::scenarios::Fx;

pub async fn kept_and_shown_to_their_partner(db: &DatabaseConnection) {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fx::new(
        db,
        StoreConfig::Local {
            dir: dir.path().into(),
        },
        |_| {},
    )
    .await;
    let lawco = fx.lawco.partner.clone().unwrap();
    let pdf = b"%PDF-1.7 statement".to_vec();
    let code = |e: documents::DocumentError| e.code().as_str();

    let stored = fx
        .docs
        .store_partner_statement(&fx.admin, &lawco, "2026-03", pdf.clone())
        .await
        .unwrap();
    assert_eq!(stored.sha256, hex::encode(Sha256::digest(&pdf)));
    assert_eq!(stored.size_bytes, pdf.len() as i64);
    assert_eq!(
        code(
            fx.docs
                .store_partner_statement(&fx.lawco, &lawco, "2026-03", pdf.clone())
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );
    assert_eq!(
        code(
            fx.docs
                .store_partner_statement(&fx.admin, "nobody", "2026-03", pdf.clone())
                .await
                .unwrap_err()
        ),
        "PARTNER_NOT_FOUND"
    );

    // Its partner and the creditor's admins see it; another partner and agents do not.
    let agent = Principal::new("alex", &fx.admin.tenant, Role::Agent, None, vec![]).unwrap();
    for p in [&fx.admin, &fx.lawco] {
        let listed = fx
            .docs
            .partner_statements(p, &lawco, Some("2026-03"))
            .await
            .unwrap();
        assert_eq!(listed, std::slice::from_ref(&stored));
        let (row, link) = fx
            .docs
            .download_partner_statement(p, &stored.statement_id)
            .await
            .unwrap();
        assert_eq!(row, stored);
        assert_eq!(link.method, "GET");
    }
    assert!(
        fx.docs
            .partner_statements(&fx.admin, &lawco, Some("2026-04"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        code(
            fx.docs
                .download_partner_statement(&fx.rival, &stored.statement_id)
                .await
                .unwrap_err()
        ),
        "DOCUMENT_NOT_FOUND"
    );
    assert_eq!(
        code(
            fx.docs
                .partner_statements(&fx.rival, &lawco, None)
                .await
                .unwrap_err()
        ),
        "PARTNER_NOT_FOUND"
    );
    assert_eq!(
        code(
            fx.docs
                .download_partner_statement(&agent, &stored.statement_id)
                .await
                .unwrap_err()
        ),
        "FORBIDDEN"
    );

    // Past the grace period, the sweeper removes a stray object and keeps the statement.
    let mut w = fx.docs.store().writer("acme/stray/object").await.unwrap();
    w.write(Bytes::from_static(b"stray")).await.unwrap();
    w.finish(&Sha256::digest(b"stray").into()).await.unwrap();
    fx.clock.advance(Duration::hours(3));
    let r = fx.docs.sweep().await.unwrap();
    assert_eq!(r.unreferenced_objects, 1);
    assert_eq!(
        fx.docs.store().head(&stored.object_key).await.unwrap(),
        Some(pdf.len() as u64)
    );
    assert_eq!(
        fx.docs.store().head("acme/stray/object").await.unwrap(),
        None
    );
}
