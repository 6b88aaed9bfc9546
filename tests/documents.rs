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

/// An S3 server (s3s-fs, SigV4 checked) on its own thread; returns its address.
fn start_s3(root: &std::path::Path, key: &'static str, secret: &'static str) -> String {
    let root = root.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut b =
                s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(&root).unwrap());
            b.set_auth(s3s::auth::SimpleAuth::from_single(key, secret));
            let service = b.build();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((socket, _)) = listener.accept().await {
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                        .await;
                });
            }
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

/// With no keys configured, S3 credentials come from the standard AWS chain: here a
/// named profile in a shared credentials file. A wrong secret there is the store's
/// refusal, and no credentials anywhere is an error, not a hang.
#[test]
fn s3_credentials_from_the_standard_chain() {
    let dir = std::env::temp_dir().join(format!("recobro-docs-chain-{}", std::process::id()));
    let s3_root = dir.join("s3");
    std::fs::create_dir_all(s3_root.join("docs")).unwrap();
    let endpoint = start_s3(&s3_root, "chain-key", "chain-secret");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let url = format!("sqlite://{}?mode=rwc", data.join("recobro.db").display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = orm::connect(&url).await.unwrap();
        orm::migrate(&db).await.unwrap();
        db.close().await.unwrap();
    });
    let credentials = dir.join("credentials");
    let config = dir.join("config");
    std::fs::write(&config, "").unwrap();
    let sweep = |secret: Option<&str>| {
        match secret {
            Some(s) => std::fs::write(
                &credentials,
                format!("[recobro]\naws_access_key_id = chain-key\naws_secret_access_key = {s}\n"),
            ),
            None => std::fs::write(&credentials, ""),
        }
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_recobro"));
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "RECOBRO_DATABASE_URL",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_PROFILE", "recobro")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args([
                "documents",
                "sweep",
                "--s3-bucket",
                "docs",
                "--s3-path-style",
            ])
            .args(["--s3-endpoint", &endpoint, "--data-dir"])
            .arg(&data)
            .output()
            .expect("run recobro");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + String::from_utf8_lossy(&out.stderr).as_ref();
        (out.status.code(), text)
    };
    let (code, out) = sweep(Some("chain-secret"));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("swept:"), "{out}");
    let (code, out) = sweep(Some("not-the-secret"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("SignatureDoesNotMatch"), "{out}");
    let (code, out) = sweep(None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no S3 credentials"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
