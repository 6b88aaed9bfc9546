//! `recobro bench timers`:
//! 1. drain: many timers due in the same minute (a virtual clock jumps past it), fired by
//!    the timer service (unlimited rate) — timers per second divided by single-row INSERT
//!    transactions per second;
//! 2. lag: timers due at a steady rate on the system clock, fired by the timer service
//!    with its default configuration — p99 of (firing time - due time).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use clap::Args;
use orm::entities::case_journal;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use services::clock::{SystemClock, VirtualClock};
use services::committer::GroupCommit;
use services::runtime::timers::{self as timer_service, TimerConfig};
use services::runtime::{Runtime, RuntimeConfig};

use super::{
    BenchDb, Common, TIMER_MODEL, for_each_concurrent, insert_baseline, per_second, vars,
    verdict_at_least, verdict_at_most, with_db,
};

#[derive(Args, Debug)]
pub struct TimersArgs {
    #[command(flatten)]
    common: Common,
    /// Timers due in the same minute for the drain measurement. The scenario is
    /// 1000000; the default keeps a run near two minutes on a 2-core machine, where
    /// seeding (through `Runtime::open_case`) and draining each run at about 1000/s.
    #[arg(long, default_value_t = 20_000)]
    timers: usize,
    /// Clients of the INSERT baseline, and cases opened concurrently while seeding.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds the INSERT baseline runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Timers per second due during the lag measurement.
    #[arg(long, default_value_t = 1_000)]
    lag_rate: u32,
    /// Seconds over which the lag measurement's timers are due.
    #[arg(long, default_value_t = 10.0)]
    lag_seconds: f64,
    /// Write every group-commit batch statement by statement (PostgreSQL otherwise
    /// writes a batch of plain transitions as one statement), to compare the two.
    #[arg(long)]
    in_steps: bool,
}

const DRAIN_TARGET: f64 = 1.0;
const LAG_TARGET_MS: f64 = 1000.0;

pub async fn run(mut a: TimersArgs) -> anyhow::Result<()> {
    if a.common.quick {
        a.timers = a.timers.min(300);
        a.clients = a.clients.min(4);
        a.seconds = a.seconds.min(0.5);
        a.lag_rate = a.lag_rate.min(200);
        a.lag_seconds = a.lag_seconds.min(1.0);
    }
    let url = a.common.database_url.clone();
    with_db(
        url.as_deref(),
        |bench| async move { measure(&bench, &a).await },
    )
    .await
}

async fn measure(bench: &Arc<BenchDb>, a: &TimersArgs) -> anyhow::Result<()> {
    bench.print_settings().await?;
    let clients = a.clients.max(1);

    let baseline = insert_baseline(bench, clients, Duration::from_secs_f64(a.seconds)).await?;
    println!("baseline: {baseline:.0} single-row INSERT transactions/s ({clients} clients)");

    // --- drain ---------------------------------------------------------------------
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 7, 59, 0).unwrap();
    let minute = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    let clock = Arc::new(VirtualClock::new(t0));
    let rt = Runtime::start(
        bench.db.clone(),
        clock.clone(),
        RuntimeConfig {
            passivate_after: Duration::from_secs(2),
            group_commit: GroupCommit {
                one_statement: !a.in_steps,
                ..GroupCommit::default()
            },
            ..RuntimeConfig::default()
        },
    );
    rt.deploy("bench-timer.bpmn", TIMER_MODEL, "bench").await?;
    let n = a.timers;
    println!("drain: {n} timers due between 08:00:00 and 08:00:59.999 (virtual clock)");
    let seed_started = Instant::now();
    let seed_rt = rt.clone();
    for_each_concurrent(n, clients.max(16), move |i| {
        let rt = seed_rt.clone();
        let due = minute + chrono::Duration::milliseconds((i as i64 * 60_000) / n.max(1) as i64);
        async move {
            open_timer_case(&rt, i, due).await?;
            Ok(())
        }
    })
    .await?;
    let seed_rate = per_second(n as u64, seed_started.elapsed());
    bench.analyze_after_load().await?;
    println!(
        "seeded {n} cases with a pending timer in {:.1} s ({seed_rate:.0} cases/s through Runtime::open_case)",
        seed_started.elapsed().as_secs_f64()
    );

    // A fresh runtime fires them: no case is in memory, as after a restart or once the
    // seeded actors have passivated, so every firing activates its case.
    let fire_rt = Runtime::start(bench.db.clone(), clock.clone(), RuntimeConfig::default());
    let service = timer_service::spawn(
        fire_rt.clone(),
        TimerConfig {
            max_per_second: 0,
            ..TimerConfig::default()
        },
    );
    let mut fired = service.fired.clone();
    let started = Instant::now();
    clock.advance_to(minute + chrono::Duration::minutes(1));
    fired
        .wait_for(|f| *f >= n as u64)
        .await
        .context("the timer service stopped")?;
    let drain_elapsed = started.elapsed();
    service.stop().await?;
    let drain = per_second(n as u64, drain_elapsed);
    println!(
        "drain: {n} timers fired in {:.2} s = {drain:.0} timers/s (timer service, no rate limit, batch {})",
        drain_elapsed.as_secs_f64(),
        TimerConfig::default().batch
    );

    // --- lag at a steady rate ------------------------------------------------------------
    let lag_rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig {
            passivate_after: Duration::from_secs(2),
            group_commit: GroupCommit {
                one_statement: !a.in_steps,
                ..GroupCommit::default()
            },
            ..RuntimeConfig::default()
        },
    );
    let count = ((f64::from(a.lag_rate) * a.lag_seconds).round() as usize).max(1);
    // Seed ahead of the window: the seeding rate measured above, with a margin.
    let lead = Duration::from_secs_f64(count as f64 / seed_rate.max(1.0) * 1.5 + 1.0);
    let base = Utc::now() + chrono::Duration::from_std(lead)?;
    let step_us = 1_000_000 / i64::from(a.lag_rate.max(1));
    println!(
        "lag: {count} timers due at {} /s over {:.1} s (system clock), from {} (seeding lead {:.1} s)",
        a.lag_rate,
        a.lag_seconds,
        base.to_rfc3339_opts(SecondsFormat::Millis, true),
        lead.as_secs_f64()
    );
    let dues: Arc<std::sync::Mutex<HashMap<String, DateTime<Utc>>>> = Arc::default();
    let (seed_rt, seed_dues) = (lag_rt.clone(), dues.clone());
    for_each_concurrent(count, clients.max(16), move |i| {
        let rt = seed_rt.clone();
        let dues = seed_dues.clone();
        let due = base + chrono::Duration::microseconds(i as i64 * step_us);
        async move {
            let case_id = open_timer_case(&rt, n + i, due).await?;
            dues.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(case_id, services::journal::normalise_time(due));
            Ok(())
        }
    })
    .await?;
    let now = Utc::now();
    if now > base {
        println!(
            "warning: seeding overran the window start by {} ms; early timers show that delay",
            (now - base).num_milliseconds()
        );
    }
    let fire_rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig::default(),
    );
    let service = timer_service::spawn(fire_rt, TimerConfig::default());
    let mut fired = service.fired.clone();
    let wait = lead + Duration::from_secs_f64(a.lag_seconds) + Duration::from_secs(60);
    let all = tokio::time::timeout(wait, fired.wait_for(|f| *f >= count as u64)).await;
    service.stop().await?;
    if all.is_err() {
        bail!("the timer service did not fire {count} timers within {wait:?}");
    }
    let rows: Vec<(String, DateTime<Utc>)> = case_journal::Entity::find()
        .select_only()
        .column(case_journal::Column::CaseId)
        .column(case_journal::Column::RecordedAt)
        .filter(case_journal::Column::EventType.eq("TimerFired"))
        .filter(case_journal::Column::RecordedAt.gte(base - chrono::Duration::minutes(5)))
        .into_tuple()
        .all(&bench.db)
        .await?;
    let dues = dues.lock().unwrap_or_else(|p| p.into_inner());
    let mut lags: Vec<f64> = rows
        .iter()
        .filter_map(|(case, at)| {
            dues.get(case)
                .map(|due| (*at - *due).num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
        })
        .collect();
    if lags.len() != count {
        bail!("found {} firings of the {count} lag timers", lags.len());
    }
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 * p).ceil() as usize).clamp(1, lags.len()) - 1];
    let (p50, p99, max) = (pct(0.50), pct(0.99), lags[lags.len() - 1]);
    println!(
        "lag: now - due at firing: p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms (timer service defaults: max {}/s, batch {})",
        TimerConfig::default().max_per_second,
        TimerConfig::default().batch
    );

    let ratio = drain / baseline.max(1e-9);
    println!(
        "target: drain ratio >= {DRAIN_TARGET}: {} (ratio {ratio:.2})",
        verdict_at_least(ratio, DRAIN_TARGET)
    );
    println!(
        "target: p99 lag at {}/s <= {LAG_TARGET_MS} ms: {} (p99 {p99:.1} ms)",
        a.lag_rate,
        verdict_at_most(p99, LAG_TARGET_MS)
    );
    println!(
        "RESULT timers backend={} timers={n} drain_per_s={drain:.1} baseline_inserts_per_s={baseline:.1} lag_rate={} p50_lag_ms={p50:.1} p99_lag_ms={p99:.1} ratio={ratio:.3}",
        bench.backend_name(),
        a.lag_rate
    );
    Ok(())
}

/// Opens a bench case whose only timer is due at `due`; returns its id.
async fn open_timer_case(rt: &Runtime, i: usize, due: DateTime<Utc>) -> anyhow::Result<String> {
    let out = rt
        .open_case(
            "bench",
            "bench_timer",
            None,
            Some(format!("T-{i}")),
            vars(json!({"due": due.to_rfc3339_opts(SecondsFormat::Micros, true)})),
            "bench",
            None,
        )
        .await?;
    Ok(out.case_id)
}
