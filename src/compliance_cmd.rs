//! `recobro compliance replay [--case ID]`: every contact made, asked again of the
//! compliance gate under the rule pack version of its day; lists each that should not
//! have happened and exits 1 if there is any.

use std::process::ExitCode;
use std::sync::Arc;

use crate::settings::{self, StorageArgs};

#[derive(clap::Subcommand, Debug)]
pub enum ComplianceCommand {
    /// Re-evaluate past contacts; exit 1 when one broke a rule in force that day.
    Replay(ReplayArgs),
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// Replay this case's contacts only (the debtor's other debts still count).
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

pub fn run(cmd: ComplianceCommand) -> ExitCode {
    let ComplianceCommand::Replay(args) = cmd;
    match actix_web::rt::System::new().block_on(replay(&args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {}", settings::error_chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// One line per violation (case, attempt, channel, when, each rule with its
/// reference), then `replayed N contacts on M cases: ok` or `K violations`.
async fn replay(args: &ReplayArgs) -> anyhow::Result<bool> {
    let target = args.storage.target(false)?;
    let db = settings::open(&target).await?;
    let rt = services::runtime::Runtime::start(
        db.clone(),
        Arc::new(services::clock::SystemClock),
        services::runtime::RuntimeConfig::default(),
    );
    let report = services::desk::Desk::new(rt)
        .replay_compliance(args.case.as_deref())
        .await;
    db.close().await.ok();
    let report = report?;
    for v in &report.violations {
        let why = services::desk::DeskError::ContactBlocked(Box::new(v.decision.clone()));
        println!(
            "violation: case {} ({}) attempt {} {:?} at {}: {why}",
            v.case_id, v.tenant, v.attempt, v.channel, v.made_at
        );
    }
    let outcome = if report.violations.is_empty() {
        "ok".to_owned()
    } else {
        format!("{} violations", report.violations.len())
    };
    println!(
        "replayed {} contacts on {} cases: {outcome}",
        report.contacts, report.cases
    );
    Ok(report.violations.is_empty())
}
