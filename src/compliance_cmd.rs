//! `recobro compliance replay [--case ID]`: every contact made, asked again of the
//! compliance gate under the rule pack version of its day; lists each that should not
//! have happened and exits 1 if there is any.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use collections::compliance::{Gate, RulePack};

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
    let gate = gate(args.rule_packs.as_deref())?;
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

/// The bundled law packs plus every `*.toml` in `dir`; a pack that does not parse or
/// contradicts itself stops the command with its file, line and reason.
pub fn gate(dir: Option<&Path>) -> anyhow::Result<Arc<Gate>> {
    let Some(dir) = dir else {
        return Ok(services::desk::compliance::bundled_gate());
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read the rule pack directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut packs = Vec::with_capacity(files.len());
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read the rule pack {}", file.display()))?;
        packs.push(
            RulePack::parse(&file.display().to_string(), &text)
                .map_err(|e| anyhow::anyhow!("invalid rule pack {e}"))?,
        );
    }
    Ok(Arc::new(
        Gate::with_bundled(packs).map_err(|e| anyhow::anyhow!("invalid rule packs: {e}"))?,
    ))
}
