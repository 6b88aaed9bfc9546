//! `recobro bench graphql`: requests per second of a simple authenticated GraphQL query
//! (`{ me { subject } }` with a real RS256 bearer token) divided by a bare actix-web
//! handler answering the same body on the same server, in the same run; and the p99
//! latency of "next 10 tasks for me" (`agenda(first: 10)`) over HTTP with `--tasks`
//! open tasks in the agent's queue.
//!
//! Both request kinds go through the same HTTP server, client and connection pool; the
//! rounds alternate (bare, GraphQL, bare, ...) and each side's median counts, so drift
//! of a shared, noisy machine hits both alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use chrono::{TimeZone, Utc};
use clap::Args;
use documents::{DocumentConfig, DocumentService, StoreConfig};
use graphql::auth::{Auth, AuthConfig};
use graphql::schema::Limits;
use orm::entities::{task_candidates, tasks};
use sea_orm::{EntityTrait, Set};
use services::access::{Principal, Role};
use services::clock::SystemClock;
use services::desk::Desk;
use services::runtime::{Runtime, RuntimeConfig};

use super::{
    BenchDb, Common, median, per_second, verdict_at_least, verdict_at_most, with_db, workers,
};

#[derive(Args, Debug)]
pub struct GraphqlArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent HTTP clients of the throughput rounds.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds per throughput round.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds per side (medians count).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Open tasks in the agent's queue for the agenda latency.
    #[arg(long, default_value_t = 1_000_000)]
    tasks: usize,
    /// Agenda requests timed (one after another).
    #[arg(long, default_value_t = 2_000)]
    samples: usize,
}

const RATIO_TARGET: f64 = 0.4;
const P99_TARGET_MS: f64 = 10.0;
const TENANT: &str = "bench";
const QUEUE: &str = "bench-queue";
const ME: &str = r#"{"query":"{ me { subject } }"}"#;
const AGENDA: &str = r#"{"query":"{ agenda(first: 10) { score task { id name } } }"}"#;

pub async fn run(mut a: GraphqlArgs) -> anyhow::Result<()> {
    if a.common.quick {
        a.seconds = a.seconds.min(0.5);
        a.rounds = 1;
        a.tasks = a.tasks.min(2_000);
        a.samples = a.samples.min(100);
    }
    let url = a.common.database_url.clone();
    with_db(url.as_deref(), move |db| bench(db, a)).await
}

async fn bench(b: Arc<BenchDb>, a: GraphqlArgs) -> anyhow::Result<()> {
    b.print_settings().await?;
    let clock = Arc::new(SystemClock);
    let runtime = Runtime::start(b.db.clone(), clock.clone(), RuntimeConfig::default());
    let auth = Auth::new(b.db.clone(), clock, AuthConfig::default())
        .await
        .context("start authentication")?;
    let agent = Principal::new("bench-agent", TENANT, Role::Agent, None, vec![QUEUE.into()])?;
    let token = auth.issuer().issue(&agent, chrono::Duration::hours(2))?;
    let docs_dir = std::env::temp_dir().join(format!("recobro-bench-docs-{}", std::process::id()));
    let documents = DocumentService::new(
        Desk::new(runtime.clone()),
        DocumentConfig {
            store: StoreConfig::Local {
                dir: docs_dir.clone(),
            },
            ..DocumentConfig::default()
        },
    )?;
    let app = graphql::app::HttpApp::new(Desk::new(runtime), auth, documents, Limits::default());
    let server = HttpServer::new(move || {
        App::new()
            .route("/bare", web::post().to(bare))
            .configure(|cfg| app.configure(cfg))
    })
    .bind("127.0.0.1:0")?;
    let addr = server.addrs()[0];
    let server = server.disable_signals().run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.clients)
        .build()?;
    println!(
        "graphql: {} clients, {} rounds of {:.1} s per side, server workers: actix default",
        a.clients, a.rounds, a.seconds
    );

    // Warm up both paths (connections, JWKS key parse, statement caches).
    rate(&client, &base, "/bare", &token, ME, a.clients, 0.3).await?;
    rate(&client, &base, "/graphql", &token, ME, a.clients, 0.3).await?;
    let (mut bare_rates, mut gql_rates) = (Vec::new(), Vec::new());
    for round in 0..a.rounds {
        let bare = rate(&client, &base, "/bare", &token, ME, a.clients, a.seconds).await?;
        let gql = rate(&client, &base, "/graphql", &token, ME, a.clients, a.seconds).await?;
        println!(
            "round {}: bare {bare:.0} req/s, graphql {gql:.0} req/s",
            round + 1
        );
        bare_rates.push(bare);
        gql_rates.push(gql);
    }
    let (bare, gql) = (median(&mut bare_rates), median(&mut gql_rates));
    let ratio = gql / bare;
    println!(
        "throughput: graphql {gql:.0} req/s / bare handler {bare:.0} req/s = {ratio:.3} (target >= {RATIO_TARGET}: {})",
        verdict_at_least(ratio, RATIO_TARGET)
    );

    let started = Instant::now();
    seed_tasks(&b, a.tasks).await?;
    // Without statistics PostgreSQL guesses one row per queue.
    b.analyze_after_load().await?;
    println!(
        "seeded {} open tasks in queue {QUEUE} in {:.1} s",
        a.tasks,
        started.elapsed().as_secs_f64()
    );
    let mut latencies = Vec::with_capacity(a.samples);
    for i in 0..a.samples + 20 {
        let t = Instant::now();
        let body = post(&client, &base, "/graphql", &token, AGENDA).await?;
        if i == 0 {
            let v: serde_json::Value = serde_json::from_str(&body)?;
            let n = v["data"]["agenda"].as_array().map_or(0, Vec::len);
            anyhow::ensure!(
                n == 10.min(a.tasks),
                "the agenda answered {n} tasks: {body}"
            );
        }
        if i >= 20 {
            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    println!(
        "agenda(first: 10) over HTTP with {} open tasks: p50 {p50:.2} ms, p99 {p99:.2} ms (target <= {P99_TARGET_MS} ms: {})",
        a.tasks,
        verdict_at_most(p99, P99_TARGET_MS)
    );
    handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&docs_dir);
    println!(
        "RESULT graphql backend={} clients={} graphql_per_s={gql:.1} bare_per_s={bare:.1} agenda_tasks={} agenda_p50_ms={p50:.2} agenda_p99_ms={p99:.2} ratio={ratio:.3}",
        b.backend_name(),
        a.clients,
        a.tasks
    );
    Ok(())
}

/// The baseline: what actix-web costs with no GraphQL, auth or database behind it.
async fn bare(body: web::Bytes) -> HttpResponse {
    std::hint::black_box(body);
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"data":{"me":{"subject":"bench-agent"}}}"#)
}

async fn post(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
    body: &'static str,
) -> anyhow::Result<String> {
    let resp = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    anyhow::ensure!(resp.status().is_success(), "{path}: HTTP {}", resp.status());
    let text = resp.text().await?;
    anyhow::ensure!(!text.contains("\"errors\""), "{path}: {text}");
    Ok(text)
}

/// Requests per second of `clients` concurrent loops over `seconds`.
async fn rate(
    client: &reqwest::Client,
    base: &str,
    path: &'static str,
    token: &str,
    body: &'static str,
    clients: usize,
    seconds: f64,
) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    workers(clients, |_| {
        let (client, base, token, done) = (
            client.clone(),
            base.to_string(),
            token.to_string(),
            done.clone(),
        );
        async move {
            while Instant::now() < deadline {
                post(&client, &base, path, &token, body).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    Ok(per_second(done.load(Ordering::Relaxed), started.elapsed()))
}

/// Open tasks straight into the projections (no cases behind them: the agenda reads
/// only the task tables), with ranks spread like a real portfolio's.
async fn seed_tasks(b: &BenchDb, n: usize) -> anyhow::Result<()> {
    let created = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    const BATCH: usize = 1_000;
    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let mut rows = Vec::with_capacity(end - start);
        let mut candidates = Vec::with_capacity(end - start);
        for i in start..end {
            let case_id = format!("bench-case-{i:08}");
            // A deterministic scramble, so rank order is not insertion order.
            let rank = ((i as i64).wrapping_mul(2_654_435_761) % 1_000_003).abs();
            rows.push(tasks::ActiveModel {
                case_id: Set(case_id.clone()),
                task_id: Set(1),
                tenant: Set(TENANT.into()),
                element_id: Set("CallDebtor".into()),
                name: Set(Some("Call debtor".into())),
                status: Set("open".into()),
                assignee: Set(None),
                candidate_groups: Set(format!("[\"{QUEUE}\"]")),
                candidate_users: Set("[]".into()),
                priority: Set(50),
                due_at: Set(None),
                stage: Set(Some("early".into())),
                created_at: Set(created),
                completed_at: Set(None),
                completed_by: Set(None),
                partner: Set(None),
                rank: Set(rank),
                amount_due_minor: Set(Some(10_000 + rank)),
            });
            candidates.push(task_candidates::ActiveModel {
                case_id: Set(case_id),
                task_id: Set(1),
                candidate: Set(QUEUE.into()),
                tenant: Set(TENANT.into()),
                assignee: Set(None),
                rank: Set(rank),
            });
        }
        tasks::Entity::insert_many(rows).exec(&b.db).await?;
        task_candidates::Entity::insert_many(candidates)
            .exec(&b.db)
            .await?;
    }
    Ok(())
}
