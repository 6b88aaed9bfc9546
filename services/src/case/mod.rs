//! A case: what its journal records ([`CaseEvent`]) and how its state follows from the
//! journal ([`apply`]). Pure: the same journal always rebuilds the same state, which is
//! what replay, verification and crash recovery rely on.

mod contact_facts;
mod document_facts;
mod events;
pub mod facts;
mod ledger_facts;
pub mod legal;
pub mod partner_events;
pub mod placement;
pub mod projection;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bpmn::compile::Deployment;
use bpmn::engine::{self, Effect, Event, Instance, StartAt, Status, Wait};
use chrono::{DateTime, Utc};
use collections::ledger::{
    Ledger, LedgerError, PaymentReport, PlanStatus, PromiseStatus, ReportStatus,
};
use collections::money::Money;
use collections::promise::Promise;
pub use contact_facts::ContactFact;
pub use events::CaseEvent;
pub use facts::{CaseFact, DocumentFact, LedgerFact};
pub use ledger_facts::{
    LedgerTimer, PAID_IN_FULL, PAYMENT_RECEIVED, PLAN_ACCEPTED, PLAN_ACTIVE, PLAN_BROKEN,
    PLAN_COMPLETED, PLAN_DECLINED, PROMISE_BROKEN, PROMISE_KEPT,
};
pub use placement::Placement;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Everything a case actor holds in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseState {
    pub case_id: String,
    pub tenant: String,
    pub definition_id: i64,
    pub instance: Instance,
    /// Sequence of the last journal entry applied.
    pub seq: i64,
    /// Hash of that entry (the next entry's `prev_hash`).
    pub last_hash: String,
    /// The internal agent who owns the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Placements made so far (the current one's number).
    #[serde(default)]
    pub placements_made: u32,
    /// Task assignments made after creation (claims, reassignments), by task id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assignees: BTreeMap<u64, Option<String>>,
    /// Open tasks in the partner lane (candidate group [`PARTNER_LANE`]).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub partner_tasks: BTreeSet<u64>,
    /// The debts, payments and credit, once an account is opened on the case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Ledger>,
    /// Every attempt to contact the debtor or a related party, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<collections::contact::ContactAttempt>,
}

/// The candidate group that marks a user task as the placed partner's work.
pub const PARTNER_LANE: &str = "partner";

/// Why an event could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum ApplyError {
    #[error("case {0} does not exist")]
    NoCase(String),
    #[error("case {0} is already open")]
    AlreadyOpen(String),
    #[error("process definition {0} is not deployed")]
    UnknownDefinition(i64),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Migration(#[from] engine::MigrationError),
    #[error("task {0} is not open")]
    NoOpenTask(u64),
    #[error("task {task} is already claimed by {by}")]
    AlreadyClaimed { task: u64, by: String },
    #[error("the case is closed")]
    Closed,
    #[error("{0}")]
    Placement(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("payment {0} is already recorded on this case")]
    PaymentRepeated(String),
    #[error("{0}")]
    Contact(String),
}

impl crate::error_code::ApiError for ApplyError {
    fn code(&self) -> crate::error_code::ErrorCode {
        use crate::error_code::ErrorCode;
        match self {
            ApplyError::NoOpenTask(_) => ErrorCode::TaskNotOpen,
            ApplyError::AlreadyClaimed { .. } => ErrorCode::TaskAlreadyClaimed,
            ApplyError::Closed => ErrorCode::CaseClosed,
            ApplyError::Placement(_) => ErrorCode::PlacementConflict,
            ApplyError::Ledger(e) => e.code(),
            ApplyError::PaymentRepeated(_) => ErrorCode::PaymentReferenceReused,
            ApplyError::Contact(_) => ErrorCode::ContactAttemptConflict,
            ApplyError::NoCase(_)
            | ApplyError::AlreadyOpen(_)
            | ApplyError::UnknownDefinition(_)
            | ApplyError::Engine(_)
            | ApplyError::Migration(_) => ErrorCode::CommandRejected,
        }
    }
}

/// Looks up deployed definitions by id.
pub trait Definitions {
    fn deployment(&self, definition_id: i64) -> Option<Arc<Deployment>>;
}

impl Definitions for BTreeMap<i64, Arc<Deployment>> {
    fn deployment(&self, definition_id: i64) -> Option<Arc<Deployment>> {
        self.get(&definition_id).cloned()
    }
}

/// Applies one journal event to a case's instance. `None` before the case is opened.
pub fn apply(
    defs: &dyn Definitions,
    case_id: &str,
    definition_id: Option<i64>,
    instance: Option<&Instance>,
    event: &CaseEvent,
    at: DateTime<Utc>,
) -> Result<(i64, Instance, Vec<Effect>), ApplyError> {
    let dep = |id: i64| defs.deployment(id).ok_or(ApplyError::UnknownDefinition(id));
    match (event, instance, definition_id) {
        (CaseEvent::Opened { .. }, Some(_), _) => Err(ApplyError::AlreadyOpen(case_id.into())),
        (
            CaseEvent::Opened {
                definition_id,
                process_id,
                variables,
                start_at,
                ..
            },
            None,
            _,
        ) => {
            let d = dep(*definition_id)?;
            let at_node = match start_at {
                Some(id) => StartAt::Node(id),
                None => StartAt::None,
            };
            let (inst, fx) = engine::start(&d, process_id, at_node, variables.clone(), at)?;
            Ok((*definition_id, inst, fx))
        }
        (_, None, _) | (_, _, None) => Err(ApplyError::NoCase(case_id.into())),
        // Facts never move tokens; [`step`] validates and applies them.
        (CaseEvent::Fact { .. }, Some(inst), Some(def)) => Ok((def, inst.clone(), Vec::new())),
        (CaseEvent::Engine { event }, Some(inst), Some(def)) => {
            let d = dep(def)?;
            let mut next = inst.clone();
            let fx = engine::handle(&d, &mut next, event.clone(), at)?;
            Ok((def, next, fx))
        }
        (
            CaseEvent::Migrated {
                definition_id,
                process_id,
                mapping,
                ..
            },
            Some(inst),
            Some(def),
        ) => {
            let (from, to) = (dep(def)?, dep(*definition_id)?);
            let mut next = inst.clone();
            let fx = engine::migrate(&from, &to, &mut next, process_id, mapping, at)?;
            Ok((*definition_id, next, fx))
        }
    }
}

/// Applies one event to a whole case state: the engine part through [`apply`], then
/// who works which task and where the case is placed. Used both to execute a command
/// and to replay the journal, so both always agree. `seq` and `last_hash` are left for
/// the caller, who knows the journal entry.
pub fn step(
    defs: &dyn Definitions,
    case_id: &str,
    state: Option<&CaseState>,
    event: &CaseEvent,
    at: DateTime<Utc>,
) -> Result<(CaseState, Vec<Effect>), ApplyError> {
    let (def, instance, mut effects) = apply(
        defs,
        case_id,
        state.map(|s| s.definition_id),
        state.map(|s| &s.instance),
        event,
        at,
    )?;
    let mut next = match state {
        Some(s) => CaseState {
            definition_id: def,
            instance,
            ..s.clone()
        },
        None => CaseState {
            case_id: case_id.to_string(),
            tenant: match event {
                CaseEvent::Opened { tenant, .. } => tenant.clone(),
                _ => String::new(),
            },
            definition_id: def,
            instance,
            seq: 0,
            last_hash: String::new(),
            owner: None,
            placement: None,
            placements_made: 0,
            assignees: BTreeMap::new(),
            partner_tasks: BTreeSet::new(),
            ledger: None,
            contacts: Vec::new(),
        },
    };
    next.seq = state.map_or(0, |s| s.seq) + 1;
    if let CaseEvent::Opened { accounts, .. } = event {
        for account in accounts {
            let ledger = next
                .ledger
                .get_or_insert_with(|| Ledger::new(account.principal.currency()));
            ledger.add_account(account.clone())?;
        }
    }
    if let CaseEvent::Fact { fact } = event {
        let owed_before = next.ledger.as_ref().map(Ledger::balance);
        let placed_before = next.placement.clone();
        let verdicts = apply_fact(&mut next, fact, at)?;
        let message = match fact {
            CaseFact::LegalMilestoneReported {
                milestone,
                on,
                reference,
                ..
            } => legal::message(&next, *milestone, *on, reference),
            _ => placement::message(&next, fact, placed_before.as_ref()),
        };
        if let Some(message) = message {
            let d = defs
                .deployment(def)
                .ok_or(ApplyError::UnknownDefinition(def))?;
            effects.extend(engine::handle(&d, &mut next.instance, message, at)?);
        }
        // The process learns of a payment, of the debt paid off, of a decided promise and
        // of a plan's progress in the same entry, if it waits for them — in that order,
        // each offered to the process as the one before left it (a `paid-in-full` that
        // closes the case leaves nobody waiting for the promise's verdict).
        let reference = match fact {
            CaseFact::Ledger(
                LedgerFact::PaymentRecorded { reference, .. }
                | LedgerFact::ReportedPaymentConfirmed { reference, .. },
            ) => Some(reference.as_str()),
            _ => None,
        };
        let paid_off = owed_before.is_some_and(|owed| owed.minor() > 0)
            && next.ledger.as_ref().is_some_and(|l| l.balance().is_zero());
        let mut notices = Vec::new();
        notices.extend(reference.map(Notice::Payment));
        if paid_off {
            notices.push(Notice::PaidInFull(reference));
        }
        notices.extend(verdicts.into_iter().map(Notice::Verdict));
        for notice in notices {
            let message = match notice {
                Notice::Payment(reference) => next.payment_message(reference),
                Notice::PaidInFull(reference) => next.paid_in_full_message(reference),
                Notice::Verdict(Verdict::Promise(promise, status)) => {
                    next.promise_message(promise, &status)
                }
                Notice::Verdict(Verdict::Plan(plan, status)) => next.plan_message(plan, &status),
            };
            let Some(message) = message else { continue };
            let d = defs
                .deployment(def)
                .ok_or(ApplyError::UnknownDefinition(def))?;
            effects.extend(engine::handle(&d, &mut next.instance, message, at)?);
        }
    }
    if let CaseEvent::Engine {
        event: Event::CompleteTask { task, .. },
    } = event
    {
        next.close_task(*task);
    }
    for fx in &effects {
        match fx {
            Effect::CreateTask(t) if t.candidate_groups.iter().any(|g| g == PARTNER_LANE) => {
                next.partner_tasks.insert(t.task);
            }
            Effect::CancelTask { task } => next.close_task(*task),
            _ => {}
        }
    }
    Ok((next, effects))
}

impl CaseState {
    fn close_task(&mut self, task: u64) {
        self.assignees.remove(&task);
        self.partner_tasks.remove(&task);
    }

    pub fn is_open_task(&self, task: u64) -> bool {
        self.instance
            .elements
            .get(&task)
            .is_some_and(|e| e.wait == Wait::Task)
    }

    pub fn is_closed(&self) -> bool {
        self.instance.status != Status::Active
    }

    /// The creditor the case's debts are owed to (`default` before any account).
    pub fn creditor(&self) -> &str {
        self.ledger
            .as_ref()
            .and_then(|l| l.creditor())
            .unwrap_or(collections::creditor::DEFAULT_CREDITOR)
    }

    /// The `payment-received` message for a recorded payment, when the process has a
    /// subscription for it. Amounts come as exact decimal text and as integer minor
    /// units (for comparisons in FEEL), never as floating point.
    fn payment_message(&self, reference: &str) -> Option<Event> {
        let ledger = self.ledger.as_ref()?;
        let payment = ledger.payment(reference)?;
        if !self.waits_for(PAYMENT_RECEIVED) {
            return None;
        }
        let remaining = ledger.balance();
        let mut variables = bpmn::expr::Vars::new();
        for (name, value) in [
            ("paymentReference", json!(reference)),
            ("amount", json!(payment.amount.amount().to_string())),
            ("amountMinor", json!(payment.amount.minor())),
            ("currency", json!(payment.amount.currency().code())),
            ("remaining", json!(remaining.amount().to_string())),
            ("remainingMinor", json!(remaining.minor())),
            ("paidInFull", json!(remaining.is_zero())),
        ] {
            variables.insert(name.to_string(), value);
        }
        Some(Event::Message {
            name: PAYMENT_RECEIVED.to_string(),
            correlation_key: None,
            variables,
        })
    }

    /// `paid-in-full` when the case's balance has just fallen to zero, when the process has
    /// a subscription for it: the payment that did it (`null` when a settlement's
    /// write-off did, on accepting the plan), what the debtor paid on the case (payments
    /// that stand, credit included), what was forgiven and the credit held.
    fn paid_in_full_message(&self, reference: Option<&str>) -> Option<Event> {
        let ledger = self.ledger.as_ref()?;
        if !self.waits_for(PAID_IN_FULL) {
            return None;
        }
        let currency = ledger.currency();
        let paid = Money::from_minor(
            ledger
                .payments_made()
                .iter()
                .fold(0i64, |sum, (_, m)| sum.saturating_add(m.minor())),
            currency,
        );
        let (written_off, credit) = (ledger.written_off(), ledger.credit());
        let mut variables = bpmn::expr::Vars::new();
        for (name, value) in [
            ("paymentReference", json!(reference)),
            ("currency", json!(currency.code())),
            ("amountPaid", json!(paid.amount().to_string())),
            ("amountPaidMinor", json!(paid.minor())),
            ("writtenOff", json!(written_off.amount().to_string())),
            ("writtenOffMinor", json!(written_off.minor())),
            ("credit", json!(credit.amount().to_string())),
            ("creditMinor", json!(credit.minor())),
            ("paidInFull", json!(true)),
        ] {
            variables.insert(name.to_string(), value);
        }
        Some(Event::Message {
            name: PAID_IN_FULL.to_string(),
            correlation_key: None,
            variables,
        })
    }

    /// `promise-kept` or `promise-broken` for a promise decided just now, when the
    /// process has a subscription for it.
    fn promise_message(&self, promise: u32, status: &PromiseStatus) -> Option<Event> {
        let name = match status {
            PromiseStatus::Kept { .. } => PROMISE_KEPT,
            PromiseStatus::Broken { .. } => PROMISE_BROKEN,
            PromiseStatus::Open | PromiseStatus::Superseded { .. } => return None,
        };
        let record = self
            .ledger
            .as_ref()?
            .promises()
            .iter()
            .find(|p| p.id == promise)?;
        if !self.waits_for(name) {
            return None;
        }
        let promised = record.promise.total();
        let mut variables = bpmn::expr::Vars::new();
        for (key, value) in [
            ("promiseId", json!(promise)),
            ("promisedAmount", json!(promised.amount().to_string())),
            ("promisedAmountMinor", json!(promised.minor())),
            ("currency", json!(promised.currency().code())),
            ("promiseKept", json!(name == PROMISE_KEPT)),
        ] {
            variables.insert(key.to_string(), value);
        }
        Some(Event::Message {
            name: name.to_string(),
            correlation_key: None,
            variables,
        })
    }

    /// The plan message for a plan that moved on just now, when the process has a
    /// subscription for it.
    fn plan_message(&self, plan: u32, status: &PlanStatus) -> Option<Event> {
        let name = match status {
            PlanStatus::Accepted { .. } => PLAN_ACCEPTED,
            PlanStatus::Declined { .. } => PLAN_DECLINED,
            PlanStatus::Active { .. } => PLAN_ACTIVE,
            PlanStatus::Completed { .. } => PLAN_COMPLETED,
            PlanStatus::Broken { .. } => PLAN_BROKEN,
            PlanStatus::AwaitingApproval | PlanStatus::Offered | PlanStatus::Withdrawn { .. } => {
                return None;
            }
        };
        let record = self
            .ledger
            .as_ref()?
            .plans()
            .iter()
            .find(|p| p.id == plan)?;
        if !self.waits_for(name) {
            return None;
        }
        let mut variables = bpmn::expr::Vars::new();
        for (key, value) in [
            ("planId", json!(plan)),
            ("planTotal", json!(record.total.amount().to_string())),
            ("planTotalMinor", json!(record.total.minor())),
            ("currency", json!(record.total.currency().code())),
            ("planStatus", json!(status.as_str())),
            ("settlement", json!(record.settlement)),
        ] {
            variables.insert(key.to_string(), value);
        }
        Some(Event::Message {
            name: name.to_string(),
            correlation_key: None,
            variables,
        })
    }

    fn waits_for(&self, message: &str) -> bool {
        !self.is_closed()
            && self.instance.subscriptions.values().any(|s| {
            matches!(&s.kind, engine::SubscriptionKind::Message { name, .. } if name == message)
        })
    }
}

/// What the process may hear of a ledger fact, in the order it hears it.
#[derive(Debug, Clone, PartialEq)]
enum Notice<'a> {
    /// A payment recorded, by its reference.
    Payment(&'a str),
    /// The balance fell to zero (by this payment, if any).
    PaidInFull(Option<&'a str>),
    Verdict(Verdict),
}

/// What a ledger fact decided about a promise or a plan, for the process to hear.
#[derive(Debug, Clone, PartialEq)]
enum Verdict {
    Promise(u32, PromiseStatus),
    Plan(u32, PlanStatus),
}

/// Applies a fact to the state; returns what it decided about promises and plans.
fn apply_fact(
    state: &mut CaseState,
    fact: &CaseFact,
    at: DateTime<Utc>,
) -> Result<Vec<Verdict>, ApplyError> {
    let open_task = |state: &CaseState, task: u64| {
        if state.is_open_task(task) {
            Ok(())
        } else {
            Err(ApplyError::NoOpenTask(task))
        }
    };
    match fact {
        CaseFact::TaskClaimed { task, user } => {
            open_task(state, *task)?;
            if let Some(Some(by)) = state.assignees.get(task)
                && by != user
            {
                return Err(ApplyError::AlreadyClaimed {
                    task: *task,
                    by: by.clone(),
                });
            }
            state.assignees.insert(*task, Some(user.clone()));
        }
        CaseFact::TaskUnclaimed { task } => {
            open_task(state, *task)?;
            state.assignees.insert(*task, None);
        }
        CaseFact::TaskReassigned { task, user } => {
            open_task(state, *task)?;
            state.assignees.insert(*task, user.clone());
        }
        CaseFact::OwnerAssigned { owner } => state.owner = owner.clone(),
        CaseFact::Placed { .. }
        | CaseFact::PlacementAccepted { .. }
        | CaseFact::PlacementDeclined { .. }
        | CaseFact::PlacementLapsed { .. }
        | CaseFact::PlacementReturned { .. }
        | CaseFact::PlacementRecalled { .. }
        | CaseFact::PlacementClosed { .. } => placement::apply(state, fact)?,
        CaseFact::CommentAdded { .. }
        | CaseFact::ActivityRecorded { .. }
        | CaseFact::LegalMilestoneReported { .. }
        | CaseFact::Document(_) => {}
        CaseFact::Ledger(fact) => return apply_ledger(state, fact, at),
        CaseFact::Contact(fact) => contact_facts::apply_contact(state, fact, at)?,
    }
    Ok(Vec::new())
}

/// Applies a ledger fact; returns what it decided. `at` is the entry's time: a payment
/// decides the open promise and moves the running plan as of the day it is then in the
/// promise's and the plan's zone.
fn apply_ledger(
    state: &mut CaseState,
    fact: &LedgerFact,
    at: DateTime<Utc>,
) -> Result<Vec<Verdict>, ApplyError> {
    let changes_the_debt = !matches!(
        fact,
        LedgerFact::PaymentReversed { .. }
            | LedgerFact::PromiseDeadlinePassed { .. }
            | LedgerFact::PlanDeadlinePassed { .. }
            | LedgerFact::PlanDeclined { .. }
            | LedgerFact::ReportedPaymentRejected { .. }
    );
    // Confirming a report twice says so, even once the first confirmation closed the case.
    let decided_report = matches!(
        fact,
        LedgerFact::ReportedPaymentConfirmed { reference, .. }
            if state.ledger.as_ref().and_then(|l| l.report(reference))
                .is_some_and(|r| r.status != ReportStatus::Pending)
    );
    if changes_the_debt && !decided_report && state.is_closed() {
        return Err(ApplyError::Closed);
    }
    // `state` is the step's copy of the case: a refused fact discards it whole, so the
    // ledger is changed in place.
    if state.ledger.is_none()
        && let LedgerFact::AccountOpened { account } = fact
    {
        state.ledger = Some(Ledger::new(account.principal.currency()));
    }
    let Some(ledger) = state.ledger.as_mut() else {
        return Err(LedgerError::NoAccounts.into());
    };
    let promise = |d: Option<(u32, PromiseStatus)>| d.map(|(id, s)| Verdict::Promise(id, s));
    let plan = |d: Option<(u32, PlanStatus)>| d.map(|(id, s)| Verdict::Plan(id, s));
    let mut verdicts = Vec::new();
    match fact {
        LedgerFact::AccountOpened { account } => ledger.add_account(account.clone())?,
        LedgerFact::Charged {
            account,
            component,
            amount,
            ..
        } => ledger.charge(account, *component, *amount)?,
        LedgerFact::PaymentRecorded {
            reference,
            amount,
            received_on,
            order,
            ..
        } => {
            if ledger
                .payment(reference)
                .is_some_and(|p| p.amount == *amount)
            {
                return Err(ApplyError::PaymentRepeated(reference.clone()));
            }
            ledger.record_payment(reference, *amount, *received_on, order)?;
            verdicts.extend(promise(ledger.decide_promise_at(at)));
            verdicts.extend(plan(ledger.decide_plan_at(at)));
        }
        LedgerFact::PaymentReported {
            reference,
            amount,
            received_on,
            reported_on,
            partner,
            reported_by,
        } => ledger.report_payment(PaymentReport {
            reference: reference.clone(),
            amount: *amount,
            received_on: *received_on,
            reported_on: *reported_on,
            partner: partner.clone(),
            reported_by: reported_by.clone(),
            status: ReportStatus::Pending,
        })?,
        LedgerFact::ReportedPaymentConfirmed {
            reference,
            order,
            by,
            on,
        } => {
            ledger.confirm_report(reference, by, *on, order)?;
            verdicts.extend(promise(ledger.decide_promise_at(at)));
            verdicts.extend(plan(ledger.decide_plan_at(at)));
        }
        LedgerFact::ReportedPaymentRejected {
            reference,
            by,
            on,
            reason,
        } => ledger.reject_report(reference, by, *on, reason)?,
        LedgerFact::PaymentReversed {
            reference,
            on,
            reason,
        } => {
            ledger.reverse_payment(reference, *on, reason)?;
        }
        LedgerFact::PromiseMade {
            made_on,
            parts,
            channel,
            grace_days,
            zone,
        } => {
            let promise = Promise::new(*made_on, parts.clone()).map_err(LedgerError::from)?;
            ledger.make_promise(promise, channel, *grace_days, *zone)?;
        }
        LedgerFact::PromiseDeadlinePassed {
            promise: id,
            part,
            on,
        } => verdicts.extend(promise(ledger.pass_deadline(*id, *part, *on)?)),
        LedgerFact::PlanOffered {
            total,
            schedule,
            offered_on,
            grace_days,
            channel,
            settlement,
            needs_approval,
            zone,
        } => {
            ledger.offer_plan(
                *total,
                schedule.clone(),
                *grace_days,
                channel,
                *offered_on,
                *settlement,
                *needs_approval,
                *zone,
            )?;
        }
        LedgerFact::PlanApproved { plan: id } => ledger.approve_plan(*id)?,
        LedgerFact::PlanAccepted { plan: id, on } => {
            ledger.accept_plan(*id, *on)?;
            verdicts.push(Verdict::Plan(*id, PlanStatus::Accepted { on: *on }));
            // Payments made that day may already start it.
            verdicts.extend(plan(ledger.decide_plan_at(at)));
        }
        LedgerFact::PlanDeclined { plan: id, on, .. } => {
            ledger.decline_plan(*id, *on)?;
            verdicts.push(Verdict::Plan(*id, PlanStatus::Declined { on: *on }));
        }
        LedgerFact::PlanDeadlinePassed {
            plan: id,
            instalment,
            on,
        } => verdicts.extend(plan(ledger.pass_plan_deadline(*id, *instalment, *on)?)),
    }
    Ok(verdicts)
}
