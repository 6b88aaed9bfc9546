//! External job workers, Camunda 8 style: a worker activates jobs of a type (long-polling
//! until some exist), holds each under a lock until it completes it, fails it (retries,
//! back-off) or throws a BPMN error. An expired lock hands the job to the next worker
//! that asks; the first holder's late answer is then refused (`JOB_LOCK_LOST`). A job's
//! answer is recorded with the idempotency key `job-<id>` — the in-process dispatcher's
//! — so answering twice records once and answers the same.

use std::time::Duration;

use bpmn::engine::{Event, JobSpec, Wait};
use bpmn::expr::Vars;
use chrono::{DateTime, SubsecRound, Utc};
use collections::contact::DeliveryStatus;
use orm::entities::{cases, outbox};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement};

use super::voicebot::VOICEBOT_JOB_TYPE;
use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal, Role};

/// A worker works only the job types its groups name; other roles allowed to work jobs
/// (admins) work any.
fn may_work(p: &Principal, job_type: &str) -> Result<(), DeskError> {
    if p.role == Role::Worker && !p.groups.iter().any(|g| g == job_type) {
        return Err(DeskError::Forbidden {
            role: p.role,
            what: "work jobs of a type not named in its groups",
        });
    }
    Ok(())
}
use crate::runtime::{Command, Outcome};

/// Who holds a lock: the caller's identity and the worker name it gave, so one client
/// cannot answer another's jobs by naming its worker.
fn holder(p: &Principal, worker: &str) -> String {
    format!("{}/{worker}", p.acting_identity())
}

/// One waiting `activate_jobs` call, counted while it lives (also when its HTTP request
/// is dropped mid-wait).
struct Waiting(std::sync::Arc<tokio::sync::watch::Sender<usize>>);

impl Waiting {
    fn new(gauge: &std::sync::Arc<tokio::sync::watch::Sender<usize>>) -> Self {
        gauge.send_modify(|n| *n += 1);
        Waiting(gauge.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n -= 1);
    }
}

/// A job handed to a worker.
#[derive(Debug, Clone)]
pub struct ActivatedJob {
    /// The job's id for complete/fail/throw.
    pub id: i64,
    pub case_id: String,
    pub job_type: String,
    pub element_id: String,
    pub retries: u32,
    pub headers: std::collections::BTreeMap<String, String>,
    /// The variables visible at the task, its inputs included.
    pub variables: Vars,
    pub locked_until: DateTime<Utc>,
}

/// What a worker asks for.
#[derive(Debug, Clone)]
pub struct Activation {
    pub job_type: String,
    pub max_jobs: u64,
    pub lock: Duration,
    pub worker: String,
    /// How long to wait for a job when none is there.
    pub wait: Duration,
}

/// A worker's answer to a job.
#[derive(Debug, Clone)]
pub enum JobAnswer {
    Complete(Vars),
    Fail {
        retries: u32,
        backoff: Duration,
        message: String,
    },
    Throw {
        code: String,
        message: String,
    },
}

impl Desk {
    /// Activates up to `max_jobs` jobs of a type in the caller's tenant; waits up to
    /// `wait` for the first when none is ready.
    pub async fn activate_jobs(
        &self,
        p: &Principal,
        a: Activation,
    ) -> Result<Vec<ActivatedJob>, DeskError> {
        require(p, Operation::WorkJobs, "work jobs")?;
        if a.job_type.trim().is_empty() || a.worker.trim().is_empty() {
            return Err(DeskError::Invalid(
                "a job type and a worker name are required".into(),
            ));
        }
        may_work(p, &a.job_type)?;
        if !(1..=1000).contains(&a.max_jobs) || a.lock.is_zero() {
            return Err(DeskError::Invalid(
                "ask for 1 to 1000 jobs, locked for a positive duration".into(),
            ));
        }
        // Subscribed before looking, so a job committed in between still wakes us.
        let mut commits = self.runtime.notices();
        let deadline = tokio::time::Instant::now() + a.wait;
        let mut waiting = None;
        loop {
            let jobs = self.claim(p, &a).await?;
            if !jobs.is_empty() {
                return Ok(jobs);
            }
            if waiting.is_none() && !a.wait.is_zero() {
                waiting = Some(Waiting::new(&self.waiting_workers));
            }
            // A commit (or a lagging receiver): look again; the wait over, or the runtime
            // gone: nothing.
            match tokio::time::timeout_at(deadline, commits.recv()).await {
                Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
                Err(_) | Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    return Ok(Vec::new());
                }
            }
        }
    }

    /// How many `activate_jobs` calls are waiting for a job: each counts from its first
    /// empty look until it answers or its caller goes away. A bench times a waiting
    /// worker's wake-up only once the worker is really waiting.
    pub fn waiting_workers(&self) -> tokio::sync::watch::Receiver<usize> {
        self.waiting_workers.subscribe()
    }

    async fn claim(&self, p: &Principal, a: &Activation) -> Result<Vec<ActivatedJob>, DeskError> {
        let now = self.clock.now();
        // Whole microseconds, as PostgreSQL keeps them: the lock is read back by value.
        let until = (now
            + chrono::Duration::from_std(a.lock)
                .map_err(|_| DeskError::Invalid("the lock duration is too long".into()))?)
        .trunc_subsecs(6);
        let holder = holder(p, &a.worker);
        let rows = self
            .lock_ready_jobs(p, &a.job_type, a.max_jobs, &holder, now, until)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Ok(spec) = serde_json::from_str::<JobSpec>(&row.payload) else {
                continue;
            };
            let Some(state) = self.runtime.case(&row.case_id).await? else {
                continue;
            };
            if !self
                .gate_lets_worker_contact(p, &row, &spec, &a.worker)
                .await?
            {
                continue;
            }
            out.push(ActivatedJob {
                id: row.id,
                case_id: row.case_id,
                job_type: spec.job_type,
                element_id: spec.element_id.to_string(),
                retries: spec.retries,
                headers: spec.headers,
                variables: state.instance.visible_variables(spec.job),
                locked_until: until,
            });
        }
        Ok(out)
    }

    /// Locks up to `max_jobs` ready jobs of `job_type` in the caller's tenant for
    /// `holder`, oldest first, in ONE statement: concurrent workers skip the rows another
    /// is taking (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite has a single writer)
    /// instead of all reading the same oldest rows and queueing on their row locks — with
    /// eight workers that race, not the work, was most of an activation's time.
    async fn lock_ready_jobs(
        &self,
        p: &Principal,
        job_type: &str,
        max_jobs: u64,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<outbox::Model>, DeskError> {
        let backend = self.db.get_database_backend();
        let skip_locked = match backend {
            DbBackend::Postgres => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        // `job_type` and `delivered_at IS NULL` lead, as in `ix_outbox_waiting_jobs`. The
        // tenant is looked up by the case's key: joined on `cases`, PostgreSQL matched
        // tenant and case id in `ix_cases_tenant_created` (tenant, created_at, case_id),
        // a scan of the tenant's every case per candidate (0.5 ms each with 20,000).
        let sql = format!(
            "UPDATE outbox SET locked_by = $1, locked_until = $2 \
             WHERE id IN (SELECT o.id FROM outbox o \
             WHERE o.job_type = $3 AND o.delivered_at IS NULL AND o.kind = 'job' \
             AND o.next_attempt_at <= $4 AND (o.locked_until IS NULL OR o.locked_until <= $4) \
             AND (SELECT c.tenant FROM cases c WHERE c.case_id = o.case_id) = $5 \
             ORDER BY o.id LIMIT $6{skip_locked}) \
             RETURNING *"
        );
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [
                holder.into(),
                until.into(),
                job_type.into(),
                now.into(),
                p.tenant.as_str().into(),
                (max_jobs as i64).into(),
            ],
        );
        let mut rows = outbox::Entity::find()
            .from_raw_sql(stmt)
            .all(&self.db)
            .await?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    async fn in_tenant(&self, p: &Principal, case_id: &str) -> Result<bool, DeskError> {
        Ok(cases::Entity::find_by_id(case_id.to_string())
            .select_only()
            .column(cases::Column::Tenant)
            .into_tuple::<String>()
            .one(&self.db)
            .await?
            .is_some_and(|t| t == p.tenant))
    }

    /// Records a worker's answer to a job it holds.
    pub async fn answer_job(
        &self,
        p: &Principal,
        job_id: i64,
        worker: &str,
        answer: JobAnswer,
    ) -> Result<Outcome, DeskError> {
        require(p, Operation::WorkJobs, "work jobs")?;
        let db = &self.db;
        let fetch = |ids: std::collections::HashSet<i64>| async move {
            let rows = outbox::Entity::find()
                .filter(outbox::Column::Id.is_in(ids))
                .all(db)
                .await?;
            Ok(rows.into_iter().map(|r| (r.id, r)).collect())
        };
        let row = self
            .job_rows
            .get(job_id, fetch)
            .await?
            .filter(|r| r.kind == "job");
        let Some(row) = row else {
            return Err(DeskError::JobNotFound(job_id));
        };
        let key = format!("job-{job_id}");
        let now = self.clock.now();
        // Already answered: the same answer again is the recorded one.
        if row.delivered_at.is_none() {
            // The case's state names its tenant: no query for it.
            let state = self
                .runtime
                .case(&row.case_id)
                .await?
                .filter(|s| s.tenant == p.tenant)
                .ok_or(DeskError::JobNotFound(job_id))?;
            let holds = row.locked_by.as_deref() == Some(holder(p, worker).as_str())
                && row.locked_until.is_some_and(|u| u > now);
            if !holds {
                return Err(DeskError::JobLockLost {
                    job: job_id,
                    worker: worker.to_string(),
                });
            }
            let spec: JobSpec = serde_json::from_str(&row.payload).map_err(|e| {
                DeskError::Runtime(crate::runtime::RuntimeError::Corrupt(e.to_string()))
            })?;
            may_work(p, &spec.job_type)?;
            let open = matches!(
                state.instance.elements.get(&spec.job).map(|e| &e.wait),
                Some(Wait::Job { .. })
            );
            if !open {
                return Err(DeskError::JobNotFound(job_id));
            }
            // A voice bot's call is on the case (and its promise in the ledger) before
            // the job completes; a refusal leaves the job open for another answer.
            let answer = match answer {
                JobAnswer::Complete(variables) if spec.job_type == VOICEBOT_JOB_TYPE => {
                    let task = state.instance.visible_variables(spec.job);
                    JobAnswer::Complete(
                        self.record_voicebot(p, &row.case_id, job_id, &task, variables)
                            .await?,
                    )
                }
                other => other,
            };
            // A contact worker's attempt, recorded when the gate let it have the job,
            // settles with its answer (the voice bot's completion settled it above).
            let settled =
                spec.job_type == VOICEBOT_JOB_TYPE && matches!(answer, JobAnswer::Complete(_));
            if !settled
                && super::compliance::channel_of_job_type(&spec.job_type).is_some()
                && let Some(a) = super::compliance::job_attempts(&state, &key)
                    .last()
                    .filter(|a| a.status == DeliveryStatus::Sending)
            {
                let (status, detail) = match &answer {
                    JobAnswer::Complete(_) => {
                        (DeliveryStatus::Sent, "the worker completed the job".into())
                    }
                    JobAnswer::Fail { message, .. } => (DeliveryStatus::Failed, message.clone()),
                    JobAnswer::Throw { code, message } => {
                        (DeliveryStatus::Failed, format!("{code}: {message}"))
                    }
                };
                let (id, attempt_key) = (a.id, a.key.clone());
                self.close_worker_attempt(&row.case_id, id, &attempt_key, status, &detail)
                    .await?;
            }
            let event = match answer {
                JobAnswer::Complete(variables) => Event::CompleteJob {
                    job: spec.job,
                    variables,
                },
                JobAnswer::Fail {
                    retries,
                    backoff,
                    message,
                } => Event::FailJob {
                    job: spec.job,
                    retries,
                    message,
                    retry_backoff_ms: backoff.as_millis().min(u128::from(u64::MAX)) as u64,
                },
                JobAnswer::Throw { code, message } => Event::ThrowError {
                    job: spec.job,
                    code,
                    message,
                    variables: Vars::new(),
                },
            };
            let actor = format!("{}/{worker}", p.acting_identity());
            let out = self
                .runtime
                .execute_delivering(
                    &row.case_id,
                    Command::Engine(event),
                    &actor,
                    Some(key),
                    Some(job_id),
                )
                .await?;
            if out.repeated {
                // An earlier answer under this key whose row was not marked with it (the
                // in-process dispatcher marks its rows apart); marks only an undelivered row.
                outbox::Entity::update_many()
                    .col_expr(outbox::Column::DeliveredAt, Expr::value(Some(now)))
                    .col_expr(
                        outbox::Column::Attempts,
                        Expr::col(outbox::Column::Attempts).add(1),
                    )
                    .filter(outbox::Column::Id.eq(job_id))
                    .filter(outbox::Column::DeliveredAt.is_null())
                    .exec(&self.db)
                    .await?;
            }
            return Ok(out);
        }
        if !self.in_tenant(p, &row.case_id).await? {
            return Err(DeskError::JobNotFound(job_id));
        }
        if row.locked_by.as_deref() != Some(holder(p, worker).as_str()) {
            return Err(DeskError::JobLockLost {
                job: job_id,
                worker: worker.to_string(),
            });
        }
        // Answered already: the first answer, recorded once.
        self.runtime
            .earlier_outcome(&p.tenant, &key)
            .await?
            .ok_or(DeskError::JobNotFound(job_id))
    }
}
