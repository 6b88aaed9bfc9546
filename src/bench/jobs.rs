//! `recobro bench jobs`: jobs activated and completed per second by external workers
//! through the GraphQL worker API (`activateJobs` → `completeJob`, real HTTP, a worker's
//! bearer token from the own issuer), divided by `bench journal`'s committed case
//! transitions per second on the same runtime, database and run; and the wake-up latency
//! of a worker waiting in `activateJobs` when a job is created.
//!
//! The rounds alternate (journal, jobs, journal, ...) and each side's median counts, so
//! drift of a shared, noisy machine hits both alike. A jobs round's cases (one job each)
//! are opened before its clock starts: only activation and completion are timed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer};
use anyhow::{Context as _, bail, ensure};
use clap::Args;
use documents::{DocumentConfig, DocumentService, StoreConfig};
use futures_util::StreamExt as _;
use graphql::auth::{Auth, AuthConfig};
use graphql::schema::Limits;
use orm::entities::outbox;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use services::access::{Principal, Role};
use services::clock::SystemClock;
use services::desk::Desk;
use services::runtime::jobs::JobHandlers;
use services::runtime::{Runtime, RuntimeConfig};

use super::journal::{open_loop_cases, transitions_per_second};
use super::{
    BenchDb, Common, LOOP_MODEL, for_each_concurrent, median, per_second, quantile, vars,
    verdict_at_least, verdict_at_most, with_db, workers,
};

#[derive(Args, Debug)]
pub struct JobsArgs {
    #[command(flatten)]
    common: Common,
    /// Concurrent external workers, each over its own keep-alive HTTP connection.
    #[arg(long, default_value_t = 8)]
    workers: usize,
    /// Most jobs a worker holds at once, all being completed concurrently (Zeebe's
    /// `maxJobsActive`, 32 by default). It activates more, as many as it lacks, once
    /// 30 % or fewer are left (Zeebe's activation threshold); 1 works them one by one.
    #[arg(long, default_value_t = 32)]
    max_jobs: usize,
    /// Jobs per throughput round (one case each, opened before the round's clock starts).
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Concurrent cases of the journal baseline (`bench journal --clients`).
    #[arg(long, default_value_t = 64)]
    journal_clients: usize,
    /// Seconds per journal baseline round.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Rounds per side (medians count).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Wake-ups timed, one after another.
    #[arg(long, default_value_t = 300)]
    samples: usize,
}

const RATIO_TARGET: f64 = 0.3;
const WAKEUP_P99_TARGET_MS: f64 = 50.0;
const TENANT: &str = "bench";
const JOB_TYPE: &str = "bench.work";
/// Long enough that no lock expires during a round: an expired lock would hand a job out
/// twice and count its work twice.
const LOCK_MS: u64 = 300_000;
/// How long a worker of a throughput round waits in `activateJobs` when it finds nothing
/// (the other workers hold what is left).
const ROUND_WAIT_MS: u64 = 1_000;
/// A round that completes nothing for this long is broken, not slow.
const STALL: Duration = Duration::from_secs(60);

/// One service task: each case creates one job for an external worker, and ends when
/// the job completes.
const JOB_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bench-job" targetNamespace="recobro-bench">
  <bpmn:process id="bench_job" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:serviceTask id="Work">
      <bpmn:extensionElements><zeebe:taskDefinition type="bench.work" retries="3"/></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Work" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

const ACTIVATE: &str = "mutation($t: String!, $n: Int!, $l: Int!, $w: String!, $wait: Int!) {
  activateJobs(type: $t, maxJobs: $n, lockDuration: $l, worker: $w, wait: $wait) { id caseId variables } }";
const COMPLETE: &str = "mutation($j: ID!, $w: String!) {
  completeJob(jobId: $j, worker: $w, variables: {worked: true}) { status } }";

pub async fn run(mut a: JobsArgs) -> anyhow::Result<()> {
    if a.common.quick {
        a.jobs = a.jobs.min(200);
        a.journal_clients = a.journal_clients.min(4);
        a.seconds = a.seconds.min(0.5);
        a.rounds = 1;
        a.samples = a.samples.min(20);
    }
    let url = a.common.database_url.clone();
    with_db(url.as_deref(), move |db| bench(db, a)).await
}

/// A worker's view of the API: one HTTP client (keep-alive pool), the GraphQL URL and
/// its bearer token.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    url: String,
    token: Arc<str>,
}

impl Api {
    async fn call(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let resp = self
            .http
            .post(&self.url)
            .bearer_auth(&*self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await?;
        ensure!(resp.status().is_success(), "HTTP {}", resp.status());
        let body: Value = resp.json().await?;
        if body.get("errors").is_some() {
            bail!("GraphQL errors: {body}");
        }
        Ok(body["data"].clone())
    }

    /// The ids of the jobs activated.
    async fn activate(
        &self,
        worker: &str,
        max: usize,
        wait_ms: u64,
    ) -> anyhow::Result<Vec<String>> {
        let data = self
            .call(
                ACTIVATE,
                json!({"t": JOB_TYPE, "n": max, "l": LOCK_MS, "w": worker, "wait": wait_ms}),
            )
            .await?;
        data["activateJobs"]
            .as_array()
            .context("activateJobs answered no list")?
            .iter()
            .map(|j| {
                j["id"]
                    .as_str()
                    .map(str::to_string)
                    .context("a job without an id")
            })
            .collect()
    }

    async fn complete(&self, worker: &str, job: &str) -> anyhow::Result<()> {
        let data = self.call(COMPLETE, json!({"j": job, "w": worker})).await?;
        let status = &data["completeJob"]["status"];
        ensure!(status == "completed", "job {job} completed as {status}");
        Ok(())
    }
}

async fn bench(b: Arc<BenchDb>, a: JobsArgs) -> anyhow::Result<()> {
    b.print_settings().await?;
    let clock = Arc::new(SystemClock);
    let rt = Runtime::start(b.db.clone(), clock.clone(), RuntimeConfig::default());
    // As `serve` runs them; no in-process handler takes the bench's job type.
    let timers = services::runtime::timers::spawn(rt.clone(), Default::default());
    let dispatcher =
        services::runtime::jobs::spawn(rt.clone(), JobHandlers::default(), Default::default());
    rt.deploy("bench-job.bpmn", JOB_MODEL, TENANT)
        .await
        .context("deploy the job model")?;
    rt.deploy("bench-loop.bpmn", LOOP_MODEL, TENANT)
        .await
        .context("deploy the loop model")?;

    let auth = Auth::new(b.db.clone(), clock, AuthConfig::default())
        .await
        .context("start authentication")?;
    let worker = Principal::new(
        "bench-worker",
        TENANT,
        Role::Worker,
        None,
        vec![JOB_TYPE.into()],
    )?;
    let token = auth.issuer().issue(&worker, chrono::Duration::hours(2))?;
    let docs_dir =
        std::env::temp_dir().join(format!("recobro-bench-jobs-docs-{}", std::process::id()));
    let desk = Desk::new(rt.clone());
    let documents = DocumentService::new(
        desk.clone(),
        DocumentConfig {
            store: StoreConfig::Local {
                dir: docs_dir.clone(),
            },
            ..DocumentConfig::default()
        },
    )?;
    let app = graphql::app::HttpApp::new(desk.clone(), auth, documents, Limits::default());
    let server = HttpServer::new(move || App::new().configure(|cfg| app.configure(cfg)))
        .bind("127.0.0.1:0")?;
    let addr = server.addrs()[0];
    let server = server.disable_signals().run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let api = Api {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(a.workers * (a.max_jobs + 1) + 1)
            .build()?,
        url: format!("http://{addr}/graphql"),
        token: token.into(),
    };
    println!(
        "jobs: {} workers (each holding up to {} jobs, asking for more at {} left), {} jobs per round, {} rounds per side; journal baseline: {} cases, {:.1} s per round; server workers: actix default",
        a.workers,
        a.max_jobs,
        threshold(a.max_jobs),
        a.jobs,
        a.rounds,
        a.journal_clients,
        a.seconds
    );

    let mut loop_cases = open_loop_cases(&rt, a.journal_clients.max(1), "J").await?;
    // Warm up both paths (connections, token key, statement caches, actors).
    transitions_per_second(&rt, &mut loop_cases, Duration::from_millis(300)).await?;
    open_job_cases(&rt, a.jobs.min(200), "warm").await?;
    drain(&api, &b, &a, a.jobs.min(200)).await?;

    let (mut journal_rates, mut job_rates) = (Vec::new(), Vec::new());
    for round in 0..a.rounds {
        let (steps, _, _) =
            transitions_per_second(&rt, &mut loop_cases, Duration::from_secs_f64(a.seconds))
                .await?;
        open_job_cases(&rt, a.jobs, &format!("r{round}")).await?;
        let (jobs, elapsed) = drain(&api, &b, &a, a.jobs).await?;
        println!(
            "round {}: journal {steps:.0} transitions/s, jobs {jobs:.0} activated+completed/s ({} in {:.2} s)",
            round + 1,
            a.jobs,
            elapsed.as_secs_f64()
        );
        journal_rates.push(steps);
        job_rates.push(jobs);
    }
    let (steps, jobs) = (median(&mut journal_rates), median(&mut job_rates));
    let ratio = jobs / steps.max(1e-9);
    println!(
        "throughput: {jobs:.0} jobs/s / {steps:.0} journal transitions/s = {ratio:.3} (target >= {RATIO_TARGET}: {})",
        verdict_at_least(ratio, RATIO_TARGET)
    );

    let mut latencies = wakeups(&api, &rt, &desk, a.samples).await?;
    latencies.sort_by(f64::total_cmp);
    let (p50, p99) = (quantile(&latencies, 0.5), quantile(&latencies, 0.99));
    println!(
        "wake-up of a waiting activateJobs after a job is committed, {} samples: p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms (target p99 <= {WAKEUP_P99_TARGET_MS} ms: {})",
        latencies.len(),
        latencies[latencies.len() - 1],
        verdict_at_most(p99, WAKEUP_P99_TARGET_MS)
    );

    handle.stop(true).await;
    timers.stop().await.context("stop the timer service")?;
    dispatcher.stop().await.context("stop the job dispatcher")?;
    let _ = std::fs::remove_dir_all(&docs_dir);
    println!(
        "RESULT jobs backend={} workers={} jobs_per_s={jobs:.1} journal_transitions_per_s={steps:.1} wakeup_p50_ms={p50:.2} wakeup_p99_ms={p99:.2} ratio={ratio:.3}",
        b.backend_name(),
        a.workers
    );
    Ok(())
}

/// Opens `n` cases of the job model, 64 at a time; each leaves one job in the outbox.
async fn open_job_cases(rt: &Runtime, n: usize, prefix: &str) -> anyhow::Result<()> {
    let prefix: Arc<str> = prefix.into();
    let rt = rt.clone();
    for_each_concurrent(n, 64, move |i| {
        let (rt, prefix) = (rt.clone(), prefix.clone());
        async move {
            open_job_case(&rt, &format!("JOB-{prefix}-{i}")).await?;
            Ok(())
        }
    })
    .await
}

async fn open_job_case(rt: &Runtime, external_ref: &str) -> anyhow::Result<()> {
    rt.open_case(
        TENANT,
        "bench_job",
        None,
        Some(external_ref.to_string()),
        vars(json!({"amountDue": 125_000, "phone": "+573101234567"})),
        "bench",
        None,
    )
    .await?;
    Ok(())
}

/// `workers` concurrent workers activate and complete jobs until `total` are done;
/// returns jobs per second up to the last completion, and that time.
async fn drain(
    api: &Api,
    b: &BenchDb,
    a: &JobsArgs,
    total: usize,
) -> anyhow::Result<(f64, Duration)> {
    let total = total as u64;
    let max_jobs = a.max_jobs.max(1);
    let done = Arc::new(AtomicU64::new(0));
    let spent = Arc::new(Spent::default());
    let last = Arc::new(Mutex::new(None::<Instant>));
    let started = Instant::now();
    workers(a.workers.max(1), |i| {
        let (api, done, last, spent) = (api.clone(), done.clone(), last.clone(), spent.clone());
        async move {
            let name = format!("w{i}");
            let mut progress = Instant::now();
            let mut held = futures_util::stream::FuturesUnordered::new();
            let mut asking = None;
            loop {
                if done.load(Ordering::Relaxed) >= total {
                    // An activation still waiting on the server would take the next
                    // round's (or the wake-up test's) first job: heard out, it finds none.
                    if let Some(asking) = asking.take() {
                        let (jobs, _) = asking.await;
                        let jobs: Vec<String> = jobs?;
                        ensure!(jobs.is_empty(), "{name} got {} jobs after the last", jobs.len());
                    }
                    return Ok(());
                }
                if asking.is_none() && held.len() <= threshold(max_jobs) {
                    let (api, name, want) = (api.clone(), name.clone(), max_jobs - held.len());
                    asking = Some(Box::pin(async move {
                        let t = Instant::now();
                        let jobs = api.activate(&name, want, ROUND_WAIT_MS).await;
                        (jobs, t)
                    }));
                }
                tokio::select! {
                    Some(completed) = held.next(), if !held.is_empty() => {
                        let () = completed?;
                        if done.fetch_add(1, Ordering::Relaxed) + 1 == total {
                            *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
                        }
                    }
                    (jobs, t) = async { asking.as_mut().expect("asking").await }, if asking.is_some() => {
                        asking = None;
                        let jobs = jobs?;
                        spent.activations.add(t, jobs.len() as u64);
                        if jobs.is_empty() {
                            ensure!(
                                progress.elapsed() < STALL,
                                "{name}: no job for {STALL:?} with {} of {total} done",
                                done.load(Ordering::Relaxed)
                            );
                            continue;
                        }
                        progress = Instant::now();
                        for job in jobs {
                            let (api, name, spent) = (api.clone(), name.clone(), spent.clone());
                            held.push(async move {
                                let t = Instant::now();
                                api.complete(&name, &job).await?;
                                spent.completions.add(t, 1);
                                anyhow::Ok(())
                            });
                        }
                    }
                }
            }
        }
    })
    .await?;
    let finished = last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .context("no job was completed")?;
    let completed = done.load(Ordering::Relaxed);
    ensure!(
        completed == total,
        "{completed} jobs completed, {total} created: a job was handed out twice"
    );
    let left = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("job"))
        .filter(outbox::Column::DeliveredAt.is_null())
        .count(&b.db)
        .await?;
    ensure!(
        left == 0,
        "{left} jobs are still undelivered after the round"
    );
    let elapsed = finished - started;
    println!(
        "  per call: activateJobs {} (mean {:.1} jobs), completeJob {}",
        spent.activations.mean_ms(),
        spent.activations.items.load(Ordering::Relaxed) as f64
            / spent.activations.calls.load(Ordering::Relaxed).max(1) as f64,
        spent.completions.mean_ms()
    );
    Ok((per_second(completed, elapsed), elapsed))
}

/// Jobs left at which a worker holding up to `max_jobs` asks for more: Zeebe's job
/// workers' activation threshold, 30 % of `maxJobsActive`.
fn threshold(max_jobs: usize) -> usize {
    max_jobs * 3 / 10
}

/// Time the workers spent waiting for each kind of call: where a round's time goes.
#[derive(Default)]
struct Spent {
    activations: Calls,
    completions: Calls,
}

#[derive(Default)]
struct Calls {
    calls: AtomicU64,
    items: AtomicU64,
    micros: AtomicU64,
}

impl Calls {
    fn add(&self, since: Instant, items: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.items.fetch_add(items, Ordering::Relaxed);
        self.micros
            .fetch_add(since.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    fn mean_ms(&self) -> String {
        let calls = self.calls.load(Ordering::Relaxed).max(1);
        format!(
            "{:.2} ms mean over {calls}",
            self.micros.load(Ordering::Relaxed) as f64 / 1000.0 / calls as f64
        )
    }
}

/// One worker waits in `activateJobs` on an empty queue; a case is opened; the time from
/// the open call's return (its job committed) to the worker's answer arriving, in ms.
async fn wakeups(api: &Api, rt: &Runtime, desk: &Desk, samples: usize) -> anyhow::Result<Vec<f64>> {
    const WARM: usize = 10;
    let mut waiting = desk.waiting_workers();
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples + WARM {
        let request = {
            let api = api.clone();
            actix::spawn(async move {
                let jobs = api.activate("waiter", 1, 10_000).await;
                (jobs, Instant::now())
            })
        };
        // Timed only once the server holds the call waiting; a job already there would
        // answer at once and never wait.
        tokio::time::timeout(Duration::from_secs(10), waiting.wait_for(|n| *n == 1))
            .await
            .context("the worker never waited for a job: was one left over?")??;
        open_job_case(rt, &format!("WAKE-{i}")).await?;
        let committed = Instant::now();
        let (jobs, answered) = request.await.context("the waiting worker panicked")?;
        let jobs = jobs?;
        ensure!(
            jobs.len() == 1,
            "the waiting worker got {} jobs",
            jobs.len()
        );
        // The answer may beat the open call's own return by a hair: that is no wait.
        let waited = answered.saturating_duration_since(committed);
        if i >= WARM {
            latencies.push(waited.as_secs_f64() * 1000.0);
        }
        api.complete("waiter", &jobs[0]).await?;
        tokio::time::timeout(Duration::from_secs(10), waiting.wait_for(|n| *n == 0))
            .await
            .context("the worker still waits after its answer")??;
    }
    Ok(latencies)
}
