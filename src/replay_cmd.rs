//! `recobro replay --case ID`: rebuilds a case from its whole journal and compares it
//! with the projections (case row, open tasks, timers, message subscriptions).

use std::process::ExitCode;

use crate::settings::{self, StorageArgs};

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    /// The case to rebuild.
    #[arg(long, value_name = "ID")]
    pub case: String,
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Prints the rebuilt state's summary, then each mismatch or `projection matches the
/// journal`. Exit 0 when they match, 1 otherwise or when the case cannot be rebuilt.
pub fn run(args: ReplayArgs) -> ExitCode {
    settings::check_exit(actix_web::rt::System::new().block_on(replay(&args)))
}

async fn replay(args: &ReplayArgs) -> anyhow::Result<bool> {
    let target = args.storage.target(false)?;
    let db = settings::open(&target).await?;
    let rt = settings::offline_runtime(&db);
    let check = rt.check_projection(&args.case).await;
    db.close().await.ok();
    let check = check?;
    let inst = &check.rebuilt.instance;
    println!(
        "{}",
        serde_json::json!({
            "case_id": check.rebuilt.case_id,
            "seq": check.rebuilt.seq,
            "status": services::case::projection::status_of(inst),
            "stage": inst.stage,
            "definition_id": check.rebuilt.definition_id,
            "variables": inst.variables(),
        })
    );
    for m in &check.mismatches {
        println!("mismatch: {m}");
    }
    if check.mismatches.is_empty() {
        println!("projection matches the journal");
    }
    Ok(check.mismatches.is_empty())
}
