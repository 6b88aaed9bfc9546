//! `recobro verify`: re-verifies the hash chains of the case journal.

use std::process::ExitCode;

use anyhow::Context;

use crate::settings::{self, StorageArgs};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Verify this case only.
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// One line per broken chain, then `verified N cases, M entries: ok` (or `K broken`).
/// Exit 0 when every chain verifies, 1 otherwise or when the audit cannot run.
pub fn run(args: VerifyArgs) -> ExitCode {
    let runtime = match tokio_runtime() {
        Ok(rt) => rt,
        Err(err) => return fail(&err),
    };
    match runtime.block_on(verify(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => fail(&err),
    }
}

fn fail(err: &anyhow::Error) -> ExitCode {
    eprintln!("error: {}", settings::error_chain(err));
    ExitCode::FAILURE
}

fn tokio_runtime() -> anyhow::Result<actix_web::rt::Runtime> {
    actix_web::rt::Runtime::new().context("cannot start the async runtime")
}

async fn verify(args: &VerifyArgs) -> anyhow::Result<bool> {
    let target = args.storage.target(false)?;
    let db = settings::open(&target).await?;
    let result = services::audit::verify_cases(&db, args.case.as_deref()).await;
    db.close().await.ok();
    let report = result?;
    for broken in &report.broken {
        println!("broken: {}", broken.error);
    }
    let outcome = if report.is_ok() {
        "ok".to_owned()
    } else {
        format!("{} broken", report.broken.len())
    };
    println!(
        "verified {} cases, {} entries: {outcome}",
        report.cases, report.entries
    );
    Ok(report.is_ok())
}
