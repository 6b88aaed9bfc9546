//! The voice bot's answer to a `contact.voicebot` job (see `docs/voicebot.md`). The bot
//! is an external worker: it activates the job, calls the number, and completes the job
//! with what came of the call. Before the job completes, the desk records the call as a
//! contact attempt on the case with its outcome, and a promise the verified debtor gave
//! as a promise in the ledger — through the path `makePromise` takes, so the ledger's
//! rules (not more than owed, not in the past) refuse a bad one; the job then stays open
//! for the bot to answer again. Each record carries a key derived from the job's, so
//! answering again after a crash records nothing twice.

use bpmn::expr::Vars;
use chrono::NaiveDate;
use collections::contact::{Channel, ContactAttempt, ContactOutcome, DeliveryStatus};
use collections::debtor::Phone;
use collections::money::Money;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Desk, DeskError};
use crate::access::Principal;
use crate::case::{CaseFact, ContactFact};

/// The job type an external voice-bot worker activates.
pub const VOICEBOT_JOB_TYPE: &str = "contact.voicebot";

/// What the bot reports, read from the completion's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceBotResult {
    pub identity_verified: bool,
    pub outcome: ContactOutcome,
    /// Due dates and amounts as the bot said them (exact decimal strings); read in the
    /// case's currency when recorded.
    pub promise: Vec<(NaiveDate, String)>,
    pub follow_up_sms: bool,
    /// The number called; the task's `phone` variable when the bot names none.
    pub phone: Option<String>,
    /// The bot's id for the call, kept as the attempt's provider id.
    pub call_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    #[serde(default)]
    identity_verified: bool,
    outcome: ContactOutcome,
    #[serde(default)]
    promise: Option<PromiseWire>,
    #[serde(default)]
    follow_up_sms: bool,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PromiseWire {
    One(Part),
    Instalments(Vec<Part>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Part {
    /// A string, never a JSON number: money is exact.
    amount: String,
    due_date: NaiveDate,
}

impl VoiceBotResult {
    /// Reads the completion's variables; other variables (for the process) are ignored.
    pub fn from_variables(vars: &Vars) -> Result<Self, DeskError> {
        let wire: Wire = serde_json::from_value(Value::Object(vars.clone())).map_err(|e| {
            DeskError::Invalid(format!(
                "a voice-bot result needs `outcome` (promise, reached, no_answer, wrong_number, refused, left_message) and, for a promise, `promise` as {{amount: \"120.50\", dueDate: \"2026-12-20\"}} or a list of them: {e}"
            ))
        })?;
        let promise = match wire.promise {
            None => Vec::new(),
            Some(PromiseWire::One(p)) => vec![(p.due_date, p.amount)],
            Some(PromiseWire::Instalments(ps)) => {
                ps.into_iter().map(|p| (p.due_date, p.amount)).collect()
            }
        };
        match (wire.outcome, promise.is_empty()) {
            (ContactOutcome::Promise, true) => {
                return Err(DeskError::Invalid(
                    "the outcome is a promise, but the result has no `promise`".into(),
                ));
            }
            (other, false) if other != ContactOutcome::Promise => {
                return Err(DeskError::Invalid(format!(
                    "the result has a `promise` but its outcome is {}",
                    json!(other)
                )));
            }
            _ => {}
        }
        Ok(VoiceBotResult {
            identity_verified: wire.identity_verified,
            outcome: wire.outcome,
            promise,
            follow_up_sms: wire.follow_up_sms,
            phone: wire.phone,
            call_id: wire.call_id,
        })
    }

    /// Whether the bot spoke with the debtor: the call is then delivered.
    fn reached(&self) -> bool {
        self.outcome.is_conversation()
    }
}

impl Desk {
    /// Records what the bot reports for job `job_id` on `case_id` and answers the
    /// variables the job completes with: the bot's, plus `contactAttempt`,
    /// `contactOutcome`, `identityVerified` and `followUpSms` (always set, so a model
    /// can branch on them).
    pub(super) async fn record_voicebot(
        &self,
        p: &Principal,
        case_id: &str,
        job_id: i64,
        task_vars: &Vars,
        mut vars: Vars,
    ) -> Result<Vars, DeskError> {
        let result = VoiceBotResult::from_variables(&vars)?;
        if !result.identity_verified && result.outcome == ContactOutcome::Promise {
            return Err(DeskError::IdentityNotVerified(job_id));
        }
        let phone = result
            .phone
            .as_deref()
            .or_else(|| task_vars.get("phone").and_then(Value::as_str))
            .ok_or_else(|| {
                DeskError::Invalid("the result names no `phone`, nor does the task".into())
            })?;
        let phone = Phone::parse(phone, None)?.e164().to_string();
        let key = format!("job-{job_id}");
        let state = self
            .runtime
            .case(case_id)
            .await?
            .ok_or_else(|| DeskError::CaseNotFound(case_id.to_string()))?;
        // The attempt the gate recorded when it let the bot have the job (the latest, if
        // the job was handed out again).
        let allowed = super::compliance::job_attempts(&state, &key)
            .last()
            .copied();
        if let Some(a) = allowed.filter(|a| !a.destination.is_empty() && a.destination != phone) {
            return Err(DeskError::Invalid(format!(
                "the bot reports a call to {phone}, but the call the compliance gate allowed \
                 was to {}",
                a.destination
            )));
        }
        // The promise first: a refused one leaves nothing recorded and the job open.
        if !result.promise.is_empty() {
            let currency = state.ledger.as_ref().map(|l| l.currency()).ok_or_else(|| {
                DeskError::Conflict("the case has no debt to promise to pay".into())
            })?;
            let parts = result
                .promise
                .iter()
                .map(|(due, amount)| Ok((*due, Money::parse(amount, currency)?)))
                .collect::<Result<Vec<_>, DeskError>>()?;
            self.record_promise(
                p,
                case_id,
                parts,
                "voicebot".into(),
                Some(format!("{key}:voicebot-promise")),
            )
            .await?;
        }
        let status = if result.reached() {
            DeliveryStatus::Delivered
        } else {
            DeliveryStatus::Sent
        };
        let attempt = match allowed {
            // Recorded when the gate let the bot have the job: what came of it now.
            Some(a) if a.status == DeliveryStatus::Sending => {
                let fact = CaseFact::Contact(ContactFact::DeliveryUpdated {
                    attempt: a.id,
                    status,
                    provider: Some("voicebot".into()),
                    provider_message_id: result.call_id.clone(),
                    detail: None,
                });
                let update = format!("{}:voicebot-call", a.key);
                self.record(p, case_id, fact, Some(update)).await?;
                a.id
            }
            Some(a) => a.id,
            None => {
                let now = self.clock.now();
                let attempt = ContactAttempt {
                    id: state.next_contact_attempt(),
                    key: key.clone(),
                    channel: Channel::Call,
                    destination: phone,
                    recipient: "debtor".into(),
                    template: None,
                    provider: "voicebot".into(),
                    provider_message_id: result.call_id.clone(),
                    status,
                    detail: None,
                    outcome: None,
                    made_at: now,
                    updated_at: now,
                };
                let id = attempt.id;
                let fact = CaseFact::Contact(ContactFact::AttemptMade { attempt });
                self.record(p, case_id, fact, Some(format!("{key}:voicebot-attempt")))
                    .await?;
                id
            }
        };
        let note = if result.identity_verified {
            "identity verified by the voice bot"
        } else {
            "identity not verified"
        };
        let fact = CaseFact::Contact(ContactFact::OutcomeRecorded {
            attempt,
            outcome: result.outcome,
            note: Some(note.into()),
        });
        self.record(p, case_id, fact, Some(format!("{key}:voicebot-outcome")))
            .await?;
        vars.insert("contactAttempt".into(), json!(attempt));
        vars.insert("contactOutcome".into(), json!(result.outcome));
        vars.insert("identityVerified".into(), json!(result.identity_verified));
        vars.insert("followUpSms".into(), json!(result.follow_up_sms));
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(v: Value) -> Vars {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn a_promise_reads_as_one_part_or_instalments() {
        let one = VoiceBotResult::from_variables(&vars(json!({
            "identityVerified": true, "outcome": "promise", "followUpSms": true,
            "promise": {"amount": "120.50", "dueDate": "2026-12-20"}, "extra": 1
        })))
        .unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(one.promise, [(day(20), "120.50".to_string())]);
        assert!(one.follow_up_sms && one.identity_verified);
        let many = VoiceBotResult::from_variables(&vars(json!({
            "outcome": "promise",
            "promise": [{"amount": "10", "dueDate": "2026-12-01"}, {"amount": "20", "dueDate": "2026-12-15"}]
        })))
        .unwrap();
        assert_eq!(many.promise.len(), 2);
        assert!(!many.identity_verified && !many.follow_up_sms);
    }

    #[test]
    fn results_that_contradict_themselves_are_refused() {
        for bad in [
            json!({"outcome": "promise"}),
            json!({"outcome": "reached", "promise": {"amount": "1", "dueDate": "2026-12-01"}}),
            json!({"outcome": "maybe"}),
            json!({"outcome": "promise", "promise": {"amount": 1.5, "dueDate": "2026-12-01"}}),
            json!({}),
        ] {
            assert!(
                matches!(
                    VoiceBotResult::from_variables(&vars(bad.clone())),
                    Err(DeskError::Invalid(_))
                ),
                "{bad}"
            );
        }
        let reached =
            VoiceBotResult::from_variables(&vars(json!({"outcome": "no_answer"}))).unwrap();
        assert!(!reached.reached());
    }
}
