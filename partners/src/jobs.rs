//! Built-in job handlers for the partner steps of a strategy, so a model like
//! `docs/examples/collections.bpmn` runs inside `serve` without an external worker:
//! `partner.place` places the case with an agency, `case.close` releases the placement
//! of a case being closed, `legal.file` records that a claim is to be filed.
//!
//! Which agency gets a case is named by the task (header `partner`) or the case
//! (variable `partner`), by id or name; with neither, the allocation rules choose
//! (jurisdiction, capacity, weights: `crate::allocation`). No agency that qualifies is
//! an incident a supervisor resolves, never a guess.

use serde_json::{Value, json};
use services::access::{Principal, Role};
use services::case::CaseFact;
use services::desk::DeskError;
use services::runtime::RuntimeError;
use services::runtime::jobs::{JobFailure, JobFuture, JobHandler, JobRun};

type Vars = serde_json::Map<String, Value>;

use crate::{Partner, Partners};

/// `partner.place`.
#[derive(Clone, Debug)]
pub struct PlaceWithPartner(pub Partners);

/// `case.close`: the case is being closed (paid): a placement ends with it.
#[derive(Clone, Debug)]
pub struct ReleasePlacement(pub Partners);

/// `legal.file`: the claim is handed to the law firm's filing; recorded on the case.
#[derive(Clone, Debug)]
pub struct RequestClaimFiling(pub Partners);

pub(crate) fn system(job: &JobRun<'_>) -> Result<Principal, JobFailure> {
    Principal::new("strategy", job.tenant, Role::Admin, None, Vec::new()).map_err(|e| {
        JobFailure::Incident {
            message: e.to_string(),
        }
    })
}

pub(crate) fn retry(e: impl ToString) -> JobFailure {
    JobFailure::Retry {
        message: e.to_string(),
        backoff: None,
    }
}

impl Partners {
    async fn record_for_job(
        &self,
        job: &JobRun<'_>,
        fact: CaseFact,
        step: &str,
    ) -> Result<(), JobFailure> {
        match job.record(self.desk.runtime(), fact, step).await {
            Ok(_) => Ok(()),
            Err(RuntimeError::Rejected(e)) => Err(JobFailure::Incident {
                message: e.to_string(),
            }),
            Err(e) => Err(retry(e)),
        }
    }

    async fn chosen_agency(&self, job: &JobRun<'_>) -> Result<Partner, JobFailure> {
        let p = system(job)?;
        let all = self.list(&p).await.map_err(retry)?;
        let named = job
            .spec
            .headers
            .get("partner")
            .map(String::as_str)
            .or_else(|| job.variables.get("partner").and_then(Value::as_str));
        let incident = |message: String| JobFailure::Incident { message };
        match named {
            Some(name) => all
                .into_iter()
                .find(|x| x.active && (x.partner_id == name || x.name == name))
                .ok_or_else(|| {
                    incident(format!("no active partner {name:?} to place the case with"))
                }),
            // Nobody named one: the allocation rules choose among the agencies.
            None => match self.allocate(&p, job.case_id, "agency").await {
                Ok(agency) => Ok(agency),
                Err(DeskError::Conflict(why)) => Err(incident(why)),
                Err(e) => Err(retry(e)),
            },
        }
    }
}

/// The acceptance deadline a `partner.place` task sets with its header
/// `acceptWithinHours` (a model waiting for `placement-accepted` should); none without.
fn accept_by(
    job: &JobRun<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, JobFailure> {
    let Some(hours) = job.spec.headers.get("acceptWithinHours") else {
        return Ok(None);
    };
    match hours.trim().parse::<i64>() {
        Ok(h) if (1..=2160).contains(&h) => Ok(Some(now + chrono::Duration::hours(h))),
        _ => Err(JobFailure::Incident {
            message: format!("task header acceptWithinHours {hours:?} is not 1 to 2160 hours"),
        }),
    }
}

impl JobHandler for PlaceWithPartner {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
        Box::pin(async move {
            let partners = &self.0;
            let state = partners
                .desk
                .runtime()
                .case(job.case_id)
                .await
                .map_err(retry)?;
            let current = state.and_then(|s| s.placement).map(|p| p.partner);
            let partner = match current {
                // Placed already (by a person, or by this job before a crash): keep it.
                Some(id) => id,
                None => {
                    let agency = partners.chosen_agency(&job).await?;
                    let fact = CaseFact::Placed {
                        partner: agency.partner_id.clone(),
                        note: Some(format!("placed by the strategy ({})", job.spec.element_id)),
                        accept_by: accept_by(&job, partners.desk.clock().now())?,
                    };
                    partners.record_for_job(&job, fact, "placed").await?;
                    agency.partner_id
                }
            };
            let mut out = Vars::new();
            out.insert("placedWith".into(), json!(partner));
            Ok(out)
        })
    }
}

impl JobHandler for ReleasePlacement {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
        Box::pin(async move {
            let partners = &self.0;
            let state = partners
                .desk
                .runtime()
                .case(job.case_id)
                .await
                .map_err(retry)?;
            if let Some(placement) = state.and_then(|s| s.placement) {
                let fact = CaseFact::PlacementRecalled {
                    partner: placement.partner,
                    reason: "the case is closed".into(),
                };
                partners.record_for_job(&job, fact, "released").await?;
            }
            Ok(Vars::new())
        })
    }
}

impl JobHandler for RequestClaimFiling {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
        Box::pin(async move {
            let fact = CaseFact::ActivityRecorded {
                kind: "claim_filing_requested".into(),
                note: format!(
                    "the strategy asks for the claim to be filed ({}); the filing itself is the law firm's",
                    job.spec.element_id
                ),
            };
            self.0.record_for_job(&job, fact, "requested").await?;
            Ok(Vars::new())
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn accept_by_with(header: Option<&str>) -> Result<Option<chrono::DateTime<Utc>>, JobFailure> {
        let mut spec: bpmn::engine::JobSpec = serde_json::from_value(json!({
            "job": 4, "element_id": "PlaceWithAgency", "job_type": "partner.place",
            "retries": 3, "headers": {}, "variables": {}
        }))
        .unwrap();
        if let Some(h) = header {
            spec.headers.insert("acceptWithinHours".into(), h.into());
        }
        let variables = Vars::new();
        let job = JobRun {
            case_id: "C-1",
            tenant: "t",
            spec: &spec,
            variables: &variables,
            key: "job-1",
        };
        accept_by(&job, Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap())
    }

    #[test]
    fn a_place_task_sets_the_offer_deadline_from_its_header() {
        assert_eq!(accept_by_with(None), Ok(None));
        assert_eq!(
            accept_by_with(Some("24")),
            Ok(Some(Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap()))
        );
        for bad in ["0", "2161", "two days", ""] {
            assert!(
                matches!(accept_by_with(Some(bad)), Err(JobFailure::Incident { message }) if message.contains("acceptWithinHours")),
                "{bad}"
            );
        }
    }
}
