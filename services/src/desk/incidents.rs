//! The incidents console: what stopped a case, and the supervisor's ways to move it on —
//! fix the data behind it (`SetVariables`), then resolve it (the failed step runs again:
//! a job with one more retry, an expression evaluated anew). Each action is journalled,
//! with the reason written as a comment in the entry before, so the history says why.

use bpmn::engine::{Event, Phase};
use bpmn::expr::Vars;

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal};
use crate::case::CaseFact;
use crate::runtime::{Command, Outcome};

/// One open incident of a case.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    pub id: u64,
    pub element_id: String,
    pub message: String,
    /// `activate` (entering the element), `complete` (leaving it), `job` (its retries
    /// ran out) or `unhandled_error` (a thrown error found no catch).
    pub phase: &'static str,
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Activate => "activate",
        Phase::Complete => "complete",
        Phase::Job => "job",
        Phase::UnhandledError => "unhandled_error",
    }
}

fn reason_text(action: &str, reason: &str) -> Result<String, DeskError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 2_000 {
        return Err(DeskError::Invalid(
            "say why, in 1 to 2000 characters: the history keeps it".into(),
        ));
    }
    Ok(format!("{action}: {reason}"))
}

impl Desk {
    /// The case's open incidents, oldest first.
    pub async fn incidents(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<OpenIncident>, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::ReadIncidents, "read incidents")?;
        let Some(state) = self.runtime.case(case_id).await? else {
            return Ok(Vec::new());
        };
        Ok(state
            .instance
            .incidents
            .iter()
            .map(|(id, i)| OpenIncident {
                id: *id,
                element_id: i.element_id.clone(),
                message: i.message.clone(),
                phase: phase_name(&i.phase),
            })
            .collect())
    }

    /// Sets variables on the case's process (to fix what an incident stumbled on).
    pub async fn set_case_variables(
        &self,
        p: &Principal,
        case_id: &str,
        variables: Vars,
        reason: &str,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::ManageIncidents, "set case variables")?;
        if variables.is_empty() {
            return Err(DeskError::Invalid("no variable to set".into()));
        }
        let names: Vec<&str> = variables.keys().map(String::as_str).collect();
        let note = reason_text(&format!("variables set ({})", names.join(", ")), reason)?;
        self.note_then(p, case_id, note, Event::SetVariables { variables })
            .await
    }

    /// Resolves an incident: the step that failed is tried again.
    pub async fn resolve_incident(
        &self,
        p: &Principal,
        case_id: &str,
        incident: u64,
        reason: &str,
    ) -> Result<Outcome, DeskError> {
        let open = self.incidents(p, case_id).await?;
        require(p, Operation::ManageIncidents, "resolve incidents")?;
        let Some(found) = open.iter().find(|i| i.id == incident) else {
            return Err(DeskError::Conflict(format!(
                "case {case_id} has no open incident {incident}"
            )));
        };
        let note = reason_text(
            &format!("incident {incident} at {} resolved", found.element_id),
            reason,
        )?;
        self.note_then(p, case_id, note, Event::ResolveIncident { incident })
            .await
    }

    async fn note_then(
        &self,
        p: &Principal,
        case_id: &str,
        note: String,
        event: Event,
    ) -> Result<Outcome, DeskError> {
        let comment = CaseFact::CommentAdded {
            task: None,
            text: note,
        };
        self.record(p, case_id, comment, None).await?;
        Ok(self
            .runtime
            .execute(case_id, Command::Engine(event), &p.acting_identity(), None)
            .await?)
    }
}
