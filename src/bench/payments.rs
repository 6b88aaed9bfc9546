//! `recobro bench payments`: payments recorded and allocated per second through the case
//! runtime (each a journalled `PaymentRecorded` fact, allocated across two accounts by the
//! case actor), divided by `bench journal`'s committed case transitions per second,
//! measured in the same run on the same database with the same number of cases.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use collections::allocation::AllocationOrder;
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use services::case::{CaseFact, LedgerFact};
use services::clock::SystemClock;
use services::runtime::{Runtime, RuntimeConfig};

use super::journal::{open_loop_cases, transitions_per_second};
use super::{BenchDb, Common, LOOP_MODEL, per_second, verdict_at_least, with_db, workers};

#[derive(Args, Debug)]
pub struct PaymentsArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent cases, one client each (for both measurements).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Cases each client pays into, in turn: payments spread over a portfolio, as they
    /// arrive, rather than hundreds a second onto one case.
    #[arg(long, default_value_t = 20)]
    cases_per_client: usize,
}

/// A payment may cost no more than a process step, give or take a fifth.
const TARGET: f64 = 0.8;

pub async fn run(mut a: PaymentsArgs) -> anyhow::Result<()> {
    if a.common.quick {
        a.clients = a.clients.min(4);
        a.seconds = a.seconds.min(0.5);
        a.cases_per_client = a.cases_per_client.min(2);
    }
    let url = a.common.database_url.clone();
    with_db(
        url.as_deref(),
        |bench| async move { measure(&bench, &a).await },
    )
    .await
}

fn account(id: &str, principal: Money, since: NaiveDate) -> NewAccount {
    let zero = Money::zero(principal.currency());
    NewAccount {
        id: id.to_string(),
        product: "consumer_loan".into(),
        principal,
        interest: zero,
        fees: zero,
        costs: zero,
        delinquent_since: since,
        creditor: collections::creditor::DEFAULT_CREDITOR.into(),
        portfolio: collections::creditor::DEFAULT_PORTFOLIO.into(),
    }
}

async fn measure(bench: &Arc<BenchDb>, a: &PaymentsArgs) -> anyhow::Result<()> {
    let clients = a.clients.max(1);
    let duration = Duration::from_secs_f64(a.seconds);
    bench.print_settings().await?;
    println!(
        "payments: {clients} concurrent cases/clients, {:.1} s per measurement",
        a.seconds
    );
    let rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig::default(),
    );
    rt.deploy("bench-loop.bpmn", LOOP_MODEL, "bench")
        .await
        .context("deploy the bench model")?;
    let per_client = a.cases_per_client.max(1);
    let mut cases = open_loop_cases(&rt, clients * per_client, "P").await?;

    // Baseline: process steps, one client per case as `bench journal` runs them.
    let (steps, transitions, elapsed) =
        transitions_per_second(&rt, &mut cases[..clients], duration).await?;
    println!(
        "baseline: {steps:.0} committed case transitions/s ({transitions} in {:.2} s)",
        elapsed.as_secs_f64()
    );

    // Two debts per case, large enough never to be paid off during the run.
    let cop = Currency::from_code("COP").context("COP")?;
    let since = |day| NaiveDate::from_ymd_opt(2026, 1, day).context("date");
    let (first, second) = (since(5)?, since(20)?);
    workers(cases.len(), |i| {
        let rt = rt.clone();
        let case_id = cases[i].0.clone();
        async move {
            for (id, day) in [("L-1", first), ("L-2", second)] {
                let fact = LedgerFact::AccountOpened {
                    account: account(id, Money::from_minor(i64::MAX / 4, cop), day),
                };
                rt.record_fact(&case_id, CaseFact::Ledger(fact), "bench", None)
                    .await?;
            }
            Ok(())
        }
    })
    .await?;

    let recorded = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    workers(clients, |i| {
        let rt = rt.clone();
        let recorded = recorded.clone();
        let mine: Vec<String> = cases[i * per_client..(i + 1) * per_client]
            .iter()
            .map(|(id, _)| id.clone())
            .collect();
        async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let case_id = &mine[n as usize % mine.len()];
                let fact = LedgerFact::PaymentRecorded {
                    reference: format!("B-{i}-{n}"),
                    amount: Money::from_minor(12_345, cop),
                    received_on: chrono::Utc::now().date_naive(),
                    channel: "bench".into(),
                    order: AllocationOrder::default(),
                };
                rt.record_fact(case_id, CaseFact::Ledger(fact), "bench", None)
                    .await?;
                recorded.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    let elapsed = started.elapsed();
    let payments = recorded.load(Ordering::Relaxed);
    let rate = per_second(payments, elapsed);
    println!(
        "runtime: {rate:.0} payments recorded and allocated/s ({payments} in {:.2} s, {clients} clients over {} cases)",
        elapsed.as_secs_f64(),
        cases.len()
    );

    let ratio = rate / steps.max(1e-9);
    let verdict = verdict_at_least(ratio, TARGET);
    if bench.is_postgres() {
        println!("target: ratio >= {TARGET} on PostgreSQL: {verdict} (ratio {ratio:.2})");
    } else {
        println!(
            "target: ratio >= {TARGET} (set for PostgreSQL; on SQLite for reference): {verdict} (ratio {ratio:.2})"
        );
    }
    println!(
        "RESULT payments backend={} clients={clients} payments_per_s={rate:.1} baseline_transitions_per_s={steps:.1} ratio={ratio:.3}",
        bench.backend_name()
    );
    Ok(())
}
