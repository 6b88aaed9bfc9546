//! External job workers, Camunda 8 style: `activateJobs` long-polls for jobs of a type
//! and locks them to the worker; `completeJob`, `failJob` and `throwJobError` answer.
//! Rules (locks, job types a worker may take, idempotent answers) live in
//! `services::desk`; see `docs/api.md`.

use std::time::Duration;

use async_graphql::{Context, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use services::desk::{ActivatedJob, Activation, JobAnswer};

use super::mutation::{CommandResult, outcome};
use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

/// The longest an `activateJobs` call waits for a job.
const MAX_WAIT_MS: i32 = 60_000;

type Variables = Json<serde_json::Map<String, serde_json::Value>>;

/// A job locked to the worker that activated it.
#[derive(SimpleObject)]
pub struct Job {
    /// Give it to completeJob, failJob or throwJobError.
    pub id: ID,
    pub case_id: ID,
    #[graphql(name = "type")]
    pub job_type: String,
    pub element_id: String,
    pub retries: i32,
    pub custom_headers: Json<std::collections::BTreeMap<String, String>>,
    /// The variables visible at the task, its inputs included.
    pub variables: Variables,
    pub deadline: DateTime<Utc>,
}

impl From<ActivatedJob> for Job {
    fn from(j: ActivatedJob) -> Self {
        Job {
            id: ID(j.id.to_string()),
            case_id: ID(j.case_id),
            job_type: j.job_type,
            element_id: j.element_id,
            retries: i32::try_from(j.retries).unwrap_or(i32::MAX),
            custom_headers: Json(j.headers),
            variables: Json(j.variables),
            deadline: j.locked_until,
        }
    }
}

fn row_id(id: &ID) -> Result<i64> {
    id.parse::<i64>().map_err(|_| {
        coded(
            ErrorCode::JobNotFound,
            format!("job {} does not exist", id.0),
        )
    })
}

fn millis(name: &str, v: i32) -> Result<Duration> {
    u64::try_from(v)
        .map(Duration::from_millis)
        .map_err(|_| coded(ErrorCode::BadInput, format!("{name} must not be negative")))
}

#[derive(Default)]
pub struct WorkerMutation;

#[Object]
impl WorkerMutation {
    /// Activates up to `maxJobs` jobs of `type`, locked to `worker` for `lockDuration`
    /// ms; when none is ready, waits up to `wait` ms (at most 60000) for one.
    async fn activate_jobs(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type")] job_type: String,
        max_jobs: i32,
        lock_duration: i32,
        worker: String,
        #[graphql(default = 0)] wait: i32,
    ) -> Result<Vec<Job>> {
        if wait > MAX_WAIT_MS {
            return Err(coded(
                ErrorCode::BadInput,
                format!("wait at most {MAX_WAIT_MS} ms"),
            ));
        }
        let activation = Activation {
            job_type,
            max_jobs: u64::try_from(max_jobs).unwrap_or(0),
            lock: millis("lockDuration", lock_duration)?,
            worker,
            wait: millis("wait", wait)?,
        };
        let jobs = desk(ctx)?
            .activate_jobs(principal(ctx)?, activation)
            .await
            .map_err(errors::api)?;
        Ok(jobs.into_iter().map(Job::from).collect())
    }

    /// Completes a job the worker holds, with variables for the process.
    async fn complete_job(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        worker: String,
        variables: Option<Variables>,
    ) -> Result<CommandResult> {
        let answer = JobAnswer::Complete(variables.map(|v| v.0).unwrap_or_default());
        outcome(
            desk(ctx)?
                .answer_job(principal(ctx)?, row_id(&job_id)?, &worker, answer)
                .await,
        )
    }

    /// Fails a job: with retries left it runs again after `retryBackoff` ms, else the
    /// case gets an incident.
    async fn fail_job(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        worker: String,
        retries: i32,
        #[graphql(default = 0)] retry_backoff: i32,
        message: String,
    ) -> Result<CommandResult> {
        let answer = JobAnswer::Fail {
            retries: u32::try_from(retries)
                .map_err(|_| coded(ErrorCode::BadInput, "retries must not be negative"))?,
            backoff: millis("retryBackoff", retry_backoff)?,
            message,
        };
        outcome(
            desk(ctx)?
                .answer_job(principal(ctx)?, row_id(&job_id)?, &worker, answer)
                .await,
        )
    }

    /// Throws a BPMN error from the job, for an error boundary event to catch.
    async fn throw_job_error(
        &self,
        ctx: &Context<'_>,
        job_id: ID,
        worker: String,
        error_code: String,
        #[graphql(default)] message: String,
    ) -> Result<CommandResult> {
        let answer = JobAnswer::Throw {
            code: error_code,
            message,
        };
        outcome(
            desk(ctx)?
                .answer_job(principal(ctx)?, row_id(&job_id)?, &worker, answer)
                .await,
        )
    }
}
