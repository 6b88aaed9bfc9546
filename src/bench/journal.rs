//! `recobro bench journal`: committed case transitions per second with N concurrent
//! cases, each completing tasks through its case actor (`Runtime::complete_task`, group
//! commit on), divided by single-row INSERT transactions per second with N clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use serde_json::json;
use services::clock::SystemClock;
use services::committer::GroupCommit;
use services::runtime::{Runtime, RuntimeConfig};

use super::{
    BenchDb, Common, LOOP_MODEL, created_task, insert_baseline, per_second, vars, verdict_at_least,
    with_db, workers,
};

#[derive(Args, Debug)]
pub struct JournalArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent cases (one client each), and clients of the INSERT baseline.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Largest group-commit batch.
    #[arg(long, default_value_t = GroupCommit::default().max_batch)]
    max_batch: usize,
    /// Concurrent group-commit writers (PostgreSQL; SQLite always has one).
    #[arg(long, default_value_t = GroupCommit::default().writers)]
    writers: usize,
    /// Write every batch statement by statement (PostgreSQL otherwise writes a batch of
    /// plain transitions as one statement), to compare the two.
    #[arg(long)]
    in_steps: bool,
}

const TARGET: f64 = 3.0;

pub async fn run(mut a: JournalArgs) -> anyhow::Result<()> {
    if a.common.quick {
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

async fn measure(bench: &Arc<BenchDb>, a: &JournalArgs) -> anyhow::Result<()> {
    let clients = a.clients.max(1);
    let duration = Duration::from_secs_f64(a.seconds);
    bench.print_settings().await?;
    println!(
        "journal: {clients} concurrent cases/clients, {:.1} s per measurement, group commit max_batch={} writers={} {}",
        a.seconds,
        a.max_batch,
        a.writers,
        if a.in_steps {
            "in steps"
        } else {
            "one statement per batch"
        }
    );

    let baseline = insert_baseline(bench, clients, duration).await?;
    println!("baseline: {baseline:.0} single-row INSERT transactions/s ({clients} clients)");

    let rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig {
            group_commit: GroupCommit {
                max_batch: a.max_batch.max(1),
                max_delay: Duration::ZERO,
                writers: a.writers.max(1),
                one_statement: !a.in_steps,
            },
            ..RuntimeConfig::default()
        },
    );
    rt.deploy("bench-loop.bpmn", LOOP_MODEL, "bench")
        .await
        .context("deploy the bench model")?;

    let mut opened = open_loop_cases(&rt, clients, "J").await?;
    let (rate, transitions, elapsed) = transitions_per_second(&rt, &mut opened, duration).await?;
    println!(
        "runtime: {rate:.0} committed case transitions/s ({transitions} in {:.2} s, {clients} cases)",
        elapsed.as_secs_f64()
    );

    let ratio = rate / baseline.max(1e-9);
    let verdict = verdict_at_least(ratio, TARGET);
    if bench.is_postgres() {
        println!("target: ratio >= {TARGET} on PostgreSQL: {verdict} (ratio {ratio:.2})");
    } else {
        println!(
            "target: ratio >= {TARGET} (set for PostgreSQL; on SQLite for reference): {verdict} (ratio {ratio:.2})"
        );
    }
    println!(
        "RESULT journal backend={} clients={clients} transitions_per_s={rate:.1} baseline_inserts_per_s={baseline:.1} ratio={ratio:.3}",
        bench.backend_name()
    );
    Ok(())
}

/// Opens `clients` cases of the loop model (also warming the actors, the definition
/// cache and the pool); each with its open task.
pub async fn open_loop_cases(
    rt: &Runtime,
    clients: usize,
    prefix: &str,
) -> anyhow::Result<Vec<(String, u64)>> {
    workers(clients, |i| {
        let rt = rt.clone();
        let external_ref = format!("{prefix}-{i}");
        async move {
            let out = rt
                .open_case(
                    "bench",
                    "bench_loop",
                    None,
                    Some(external_ref),
                    vars(json!({"done": false})),
                    "bench",
                    None,
                )
                .await?;
            let task = created_task(&out.effects).context("the opened case has no task")?;
            Ok((out.case_id, task))
        }
    })
    .await
}

/// One client per case completes its task in a loop for `duration`; returns committed
/// transitions per second, their count and the time taken. Each case's open task is
/// updated, so the cases can run again.
pub async fn transitions_per_second(
    rt: &Runtime,
    cases: &mut [(String, u64)],
    duration: Duration,
) -> anyhow::Result<(f64, u64, Duration)> {
    let committed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let next = workers(cases.len(), |i| {
        let rt = rt.clone();
        let committed = committed.clone();
        let (case_id, mut task) = cases[i].clone();
        async move {
            while Instant::now() < deadline {
                let out = rt
                    .complete_task(&case_id, task, vars(json!({})), "bench", None)
                    .await?;
                task = created_task(&out.effects).context("no next task")?;
                committed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(task)
        }
    })
    .await?;
    let elapsed = started.elapsed();
    for (case, task) in cases.iter_mut().zip(next) {
        case.1 = task;
    }
    let transitions = committed.load(Ordering::Relaxed);
    Ok((per_second(transitions, elapsed), transitions, elapsed))
}
