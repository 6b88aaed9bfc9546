//! The job handler behind every built-in `contact.*` job type.

use std::collections::BTreeMap;
use std::sync::Arc;

use bpmn::expr::Vars;
use collections::compliance::Request;
use collections::contact::{Channel, ContactAttempt, DeliveryStatus, mask};
use collections::debtor::Debtor;
use serde_json::json;
use services::access::{Principal, Role};
use services::case::{CaseFact, CaseState, ContactFact};
use services::desk::compliance::{ContactPermit, recipient_of};
use services::desk::{Desk, DeskError};
use services::runtime::jobs::{JobFailure, JobFuture, JobHandler, JobRun};

use crate::context::{Inputs, addressee, message_context, recipient_role};
use crate::message::{OutgoingMessage, SendError, Sender};
use crate::templates::{self, Templates, render_message};

pub use services::desk::compliance::channel_of_job_type;

/// Makes one contact attempt per job, through the sender configured for its channel.
#[derive(Clone)]
pub struct ContactJobs {
    desk: Desk,
    templates: Templates,
    senders: BTreeMap<Channel, Arc<dyn Sender>>,
}

impl std::fmt::Debug for ContactJobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContactJobs")
            .field("channels", &self.senders.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ContactJobs {
    pub fn new(desk: Desk, templates: Templates) -> Self {
        ContactJobs {
            desk,
            templates,
            senders: BTreeMap::new(),
        }
    }

    pub fn with_sender(mut self, channel: Channel, sender: Arc<dyn Sender>) -> Self {
        self.senders.insert(channel, sender);
        self
    }

    pub fn channels(&self) -> impl Iterator<Item = Channel> + '_ {
        self.senders.keys().copied()
    }

    async fn attempt(&self, job: JobRun<'_>) -> Result<Vars, JobFailure> {
        let channel = channel_of_job_type(&job.spec.job_type)
            .ok_or_else(|| incident(format!("{} is not a contact job type", job.spec.job_type)))?;
        let sender = self
            .senders
            .get(&channel)
            .ok_or_else(|| incident(format!("no sender for {channel:?}")))?
            .clone();
        let rt = self.desk.runtime();
        // Held until this attempt is on the case: another contact with the debtor meanwhile
        // would be decided on a history without it.
        let permit = self
            .desk
            .contact_permit(job.tenant, job.case_id)
            .await
            .map_err(|e| retry(e.to_string()))?;
        let state = rt
            .case(job.case_id)
            .await
            .map_err(|e| retry(e.to_string()))?
            .ok_or_else(|| incident(format!("case {} does not exist", job.case_id)))?;
        let (message, attempt) = match state.contact_attempt_by_key(job.key) {
            // Recorded, then a crash before the provider's answer was: hand it over again
            // under the same key (the provider drops the duplicate).
            Some(a) if a.status == DeliveryStatus::Sending => {
                drop(permit);
                let debtor = self.debtor_of(&job).await?;
                let message = self
                    .compose(&job, &state, debtor.as_ref(), channel, Some(a))
                    .await?
                    .0;
                (message, a.clone())
            }
            Some(a) => return Ok(result(a)),
            None => {
                let debtor = self.ask_the_gate(&job, &permit, &state, channel).await?;
                let (message, attempt) = self
                    .compose(&job, &state, debtor.as_ref(), channel, None)
                    .await?;
                self.record(
                    &job,
                    ContactFact::AttemptMade {
                        attempt: attempt.clone(),
                    },
                    "made",
                )
                .await?;
                drop(permit);
                (message, attempt)
            }
        };
        let answer = sender.send(&message).await;
        let (status, provider, provider_id, detail) = match &answer {
            Ok(sent) => (
                sent.status,
                Some(sent.provider.clone()),
                sent.provider_message_id.clone(),
                None,
            ),
            Err(e) => (DeliveryStatus::Failed, None, None, Some(e.to_string())),
        };
        self.record(
            &job,
            ContactFact::DeliveryUpdated {
                attempt: attempt.id,
                status,
                provider: provider.clone(),
                provider_message_id: provider_id.clone(),
                detail: detail.clone(),
            },
            "answered",
        )
        .await?;
        tracing::info!(
            case = job.case_id,
            attempt = attempt.id,
            channel = ?channel,
            to = %mask(&attempt.destination),
            status = status.as_str(),
            "contact attempt"
        );
        match answer {
            Ok(sent) => Ok(result(&ContactAttempt {
                status,
                provider: sent.provider,
                provider_message_id: provider_id,
                ..attempt
            })),
            Err(SendError::Unavailable(m)) => Err(retry(m)),
            Err(SendError::InvalidContact(m)) => Err(JobFailure::BpmnError {
                code: "INVALID_CONTACT".into(),
                message: m,
            }),
            Err(SendError::Rejected(m)) => Err(JobFailure::BpmnError {
                code: "CHANNEL_REJECTED".into(),
                message: m,
            }),
        }
    }

    /// The compliance gate, before anything is made: a blocked contact waits for its
    /// next lawful slot (the job is deferred, not failed), or becomes a BPMN error
    /// `CONTACT_BLOCKED` when the task's header `onBlocked` is `error` (for a model that
    /// takes another path), or an incident when no slot will come while the facts hold
    /// (cease, dispute, no consent): a person decides then. Allowed, it answers the
    /// debtor's file the gate read, for the message.
    async fn ask_the_gate(
        &self,
        job: &JobRun<'_>,
        permit: &ContactPermit,
        state: &CaseState,
        channel: Channel,
    ) -> Result<Option<Debtor>, JobFailure> {
        let req = Request {
            channel,
            recipient: recipient_of(&recipient_role(job.variables)),
        };
        let inputs = self
            .desk
            .permitted_gate_inputs(permit, job.tenant, state)
            .await
            .map_err(|e| retry(e.to_string()))?;
        let decision = self
            .desk
            .check_contact_with(&inputs, state, req, &job.actor(), job.key)
            .await
            .map_err(|e| retry(e.to_string()))?;
        if decision.allowed() {
            return Ok(inputs.debtor);
        }
        let why = DeskError::ContactBlocked(Box::new(decision.clone())).to_string();
        if job.spec.headers.get("onBlocked").map(String::as_str) == Some("error") {
            return Err(JobFailure::BpmnError {
                code: "CONTACT_BLOCKED".into(),
                message: why,
            });
        }
        match decision.next_slot {
            Some(until) => Err(JobFailure::Defer {
                until,
                message: why,
            }),
            None => Err(incident(why)),
        }
    }

    async fn record(
        &self,
        job: &JobRun<'_>,
        fact: ContactFact,
        step: &str,
    ) -> Result<(), JobFailure> {
        job.record(self.desk.runtime(), CaseFact::Contact(fact), step)
            .await
            .map(|_| ())
            .map_err(|e| retry(e.to_string()))
    }

    /// The message and the attempt a job makes; with `recorded`, the one it already made.
    async fn compose(
        &self,
        job: &JobRun<'_>,
        state: &CaseState,
        debtor: Option<&Debtor>,
        channel: Channel,
        recorded: Option<&ContactAttempt>,
    ) -> Result<(OutgoingMessage, ContactAttempt), JobFailure> {
        let role = recipient_role(job.variables);
        let to = addressee(debtor, &role, channel, self.desk.clock().now()).map_err(|m| {
            JobFailure::BpmnError {
                code: "INVALID_CONTACT".into(),
                message: m,
            }
        })?;
        // Handed over again after a crash: to the destination recorded, or not at all (the
        // file changed meanwhile; a person decides whether the new one is right).
        if let Some(a) = recorded.filter(|a| a.destination != to.destination) {
            return Err(incident(format!(
                "attempt {} was made to {}, and the debtor's file now gives {}; not sent again",
                a.id,
                mask(&a.destination),
                mask(&to.destination)
            )));
        }
        let creditor = state.creditor().to_string();
        let language = debtor
            .and_then(|d| d.language.as_ref())
            .map(|l| l.as_str().to_string());
        let template = match recorded.and_then(|a| a.template.as_ref()) {
            Some(used) => {
                self.templates
                    .version(job.tenant, &creditor, channel, used)
                    .await
            }
            None => {
                let name = job
                    .spec
                    .headers
                    .get("template")
                    .map(String::as_str)
                    .unwrap_or_else(|| templates::default_name(channel));
                let langs: Vec<&str> = language.iter().map(String::as_str).collect();
                self.templates
                    .resolve(job.tenant, &creditor, channel, name, &langs)
                    .await
            }
        }
        .map_err(|e| match e {
            // The store is unreachable: another time it may not be.
            crate::ContactError::Desk(_) => retry(e.to_string()),
            _ => incident(e.to_string()),
        })?;
        let now = self.desk.clock().now();
        let context = message_context(Inputs {
            state,
            debtor,
            to: &to,
            creditor: &creditor,
            channel,
            language: &template.language,
            variables: job.variables,
            today: now.date_naive(),
        });
        // A variable the case lacks is an incident, for a person to fix the template or
        // the case and retry; never a message with a hole in it.
        let rendered = render_message(&template, &context).map_err(|e| {
            incident(format!(
                "template {} v{} ({}): {e}",
                template.name, template.version, template.language
            ))
        })?;
        let attempt = match recorded {
            Some(a) => a.clone(),
            None => ContactAttempt {
                id: state.next_contact_attempt(),
                key: job.key.to_string(),
                channel,
                destination: to.destination.clone(),
                recipient: to.role.clone(),
                template: Some(template.usage()),
                provider: "pending".into(),
                provider_message_id: None,
                status: DeliveryStatus::Sending,
                detail: None,
                outcome: None,
                made_at: now,
                updated_at: now,
            },
        };
        let message = OutgoingMessage {
            key: job.key.to_string(),
            tenant: job.tenant.to_string(),
            case_id: job.case_id.to_string(),
            attempt: attempt.id,
            channel,
            to: attempt.destination.clone(),
            envelope: to
                .address
                .as_deref()
                .map(|a| a.lines().map(str::to_string).collect())
                .unwrap_or_default(),
            recipient_name: to.name,
            subject: rendered.subject,
            body: rendered.body,
            language: template.language.clone(),
        };
        Ok((message, attempt))
    }

    async fn debtor_of(&self, job: &JobRun<'_>) -> Result<Option<Debtor>, JobFailure> {
        let row = orm::entities::cases::Entity::find_by_id(job.case_id.to_string())
            .one(self.desk.db())
            .await
            .map_err(|e| retry(e.to_string()))?;
        let Some(debtor_id) = row.and_then(|r| r.debtor_id) else {
            return Ok(None);
        };
        let system = Principal::new("contact", job.tenant, Role::Admin, None, Vec::new())
            .map_err(|e| incident(e.to_string()))?;
        match self.desk.debtor(&system, &debtor_id).await {
            Ok(record) => Ok(record.file),
            Err(services::desk::DeskError::DebtorNotFound(_)) => Ok(None),
            Err(e) => Err(retry(e.to_string())),
        }
    }
}

use sea_orm::EntityTrait;

impl JobHandler for ContactJobs {
    fn run<'a>(&'a self, job: JobRun<'a>) -> JobFuture<'a> {
        Box::pin(self.attempt(job))
    }
}

fn retry(message: String) -> JobFailure {
    JobFailure::Retry {
        message,
        backoff: None,
    }
}

fn incident(message: String) -> JobFailure {
    JobFailure::Incident { message }
}

/// What the job completes with: the attempt's id, channel and status.
fn result(a: &ContactAttempt) -> Vars {
    let mut out = Vars::new();
    out.insert("contactAttempt".into(), json!(a.id));
    out.insert("contactStatus".into(), json!(a.status.as_str()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_types_name_their_channels() {
        assert_eq!(channel_of_job_type("contact.sms"), Some(Channel::Sms));
        assert_eq!(channel_of_job_type("contact.letter"), Some(Channel::Letter));
        assert_eq!(channel_of_job_type("contact.voicebot"), Some(Channel::Call));
        assert_eq!(channel_of_job_type("partner.place"), None);
    }
}
