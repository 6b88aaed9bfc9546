//! `recobro bench webhooks`: partner events delivered per second by the webhook
//! delivery (signed, minimised, per-case order, outcomes and attempts written back),
//! divided by plain POSTs per second from a bare HTTP client (reqwest, same concurrency)
//! to the same receiver, in the same run. The events are a backlog built while nothing
//! was delivered (as after an outage): `--events` of them over cases placed with an
//! agency; the figure is the backlog's drain rate. The receiver checks that each case's
//! events arrive in order and each exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use clap::Args;
use collections::allocation::Component;
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use services::access::{Principal, Role};
use services::case::{CaseFact, LedgerFact};
use services::clock::SystemClock;
use services::desk::Desk;
use services::runtime::{Runtime, RuntimeConfig};

use super::{
    BenchDb, Common, LOOP_MODEL, for_each_concurrent, per_second, verdict_at_least, with_db,
};

#[derive(Args, Debug)]
pub struct WebhooksArgs {
    #[command(flatten)]
    common: Common,
    /// Events in the backlog.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events per case: its placement, its account, then charges.
    #[arg(long, default_value_t = 5)]
    events_per_case: usize,
    /// Requests in flight at once, for the delivery and the plain client alike.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
}

const TARGET: f64 = 0.5;

/// What the receiver saw: per case, the last `webhook-id` number, to check order.
#[derive(Default)]
struct Seen {
    received: AtomicU64,
    out_of_order: AtomicU64,
    last: Mutex<HashMap<String, i64>>,
}

async fn receive(req: HttpRequest, body: web::Bytes, seen: web::Data<Arc<Seen>>) -> HttpResponse {
    let id: i64 = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim_start_matches("msg_").parse().ok())
        .unwrap_or(-1);
    let case = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["data"]["caseId"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut last = seen.last.lock().unwrap_or_else(|p| p.into_inner());
    let before = last.insert(case, id);
    drop(last);
    if before.is_some_and(|b| b >= id) {
        seen.out_of_order.fetch_add(1, Ordering::Relaxed);
    }
    seen.received.fetch_add(1, Ordering::Relaxed);
    HttpResponse::NoContent().finish()
}

pub async fn run(mut a: WebhooksArgs) -> anyhow::Result<()> {
    // Quick still writes more outcomes at once than a statement may bind on SQLite.
    if a.common.quick {
        a.events = a.events.min(4_000);
    }
    if a.events_per_case < 2 {
        bail!("--events-per-case is at least 2 (the placement and the account)");
    }
    let url = a.common.database_url.clone();
    with_db(
        url.as_deref(),
        |bench| async move { measure(&bench, &a).await },
    )
    .await
}

fn account(principal: Money) -> NewAccount {
    let zero = Money::zero(principal.currency());
    NewAccount {
        id: "L-1".into(),
        product: "consumer_loan".into(),
        principal,
        interest: zero,
        fees: zero,
        costs: zero,
        delinquent_since: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default(),
        creditor: collections::creditor::DEFAULT_CREDITOR.into(),
        portfolio: collections::creditor::DEFAULT_PORTFOLIO.into(),
    }
}

async fn measure(bench: &Arc<BenchDb>, a: &WebhooksArgs) -> anyhow::Result<()> {
    bench.print_settings().await?;
    let seen = Arc::new(Seen::default());
    let data = web::Data::new(seen.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hooks", listener.local_addr()?);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hooks", web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    let server_handle = server.handle();
    actix::spawn(server);
    let cases_n = a.events.div_ceil(a.events_per_case);
    let events = cases_n * a.events_per_case;
    println!(
        "webhooks: {events} events over {cases_n} cases, {} requests in flight, receiver: one actix-web worker",
        a.concurrency
    );

    // Baseline: a bare client POSTs bodies of the same shape, with the same headers.
    let client = reqwest::Client::new();
    let sample = r#"{"type":"case.updated","timestamp":"2026-12-08T10:00:00Z","data":{"status":"active","amountDue":{"amount":"1000.00","currency":"COP"},"caseId":"00000000-0000-0000-0000-000000000000","stage":null}}"#;
    let started = Instant::now();
    let posted = Arc::new(AtomicU64::new(0));
    for_each_concurrent(events, a.concurrency, {
        let (client, url, posted) = (client.clone(), url.clone(), posted.clone());
        move |i| {
            let (client, url, posted) = (client.clone(), url.clone(), posted.clone());
            async move {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", format!("msg_{i}"))
                    .header(
                        "webhook-timestamp",
                        chrono::Utc::now().timestamp().to_string(),
                    )
                    .header("webhook-signature", "v1,bench")
                    .body(sample.replace("00000000-0000-0000-0000-000000000000", &i.to_string()))
                    .send()
                    .await?;
                anyhow::ensure!(r.status().is_success(), "receiver answered {}", r.status());
                posted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        }
    })
    .await?;
    let baseline = per_second(posted.load(Ordering::Relaxed), started.elapsed());
    println!(
        "baseline: {baseline:.0} plain POSTs/s ({} in {:.2} s)",
        posted.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    seen.received.store(0, Ordering::Relaxed);
    seen.last.lock().unwrap_or_else(|p| p.into_inner()).clear();

    // The backlog, built with nothing delivering.
    let rt = Runtime::start(
        bench.db.clone(),
        Arc::new(SystemClock),
        RuntimeConfig::default(),
    );
    rt.deploy("bench-loop.bpmn", LOOP_MODEL, "bench")
        .await
        .context("deploy the bench model")?;
    let desk = Desk::new(rt.clone());
    let partners = partners::Partners::new(desk.clone());
    let admin = Principal::new("bench", "bench", Role::Admin, None, Vec::new())?;
    let agency = partners
        .register(
            &admin,
            partners::NewPartner {
                name: "Bench Agency".into(),
                kind: "agency".into(),
            },
        )
        .await?;
    partners
        .set_webhook(&admin, &agency.partner_id, &url, Vec::new())
        .await?;
    let fill = Instant::now();
    // Opened 64 at a time: 20,000 at once would queue past the pool's timeout.
    let opened = Arc::new(Mutex::new(Vec::with_capacity(cases_n)));
    for_each_concurrent(cases_n, 64, {
        let (rt, opened) = (rt.clone(), opened.clone());
        move |i| {
            let (rt, opened) = (rt.clone(), opened.clone());
            async move {
                let out = rt
                    .open_case(
                        "bench",
                        "bench_loop",
                        None,
                        Some(format!("W-{i}")),
                        super::vars(serde_json::json!({"done": false})),
                        "bench",
                        None,
                    )
                    .await?;
                opened
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(out.case_id);
                Ok(())
            }
        }
    })
    .await?;
    let cases: Vec<String> = std::mem::take(&mut *opened.lock().unwrap_or_else(|p| p.into_inner()));
    let cop = Currency::from_code("COP").context("COP")?;
    let per_case = a.events_per_case;
    for_each_concurrent(cases.len(), 64, {
        let (rt, cases, partner) = (rt.clone(), Arc::new(cases), agency.partner_id.clone());
        move |i| {
            let (rt, cases, partner) = (rt.clone(), cases.clone(), partner.clone());
            async move {
                let case = &cases[i];
                let placed = CaseFact::Placed {
                    partner,
                    note: None,
                    accept_by: None,
                };
                rt.record_fact(case, placed, "bench", None).await?;
                let opened = LedgerFact::AccountOpened {
                    account: account(Money::from_minor(100_000, cop)),
                };
                rt.record_fact(case, CaseFact::Ledger(opened), "bench", None)
                    .await?;
                for _ in 2..per_case {
                    let charged = LedgerFact::Charged {
                        account: "L-1".into(),
                        component: Component::Fees,
                        amount: Money::from_minor(1_000, cop),
                        reason: "collection fee".into(),
                    };
                    rt.record_fact(case, CaseFact::Ledger(charged), "bench", None)
                        .await?;
                }
                Ok(())
            }
        }
    })
    .await?;
    bench.analyze_after_load().await?;
    println!(
        "backlog: {events} events written in {:.1} s (not measured)",
        fill.elapsed().as_secs_f64()
    );

    // The receiver is reachable again: the delivery drains the backlog.
    let started = Instant::now();
    let delivery = partners::webhooks::deliver::spawn(
        desk.clone(),
        partners::webhooks::DeliveryConfig {
            concurrency: a.concurrency,
            ..Default::default()
        },
    );
    let mut settled = delivery.settled.clone();
    // Only whether it drained: a borrow kept would block the delivery's next count.
    let done = tokio::time::timeout(
        Duration::from_secs(3600),
        settled.wait_for(|n| *n >= events as u64),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let elapsed = started.elapsed();
    let attempted = *delivery.attempted.borrow();
    let ms = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed) as f64 / 1000.0;
    let time = delivery.time.clone();
    println!(
        "delivery loop: {:.0} ms reading events ahead, {:.0} ms writing outcomes, {:.0} ms waiting for answers",
        ms(&time.reading_us),
        ms(&time.writing_us),
        ms(&time.waiting_us)
    );
    delivery.stop().await;
    server_handle.stop(true).await;
    anyhow::ensure!(done, "the backlog did not drain within an hour");
    let received = seen.received.load(Ordering::Relaxed);
    let out_of_order = seen.out_of_order.load(Ordering::Relaxed);
    anyhow::ensure!(
        received == events as u64 && attempted == events as u64,
        "{events} events, {received} received, {attempted} attempts: each must arrive once"
    );
    anyhow::ensure!(
        out_of_order == 0,
        "{out_of_order} events arrived before an earlier one of their case"
    );
    let rate = per_second(events as u64, elapsed);
    println!(
        "delivery: {rate:.0} events/s ({events} drained in {:.2} s, every case in order, each once)",
        elapsed.as_secs_f64()
    );
    let ratio = rate / baseline.max(1e-9);
    println!(
        "target: ratio >= {TARGET}: {} (ratio {ratio:.2})",
        verdict_at_least(ratio, TARGET)
    );
    println!(
        "RESULT webhooks backend={} events={events} concurrency={} events_per_s={rate:.1} baseline_posts_per_s={baseline:.1} drain_s={:.2} ratio={ratio:.3}",
        bench.backend_name(),
        a.concurrency,
        elapsed.as_secs_f64()
    );
    Ok(())
}
