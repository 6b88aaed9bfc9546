//! `recobro bench journal|timers|actors|graphql|documents|payments|jobs|webhooks`: throughput and
//! memory of the case runtime, the API, document uploads and external job workers,
//! each figure divided by a plain-database baseline measured by the same command on the
//! same database in the same run. Every bench ends with exactly one line
//! `RESULT <bench> <metric>=<value> ... ratio=<value>`.
//!
//! The database is always the bench's own: a fresh SQLite file in a temp directory, or a
//! database `recobro_bench_<pid>` created (and dropped afterwards) on the PostgreSQL
//! server named by `--database-url`. Existing data is never touched.

mod actors;
mod documents;
mod graphql;
mod jobs;
mod journal;
mod payments;
mod timers;
mod webhooks;

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use orm::scratch::ScratchDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Committed case transitions per second (group commit) vs single-row INSERT
    /// transactions per second with the same number of clients.
    Journal(journal::JournalArgs),
    /// Drain rate of timers due in the same minute vs single-row INSERTs, and p99 firing
    /// lag at a steady rate on the system clock.
    Timers(timers::TimersArgs),
    /// Resident memory per idle activated case, and activations per second vs
    /// primary-key SELECTs on the cases table.
    Actors(actors::ActorsArgs),
    /// Requests per second of an authenticated GraphQL query vs a bare actix-web
    /// handler, and p99 of "next 10 tasks for me" with a million open tasks.
    Graphql(graphql::GraphqlArgs),
    /// Upload throughput of 1 MiB documents through DocumentService vs raw aws-sdk-s3
    /// PutObject to the same in-process S3 server.
    Documents(documents::DocumentsArgs),
    /// Payments recorded and allocated per second through the runtime vs committed case
    /// transitions per second (`bench journal`'s loop) on the same cases.
    Payments(payments::PaymentsArgs),
    /// Jobs activated and completed per second by external workers through the GraphQL
    /// worker API vs committed case transitions per second (`bench journal`'s loop), and
    /// p99 wake-up of a waiting `activateJobs` when a job is created.
    Jobs(jobs::JobsArgs),
    /// Partner events delivered per second by the webhook delivery (a 100,000-event
    /// backlog drained) vs plain POSTs per second by a bare client to the same receiver.
    Webhooks(webhooks::WebhooksArgs),
}

/// Options every bench takes.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// Database to run on: a PostgreSQL server URL (the bench creates and drops its own
    /// database `recobro_bench_<pid>` there) or a sqlite: URL of a file that does not exist
    /// yet. Default: a fresh SQLite file in a temp directory.
    #[arg(long)]
    pub database_url: Option<String>,
    /// A tiny run (a few seconds), for CI smoke tests.
    #[arg(long)]
    pub quick: bool,
}

pub fn run(cmd: BenchCommand) -> ExitCode {
    let system = actix::System::new();
    let result = system.block_on(async move {
        match cmd {
            BenchCommand::Journal(a) => journal::run(a).await,
            BenchCommand::Payments(a) => payments::run(a).await,
            BenchCommand::Timers(a) => timers::run(a).await,
            BenchCommand::Actors(a) => actors::run(a).await,
            BenchCommand::Graphql(a) => graphql::run(a).await,
            BenchCommand::Documents(a) => documents::run(a).await,
            BenchCommand::Jobs(a) => jobs::run(a).await,
            BenchCommand::Webhooks(a) => webhooks::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The bench's own database, removed by [`BenchDb::close`] (or, quietly, on drop).
pub struct BenchDb {
    pub db: DatabaseConnection,
    /// URL of the bench database itself (for a child process).
    pub url: String,
    /// `None` for a database the bench only attached to.
    scratch: Option<ScratchDatabase>,
    /// A temporary directory the bench created for its SQLite file.
    temp_dir: Option<PathBuf>,
}

impl BenchDb {
    /// Creates the bench database and applies the migrations.
    pub async fn create(url: Option<&str>) -> anyhow::Result<BenchDb> {
        let (url, scratch, temp_dir) = match url {
            None => {
                let dir =
                    std::env::temp_dir().join(format!("recobro-bench-{}", std::process::id()));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("create {}", dir.display()))?;
                let scratch = ScratchDatabase::sqlite(&dir.join("bench.db"));
                (scratch.url().to_string(), scratch, Some(dir))
            }
            Some(u) if u.starts_with("sqlite:") => {
                let path = sqlite_path(u);
                if path.exists() && std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) > 0 {
                    bail!(
                        "{} exists: the bench only runs on a database of its own (give a new file)",
                        path.display()
                    );
                }
                let url = if u.contains("mode=") {
                    u.to_string()
                } else if u.contains('?') {
                    format!("{u}&mode=rwc")
                } else {
                    format!("{u}?mode=rwc")
                };
                (url, ScratchDatabase::sqlite(&path), None)
            }
            Some(u) if u.starts_with("postgres:") || u.starts_with("postgresql:") => {
                let name = format!("recobro_bench_{}", std::process::id());
                let scratch = ScratchDatabase::postgres(u, &name)
                    .await
                    .with_context(|| format!("create database {name} on the PostgreSQL server"))?;
                (scratch.url().to_string(), scratch, None)
            }
            Some(u) => bail!(
                "unsupported database URL scheme `{}` (expected sqlite: or postgres:)",
                u.split(':').next().unwrap_or_default()
            ),
        };
        let db = orm::connect(&url).await?;
        orm::migrate(&db).await?;
        Ok(BenchDb {
            db,
            url,
            scratch: Some(scratch),
            temp_dir,
        })
    }

    /// Opens an existing bench database (a child process of the bench); never removed.
    pub async fn attach(url: &str) -> anyhow::Result<BenchDb> {
        Ok(BenchDb {
            db: orm::connect(url).await?,
            url: url.to_string(),
            scratch: None,
            temp_dir: None,
        })
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn is_postgres(&self) -> bool {
        self.backend() == DbBackend::Postgres
    }

    /// Planner statistics after a bulk load, as autovacuum would gather them in a
    /// running system; without them PostgreSQL plans for the empty tables it last saw
    /// (a sequential scan of a million-row journal per query, say).
    pub async fn analyze_after_load(&self) -> anyhow::Result<()> {
        if self.is_postgres() {
            self.db.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Prints the durability settings the figures depend on.
    pub async fn print_settings(&self) -> anyhow::Result<()> {
        if self.is_postgres() {
            let sc = self
                .show("SHOW synchronous_commit", "synchronous_commit")
                .await?;
            let fsync = self.show("SHOW fsync", "fsync").await?;
            let version = self.show("SHOW server_version", "server_version").await?;
            println!(
                "database: PostgreSQL {version}, database recobro_bench_{}, synchronous_commit={sc}, fsync={fsync}, pool: orm::connect defaults (10 connections)",
                std::process::id()
            );
        } else {
            let mode = self.show("PRAGMA journal_mode", "journal_mode").await?;
            let sync = self.show("PRAGMA synchronous", "synchronous").await?;
            let sync = match sync.as_str() {
                "0" => "OFF",
                "1" => "NORMAL",
                "2" => "FULL",
                "3" => "EXTRA",
                _ => sync.as_str(),
            }
            .to_string();
            println!(
                "database: SQLite {}, journal_mode={mode}, synchronous={sync}, pool: orm::connect defaults (1 connection)",
                sqlite_path(&self.url).display()
            );
        }
        Ok(())
    }

    async fn show(&self, sql: &str, col: &str) -> anyhow::Result<String> {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.backend(), sql))
            .await?
            .with_context(|| format!("{sql}: no row"))?;
        Ok(match row.try_get::<String>("", col) {
            Ok(s) => s,
            Err(_) => row.try_get::<i64>("", col)?.to_string(),
        })
    }

    /// Removes the bench database.
    pub async fn close(self) -> anyhow::Result<()> {
        self.db.close().await?;
        if let Some(scratch) = self.scratch {
            scratch
                .remove()
                .await
                .context("remove the bench database")?;
        }
        if let Some(dir) = self.temp_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok(())
    }
}

/// Runs `body` on a fresh bench database, removing it afterwards whatever happened.
pub async fn with_db<F, Fut>(url: Option<&str>, body: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<BenchDb>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let bench = Arc::new(BenchDb::create(url).await?);
    let result = body(bench.clone()).await;
    match Arc::try_unwrap(bench) {
        Ok(b) => {
            if let Err(e) = b.close().await {
                eprintln!("warning: the bench database was not removed: {e:#}");
            }
        }
        Err(_) => eprintln!("warning: the bench database is still in use and was not removed"),
    }
    result
}

/// The file of a `sqlite:` URL.
fn sqlite_path(url: &str) -> PathBuf {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// Runs `clients` workers concurrently on the current actix arbiter; worker `i` gets
/// `i`. Returns their results in order.
pub async fn workers<F, Fut, T>(clients: usize, f: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + 'static,
    T: 'static,
{
    let handles: Vec<_> = (0..clients).map(|i| actix::spawn(f(i))).collect();
    let mut out = Vec::with_capacity(clients);
    for h in handles {
        out.push(h.await.context("bench worker panicked")??);
    }
    Ok(out)
}

/// Runs `job(i)` for every `i` in `0..n` with `clients` in flight at a time.
pub async fn for_each_concurrent<F, Fut>(n: usize, clients: usize, job: F) -> anyhow::Result<()>
where
    F: Fn(usize) -> Fut + Clone + 'static,
    Fut: Future<Output = anyhow::Result<()>> + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    workers(clients.max(1), |_| {
        let next = next.clone();
        let job = job.clone();
        async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok(());
                }
                job(i).await?;
            }
        }
    })
    .await?;
    Ok(())
}

/// Operations per second.
pub fn per_second(ops: u64, elapsed: Duration) -> f64 {
    ops as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The baseline of the journal and timer benches: `clients` concurrent tasks, each
/// doing one-row `INSERT`s into a scratch table, each in its own transaction (through
/// sea-orm, on the same pool), for `duration`. Returns transactions per second.
pub async fn insert_baseline(
    bench: &BenchDb,
    clients: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let backend = bench.backend();
    let ddl = if bench.is_postgres() {
        "CREATE TABLE IF NOT EXISTS bench_scratch (id BIGSERIAL PRIMARY KEY, client INTEGER NOT NULL, n BIGINT NOT NULL, payload TEXT NOT NULL)"
    } else {
        "CREATE TABLE IF NOT EXISTS bench_scratch (id INTEGER PRIMARY KEY, client INTEGER NOT NULL, n BIGINT NOT NULL, payload TEXT NOT NULL)"
    };
    bench.db.execute_unprepared(ddl).await?;
    let sql = if bench.is_postgres() {
        "INSERT INTO bench_scratch (client, n, payload) VALUES ($1, $2, $3)"
    } else {
        "INSERT INTO bench_scratch (client, n, payload) VALUES (?, ?, ?)"
    };
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    workers(clients, |client| {
        let db = bench.db.clone();
        let done = done.clone();
        async move {
            use sea_orm::TransactionTrait;
            let mut n: i64 = 0;
            // A payload the size of a journal hash, so the row is not trivially small.
            let payload = format!("{:064x}", client);
            while Instant::now() < deadline {
                let txn = db.begin().await?;
                txn.execute_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [(client as i32).into(), n.into(), payload.clone().into()],
                ))
                .await?;
                txn.commit().await?;
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    let rate = per_second(done.load(Ordering::Relaxed), started.elapsed());
    bench
        .db
        .execute_unprepared("DROP TABLE bench_scratch")
        .await?;
    Ok(rate)
}

/// The median of rounds (the upper one of an even count).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The `q` quantile (0..=1) of sorted samples, by rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 * q) as usize).min(sorted.len() - 1);
    sorted[i]
}

/// Resident set size of this process, in bytes (Linux: `/proc/self/statm`).
pub fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("read /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .context("/proc/self/statm: no resident field")?
        .parse()
        .context("/proc/self/statm: resident is not a number")?;
    // 4 KiB pages on the Linux targets Recobro runs on (x86_64, aarch64 default).
    Ok(pages * 4096)
}

/// `ok` or `below target`, for a figure that should be at least `target`.
pub fn verdict_at_least(value: f64, target: f64) -> &'static str {
    if value >= target {
        "met"
    } else {
        "below target"
    }
}

/// `ok` or `below target`, for a figure that should be at most `target`.
pub fn verdict_at_most(value: f64, target: f64) -> &'static str {
    if value <= target {
        "met"
    } else {
        "below target"
    }
}

/// Variables for a case.
pub fn vars(v: Value) -> bpmn::expr::Vars {
    v.as_object().cloned().unwrap_or_default()
}

/// The task a command's effects created (the loop model has exactly one).
pub fn created_task(effects: &[bpmn::engine::Effect]) -> Option<u64> {
    effects.iter().find_map(|e| match e {
        bpmn::engine::Effect::CreateTask(spec) => Some(spec.task),
        _ => None,
    })
}

/// A case that works forever: every completed task creates the next one.
pub const LOOP_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bench-loop" targetNamespace="recobro-bench">
  <bpmn:process id="bench_loop" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="Work"/>
    <bpmn:exclusiveGateway id="more" default="again"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="Work"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Work" targetRef="more"/>
    <bpmn:sequenceFlow id="again" sourceRef="more" targetRef="Work"/>
    <bpmn:sequenceFlow id="fin" sourceRef="more" targetRef="e">
      <bpmn:conditionExpression>= done = true</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
</bpmn:definitions>"#;

/// A case that waits for one timer at the date in its variable `due`, then ends.
pub const TIMER_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bench-timer" targetNamespace="recobro-bench">
  <bpmn:process id="bench_timer" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDate>= due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="wait"/>
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/a.db?mode=rwc"),
            PathBuf::from("/tmp/a.db")
        );
    }
}
