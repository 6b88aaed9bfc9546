//! External job workers, Camunda 8 style: a worker activates jobs of a type (long-polling
//! until some exist), holds each under a lock until it completes it, fails it (retries,
//! back-off) or throws a BPMN error. An expired lock hands the job to the next worker
//! that asks; the first holder's late answer is then refused (`JOB_LOCK_LOST`). A job's
//! answer is recorded with the idempotency key `job-<id>` — the in-process dispatcher's
//! — so answering twice records once and answers the same.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use bpmn::engine::{Event, JobSpec, Wait};
use bpmn::expr::Vars;
use chrono::{DateTime, SubsecRound, Utc};
use collections::contact::DeliveryStatus;
use orm::entities::{cases, outbox};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

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

/// Most candidate rows read per activation round.
const SCAN: u64 = 500;

/// Most candidates one tenant check and one lock `UPDATE` take: short `IN` lists keep
/// PostgreSQL on the primary keys.
const LOCK_BATCH: u64 = 64;

/// The first rows of jobs of `job_type` ready for a worker now, oldest first: twice what
/// the worker asks for (at least one lock batch), so jobs another worker takes meanwhile
/// or another tenant owns are made up for without reading hundreds of rows for one job.
fn ready_jobs(
    job_type: &str,
    max_jobs: u64,
    now: DateTime<Utc>,
) -> sea_orm::Select<outbox::Entity> {
    outbox::Entity::find()
        .filter(outbox::Column::Kind.eq("job"))
        .filter(outbox::Column::JobType.eq(job_type))
        .filter(outbox::Column::DeliveredAt.is_null())
        .filter(outbox::Column::NextAttemptAt.lte(now))
        .filter(unlocked(now))
        .order_by_asc(outbox::Column::Id)
        .limit(max_jobs.saturating_mul(2).clamp(LOCK_BATCH, SCAN))
}

/// Rows no worker holds now.
fn unlocked(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(outbox::Column::LockedUntil.is_null())
        .add(outbox::Column::LockedUntil.lte(now))
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
        let rows = ready_jobs(&a.job_type, a.max_jobs, now)
            .all(&self.db)
            .await?;
        let mut rest = rows.into_iter().filter_map(|row| {
            let spec = serde_json::from_str::<JobSpec>(&row.payload).ok()?;
            Some((row, spec))
        });
        let holder = holder(p, &a.worker);
        let mut out = Vec::new();
        // Another worker may take some of a batch between our read and our update, and
        // some may be another tenant's: the next candidates make up for them. Checked a
        // batch at a time: a check of all 500 candidates' cases in one `IN` list got a
        // sequential scan of `cases` from PostgreSQL (0.3–0.9 s with 30,000 cases).
        while (out.len() as u64) < a.max_jobs {
            let want = (a.max_jobs - out.len() as u64).min(LOCK_BATCH);
            let mut batch: Vec<_> = rest.by_ref().take(want as usize).collect();
            if batch.is_empty() {
                break;
            }
            let theirs = self
                .in_tenant_of(p, batch.iter().map(|(r, _)| r.case_id.clone()))
                .await?;
            batch.retain(|(r, _)| theirs.contains(&r.case_id));
            if batch.is_empty() {
                continue;
            }
            let ids: Vec<i64> = batch.iter().map(|(r, _)| r.id).collect();
            // Taken only if nobody took them since we read them.
            let taken = outbox::Entity::update_many()
                .col_expr(outbox::Column::LockedBy, Expr::value(Some(holder.clone())))
                .col_expr(outbox::Column::LockedUntil, Expr::value(Some(until)))
                .filter(outbox::Column::Id.is_in(ids.clone()))
                .filter(outbox::Column::DeliveredAt.is_null())
                .filter(unlocked(now))
                .exec(&self.db)
                .await?
                .rows_affected;
            let ours: HashSet<i64> = if taken == ids.len() as u64 {
                ids.into_iter().collect()
            } else if taken == 0 {
                HashSet::new()
            } else {
                outbox::Entity::find()
                    .select_only()
                    .column(outbox::Column::Id)
                    .filter(outbox::Column::Id.is_in(ids))
                    .filter(outbox::Column::LockedBy.eq(holder.as_str()))
                    .filter(outbox::Column::LockedUntil.eq(until))
                    .into_tuple::<i64>()
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .collect()
            };
            for (row, spec) in batch {
                if !ours.contains(&row.id) {
                    continue;
                }
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
        }
        Ok(out)
    }

    /// Which of these cases are in the caller's tenant, in one query.
    async fn in_tenant_of(
        &self,
        p: &Principal,
        case_ids: impl Iterator<Item = String>,
    ) -> Result<HashSet<String>, DeskError> {
        let ids: BTreeSet<String> = case_ids.collect();
        Ok(cases::Entity::find()
            .select_only()
            .column(cases::Column::CaseId)
            .filter(cases::Column::CaseId.is_in(ids))
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .into_tuple::<String>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect())
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
        let row = outbox::Entity::find_by_id(job_id)
            .one(&self.db)
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
                .execute(&row.case_id, Command::Engine(event), &actor, Some(key))
                .await?;
            self.delivered.mark(&self.db, job_id, now).await?;
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
