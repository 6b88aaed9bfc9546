//! The compliance gate on a case: the facts the pure gate needs, gathered from the
//! debtor's file and every case of the debtor, and each decision journalled on the case
//! with the packs and the facts it rested on (decision 0022).

use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use collections::compliance::{
    Basis, Decision, Facts, Gate, GateRefusal, PastContact, Recipient, Request,
};
use collections::contact::{ContactOutcome, DeliveryStatus};
use collections::debtor::{
    Channel, Contact, ContactPoint, Debtor, Relationship, Tz, candidate_zones,
};
use orm::entities::cases;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal};
use crate::case::{CaseFact, CaseState, ContactFact};

mod replay;
pub use replay::{ReplayReport, Violation};

/// Held from the gate's reading of a debtor's history until the contact it allows is
/// recorded (see [`Desk::contact_permit`]).
#[must_use = "the permit orders contacts only while it is held"]
pub struct ContactPermit {
    /// The debtor the permit is for (`None`: a case without a debtor file), so the gate's
    /// facts are read without looking the case's debtor up again.
    debtor_id: Option<String>,
    _held: tokio::sync::MutexGuard<'static, ()>,
}

/// Striped by debtor, process-wide (every desk of the node shares them): a stripe now
/// and then shared by two debtors only makes one wait a moment.
static CONTACT_STRIPES: OnceLock<Vec<tokio::sync::Mutex<()>>> = OnceLock::new();
const STRIPES: usize = 256;

/// The bundled law packs, parsed once per process.
pub fn bundled_gate() -> Arc<Gate> {
    static BUNDLED: OnceLock<Arc<Gate>> = OnceLock::new();
    BUNDLED
        .get_or_init(|| {
            Arc::new(Gate::bundled().expect("the bundled rule packs are checked by tests"))
        })
        .clone()
}

/// What the gate is told about a case's debtor.
pub struct GateInputs {
    pub debtor: Option<Debtor>,
    pub creditor: String,
    pub zones: Vec<Tz>,
    /// Every attempt on every case of the debtor, oldest first.
    pub history: Vec<PastContact>,
}

impl GateInputs {
    /// The decision on `req` at `at`, through the contact point `contact` when known
    /// (else the first of the channel's kind with a consent in force, else the first).
    pub fn decide(&self, gate: &Gate, req: &Request, at: DateTime<Utc>) -> Decision {
        let Some(debtor) = &self.debtor else {
            return Decision {
                at,
                packs: Vec::new(),
                blocks: Vec::new(),
                refusal: Some(GateRefusal::UnknownDebtor),
                next_slot: None,
                basis: Basis::default(),
            };
        };
        let contact = contact_point(debtor, req, at);
        let facts = Facts {
            country: debtor.jurisdiction.country,
            creditor: &self.creditor,
            zones: &self.zones,
            flags: &debtor.flags,
            contact,
            history: &self.history,
        };
        gate.decide(&facts, req, at)
    }
}

/// The contact point a contact on `req.channel` to `req.recipient` would use.
fn contact_point<'a>(debtor: &'a Debtor, req: &Request, at: DateTime<Utc>) -> Option<&'a Contact> {
    let contacts: &[Contact] = match req.recipient {
        Recipient::Debtor => debtor.contacts(),
        Recipient::Party(r) => debtor
            .related
            .iter()
            .find(|p| p.relationship == r)
            .map_or(&[], |p| p.contacts.as_slice()),
    };
    let usable = contacts
        .iter()
        .filter(|c| c.point.kind() == req.channel.uses());
    usable
        .clone()
        .find(|c| c.authorised(req.channel, at))
        .or_else(|| usable.clone().next())
}

/// The contact attempts recorded for external job `base` (`job-<id>`), oldest first: one
/// per hand-out that the gate allowed (`job-<id>`, then `job-<id>:1`, …).
pub(super) fn job_attempts<'a>(
    state: &'a CaseState,
    base: &str,
) -> Vec<&'a collections::contact::ContactAttempt> {
    let again = format!("{base}:");
    state
        .contacts
        .iter()
        .filter(|a| a.key == base || a.key.starts_with(&again))
        .collect()
}

/// An attempt as the rules count it: a message that failed never reached anyone; a
/// call attempt counts even unanswered or unconnected (Regulation F counts attempts).
fn past_contact(a: &collections::contact::ContactAttempt, same_debt: bool) -> Option<PastContact> {
    (a.status != DeliveryStatus::Failed || a.channel == Channel::Call).then_some(PastContact {
        at: a.made_at,
        channel: a.channel,
        same_debt,
        conversation: a.outcome.is_some_and(ContactOutcome::is_conversation),
    })
}

/// Who a recipient role names, as contact jobs give it (`debtor`, `guarantor`, …).
pub fn recipient_of(role: &str) -> Recipient {
    match role {
        "guarantor" => Recipient::Party(Relationship::Guarantor),
        "co_debtor" | "co-debtor" | "codebtor" => Recipient::Party(Relationship::CoDebtor),
        "employer" => Recipient::Party(Relationship::Employer),
        "relative" => Recipient::Party(Relationship::Relative),
        _ => Recipient::Debtor,
    }
}

/// A decision as journalled on a case.
#[derive(Debug, Clone)]
pub struct GateRecord {
    pub seq: i64,
    pub actor: String,
    pub request: Request,
    pub decision: Decision,
}

impl Desk {
    /// Every gate decision journalled on the case, oldest first: the evidence an
    /// auditor reads (who asked, under which packs, on what facts, with what answer).
    pub async fn compliance_decisions(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<GateRecord>, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::ReadHistory, "read compliance decisions")?;
        let entries = self
            .runtime
            .store()
            .journal(case_id, 0)
            .await
            .map_err(crate::runtime::RuntimeError::from)?;
        let mut out = Vec::new();
        for e in entries
            .into_iter()
            .filter(|e| e.event_type == "ContactGateChecked")
        {
            let event: crate::case::CaseEvent =
                serde_json::from_value(e.payload).map_err(|err| {
                    crate::runtime::RuntimeError::Corrupt(format!(
                        "{case_id} entry {}: {err}",
                        e.seq
                    ))
                })?;
            if let crate::case::CaseEvent::Fact {
                fact: CaseFact::Contact(ContactFact::GateChecked { request, decision }),
            } = event
            {
                out.push(GateRecord {
                    seq: e.seq,
                    actor: e.actor,
                    request,
                    decision,
                });
            }
        }
        Ok(out)
    }

    /// Uses `gate` (the bundled law packs plus creditors' policies) instead of the
    /// bundled law packs alone.
    pub fn with_gate(mut self, gate: Arc<Gate>) -> Self {
        self.gate = gate;
        self
    }

    /// The facts about the debtor of `state`'s case in `tenant` (the caller holds the
    /// case's state already: it is not read again).
    pub async fn gate_inputs(
        &self,
        tenant: &str,
        state: &CaseState,
    ) -> Result<GateInputs, DeskError> {
        let debtor_id = self.debtor_id_of(&state.case_id).await?;
        self.debtor_facts(tenant, state, debtor_id.as_deref()).await
    }

    /// [`Desk::gate_inputs`] for the holder of the debtor's permit.
    pub async fn permitted_gate_inputs(
        &self,
        permit: &ContactPermit,
        tenant: &str,
        state: &CaseState,
    ) -> Result<GateInputs, DeskError> {
        self.debtor_facts(tenant, state, permit.debtor_id.as_deref())
            .await
    }

    async fn debtor_id_of(&self, case_id: &str) -> Result<Option<String>, DeskError> {
        Ok(cases::Entity::find_by_id(case_id.to_string())
            .select_only()
            .column(cases::Column::DebtorId)
            .into_tuple::<Option<String>>()
            .one(&self.db)
            .await?
            .flatten())
    }

    async fn debtor_facts(
        &self,
        tenant: &str,
        state: &CaseState,
        debtor_id: Option<&str>,
    ) -> Result<GateInputs, DeskError> {
        let case_id = state.case_id.as_str();
        let none = || GateInputs {
            debtor: None,
            creditor: state.creditor().to_string(),
            zones: Vec::new(),
            history: Vec::new(),
        };
        let Some(debtor_id) = debtor_id else {
            return Ok(none());
        };
        let Some(debtor) = self.debtor_state(tenant, debtor_id).await? else {
            return Ok(none());
        };
        // Every debt of the debtor: "once a day" and "once a week" count them all.
        let siblings: Vec<String> = cases::Entity::find()
            .select_only()
            .column(cases::Column::CaseId)
            .filter(cases::Column::Tenant.eq(tenant))
            .filter(cases::Column::DebtorId.eq(debtor_id))
            .into_tuple::<String>()
            .all(&self.db)
            .await?;
        let mut history: Vec<PastContact> = state
            .contacts
            .iter()
            .filter_map(|a| past_contact(a, true))
            .collect();
        for id in siblings.iter().filter(|id| *id != case_id) {
            if let Some(other) = self.runtime.case(id).await? {
                history.extend(other.contacts.iter().filter_map(|a| past_contact(a, false)));
            }
        }
        history.sort_by_key(|c| c.at);
        Ok(GateInputs {
            zones: candidate_zones(&debtor),
            debtor: Some(debtor),
            creditor: state.creditor().to_string(),
            history,
        })
    }

    /// Settles an attempt an external worker holds: `status` with why (`detail`).
    pub(super) async fn close_worker_attempt(
        &self,
        case_id: &str,
        attempt: u32,
        attempt_key: &str,
        status: DeliveryStatus,
        detail: &str,
    ) -> Result<(), DeskError> {
        let fact = CaseFact::Contact(ContactFact::DeliveryUpdated {
            attempt,
            status,
            provider: None,
            provider_message_id: None,
            detail: Some(detail.to_string()),
        });
        self.runtime
            .record_fact(
                case_id,
                fact,
                "worker",
                Some(format!("{attempt_key}:{}", status.as_str())),
            )
            .await?;
        Ok(())
    }

    /// Contacts with one debtor are decided one at a time on this node. Without it two
    /// contacts at once (two cases of the debtor, an external worker and a built-in
    /// channel) would both read the same history and each pass a limit ("once a day")
    /// that together they break. Take it before [`Desk::gate_inputs`], keep it until the
    /// allowed attempt is recorded.
    pub async fn contact_permit(
        &self,
        tenant: &str,
        case_id: &str,
    ) -> Result<ContactPermit, DeskError> {
        use std::hash::{Hash, Hasher};
        let debtor = self.debtor_id_of(case_id).await?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (tenant, debtor.as_deref().unwrap_or(case_id)).hash(&mut h);
        let stripes = CONTACT_STRIPES
            .get_or_init(|| (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect());
        let stripe = &stripes[(h.finish() % STRIPES as u64) as usize];
        let held = stripe.lock().await;
        Ok(ContactPermit {
            debtor_id: debtor,
            _held: held,
        })
    }

    /// Asks the gate whether the debtor of `state`'s case (or `recipient`) may be
    /// contacted on `channel` now, and journals the decision on the case under `key`.
    pub async fn check_contact(
        &self,
        tenant: &str,
        state: &CaseState,
        req: Request,
        actor: &str,
        key: &str,
    ) -> Result<Decision, DeskError> {
        let inputs = self.gate_inputs(tenant, state).await?;
        self.check_contact_with(&inputs, state, req, actor, key)
            .await
    }

    /// [`Desk::check_contact`] on facts the caller read already (with
    /// [`Desk::gate_inputs`]), for a caller that goes on to use the debtor's file.
    pub async fn check_contact_with(
        &self,
        inputs: &GateInputs,
        state: &CaseState,
        req: Request,
        actor: &str,
        key: &str,
    ) -> Result<Decision, DeskError> {
        let decision = inputs.decide(&self.gate, &req, self.clock.now());
        self.journal_decision(&state.case_id, req, &decision, actor, key)
            .await?;
        Ok(decision)
    }

    /// Journals a decision on the case. One record per evaluation: a deferred job asks
    /// again later, under a new key.
    async fn journal_decision(
        &self,
        case_id: &str,
        req: Request,
        decision: &Decision,
        actor: &str,
        key: &str,
    ) -> Result<(), DeskError> {
        let fact = CaseFact::Contact(ContactFact::GateChecked {
            request: req,
            decision: decision.clone(),
        });
        let key = format!("{key}:gate@{}", decision.at.timestamp_micros());
        self.runtime
            .record_fact(case_id, fact, actor, Some(key))
            .await?;
        Ok(())
    }

    /// Whether the case's debtor may be contacted on `channel` now and, if not, why and
    /// from when: for the agent deciding what to do next. Not journalled: nothing is
    /// contacted.
    pub async fn contact_permission(
        &self,
        p: &Principal,
        case_id: &str,
        channel: Channel,
        recipient: Recipient,
    ) -> Result<Decision, DeskError> {
        self.case(p, case_id).await?;
        let state = self
            .runtime
            .case(case_id)
            .await?
            .ok_or_else(|| DeskError::CaseNotFound(case_id.to_string()))?;
        let req = Request { channel, recipient };
        Ok(self
            .gate_inputs(&p.tenant, &state)
            .await?
            .decide(&self.gate, &req, self.clock.now()))
    }
}

impl Desk {
    /// An agent (or a partner's) call to the debtor or a related party, asked of the gate
    /// first: blocked, it is refused with each rule and the next lawful slot
    /// (`CONTACT_BLOCKED`) and nothing is dialled; allowed, the attempt is recorded
    /// (`agent`, placed) for its outcome to be recorded when the call ends.
    pub async fn start_call(
        &self,
        p: &Principal,
        case_id: &str,
        recipient: &str,
        idempotency_key: Option<String>,
    ) -> Result<collections::contact::ContactAttempt, DeskError> {
        require(p, Operation::RecordActivity, "make calls")?;
        self.case(p, case_id).await?;
        let key = match idempotency_key {
            Some(k) if k.trim().is_empty() || k.len() > 200 => {
                return Err(DeskError::Invalid(
                    "an idempotency key is 1 to 200 characters".into(),
                ));
            }
            Some(k) => format!("call:{}:{k}", p.acting_identity()),
            None => format!("call:{}:{}", p.acting_identity(), uuid::Uuid::new_v4()),
        };
        let permit = self.contact_permit(&p.tenant, case_id).await?;
        let state = self
            .runtime
            .case(case_id)
            .await?
            .ok_or_else(|| DeskError::CaseNotFound(case_id.to_string()))?;
        if let Some(made) = state.contact_attempt_by_key(&key) {
            return Ok(made.clone());
        }
        let req = Request {
            channel: Channel::Call,
            recipient: recipient_of(recipient.trim()),
        };
        let actor = p.acting_identity();
        let now = self.clock.now();
        let inputs = self
            .permitted_gate_inputs(&permit, &p.tenant, &state)
            .await?;
        let decision = inputs.decide(&self.gate, &req, now);
        self.journal_decision(case_id, req, &decision, &actor, &key)
            .await?;
        if !decision.allowed() {
            return Err(DeskError::ContactBlocked(Box::new(decision)));
        }
        let debtor = inputs.debtor.as_ref().ok_or_else(|| {
            DeskError::Invalid("the case has no registered debtor to call".into())
        })?;
        let phone = contact_point(debtor, &req, now)
            .and_then(|c| match &c.point {
                ContactPoint::Phone(p) => Some(p.e164().to_string()),
                _ => None,
            })
            .ok_or_else(|| DeskError::Invalid(format!("no phone on file for the {recipient}")))?;
        let attempt = collections::contact::ContactAttempt {
            id: state.next_contact_attempt(),
            key: key.clone(),
            channel: Channel::Call,
            destination: phone,
            recipient: recipient.trim().to_string(),
            template: None,
            provider: "agent".into(),
            provider_message_id: None,
            status: DeliveryStatus::Sent,
            detail: None,
            outcome: None,
            made_at: now,
            updated_at: now,
        };
        self.runtime
            .record_fact(
                case_id,
                CaseFact::Contact(ContactFact::AttemptMade {
                    attempt: attempt.clone(),
                }),
                &actor,
                Some(key),
            )
            .await?;
        Ok(attempt)
    }
}

/// The channel of a built-in contact job type (`contact.sms`, …).
pub fn channel_of_job_type(job_type: &str) -> Option<Channel> {
    Some(match job_type {
        "contact.sms" => Channel::Sms,
        "contact.whatsapp" => Channel::WhatsApp,
        "contact.email" => Channel::Email,
        "contact.letter" => Channel::Letter,
        // The voice bot dials the debtor: a call under every law, counted with the agents'.
        "contact.call" | "contact.voicebot" => Channel::Call,
        _ => return None,
    })
}

/// The recipient role a contact job names in its `recipient` variable (`debtor` when
/// none, or `{"role": …}`).
pub fn recipient_role(vars: &bpmn::expr::Vars) -> String {
    match vars.get("recipient") {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_ascii_lowercase(),
        Some(serde_json::Value::Object(o)) => o
            .get("role")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("debtor")
            .to_ascii_lowercase(),
        _ => "debtor".into(),
    }
}

impl Desk {
    /// A contact job an external worker is about to take asks the gate first, as a
    /// built-in channel's does. Allowed: the attempt is recorded as handed to the worker
    /// (under the job's key, so the limits count it), and the job goes out. Blocked: the
    /// job stays — due again at the next lawful slot, or an incident when no slot will
    /// come — and this worker does not get it. Handed out again after its holder's lock
    /// lapsed: a message still `sending` goes out under the same key without asking (the
    /// provider drops a duplicate); a call (it may be dialled again) or a failed message
    /// asks again and is counted again, under `job-<id>:<n>`, the lapsed call settled as
    /// failed.
    pub(super) async fn gate_lets_worker_contact(
        &self,
        p: &Principal,
        row: &orm::entities::outbox::Model,
        spec: &bpmn::engine::JobSpec,
        worker: &str,
    ) -> Result<bool, DeskError> {
        use orm::entities::outbox;
        use sea_orm::sea_query::Expr;
        let Some(channel) = channel_of_job_type(&spec.job_type) else {
            return Ok(true);
        };
        // The case as it stands once this debtor's contacts are ours to decide.
        let permit = self.contact_permit(&p.tenant, &row.case_id).await?;
        let Some(state) = self.runtime.case(&row.case_id).await? else {
            return Ok(false);
        };
        let state = &state;
        let base = format!("job-{}", row.id);
        let earlier = job_attempts(state, &base);
        let key = match earlier.last() {
            None => base.clone(),
            // A message handed out again after its holder's lock lapsed goes under the
            // same key, and the provider drops a duplicate: nothing new is sent.
            Some(a) if channel != Channel::Call && a.status == DeliveryStatus::Sending => {
                return Ok(true);
            }
            // A call may be dialled again, a failed message is sent again: asked again,
            // counted again.
            Some(a) => {
                if a.status == DeliveryStatus::Sending {
                    let (id, key) = (a.id, a.key.clone());
                    self.close_worker_attempt(
                        &row.case_id,
                        id,
                        &key,
                        DeliveryStatus::Failed,
                        "the worker's lock lapsed without an answer",
                    )
                    .await?;
                }
                format!("{base}:{}", earlier.len())
            }
        };
        let variables = state.instance.visible_variables(spec.job);
        let role = recipient_role(&variables);
        let req = Request {
            channel,
            recipient: recipient_of(&role),
        };
        let actor = format!("worker:{}", spec.job_type);
        let now = self.clock.now();
        let inputs = self
            .permitted_gate_inputs(&permit, &p.tenant, state)
            .await?;
        let decision = inputs.decide(&self.gate, &req, now);
        self.journal_decision(&row.case_id, req, &decision, &actor, &key)
            .await?;
        let release = outbox::Entity::update_many()
            .col_expr(
                outbox::Column::LockedBy,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                outbox::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(outbox::Column::Id.eq(row.id));
        if !decision.allowed() {
            let why = DeskError::ContactBlocked(Box::new(decision.clone())).to_string();
            match decision.next_slot {
                Some(slot) => {
                    release
                        .col_expr(outbox::Column::NextAttemptAt, Expr::value(slot))
                        .exec(&self.db)
                        .await?;
                }
                None => {
                    let fail = bpmn::engine::Event::FailJob {
                        job: spec.job,
                        retries: 0,
                        message: why,
                        retry_backoff_ms: 0,
                    };
                    self.runtime
                        .execute(
                            &row.case_id,
                            crate::runtime::Command::Engine(fail),
                            &actor,
                            Some(format!("{key}:blocked")),
                        )
                        .await?;
                    release
                        .col_expr(outbox::Column::DeliveredAt, Expr::value(Some(now)))
                        .exec(&self.db)
                        .await?;
                }
            }
            return Ok(false);
        }
        let destination = inputs
            .debtor
            .as_ref()
            .and_then(|d| contact_point(d, &req, now))
            .map(|c| match &c.point {
                ContactPoint::Phone(p) => p.e164().to_string(),
                ContactPoint::Email(e) => e.as_str().to_string(),
                ContactPoint::Postal(a) => a.envelope_lines().join(", "),
            })
            .unwrap_or_default();
        let attempt = collections::contact::ContactAttempt {
            id: state.next_contact_attempt(),
            key: key.clone(),
            channel,
            destination,
            recipient: role,
            template: None,
            provider: format!("worker:{worker}"),
            provider_message_id: None,
            status: DeliveryStatus::Sending,
            detail: None,
            outcome: None,
            made_at: now,
            updated_at: now,
        };
        self.runtime
            .record_fact(
                &row.case_id,
                CaseFact::Contact(ContactFact::AttemptMade { attempt }),
                &actor,
                Some(format!("{key}:made")),
            )
            .await?;
        Ok(true)
    }
}
