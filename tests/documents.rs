//! `recobro documents verify|sweep` as an operator runs them, on the embedded default.

use std::process::Command;

use chrono::Utc;
use orm::entities::documents;
use sea_orm::{ActiveModelTrait, IntoActiveModel};

fn run(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_recobro"))
        .env_remove("RECOBRO_DATABASE_URL")
        .env_remove("RECOBRO_S3_BUCKET")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .expect("run recobro");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.code(),
        text + String::from_utf8_lossy(&out.stderr).as_ref(),
    )
}

#[tokio::test]
async fn verify_and_sweep_the_local_store() {
    let dir = std::env::temp_dir().join(format!("recobro-docs-e2e-{}", std::process::id()));
    let store = dir.join("documents");
    std::fs::create_dir_all(store.join("acme/c1/d1")).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("recobro.db").display());
    let db = orm::connect(&url).await.unwrap();
    orm::migrate(&db).await.unwrap();
    let bytes = b"%PDF-1.7\nfiled";
    let key = "acme/c1/d1/v1-u1";
    std::fs::write(store.join(key), bytes).unwrap();
    let now = Utc::now();
    documents::Model {
        version_id: "u1".into(),
        document_id: "d1".into(),
        version: 1,
        tenant: "acme".into(),
        case_id: "c1".into(),
        kind: "court_filing".into(),
        file_name: "filing.pdf".into(),
        content_type: "application/pdf".into(),
        size: bytes.len() as i64,
        sha256: "f3b6e2f4d0c1f4a2b9c0b0e4f3f1a1b6d6e3a0c1b2d3e4f5a6b7c8d9e0f1a2b3".into(),
        object_key: key.into(),
        retention_class: "statutory".into(),
        retain_until: now,
        legal_hold: false,
        status: "active".into(),
        uploaded_by: "partner:u@lawco".into(),
        created_at: now,
        deleted_at: None,
    }
    .into_active_model()
    .insert(&db)
    .await
    .unwrap();
    db.close().await.unwrap();

    // The recorded hash above is not the file's: reported as altered, exit 1.
    let (code, out) = run(&["documents", "verify"], &dir);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.starts_with("altered c1 d1 v1 filing.pdf"), "{out}");
    assert!(
        out.contains("verified 1 documents: 0 missing, 1 altered"),
        "{out}"
    );
    std::fs::remove_file(store.join(key)).unwrap();
    let (code, out) = run(&["documents", "verify", "--case", "c1"], &dir);
    assert_eq!(code, Some(1));
    assert!(out.starts_with("missing c1 d1 v1 filing.pdf"), "{out}");
    let (code, out) = run(&["documents", "verify", "--case", "other"], &dir);
    assert_eq!(
        (code, out.as_str()),
        (Some(0), "verified 0 documents: ok\n")
    );
    let (code, out) = run(&["documents", "sweep"], &dir);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("swept: 0 abandoned uploads"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
