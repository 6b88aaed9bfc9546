//! `recobro bench actors`: resident memory per idle activated case, and activations per
//! second divided by primary-key SELECTs per second on the `cases` table.
//!
//! The cases are seeded through the runtime (`open_case` plus `--events` completed tasks
//! each). The activations run in a child process (`--activate-only`) that does nothing
//! else, so its resident-set growth is the activated actors' and not heap left over from
//! seeding. Each activation is `Runtime::case(id)`: the real path (the case row with its
//! snapshot, the journal after it, replayed through the engine).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use orm::entities::cases;
use sea_orm::{EntityTrait, QuerySelect};
use serde_json::json;
use services::clock::SystemClock;
use services::runtime::{Runtime, RuntimeConfig};

use super::{
    BenchDb, Common, LOOP_MODEL, created_task, for_each_concurrent, per_second, rss_bytes, vars,
    verdict_at_least, verdict_at_most, with_db, workers,
};

#[derive(Args, Debug)]
pub struct ActorsArgs {
    #[command(flatten)]
    common: Common,
    /// Cases to seed and activate.
    #[arg(long, default_value_t = 20_000)]
    cases: usize,
    /// Transitions after opening each case (replayed on activation after the snapshot
    /// written at open).
    #[arg(long, default_value_t = 1)]
    events: usize,
    /// Concurrent activations, and clients of the SELECT baseline.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds the SELECT baseline runs.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Internal: activate every case of the database at `--database-url` and report.
    #[arg(long, hide = true)]
    activate_only: bool,
}

const ACTIVATION_TARGET: f64 = 0.5;
const MEMORY_BUDGET: f64 = 1024.0;

pub async fn run(mut a: ActorsArgs) -> anyhow::Result<()> {
    if a.activate_only {
        let url = a
            .common
            .database_url
            .clone()
            .context("--activate-only needs --database-url")?;
        return activate_all(&url, a.clients.max(1)).await;
    }
    if a.common.quick {
        a.cases = a.cases.min(300);
        a.clients = a.clients.min(4);
        a.seconds = a.seconds.min(0.5);
    }
    let url = a.common.database_url.clone();
    with_db(
        url.as_deref(),
        |bench| async move { measure(&bench, &a).await },
    )
    .await
}

async fn measure(bench: &Arc<BenchDb>, a: &ActorsArgs) -> anyhow::Result<()> {
    bench.print_settings().await?;
    let m = a.cases.max(2);
    let clients = a.clients.max(1);
    let events = a.events;

    let rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig {
            passivate_after: Duration::from_secs(2),
            ..RuntimeConfig::default()
        },
    );
    rt.deploy("bench-loop.bpmn", LOOP_MODEL, "bench").await?;
    let seed_started = Instant::now();
    let seed_rt = rt.clone();
    for_each_concurrent(m, clients.max(16), move |i| {
        let rt = seed_rt.clone();
        async move {
            let out = rt
                .open_case(
                    "bench",
                    "bench_loop",
                    None,
                    Some(format!("A-{i}")),
                    vars(json!({"done": false, "debtor": format!("D-{i}"), "balance": 100 + i})),
                    "bench",
                    None,
                )
                .await?;
            let mut task = created_task(&out.effects).context("no task")?;
            for _ in 0..events {
                let out = rt
                    .complete_task(&out.case_id, task, vars(json!({})), "bench", None)
                    .await?;
                task = created_task(&out.effects).context("no next task")?;
            }
            Ok(())
        }
    })
    .await?;
    println!(
        "seeded {m} cases (open + {events} transitions each) in {:.1} s through the runtime",
        seed_started.elapsed().as_secs_f64()
    );

    bench.analyze_after_load().await?;
    // Activation in a fresh process: nothing in memory but the runtime and the ids.
    let exe = std::env::current_exe().context("locate the recobro binary")?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["bench", "actors", "--activate-only", "--database-url"])
        .arg(&bench.url)
        .arg("--clients")
        .arg(clients.to_string());
    let child = tokio::task::spawn_blocking(move || cmd.output())
        .await?
        .context("run the activation process")?;
    let stdout = String::from_utf8_lossy(&child.stdout);
    print!("{stdout}");
    if !child.status.success() {
        bail!(
            "the activation process failed: {}",
            String::from_utf8_lossy(&child.stderr)
        );
    }
    let report = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ACTIVATED "))
        .context("the activation process reported nothing")?;
    let field = |name: &str| -> anyhow::Result<f64> {
        report
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .with_context(|| format!("no {name} in the activation report"))?
            .parse::<f64>()
            .with_context(|| format!("{name} is not a number"))
    };
    let activated = field("cases")?;
    let activation_rate = field("per_s")?;
    let bytes_per_case = field("bytes_per_case")?;
    let state_bytes = field("state_bytes")?;

    let pk = pk_select_baseline(bench, clients, Duration::from_secs_f64(a.seconds)).await?;
    println!("baseline: {pk:.0} primary-key SELECTs/s on cases ({clients} clients)");

    let ratio = activation_rate / pk.max(1e-9);
    let budget = MEMORY_BUDGET + state_bytes;
    println!(
        "target: memory <= 1 KiB + serialised state ({budget:.0} B) per idle case: {} ({bytes_per_case:.0} B)",
        verdict_at_most(bytes_per_case, budget)
    );
    println!(
        "target: activations/s / PK SELECTs/s >= {ACTIVATION_TARGET}: {} (ratio {ratio:.2})",
        verdict_at_least(ratio, ACTIVATION_TARGET)
    );
    println!(
        "RESULT actors backend={} cases={activated:.0} bytes_per_case={bytes_per_case:.0} state_bytes={state_bytes:.0} activations_per_s={activation_rate:.1} pk_selects_per_s={pk:.1} ratio={ratio:.3}",
        bench.backend_name()
    );
    Ok(())
}

/// The child process: activates every case with `clients` in flight, then reports
/// `ACTIVATED cases=.. per_s=.. bytes_per_case=.. state_bytes=..`.
async fn activate_all(url: &str, clients: usize) -> anyhow::Result<()> {
    let bench = BenchDb::attach(url).await?;
    let rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig {
            // Idle cases fall asleep soon (so the few KiB of each awake actor are reused
            // while the portfolio activates) but stay resident for the whole measurement.
            hibernate_after: Duration::from_millis(200),
            passivate_after: Duration::from_secs(3600),
            max_resident: usize::MAX,
            ..RuntimeConfig::default()
        },
    );
    let ids: Vec<String> = cases::Entity::find()
        .select_only()
        .column(cases::Column::CaseId)
        .into_tuple()
        .all(&bench.db)
        .await?;
    if ids.len() < 2 {
        bail!("too few cases to activate ({})", ids.len());
    }
    // The first activation warms the definition cache, the pool and the allocator; it is
    // left out of the figures.
    rt.case(&ids[0]).await?.context("case vanished")?;
    let ids = Arc::new(ids);
    let n = ids.len() - 1;
    let state_bytes = Arc::new(AtomicU64::new(0));
    let before = rss_bytes()?;
    let started = Instant::now();
    let (job_rt, job_ids, job_bytes) = (rt.clone(), ids.clone(), state_bytes.clone());
    for_each_concurrent(n, clients, move |i| {
        let rt = job_rt.clone();
        let ids = job_ids.clone();
        let bytes = job_bytes.clone();
        async move {
            let state = rt
                .case(&ids[i + 1])
                .await?
                .with_context(|| format!("case {} vanished", ids[i + 1]))?;
            bytes.fetch_add(serde_json::to_vec(&state)?.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    })
    .await?;
    let elapsed = started.elapsed();
    // Every case is idle now: the rest fall asleep as they would after `hibernate_after`.
    rt.sweep(Duration::ZERO).await;
    let after = rss_bytes()?;
    let resident = rt.resident_cases();
    if resident < n {
        bail!("only {resident} of {n} activated cases are resident");
    }
    if rt.active_actors() > 0 {
        bail!("{} actors still awake after the sweep", rt.active_actors());
    }
    let per_s = per_second(n as u64, elapsed);
    let bytes_per_case = after.saturating_sub(before) as f64 / n as f64;
    let state = state_bytes.load(Ordering::Relaxed) as f64 / n as f64;
    println!(
        "activation: {n} cases in {:.2} s = {per_s:.0} activations/s ({clients} in flight); RSS {:.1} MiB -> {:.1} MiB = {bytes_per_case:.0} B per idle case; serialised state {state:.0} B per case",
        elapsed.as_secs_f64(),
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    println!(
        "ACTIVATED cases={n} per_s={per_s:.1} bytes_per_case={bytes_per_case:.1} state_bytes={state:.1}"
    );
    bench.db.close().await?;
    Ok(())
}

/// `clients` concurrent tasks each reading cases by primary key for `duration`.
async fn pk_select_baseline(
    bench: &BenchDb,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let ids: Arc<Vec<String>> = Arc::new(
        cases::Entity::find()
            .select_only()
            .column(cases::Column::CaseId)
            .into_tuple()
            .all(&bench.db)
            .await?,
    );
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    workers(clients, |c| {
        let (db, ids, done) = (bench.db.clone(), ids.clone(), done.clone());
        async move {
            let mut k = c * 7919;
            while Instant::now() < deadline {
                let id = &ids[k % ids.len()];
                cases::Entity::find_by_id(id.clone())
                    .one(&db)
                    .await?
                    .context("case row missing")?;
                k += clients;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    Ok(per_second(done.load(Ordering::Relaxed), started.elapsed()))
}
