//! `recobro compliance replay [--case ID]`: every contact made, asked again of the
//! compliance gate under the rule pack version of its day; lists each that should not
//! have happened and exits 1 if there is any.

use std::path::PathBuf;
use std::process::ExitCode;

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
    /// The rule packs `serve` was given (new law versions, creditors' policies).
    #[arg(long, value_name = "DIR", env = "RECOBRO_RULE_PACKS")]
    pub rule_packs: Option<PathBuf>,
    #[command(flatten)]
    pub storage: StorageArgs,
}

pub fn run(cmd: ComplianceCommand) -> ExitCode {
    let ComplianceCommand::Replay(args) = cmd;
    settings::check_exit(actix_web::rt::System::new().block_on(replay(&args)))
}

/// One line per violation (case, attempt, channel, when, each rule with its
/// reference), then `replayed N contacts on M cases: ok` or `K violations`.
async fn replay(args: &ReplayArgs) -> anyhow::Result<bool> {
    let target = args.storage.target(false)?;
    let db = settings::open(&target).await?;
    let rt = settings::offline_runtime(&db);
    let gate = settings::rule_packs(args.rule_packs.as_deref())?;
    let report = services::desk::Desk::new(rt)
        .with_gate(gate)
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
