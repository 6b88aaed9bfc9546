//! `recobro documents verify|sweep`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use documents::DocumentService;

use crate::settings::{self, StorageArgs, StoreArgs};

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
    settings::check_exit(result)
}

async fn service(storage: &StorageArgs, store: &StoreArgs) -> anyhow::Result<DocumentService> {
    let target = storage.target(false)?;
    let db = settings::open(&target).await?;
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
