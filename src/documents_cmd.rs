//! `recobro documents verify|sweep`, and the object-store options `recobro serve` shares.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use services::documents::{DocumentConfig, DocumentService, S3Config, StoreConfig};

use crate::serve::{self, StorageArgs};

/// Where documents are stored: S3 when a bucket is given, else `<data dir>/documents`.
/// S3 credentials come from the standard AWS chain (environment, shared credentials and
/// config files with `AWS_PROFILE`, web identity, ECS, EC2 instance metadata).
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// S3 endpoint URL (MinIO, Ceph, Garage, ...); default: AWS.
    #[arg(long, env = "RECOBRO_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 bucket; documents stay on local disk when absent.
    #[arg(long, env = "RECOBRO_S3_BUCKET", value_name = "NAME")]
    pub s3_bucket: Option<String>,
    #[arg(long, env = "RECOBRO_S3_REGION", default_value = "us-east-1")]
    pub s3_region: String,
    /// Path-style addressing (endpoint/bucket/key), which most self-hosted stores need.
    #[arg(long, env = "RECOBRO_S3_PATH_STYLE")]
    pub s3_path_style: bool,
    /// Where clients reach this server, for the local store's signed download and
    /// upload links; default: http://<listen address>.
    #[arg(long, env = "RECOBRO_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
}

impl StoreArgs {
    pub fn config(&self, data_dir: &Path, public_url: String) -> DocumentConfig {
        let store = match &self.s3_bucket {
            Some(bucket) => StoreConfig::S3(S3Config {
                endpoint: self.s3_endpoint.clone(),
                region: self.s3_region.clone(),
                bucket: bucket.clone(),
                path_style: self.s3_path_style,
                access_key_id: None,
                secret_access_key: None,
            }),
            None => StoreConfig::Local {
                dir: data_dir.join("documents"),
            },
        };
        DocumentConfig {
            store,
            public_url: self.public_url.clone().unwrap_or(public_url),
            ..DocumentConfig::default()
        }
    }
}

#[derive(Subcommand)]
pub enum DocumentsCommand {
    /// Re-hash stored documents and report missing or altered ones; exit 1 if any.
    Verify {
        /// Verify this case only.
        #[arg(long, value_name = "ID")]
        case: Option<String>,
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove abandoned uploads and objects no document refers to; record journalled
    /// uploads whose row is missing.
    Sweep {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: DocumentsCommand) -> ExitCode {
    let result = actix::System::new().block_on(async move {
        match cmd {
            DocumentsCommand::Verify {
                case,
                storage,
                store,
            } => verify(case.as_deref(), &storage, &store).await,
            DocumentsCommand::Sweep { storage, store } => sweep(&storage, &store).await,
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", serve::error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

async fn service(storage: &StorageArgs, store: &StoreArgs) -> anyhow::Result<DocumentService> {
    let target = storage.target(false)?;
    let db = serve::open(&target).await?;
    let runtime = services::runtime::Runtime::start(
        db,
        Arc::new(services::clock::SystemClock),
        services::runtime::RuntimeConfig::default(),
    );
    let desk = services::desk::Desk::new(runtime);
    let config = store.config(&storage.data_dir, String::new());
    DocumentService::new(desk, config).context("cannot open the document store")
}

/// `missing|altered <case> <document> v<version> <file>` per problem, then a summary.
async fn verify(
    case: Option<&str>,
    storage: &StorageArgs,
    store: &StoreArgs,
) -> anyhow::Result<bool> {
    let docs = service(storage, store).await?;
    let r = docs.verify_all(None, case).await?;
    for d in &r.missing {
        println!(
            "missing {} {} v{} {}",
            d.case_id, d.document_id, d.version, d.file_name
        );
    }
    for (d, actual) in &r.altered {
        println!(
            "altered {} {} v{} {} recorded={} actual={actual}",
            d.case_id, d.document_id, d.version, d.file_name, d.sha256
        );
    }
    let outcome = if r.is_ok() {
        "ok".to_string()
    } else {
        format!("{} missing, {} altered", r.missing.len(), r.altered.len())
    };
    println!("verified {} documents: {outcome}", r.checked);
    Ok(r.is_ok())
}

async fn sweep(storage: &StorageArgs, store: &StoreArgs) -> anyhow::Result<bool> {
    let docs = service(storage, store).await?;
    let r = docs.sweep().await?;
    println!(
        "swept: {} abandoned uploads, {} unreferenced objects removed, {} uploads recovered",
        r.abandoned_uploads, r.unreferenced_objects, r.recovered
    );
    Ok(true)
}
