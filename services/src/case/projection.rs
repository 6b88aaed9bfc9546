//! What a committed event changes in the read side (cases, tasks, timers, message
//! subscriptions, documents) and what it sends out (outbox), computed from the engine's
//! effects and the event's facts.
//! Written in the same transaction as the journal entry.

use bpmn::engine::{Effect, Event, Instance, Status};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use collections::ledger::{PlanStatus, PromiseStatus};
use collections::money::{Currency, Money};
use serde_json::{Value, json};

use super::facts::DocumentFact;
use super::{CaseEvent, CaseFact, CaseState, LedgerFact, LedgerTimer, PARTNER_LANE, placement};
use crate::journal::normalise_time;
use collections::agenda;

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub task_id: i64,
    pub element_id: String,
    pub name: Option<String>,
    pub assignee: Option<String>,
    pub candidate_groups: Vec<String>,
    pub candidate_users: Vec<String>,
    pub priority: i32,
    pub due_at: Option<DateTime<Utc>>,
    pub stage: Option<String>,
    /// The partner that owns it: a partner-lane task of a placed case.
    pub partner: Option<String>,
    pub amount_due_minor: Option<i64>,
    pub rank: i64,
}

/// An effect that leaves the system, delivered after commit.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub kind: &'static str,
    pub payload: Value,
    /// Not to be delivered before (a job retry's back-off).
    pub not_before: Option<DateTime<Utc>>,
    /// A job's type, stored beside the payload so waiting jobs are found by type.
    pub job_type: Option<String>,
    /// A partner event's partner, stored beside it for the partner's delivery log.
    pub partner: Option<String>,
}

fn row(kind: &'static str, payload: Value) -> OutboxRow {
    OutboxRow {
        kind,
        payload,
        not_before: None,
        job_type: None,
        partner: None,
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Changes {
    pub stage: Option<String>,
    pub status: &'static str,
    pub tasks_created: Vec<TaskRow>,
    /// (task id, new status)
    pub tasks_closed: Vec<(i64, &'static str)>,
    pub timers_added: Vec<(i64, String, DateTime<Utc>)>,
    pub timers_removed: Vec<i64>,
    pub subscriptions_added: Vec<(i64, String, Option<String>)>,
    pub subscriptions_removed: Vec<i64>,
    /// For the outbox dispatcher.
    pub outbox: Vec<OutboxRow>,
    /// The case row's working columns, after the event.
    pub desk: CaseDesk,
    /// (task id, assignee) for claims, unclaims and reassignments.
    pub tasks_assigned: Vec<(i64, Option<String>)>,
    /// (task id, partner) when a placement starts or ends.
    pub tasks_partner: Vec<(i64, Option<String>)>,
    /// A comment or activity to list on the case.
    pub note: Option<NoteRow>,
    /// (debtor id, name) to record when a case opens.
    pub debtor: Option<(String, String)>,
    /// The `documents` row of a `DocumentAdded`, so the row commits with its entry.
    pub document: Option<DocumentRow>,
}

/// A document version as its `DocumentAdded` entry records it. The tenant, case,
/// uploader and time come from the entry; whether a legal hold carries over from earlier
/// versions is decided by the store, in the entry's transaction, from the rows there.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRow {
    /// The upload id.
    pub version_id: String,
    pub document_id: String,
    pub version: i32,
    pub kind: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub object_key: String,
    pub retention_class: String,
    pub retain_until: DateTime<Utc>,
    /// A presigned upload: its intent row ends in the same transaction.
    pub ends_intent: bool,
}

impl DocumentRow {
    /// The row of a `DocumentAdded` journalled at `at`; `None` for other facts and for
    /// entries too old to carry the upload id and retention period.
    pub fn of(fact: &DocumentFact, at: DateTime<Utc>) -> Option<DocumentRow> {
        let DocumentFact::Added {
            document_id,
            version,
            kind,
            file_name,
            content_type,
            size,
            sha256,
            retention_class,
            object_key,
            upload_id: Some(upload_id),
            retention_days: Some(days),
            presigned,
        } = fact
        else {
            return None;
        };
        Some(DocumentRow {
            version_id: upload_id.clone(),
            document_id: document_id.clone(),
            version: *version,
            kind: kind.clone(),
            file_name: file_name.clone(),
            content_type: content_type.clone(),
            size: i64::try_from(*size).unwrap_or(i64::MAX),
            sha256: sha256.clone(),
            object_key: object_key.clone(),
            retention_class: retention_class.clone(),
            // The entry's own time (microseconds), which `created_at` gets as well.
            retain_until: normalise_time(at) + Duration::days(*days),
            ends_intent: *presigned,
        })
    }
}

/// Columns of the case row that follow who works the case and what is at stake.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseDesk {
    pub debtor_id: Option<String>,
    pub owner: Option<String>,
    pub partner: Option<String>,
    pub placement_status: Option<&'static str>,
    pub amount_due_minor: Option<i64>,
    pub currency: Option<String>,
    pub delinquent_since: Option<NaiveDate>,
}

impl CaseDesk {
    /// What is at stake, in the case's currency (USD, as [`minor_units`] reads it, when
    /// the case names none).
    pub fn amount_due(&self) -> Option<Money> {
        amount_of(self.amount_due_minor, self.currency.as_deref())
    }
}

/// Minor units of a case's columns as money.
pub fn amount_of(minor: Option<i64>, currency: Option<&str>) -> Option<Money> {
    let currency = currency
        .and_then(|c| Currency::from_code(c).ok())
        .or_else(|| Currency::from_code("USD").ok())?;
    minor.map(|m| Money::from_minor(m, currency))
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteRow {
    pub task_id: Option<i64>,
    pub kind: String,
    pub text: String,
}

/// The case's status as the read side shows it.
pub fn status_of(inst: &Instance) -> &'static str {
    match inst.status {
        Status::Completed => "completed",
        Status::Terminated => "cancelled",
        Status::Active if !inst.incidents.is_empty() => "incident",
        Status::Active => "active",
    }
}

pub fn changes(
    event: &CaseEvent,
    state: &CaseState,
    effects: &[Effect],
    at: DateTime<Utc>,
) -> Changes {
    let after = &state.instance;
    let desk = desk_of(state);
    let mut c = Changes {
        stage: after.stage.clone(),
        status: status_of(after),
        ..Changes::default()
    };
    fact_changes(&mut c, event, state, at);
    if let CaseEvent::Fact {
        fact: CaseFact::Ledger(fact),
    } = event
    {
        ledger_timers(&mut c, fact, state);
    }
    if let (CaseEvent::Opened { .. }, Some(id)) = (event, &desk.debtor_id) {
        let name = root_var(after, "debtorName")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        c.debtor = Some((id.clone(), name));
    }
    match event {
        CaseEvent::Engine {
            event: Event::CompleteTask { task, .. },
        } => {
            c.tasks_closed.push((*task as i64, "completed"));
        }
        CaseEvent::Engine {
            event: Event::TimerFired { timer },
        } => {
            c.timers_removed.push(*timer as i64);
        }
        _ => {}
    }
    for fx in effects {
        match fx {
            Effect::CreateTask(t) => c.tasks_created.push(TaskRow {
                partner: match &state.placement {
                    Some(p) if t.candidate_groups.iter().any(|g| g == PARTNER_LANE) => {
                        Some(p.partner.clone())
                    }
                    _ => None,
                },
                amount_due_minor: desk.amount_due_minor,
                rank: agenda::rank(&agenda::RankInputs {
                    priority: t.priority,
                    due_at: due_of(t.due_date.as_deref()),
                    created_at: at,
                    amount_due: desk.amount_due(),
                }),
                task_id: t.task as i64,
                element_id: t.element_id.to_string(),
                name: t.name.clone(),
                assignee: t.assignee.clone(),
                candidate_groups: t.candidate_groups.clone(),
                candidate_users: t.candidate_users.clone(),
                priority: t.priority.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32,
                due_at: due_of(t.due_date.as_deref()),
                stage: t.stage.clone(),
            }),
            Effect::CancelTask { task } => c.tasks_closed.push((*task as i64, "cancelled")),
            Effect::ScheduleTimer {
                timer,
                element_id,
                due,
            } => c
                .timers_added
                .push((*timer as i64, element_id.to_string(), *due)),
            Effect::CancelTimer { timer } => c.timers_removed.push(*timer as i64),
            Effect::SubscribeMessage {
                subscription,
                name,
                correlation_key,
            } => c.subscriptions_added.push((
                *subscription as i64,
                name.clone(),
                correlation_key.clone(),
            )),
            Effect::UnsubscribeMessage { subscription } => {
                c.subscriptions_removed.push(*subscription as i64)
            }
            Effect::InvokeService(job) => c.outbox.push(OutboxRow {
                kind: "job",
                payload: json!(job),
                not_before: job.not_before,
                job_type: Some(job.job_type.clone()),
                partner: None,
            }),
            Effect::CancelJob { job } => c.outbox.push(row("job_cancelled", json!({"job": job}))),
            Effect::PublishMessage {
                name,
                correlation_key,
                variables,
            } => c.outbox.push(row(
                "message",
                json!({"name": name, "correlation_key": correlation_key, "variables": variables}),
            )),
            Effect::Incident {
                incident,
                element_id,
                message,
            } => c.outbox.push(row(
                "incident",
                json!({"incident": incident, "element_id": element_id, "message": message}),
            )),
            Effect::StageEntered { .. }
            | Effect::ElementCompleted { .. }
            | Effect::Completed { .. }
            | Effect::Terminated => {}
        }
    }
    // A timer scheduled and removed within one event never reaches the table.
    c.timers_added
        .retain(|(id, _, _)| !c.timers_removed.contains(id));
    c.subscriptions_added
        .retain(|(id, _, _)| !c.subscriptions_removed.contains(id));
    c.desk = desk;
    super::partner_events::add(&mut c, event, state, effects, at);
    c
}

/// The timer rows of ledger deadlines, due when each deadline's day ends in the zone of
/// its promise or plan (the creditor's when it was made; UTC for older ones):
/// every part of a new promise and every instalment of an accepted plan gets one; a
/// promise kept, broken or replaced, and a plan that ends, lose those left.
fn ledger_timers(c: &mut Changes, fact: &LedgerFact, state: &CaseState) {
    let Some(ledger) = &state.ledger else {
        return;
    };
    let row = |c: &mut Changes, timer: LedgerTimer, label: String, deadline: NaiveDate, zone| {
        let due = collections::creditor::end_of_day(deadline, zone);
        c.timers_added.push((timer.timer_id(), label, due));
    };
    match fact {
        LedgerFact::PromiseDeadlinePassed { promise, part, .. } => c.timers_removed.push(
            LedgerTimer::Promise {
                promise: *promise,
                part: *part,
            }
            .timer_id(),
        ),
        LedgerFact::PlanDeadlinePassed {
            plan, instalment, ..
        } => c.timers_removed.push(
            LedgerTimer::Plan {
                plan: *plan,
                instalment: *instalment,
            }
            .timer_id(),
        ),
        _ => {}
    }
    let decides = matches!(
        fact,
        LedgerFact::PromiseMade { .. }
            | LedgerFact::PaymentRecorded { .. }
            | LedgerFact::ReportedPaymentConfirmed { .. }
            | LedgerFact::PromiseDeadlinePassed { .. }
            | LedgerFact::PlanAccepted { .. }
            | LedgerFact::PlanDeadlinePassed { .. }
    );
    if !decides {
        return;
    }
    for p in ledger.promises() {
        if p.status != PromiseStatus::Open {
            c.timers_removed
                .extend(p.all_deadlines().iter().map(|(part, _)| {
                    LedgerTimer::Promise {
                        promise: p.id,
                        part: *part,
                    }
                    .timer_id()
                }));
        } else if matches!(fact, LedgerFact::PromiseMade { .. }) {
            for (part, deadline) in p.pending_deadlines() {
                let timer = LedgerTimer::Promise {
                    promise: p.id,
                    part,
                };
                row(
                    c,
                    timer,
                    format!("promise:{}:{part}", p.id),
                    deadline,
                    p.zone,
                );
            }
        }
    }
    for p in ledger.plans() {
        if p.status.is_running() {
            if matches!(fact, LedgerFact::PlanAccepted { plan, .. } if *plan == p.id) {
                for (instalment, deadline) in p.pending_deadlines() {
                    let timer = LedgerTimer::Plan {
                        plan: p.id,
                        instalment,
                    };
                    let label = format!("plan:{}:{instalment}", p.id);
                    row(c, timer, label, deadline, p.zone);
                }
            }
        } else if !matches!(p.status, PlanStatus::Offered) {
            c.timers_removed
                .extend(p.all_deadlines().iter().map(|(instalment, _)| {
                    LedgerTimer::Plan {
                        plan: p.id,
                        instalment: *instalment,
                    }
                    .timer_id()
                }));
        }
    }
}

fn due_of(due_date: Option<&str>) -> Option<DateTime<Utc>> {
    due_date
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&Utc))
}

fn fact_changes(c: &mut Changes, event: &CaseEvent, state: &CaseState, at: DateTime<Utc>) {
    let CaseEvent::Fact { fact } = event else {
        return;
    };
    let partner_tasks = |partner: Option<&str>| {
        state
            .partner_tasks
            .iter()
            .map(|t| (*t as i64, partner.map(str::to_string)))
            .collect::<Vec<_>>()
    };
    match fact {
        CaseFact::TaskClaimed { task, user } => {
            c.tasks_assigned.push((*task as i64, Some(user.clone())));
        }
        CaseFact::TaskUnclaimed { task } => c.tasks_assigned.push((*task as i64, None)),
        CaseFact::TaskReassigned { task, user } => {
            c.tasks_assigned.push((*task as i64, user.clone()));
        }
        CaseFact::Placed { partner, .. } => {
            c.tasks_partner = partner_tasks(Some(partner));
            // The offer's acceptance deadline.
            if let Some((id, due)) = state.placement.as_ref().and_then(|p| p.pending_deadline()) {
                c.timers_added.push((id, "placement-deadline".into(), due));
            }
        }
        CaseFact::PlacementAccepted { .. } => {
            if let Some(p) = &state.placement {
                c.timers_removed.push(placement::deadline_timer(p.number));
            }
        }
        CaseFact::PlacementReturned { .. }
        | CaseFact::PlacementRecalled { .. }
        | CaseFact::PlacementDeclined { .. }
        | CaseFact::PlacementLapsed { .. }
        | CaseFact::PlacementClosed { .. } => {
            c.tasks_partner = partner_tasks(None);
            // The deadline of the placement that ended, if it was still waiting (a
            // row already gone deletes nothing).
            c.timers_removed
                .push(placement::deadline_timer(state.placements_made));
        }
        CaseFact::CommentAdded { task, text } => {
            c.note = Some(NoteRow {
                task_id: task.map(|t| t as i64),
                kind: "comment".into(),
                text: text.clone(),
            });
        }
        CaseFact::LegalMilestoneReported {
            milestone,
            on,
            reference,
            note,
        } => {
            let mut text = format!("{} on {on} ({reference})", milestone.as_str());
            if !note.is_empty() {
                text.push_str(": ");
                text.push_str(note);
            }
            c.note = Some(NoteRow {
                task_id: None,
                kind: format!("legal_{}", milestone.as_str()),
                text,
            });
        }
        CaseFact::ActivityRecorded { kind, note } => {
            c.note = Some(NoteRow {
                task_id: None,
                kind: kind.clone(),
                text: note.clone(),
            });
        }
        CaseFact::Document(d) => c.document = DocumentRow::of(d, at),
        CaseFact::OwnerAssigned { .. } | CaseFact::Ledger(_) | CaseFact::Contact(_) => {}
    }
}

fn root_var<'a>(inst: &'a Instance, name: &str) -> Option<&'a Value> {
    inst.elements.get(&inst.root)?.vars.get(name)
}

/// The working columns of a case: who owns it, where it is placed, and what is at stake:
/// the ledger's balance, currency and oldest unpaid delinquency once the case has
/// accounts, else the process variables `amountDue`, `currency`, `delinquentSince`
/// (see `docs/process-modelling.md`); the debtor from `debtorId`.
pub fn desk_of(state: &CaseState) -> CaseDesk {
    let inst = &state.instance;
    let text = |name: &str| {
        root_var(inst, name).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let mut desk = CaseDesk {
        debtor_id: text("debtorId"),
        owner: state.owner.clone(),
        partner: state.placement.as_ref().map(|p| p.partner.clone()),
        placement_status: state.placement.as_ref().map(|p| p.status()),
        amount_due_minor: root_var(inst, "amountDue")
            .and_then(|v| minor_units(v, text("currency").as_deref())),
        currency: text("currency"),
        delinquent_since: text("delinquentSince")
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d").ok()),
    };
    if let Some(ledger) = &state.ledger {
        desk.amount_due_minor = Some(ledger.balance().minor());
        desk.currency = Some(ledger.currency().code().to_string());
        desk.delinquent_since = ledger
            .accounts()
            .iter()
            .filter(|a| a.balance().minor() > 0)
            .map(|a| a.delinquent_since)
            .min();
    }
    desk
}

/// An amount (a JSON number or decimal string) in the minor units of `currency`
/// (two places when the currency is missing or unknown), rounded half away from zero.
pub fn minor_units(v: &Value, currency: Option<&str>) -> Option<i64> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let currency = currency
        .and_then(|c| Currency::from_code(c).ok())
        .or_else(|| Currency::from_code("USD").ok())?;
    Money::rounded(&text, currency).ok().map(Money::minor)
}
