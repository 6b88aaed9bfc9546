//! The job handler behind every built-in `contact.*` job type.

use std::collections::BTreeMap;
use std::sync::Arc;

use bpmn::expr::Vars;
use collections::contact::{Channel, ContactAttempt, DeliveryStatus, mask};
use collections::debtor::{ContactPoint, Debtor, Relationship};
use serde_json::{Value, json};
use services::access::{Principal, Role};
use services::case::{CaseFact, CaseState, ContactFact};
use services::desk::Desk;
use services::runtime::jobs::{JobFailure, JobFuture, JobHandler, JobRun};

use crate::message::{OutgoingMessage, SendError, Sender};
use crate::templates::{self, Template, Templates};

/// The channel a `contact.*` job type uses.
pub fn channel_of_job_type(job_type: &str) -> Option<Channel> {
    Some(match job_type {
        "contact.sms" => Channel::Sms,
        "contact.whatsapp" => Channel::WhatsApp,
        "contact.email" => Channel::Email,
        "contact.letter" => Channel::Letter,
        "contact.call" => Channel::Call,
        _ => return None,
    })
}

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

/// Who a message goes to: the debtor, or a related party who may hear of the debt.
#[derive(Debug, Clone, PartialEq)]
struct Addressee {
    role: String,
    name: String,
    destination: String,
    /// For letters: the address as lines.
    address: String,
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
        let state = rt
            .case(job.case_id)
            .await
            .map_err(|e| retry(e.to_string()))?
            .ok_or_else(|| incident(format!("case {} does not exist", job.case_id)))?;
        let (message, attempt) = match state.contact_attempt_by_key(job.key) {
            // Recorded, then a crash before the provider's answer was: hand it over again
            // under the same key (the provider drops the duplicate).
            Some(a) if a.status == DeliveryStatus::Sending => {
                let message = self.compose(&job, &state, channel, Some(a)).await?.0;
                (message, a.clone())
            }
            Some(a) => return Ok(result(a)),
            None => {
                let (message, attempt) = self.compose(&job, &state, channel, None).await?;
                self.record(
                    &job,
                    ContactFact::AttemptMade {
                        attempt: attempt.clone(),
                    },
                    "made",
                )
                .await?;
                (message, attempt)
            }
        };
        let answer = sender.send(&message).await;
        let (status, provider_id, detail) = match &answer {
            Ok(sent) => (sent.status, sent.provider_message_id.clone(), None),
            Err(e) => (DeliveryStatus::Failed, None, Some(e.to_string())),
        };
        self.record(
            &job,
            ContactFact::DeliveryUpdated {
                attempt: attempt.id,
                status,
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
            Ok(_) => Ok(result(&ContactAttempt {
                status,
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

    async fn record(
        &self,
        job: &JobRun<'_>,
        fact: ContactFact,
        step: &str,
    ) -> Result<(), JobFailure> {
        let actor = format!("worker:{}", job.spec.job_type);
        self.desk
            .runtime()
            .record_fact(
                job.case_id,
                CaseFact::Contact(fact),
                &actor,
                Some(format!("{}:{step}", job.key)),
            )
            .await
            .map(|_| ())
            .map_err(|e| retry(e.to_string()))
    }

    /// The message and the attempt a job makes; with `recorded`, the one it already made.
    async fn compose(
        &self,
        job: &JobRun<'_>,
        state: &CaseState,
        channel: Channel,
        recorded: Option<&ContactAttempt>,
    ) -> Result<(OutgoingMessage, ContactAttempt), JobFailure> {
        let debtor = self.debtor_of(job).await?;
        let role = recipient_role(job.variables);
        let to =
            addressee(debtor.as_ref(), &role, channel, self.desk.clock().now()).map_err(|m| {
                JobFailure::BpmnError {
                    code: "INVALID_CONTACT".into(),
                    message: m,
                }
            })?;
        let creditor = state
            .ledger
            .as_ref()
            .and_then(|l| l.creditor())
            .unwrap_or(collections::creditor::DEFAULT_CREDITOR)
            .to_string();
        let language = debtor
            .as_ref()
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
        .map_err(|e| incident(e.to_string()))?;
        let context = message_context(
            state,
            debtor.as_ref(),
            &to,
            &creditor,
            &template,
            job.variables,
        );
        let rendered = collections::template::render(
            &collections::template::TemplateText {
                subject: template.subject.as_deref(),
                body: &template.body,
            },
            &context,
        )
        .map_err(|e| {
            incident(format!(
                "template {} v{}: {e}",
                template.name, template.version
            ))
        })?;
        let now = self.desk.clock().now();
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

/// `recipient` from the task's inputs: `"guarantor"`, or an object with a `role`;
/// the debtor when absent.
fn recipient_role(vars: &Vars) -> String {
    match vars.get("recipient") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_ascii_lowercase(),
        Some(Value::Object(o)) => o
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("debtor")
            .to_ascii_lowercase(),
        _ => "debtor".into(),
    }
}

fn addressee(
    debtor: Option<&Debtor>,
    role: &str,
    channel: Channel,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Addressee, String> {
    let debtor = debtor.ok_or("the case has no registered debtor to contact")?;
    let (name, contacts) = if role == "debtor" {
        (debtor.name.clone(), debtor.contacts())
    } else {
        let wanted = match role {
            "guarantor" => Relationship::Guarantor,
            "co_debtor" | "co-debtor" | "codebtor" => Relationship::CoDebtor,
            other => return Err(format!("{other} may not be told about the debt")),
        };
        let party = debtor
            .related
            .iter()
            .find(|p| p.relationship == wanted)
            .ok_or_else(|| format!("the debtor has no {role} on file"))?;
        (party.name.clone(), party.contacts.as_slice())
    };
    // A contact whose consent for the channel was given and later revoked is closed to
    // it; among the rest, one with consent in force comes first.
    let usable = contacts.iter().filter(|c| {
        c.point.kind() == channel.uses()
            && (c.authorised(channel, at) || !c.consents().iter().any(|k| k.channel == channel))
            && match &c.point {
                ContactPoint::Phone(p) if matches!(channel, Channel::Sms | Channel::WhatsApp) => {
                    p.is_mobile() != Some(false)
                }
                _ => true,
            }
    });
    let chosen = usable
        .clone()
        .find(|c| c.authorised(channel, at))
        .or_else(|| usable.clone().next())
        .ok_or_else(|| format!("no {channel:?} contact for the {role} on file"))?;
    let (destination, address) = match &chosen.point {
        ContactPoint::Phone(p) => (p.e164().to_string(), String::new()),
        ContactPoint::Email(e) => (e.as_str().to_string(), String::new()),
        ContactPoint::Postal(a) => (a.envelope_lines().join(", "), a.envelope_lines().join("\n")),
    };
    Ok(Addressee {
        role: role.to_string(),
        name,
        destination,
        address,
    })
}

fn message_context(
    state: &CaseState,
    debtor: Option<&Debtor>,
    to: &Addressee,
    creditor: &str,
    template: &Template,
    variables: &Vars,
) -> Value {
    let locale = debtor
        .and_then(|d| d.language.as_ref())
        .map_or(template.language.as_str(), |l| l.as_str());
    let balance = state.ledger.as_ref().map(|l| l.balance());
    let reference = variables
        .get("externalRef")
        .and_then(Value::as_str)
        .unwrap_or(&state.case_id)
        .to_string();
    json!({
        "recipient": { "name": to.name, "role": to.role, "address": to.address },
        "debtor": debtor.map(|d| json!({ "id": d.id, "name": d.name })),
        "creditor": { "id": creditor, "name": creditor },
        "case": { "id": state.case_id, "reference": reference },
        "balance": balance.map(|b| collections::template::format_money(b, locale)),
        "balance_amount": balance.map(|b| b.amount().to_string()),
        "currency": balance.map(|b| b.currency().code()),
        "opt_out": opt_out_text(template.channel, &template.language),
        "vars": variables,
    })
}

/// The opt-out line a channel's messages carry (required for e-mail and SMS).
fn opt_out_text(channel: Channel, language: &str) -> &'static str {
    let es = language.starts_with("es");
    match channel {
        Channel::Sms | Channel::WhatsApp if es => "Responda STOP para no recibir más mensajes.",
        Channel::Sms | Channel::WhatsApp => "Reply STOP to opt out.",
        Channel::Email if es => {
            "Para dejar de recibir estos correos, responda con la palabra BAJA."
        }
        Channel::Email => "To stop receiving these e-mails, reply with the word UNSUBSCRIBE.",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_types_name_their_channels() {
        assert_eq!(channel_of_job_type("contact.sms"), Some(Channel::Sms));
        assert_eq!(channel_of_job_type("contact.letter"), Some(Channel::Letter));
        assert_eq!(channel_of_job_type("partner.place"), None);
    }

    #[test]
    fn the_recipient_is_the_debtor_unless_the_task_names_another() {
        let mut vars = Vars::new();
        assert_eq!(recipient_role(&vars), "debtor");
        vars.insert("recipient".into(), json!("Guarantor"));
        assert_eq!(recipient_role(&vars), "guarantor");
        vars.insert("recipient".into(), json!({"role": "co_debtor"}));
        assert_eq!(recipient_role(&vars), "co_debtor");
    }
}
