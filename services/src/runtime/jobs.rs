//! Job dispatch: service tasks become `job` rows in the outbox; this loop hands each to
//! the handler registered for its type and records the outcome on the case as a command.
//! A failing handler becomes `JobFailed` with exponential back-off and, when its retries
//! run out, an incident on the case — never a crashed actor.
//!
//! Delivery is at least once: a crash after the handler ran but before its outcome was
//! committed runs it again, so handlers get a stable idempotency key (the outbox row id).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bpmn::engine::{Event, JobSpec, Wait};
use bpmn::expr::Vars;
use chrono::{DateTime, Utc};
use orm::entities::outbox;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::sync::watch;

use super::{Command, Runtime, RuntimeError};
use crate::case::ApplyError;

/// Why a handler did not complete its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Try again later (`backoff` overrides the configured one).
    Retry {
        message: String,
        backoff: Option<Duration>,
    },
    /// A business outcome the process models with an error boundary or event sub-process.
    BpmnError { code: String, message: String },
    /// Retrying cannot help (a template names a variable the case does not have): an
    /// incident at once, for a person to fix and retry.
    Incident { message: String },
    /// Not now, and not a failure: the job waits in the outbox until `until` (the
    /// compliance gate's next lawful slot) and is run again then, retries untouched.
    Defer {
        until: DateTime<Utc>,
        message: String,
    },
}

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<Vars, JobFailure>> + Send + 'a>>;

/// One job handed to a handler.
#[derive(Debug, Clone, Copy)]
pub struct JobRun<'a> {
    pub case_id: &'a str,
    pub tenant: &'a str,
    pub spec: &'a JobSpec,
    /// Those visible at the task, its inputs included.
    pub variables: &'a Vars,
    /// Stable across redeliveries of the same attempt (a crash before its outcome was
    /// committed); a retry after a failure gets a new one.
    pub key: &'a str,
}

impl JobRun<'_> {
    /// The identity a job's outcome and facts are journalled under.
    pub fn actor(&self) -> String {
        format!("worker:{}", self.spec.job_type)
    }

    /// Records a fact on the job's case under a key derived from the job's (`step` tells
    /// a job's facts apart), so a job redelivered after a crash records it only once.
    pub async fn record(
        &self,
        rt: &Runtime,
        fact: crate::case::CaseFact,
        step: &str,
    ) -> Result<super::Outcome, RuntimeError> {
        rt.record_fact(
            self.case_id,
            fact,
            &self.actor(),
            Some(format!("{}:{step}", self.key)),
        )
        .await
    }
}

/// Does the work of one job type.
pub trait JobHandler: Send + Sync + 'static {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a>;
}

#[derive(Clone, Default)]
pub struct JobHandlers {
    by_type: HashMap<String, Arc<dyn JobHandler>>,
}

impl std::fmt::Debug for JobHandlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.by_type.keys()).finish()
    }
}

impl JobHandlers {
    pub fn with(mut self, job_type: &str, handler: impl JobHandler) -> Self {
        self.by_type.insert(job_type.to_string(), Arc::new(handler));
        self
    }

    /// The same handler (shared) for another job type.
    pub fn with_shared(mut self, job_type: &str, handler: Arc<dyn JobHandler>) -> Self {
        self.by_type.insert(job_type.to_string(), handler);
        self
    }

    pub fn handles(&self, job_type: &str) -> bool {
        self.by_type.contains_key(job_type)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct JobConfig {
    pub batch: u64,
    /// First retry back-off; doubles per failed attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    pub idle_poll: Duration,
}

impl Default for JobConfig {
    fn default() -> Self {
        Self {
            batch: 100,
            base_backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3600),
            idle_poll: Duration::from_secs(1),
        }
    }
}

#[derive(Debug)]
pub struct JobsHandle {
    stop: watch::Sender<bool>,
    /// Outbox job rows settled so far (tests wait on it instead of sleeping).
    pub settled: watch::Receiver<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl JobsHandle {
    pub async fn stop(self) -> Result<(), RuntimeError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|e| RuntimeError::Unavailable(format!("job dispatcher: {e}")))
    }
}

/// Starts the dispatcher on the current actix arbiter: a job's outcome may start the
/// actor of a passivated case, which actix can only do inside the arbiter's task set.
pub fn spawn(rt: Runtime, handlers: JobHandlers, cfg: JobConfig) -> JobsHandle {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (settled_tx, settled_rx) = watch::channel(0u64);
    let task = actix::spawn(run(rt, handlers, cfg, stop_rx, settled_tx));
    JobsHandle {
        stop: stop_tx,
        settled: settled_rx,
        task,
    }
}

async fn run(
    rt: Runtime,
    handlers: JobHandlers,
    cfg: JobConfig,
    mut stop: watch::Receiver<bool>,
    settled: watch::Sender<u64>,
) {
    let mut clock_changes = rt.clock().changes();
    let wakeup = rt.job_wakeup();
    loop {
        if *stop.borrow() {
            return;
        }
        let done = match deliver_due(&rt, &handlers, &cfg).await {
            Ok(done) => done,
            Err(e) => {
                // The database may be restarting or briefly unreachable: a dispatcher that
                // ended here would leave every later job undelivered while the server
                // looks healthy. Keep it, and try again after the idle interval.
                tracing::warn!("job dispatcher: {e}; retrying in {:?}", cfg.idle_poll);
                tokio::select! {
                    _ = tokio::time::sleep(cfg.idle_poll) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        };
        if done > 0 {
            settled.send_modify(|n| *n += done);
            continue;
        }
        match clock_changes.as_mut() {
            Some(rx) => tokio::select! {
                _ = rx.changed() => {}
                _ = wakeup.notified() => {}
                _ = stop.changed() => {}
            },
            None => tokio::select! {
                _ = tokio::time::sleep(cfg.idle_poll) => {}
                _ = wakeup.notified() => {}
                _ = stop.changed() => {}
            },
        }
    }
}

/// Delivers the jobs due now to their handlers; how many were settled.
async fn deliver_due(
    rt: &Runtime,
    handlers: &JobHandlers,
    cfg: &JobConfig,
) -> Result<u64, RuntimeError> {
    if handlers.by_type.is_empty() {
        return Ok(0);
    }
    let now = rt.clock().now();
    // Only the types handled here: jobs of other types wait for external workers, and
    // however many of them wait, they must not hide these behind them.
    let rows = outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("job"))
        .filter(outbox::Column::JobType.is_in(handlers.by_type.keys().cloned()))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .order_by_asc(outbox::Column::Id)
        .limit(cfg.batch)
        .all(rt.store().db())
        .await?;
    let mut done = 0;
    for row in rows {
        let Ok(spec) = serde_json::from_str::<JobSpec>(&row.payload) else {
            continue;
        };
        let Some(handler) = handlers.by_type.get(&spec.job_type) else {
            continue;
        };
        let update = outbox::Entity::update_many()
            .col_expr(outbox::Column::Attempts, Expr::value(row.attempts + 1))
            .filter(outbox::Column::Id.eq(row.id));
        let update = match dispatch(rt, cfg, handler.as_ref(), &row, &spec).await? {
            // The row itself is the durable timer: it comes due again at the slot.
            Some(until) => update.col_expr(outbox::Column::NextAttemptAt, Expr::value(until)),
            None => update.col_expr(outbox::Column::DeliveredAt, Expr::value(rt.clock().now())),
        };
        update.exec(rt.store().db()).await?;
        done += 1;
    }
    Ok(done)
}

/// Runs one job; answers the instant it is deferred to, if the handler deferred it.
async fn dispatch(
    rt: &Runtime,
    cfg: &JobConfig,
    handler: &dyn JobHandler,
    row: &outbox::Model,
    spec: &JobSpec,
) -> Result<Option<DateTime<Utc>>, RuntimeError> {
    let key = format!("job-{}", row.id);
    let Some(state) = rt.case(&row.case_id).await? else {
        return Ok(None);
    };
    // Cancelled, completed or retried elsewhere since the row was written: nothing to do.
    let open = matches!(
        state.instance.elements.get(&spec.job).map(|e| &e.wait),
        Some(Wait::Job { .. })
    );
    if !open || rt.store().idempotent(&state.tenant, &key).await?.is_some() {
        return Ok(None);
    }
    let variables = state.instance.visible_variables(spec.job);
    let run = JobRun {
        case_id: &row.case_id,
        tenant: &state.tenant,
        spec,
        variables: &variables,
        key: &key,
    };
    let event = match handler.run(run).await {
        Ok(out) => Event::CompleteJob {
            job: spec.job,
            variables: out,
        },
        Err(JobFailure::Retry { message, backoff }) => {
            let failed = spec.failures;
            let backoff = backoff.unwrap_or_else(|| {
                cfg.base_backoff
                    .saturating_mul(2u32.saturating_pow(failed))
                    .min(cfg.max_backoff)
            });
            Event::FailJob {
                job: spec.job,
                retries: spec.retries.saturating_sub(1),
                message,
                retry_backoff_ms: backoff.as_millis().min(u128::from(u64::MAX)) as u64,
            }
        }
        Err(JobFailure::Incident { message }) => Event::FailJob {
            job: spec.job,
            retries: 0,
            message,
            retry_backoff_ms: 0,
        },
        Err(JobFailure::BpmnError { code, message }) => Event::ThrowError {
            job: spec.job,
            code,
            message,
            variables: Vars::new(),
        },
        Err(JobFailure::Defer { until, message }) => {
            tracing::info!(case = %row.case_id, job = spec.job, %until, "job deferred: {message}");
            return Ok(Some(until));
        }
    };
    let actor = run.actor();
    match rt
        .execute(&row.case_id, Command::Engine(event), &actor, Some(key))
        .await
    {
        Ok(_) | Err(RuntimeError::Rejected(ApplyError::Engine(_))) => Ok(None),
        Err(e) => Err(e),
    }
}
