//! A case's ledger: its accounts (the debts), the payments on them and where each went.
//!
//! Pure and deterministic: the runtime journals each change as a case fact and rebuilds
//! the ledger by applying the same changes in order, so replay gives the same balances.
//! Invariants, for every account and component, in minor units:
//! owed = charged − allocated by payments + reopened by reversals − forgiven by a paid
//! settlement ≥ 0; and for the case, payments not reversed = allocated + credit.
//!
//! One currency per case: a case is one debtor's debts with one creditor, and a payment
//! is allocated across all of them, which only adds up in one currency.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

mod log;
mod reports;

use self::log::PaymentLog;
pub use self::reports::{PaymentReport, ReportStatus};
use crate::allocation::{self, Allocation, AllocationError, AllocationOrder, Component, Owed};
use crate::creditor::{DEFAULT_CREDITOR, DEFAULT_PORTFOLIO, local_day};
use crate::money::{Currency, Money, MoneyError};
use crate::promise::{Promise, PromiseError, PromiseState};
use crate::schedule::{Instalment, PlanError, check_schedule};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum LedgerError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error(transparent)]
    Allocation(#[from] AllocationError),
    #[error("account {0} is already on this case")]
    DuplicateAccount(String),
    #[error("account {0} is not on this case")]
    UnknownAccount(String),
    #[error("this case's accounts are in {case}; an account in {account} needs a case of its own")]
    CurrencyNotOfCase {
        case: &'static str,
        account: &'static str,
    },
    #[error("the case has no accounts to pay")]
    NoAccounts,
    #[error("payment {reference} was recorded with {recorded}, not {now}")]
    ReferenceReused {
        reference: String,
        recorded: String,
        now: String,
    },
    #[error("payment {0} is not on this case")]
    UnknownPayment(String),
    #[error("payment {0} is already reversed")]
    AlreadyReversed(String),
    #[error("a payment reference is 1 to 100 characters")]
    BadReference,
    #[error(transparent)]
    Promise(#[from] PromiseError),
    #[error("the case owes nothing: there is nothing to promise")]
    NothingOwed,
    #[error("the promise ({promised}) is more than the case owes ({owed})")]
    PromiseExceedsBalance { promised: String, owed: String },
    /// A deadline for a promise that is no longer open (kept, broken or replaced).
    #[error("promise {0} is no longer open")]
    PromiseNotOpen(u32),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("the plan ({planned}) is more than the case owes ({owed})")]
    PlanExceedsBalance { planned: String, owed: String },
    #[error("the plan's first payment is due before today ({0})")]
    PlanStartsInThePast(NaiveDate),
    #[error("plan {0} is already agreed and running: it must end before another is offered")]
    PlanRunning(u32),
    #[error("plan {plan} is {status}, not {expected}")]
    PlanState {
        plan: u32,
        status: &'static str,
        expected: &'static str,
    },
    #[error("plan {0} is not on this case")]
    UnknownPlan(u32),
    #[error("a settlement is for less than the case owes; this one forgives nothing")]
    NoDiscount,
    #[error(
        "this case's accounts are owed to creditor {case}; an account of {account} needs a case of its own"
    )]
    CreditorNotOfCase { case: String, account: String },
    #[error(
        "payment {0} was reported by a partner and waits for the creditor: confirm or reject it"
    )]
    ReportPending(String),
    #[error("payment {0} is already reported on this case")]
    AlreadyReported(String),
    #[error("no payment {0} is reported on this case")]
    UnknownReport(String),
    #[error("reported payment {reference} is already {status}")]
    ReportDecided {
        reference: String,
        status: &'static str,
    },
}

/// An installment plan on the case and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanRecord {
    /// 1, 2, … in the order plans were offered on the case.
    pub id: u32,
    pub total: Money,
    pub schedule: Vec<Instalment>,
    pub grace_days: u32,
    pub offered_on: NaiveDate,
    /// `desk` or `partner`.
    pub channel: String,
    pub status: PlanStatus,
    /// How many instalments' deadlines have been checked (by their timers).
    #[serde(default)]
    pub deadlines_passed: u32,
    /// A settlement: paying it in full settles the whole debt, what remains is forgiven.
    #[serde(default)]
    pub settlement: bool,
    /// Deadlines end at the end of their day in this zone (the creditor's when the plan
    /// was offered; UTC for plans offered before creditors had zones).
    #[serde(default = "utc", skip_serializing_if = "is_utc")]
    pub zone: Tz,
}

fn utc() -> Tz {
    Tz::UTC
}

fn is_utc(zone: &Tz) -> bool {
    *zone == Tz::UTC
}

fn default_creditor() -> String {
    DEFAULT_CREDITOR.to_string()
}

fn default_portfolio() -> String {
    DEFAULT_PORTFOLIO.to_string()
}

/// (awaiting approval →) offered → accepted → active (its first payment made) →
/// completed, or broken when an instalment is missed beyond grace; an offer may be
/// declined, or withdrawn by a newer offer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PlanStatus {
    /// A settlement whose discount is above the offering role's limit, waiting for a
    /// supervisor.
    AwaitingApproval,
    Offered,
    Declined {
        on: NaiveDate,
    },
    Withdrawn {
        by: u32,
    },
    Accepted {
        on: NaiveDate,
    },
    Active {
        accepted_on: NaiveDate,
        since: NaiveDate,
    },
    Completed {
        on: NaiveDate,
    },
    Broken {
        deadline: NaiveDate,
    },
}

impl PlanStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanStatus::AwaitingApproval => "awaiting_approval",
            PlanStatus::Offered => "offered",
            PlanStatus::Declined { .. } => "declined",
            PlanStatus::Withdrawn { .. } => "withdrawn",
            PlanStatus::Accepted { .. } => "accepted",
            PlanStatus::Active { .. } => "active",
            PlanStatus::Completed { .. } => "completed",
            PlanStatus::Broken { .. } => "broken",
        }
    }

    /// Agreed and not ended: its payments are being watched.
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            PlanStatus::Accepted { .. } | PlanStatus::Active { .. }
        )
    }

    fn accepted_on(&self) -> Option<NaiveDate> {
        match self {
            PlanStatus::Accepted { on } => Some(*on),
            PlanStatus::Active { accepted_on, .. } => Some(*accepted_on),
            _ => None,
        }
    }
}

impl PlanRecord {
    /// Instalments whose deadline (due date plus grace) is still to be checked, as
    /// (index, deadline); none unless the plan is running.
    pub fn pending_deadlines(&self) -> Vec<(u32, NaiveDate)> {
        let running = self.status.is_running();
        pending(self.all_deadlines(), running, self.deadlines_passed)
    }

    pub fn all_deadlines(&self) -> Vec<(u32, NaiveDate)> {
        deadlines(self.schedule.iter().map(|i| i.due), self.grace_days)
    }

    /// The schedule as a promise made on the day the plan was accepted.
    fn as_promise(&self, accepted_on: NaiveDate) -> Promise {
        Promise {
            made_on: accepted_on,
            parts: self.schedule.iter().map(|i| (i.due, i.amount)).collect(),
        }
    }
}

/// A promise to pay on the case and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PromiseRecord {
    /// 1, 2, … in the order promises were made on the case.
    pub id: u32,
    pub promise: Promise,
    /// Who took it: `agent`, `partner`, `voice_bot`, `self_service`.
    pub channel: String,
    /// Days after each due date before a shortfall breaks the promise.
    pub grace_days: u32,
    pub status: PromiseStatus,
    /// How many of its parts' deadlines have been checked (by their timers).
    #[serde(default)]
    pub deadlines_passed: u32,
    /// Deadlines end at the end of their day in this zone (see [`PlanRecord::zone`]).
    #[serde(default = "utc", skip_serializing_if = "is_utc")]
    pub zone: Tz,
}

impl PromiseRecord {
    /// The parts whose deadline (due date plus grace) is still to be checked, as
    /// (part index, deadline); none once the promise is decided.
    pub fn pending_deadlines(&self) -> Vec<(u32, NaiveDate)> {
        let open = self.status == PromiseStatus::Open;
        pending(self.all_deadlines(), open, self.deadlines_passed)
    }

    /// Every part's deadline, checked or not.
    pub fn all_deadlines(&self) -> Vec<(u32, NaiveDate)> {
        deadlines(
            self.promise.parts.iter().map(|(due, _)| *due),
            self.grace_days,
        )
    }
}

/// (index, due date plus grace) of each due date.
fn deadlines(dues: impl Iterator<Item = NaiveDate>, grace_days: u32) -> Vec<(u32, NaiveDate)> {
    dues.enumerate()
        .map(|(i, due)| {
            let deadline = due
                .checked_add_days(chrono::Days::new(u64::from(grace_days)))
                .unwrap_or(NaiveDate::MAX);
            (u32::try_from(i).unwrap_or(u32::MAX), deadline)
        })
        .collect()
}

/// The day a deadline's timer decides as of: the timer's day, and at least the day after
/// the deadline. East of UTC a deadline ends (local midnight) on the deadline's UTC day,
/// and the runtime names the timer's day in UTC.
fn after_deadline(all: &[(u32, NaiveDate)], part: u32, on: NaiveDate) -> NaiveDate {
    all.iter()
        .find(|(i, _)| *i == part)
        .and_then(|(_, deadline)| deadline.succ_opt())
        .map_or(on, |after| on.max(after))
}

/// The deadlines not checked yet, while the promise or plan is still undecided.
fn pending(all: Vec<(u32, NaiveDate)>, undecided: bool, passed: u32) -> Vec<(u32, NaiveDate)> {
    if !undecided {
        return Vec::new();
    }
    all.into_iter().filter(|(i, _)| *i >= passed).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PromiseStatus {
    Open,
    Kept {
        on: NaiveDate,
    },
    Broken {
        deadline: NaiveDate,
    },
    /// A newer promise replaced it while it was open.
    Superseded {
        by: u32,
    },
}

/// A debt as it is opened on the case.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NewAccount {
    pub id: String,
    pub product: String,
    pub principal: Money,
    pub interest: Money,
    pub fees: Money,
    pub costs: Money,
    /// The oldest unpaid due date: days past due count from here.
    pub delinquent_since: NaiveDate,
    /// Whose debt it is. Accounts journalled before accounts named their creditor were
    /// the deployment's single creditor's: [`DEFAULT_CREDITOR`].
    #[serde(default = "default_creditor")]
    pub creditor: String,
    /// The creditor's portfolio (a purchase, a product line) it belongs to.
    #[serde(default = "default_portfolio")]
    pub portfolio: String,
}

/// An account on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub id: String,
    pub product: String,
    pub delinquent_since: NaiveDate,
    #[serde(default = "default_creditor")]
    pub creditor: String,
    #[serde(default = "default_portfolio")]
    pub portfolio: String,
    charged: Owed<String>,
    owed: Owed<String>,
    /// Forgiven by a settlement, in minor units.
    #[serde(default)]
    written_off_minor: i64,
}

impl Account {
    pub fn charged(&self, component: Component) -> Money {
        self.charged.get(component)
    }

    pub fn owed(&self, component: Component) -> Money {
        self.owed.get(component)
    }

    pub fn balance(&self) -> Money {
        self.owed.total()
    }
}

/// A payment as recorded, with where it went.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    pub reference: String,
    pub amount: Money,
    pub received_on: NaiveDate,
    pub allocation: Allocation<String>,
    pub reversed: Option<Reversal>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reversal {
    pub on: NaiveDate,
    pub reason: String,
}

/// What recording a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOutcome {
    pub allocation: Allocation<String>,
    /// What the case still owes after it.
    pub remaining: Money,
    pub paid_in_full: bool,
    /// The same reference and amount were recorded before: nothing changed.
    pub repeated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ledger {
    currency: Currency,
    accounts: Vec<Account>,
    /// Persistent: cloning the case's state (once per journal entry) does not copy it.
    payments: PaymentLog,
    credit: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    promises: Vec<PromiseRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    plans: Vec<PlanRecord>,
    /// Payments partners reported, waiting for (or decided by) the creditor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    reports: Vec<PaymentReport>,
}

impl Ledger {
    /// An empty ledger for a case whose debts are in `currency`.
    pub fn new(currency: Currency) -> Ledger {
        Ledger {
            currency,
            accounts: Vec::new(),
            payments: PaymentLog::default(),
            credit: 0,
            promises: Vec::new(),
            plans: Vec::new(),
            reports: Vec::new(),
        }
    }

    /// The creditor the case's debts are owed to (its first account's); `None` before
    /// an account is opened.
    pub fn creditor(&self) -> Option<&str> {
        self.accounts.first().map(|a| a.creditor.as_str())
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Payments in the order they were recorded, reversed ones included.
    pub fn payments(&self) -> impl Iterator<Item = &Payment> {
        self.payments.in_order()
    }

    pub fn payment(&self, reference: &str) -> Option<&Payment> {
        self.payments.find(reference)
    }

    /// Opens a debt on the case. Amounts are what is owed per component (zero or more),
    /// in the case's currency.
    pub fn add_account(&mut self, new: NewAccount) -> Result<(), LedgerError> {
        if self.accounts.iter().any(|a| a.id == new.id) {
            return Err(LedgerError::DuplicateAccount(new.id));
        }
        // A case is one debtor's debts with one creditor: its settings (allocation order,
        // grace, who may take payments) must be one creditor's.
        if let Some(creditor) = self.creditor()
            && creditor != new.creditor
        {
            return Err(LedgerError::CreditorNotOfCase {
                case: creditor.to_string(),
                account: new.creditor,
            });
        }
        let currency = new.principal.currency();
        if currency != self.currency {
            return Err(LedgerError::CurrencyNotOfCase {
                case: self.currency.code(),
                account: currency.code(),
            });
        }
        let mut charged = Owed::new(new.id.clone(), currency);
        for (component, amount) in [
            (Component::Principal, new.principal),
            (Component::Interest, new.interest),
            (Component::Fees, new.fees),
            (Component::Costs, new.costs),
        ] {
            if amount.is_negative() {
                return Err(MoneyError::NotPositive(amount.to_string()).into());
            }
            charged = charged.with(component, amount)?;
        }
        self.accounts.push(Account {
            id: new.id,
            product: new.product,
            delinquent_since: new.delinquent_since,
            creditor: new.creditor,
            portfolio: new.portfolio,
            owed: charged.clone(),
            charged,
            written_off_minor: 0,
        });
        Ok(())
    }

    /// Adds a charge (interest accrued, a fee, a legal cost) to an account.
    pub fn charge(
        &mut self,
        account: &str,
        component: Component,
        amount: Money,
    ) -> Result<(), LedgerError> {
        let amount = amount.positive()?;
        let a = self
            .accounts
            .iter_mut()
            .find(|a| a.id == account)
            .ok_or_else(|| LedgerError::UnknownAccount(account.to_string()))?;
        let charged = a.charged.get(component).checked_add(amount)?;
        let owed = a.owed.get(component).checked_add(amount)?;
        a.charged = a.charged.clone().with(component, charged)?;
        a.owed = a.owed.clone().with(component, owed)?;
        Ok(())
    }

    /// Everything the case owes.
    pub fn balance(&self) -> Money {
        Money::from_minor(
            self.accounts.iter().map(|a| a.balance().minor()).sum(),
            self.currency,
        )
    }

    /// Paid beyond what was owed, held for the debtor.
    pub fn credit(&self) -> Money {
        Money::from_minor(self.credit, self.currency)
    }

    /// Days since the oldest delinquency among accounts still owing; 0 when nothing is
    /// owed (or `today` is before it).
    pub fn days_past_due(&self, today: NaiveDate) -> i64 {
        self.accounts
            .iter()
            .filter(|a| a.balance().minor() > 0)
            .map(|a| (today - a.delinquent_since).num_days())
            .max()
            .unwrap_or(0)
            .max(0)
    }

    /// Records a payment, allocated in `order` across the accounts (oldest delinquency
    /// first). Idempotent by reference: the same reference and amount again change
    /// nothing; the same reference with another amount is refused.
    pub fn record_payment(
        &mut self,
        reference: &str,
        amount: Money,
        received_on: NaiveDate,
        order: &AllocationOrder,
    ) -> Result<PaymentOutcome, LedgerError> {
        if self
            .report(reference)
            .is_some_and(|r| r.status == ReportStatus::Pending)
        {
            return Err(LedgerError::ReportPending(reference.to_string()));
        }
        self.record(reference, amount, received_on, order)
    }

    /// Records a payment without looking at reports: a confirmed report records itself.
    fn record(
        &mut self,
        reference: &str,
        amount: Money,
        received_on: NaiveDate,
        order: &AllocationOrder,
    ) -> Result<PaymentOutcome, LedgerError> {
        if reference.trim().is_empty() || reference.len() > 100 {
            return Err(LedgerError::BadReference);
        }
        if let Some(p) = self.payment(reference) {
            if p.amount != amount {
                return Err(LedgerError::ReferenceReused {
                    reference: reference.to_string(),
                    recorded: p.amount.to_string(),
                    now: amount.to_string(),
                });
            }
            return Ok(self.outcome(p.allocation.clone(), true));
        }
        if self.accounts.is_empty() {
            return Err(LedgerError::NoAccounts);
        }
        let mut by_age: Vec<&Account> = self.accounts.iter().collect();
        by_age.sort_by(|a, b| (a.delinquent_since, &a.id).cmp(&(b.delinquent_since, &b.id)));
        let owed: Vec<Owed<String>> = by_age.iter().map(|a| a.owed.clone()).collect();
        let allocation = allocation::allocate(amount, &owed, order)?;
        self.apply(&allocation);
        self.payments.push(Payment {
            reference: reference.to_string(),
            amount,
            received_on,
            allocation: allocation.clone(),
            reversed: None,
        });
        Ok(self.outcome(allocation, false))
    }

    /// Reverses a payment (returned, charged back): reopens exactly what it paid and
    /// takes back the credit it left.
    pub fn reverse_payment(
        &mut self,
        reference: &str,
        on: NaiveDate,
        reason: &str,
    ) -> Result<Allocation<String>, LedgerError> {
        let payment = self
            .payment(reference)
            .ok_or_else(|| LedgerError::UnknownPayment(reference.to_string()))?;
        if payment.reversed.is_some() {
            return Err(LedgerError::AlreadyReversed(reference.to_string()));
        }
        let undo = payment.allocation.reversed();
        self.apply(&undo);
        self.payments.update(reference, |p| {
            p.reversed = Some(Reversal {
                on,
                reason: reason.to_string(),
            });
        });
        Ok(undo)
    }

    /// Payments that count (not reversed), as (day received, amount): what promises and
    /// plans are judged by.
    pub fn payments_made(&self) -> Vec<(NaiveDate, Money)> {
        self.payments
            .in_order()
            .filter(|p| p.reversed.is_none())
            .map(|p| (p.received_on, p.amount))
            .collect()
    }

    /// Every promise made on the case, oldest first.
    pub fn promises(&self) -> &[PromiseRecord] {
        &self.promises
    }

    /// The promise still waiting to be kept or broken, if any.
    pub fn open_promise(&self) -> Option<&PromiseRecord> {
        self.promises
            .iter()
            .rev()
            .find(|p| p.status == PromiseStatus::Open)
    }

    /// Records a promise; it supersedes the open one (which stays on record). The
    /// promise is checked when it is built ([`Promise::new`]); here it must be in the
    /// case's currency and no more than the case owes.
    pub fn make_promise(
        &mut self,
        promise: Promise,
        channel: &str,
        grace_days: u32,
        zone: Tz,
    ) -> Result<u32, LedgerError> {
        let owed = self.balance();
        if owed.minor() <= 0 {
            return Err(LedgerError::NothingOwed);
        }
        let promised = promise.total();
        owed.checked_sub(promised)
            .map_err(LedgerError::Money)
            .and_then(|rest| {
                if rest.is_negative() {
                    Err(LedgerError::PromiseExceedsBalance {
                        promised: promised.to_string(),
                        owed: owed.to_string(),
                    })
                } else {
                    Ok(())
                }
            })?;
        let id = u32::try_from(self.promises.len() + 1).unwrap_or(u32::MAX);
        for p in &mut self.promises {
            if p.status == PromiseStatus::Open {
                p.status = PromiseStatus::Superseded { by: id };
            }
        }
        self.promises.push(PromiseRecord {
            id,
            promise,
            channel: channel.to_string(),
            grace_days,
            status: PromiseStatus::Open,
            deadlines_passed: 0,
            zone,
        });
        Ok(id)
    }

    /// A part's deadline has passed (its timer fired on `on`, the day after it): the
    /// open promise is decided as of that day if it can be.
    pub fn pass_deadline(
        &mut self,
        promise: u32,
        part: u32,
        on: NaiveDate,
    ) -> Result<Option<(u32, PromiseStatus)>, LedgerError> {
        let open = self
            .promises
            .iter_mut()
            .find(|p| p.id == promise && p.status == PromiseStatus::Open)
            .ok_or(LedgerError::PromiseNotOpen(promise))?;
        open.deadlines_passed = open.deadlines_passed.max(part.saturating_add(1));
        let on = after_deadline(&open.all_deadlines(), part, on);
        Ok(self.decide_promise(on))
    }

    /// Decides the open promise as of `today` from the payments that stand; returns it
    /// when it was kept or broken just now.
    pub fn decide_promise(&mut self, today: NaiveDate) -> Option<(u32, PromiseStatus)> {
        self.open_promise()?;
        let payments = self.payments_made();
        let open = self
            .promises
            .iter_mut()
            .rev()
            .find(|p| p.status == PromiseStatus::Open)?;
        let status = match open.promise.state(open.grace_days, &payments, today) {
            PromiseState::Open { .. } => return None,
            PromiseState::Kept { on } => PromiseStatus::Kept { on },
            PromiseState::Broken { deadline } => PromiseStatus::Broken { deadline },
        };
        open.status = status.clone();
        Some((open.id, status))
    }

    /// Decides the open promise as of the instant `at`: the day it is then in the
    /// promise's zone.
    pub fn decide_promise_at(&mut self, at: DateTime<Utc>) -> Option<(u32, PromiseStatus)> {
        let today = local_day(at, self.open_promise()?.zone);
        self.decide_promise(today)
    }

    /// Moves the running plan on as of the instant `at`: the day it is then in the
    /// plan's zone.
    pub fn decide_plan_at(&mut self, at: DateTime<Utc>) -> Option<(u32, PlanStatus)> {
        let running = self.plans.iter().find(|p| p.status.is_running())?;
        let today = local_day(at, running.zone);
        self.decide_plan(today)
    }

    /// The last day of the open promise's current grace period: it is decided on the
    /// day after, if no payment decides it first.
    pub fn promise_deadline(&self, today: NaiveDate) -> Option<NaiveDate> {
        let open = self.open_promise()?;
        match open
            .promise
            .state(open.grace_days, &self.payments_made(), today)
        {
            PromiseState::Open { next_deadline } => Some(next_deadline),
            _ => None,
        }
    }

    /// Every plan offered on the case, oldest first.
    pub fn plans(&self) -> &[PlanRecord] {
        &self.plans
    }

    /// Offers an installment plan: a schedule (from [`crate::schedule::schedule`] or
    /// agreed by hand) that adds up to `total`, no more than the case owes, starting
    /// today or later. A pending offer is withdrawn by a new one; a running plan must
    /// end first.
    #[allow(clippy::too_many_arguments)]
    pub fn offer_plan(
        &mut self,
        total: Money,
        schedule: Vec<Instalment>,
        grace_days: u32,
        channel: &str,
        today: NaiveDate,
        settlement: bool,
        needs_approval: bool,
        zone: Tz,
    ) -> Result<u32, LedgerError> {
        check_schedule(total, &schedule)?;
        if let Some(running) = self.plans.iter().find(|p| p.status.is_running()) {
            return Err(LedgerError::PlanRunning(running.id));
        }
        let owed = self.balance();
        if owed.checked_sub(total)?.is_negative() {
            return Err(LedgerError::PlanExceedsBalance {
                planned: total.to_string(),
                owed: owed.to_string(),
            });
        }
        if let Some(first) = schedule.first()
            && first.due < today
        {
            return Err(LedgerError::PlanStartsInThePast(first.due));
        }
        if settlement && total == owed {
            return Err(LedgerError::NoDiscount);
        }
        let id = u32::try_from(self.plans.len() + 1).unwrap_or(u32::MAX);
        for p in &mut self.plans {
            if matches!(p.status, PlanStatus::Offered | PlanStatus::AwaitingApproval) {
                p.status = PlanStatus::Withdrawn { by: id };
            }
        }
        self.plans.push(PlanRecord {
            id,
            total,
            schedule,
            grace_days,
            offered_on: today,
            channel: channel.to_string(),
            status: if needs_approval {
                PlanStatus::AwaitingApproval
            } else {
                PlanStatus::Offered
            },
            deadlines_passed: 0,
            settlement,
            zone,
        });
        Ok(id)
    }

    /// A supervisor approves a settlement offered above the offering role's limit.
    pub fn approve_plan(&mut self, plan: u32) -> Result<(), LedgerError> {
        let p = self
            .plans
            .iter_mut()
            .find(|p| p.id == plan)
            .ok_or(LedgerError::UnknownPlan(plan))?;
        if p.status != PlanStatus::AwaitingApproval {
            return Err(LedgerError::PlanState {
                plan,
                status: p.status.as_str(),
                expected: "awaiting approval",
            });
        }
        p.status = PlanStatus::Offered;
        Ok(())
    }

    /// Everything forgiven by settlements.
    pub fn written_off(&self) -> Money {
        Money::from_minor(
            self.accounts.iter().map(|a| a.written_off_minor).sum(),
            self.currency,
        )
    }

    /// The debtor agrees to an offered plan; its payments count from `on`.
    pub fn accept_plan(&mut self, plan: u32, on: NaiveDate) -> Result<(), LedgerError> {
        let p = self.offered(plan, "offered")?;
        p.status = PlanStatus::Accepted { on };
        Ok(())
    }

    /// The debtor turns an offered plan down.
    pub fn decline_plan(&mut self, plan: u32, on: NaiveDate) -> Result<(), LedgerError> {
        let p = self.offered(plan, "offered")?;
        p.status = PlanStatus::Declined { on };
        Ok(())
    }

    fn offered(
        &mut self,
        plan: u32,
        expected: &'static str,
    ) -> Result<&mut PlanRecord, LedgerError> {
        let p = self
            .plans
            .iter_mut()
            .find(|p| p.id == plan)
            .ok_or(LedgerError::UnknownPlan(plan))?;
        if p.status != PlanStatus::Offered {
            return Err(LedgerError::PlanState {
                plan,
                status: p.status.as_str(),
                expected,
            });
        }
        Ok(p)
    }

    /// Moves the running plan on as of `today` from the payments since it was accepted:
    /// active once its first instalment is paid, completed when all are, broken when one
    /// is short after its grace. Returns the plan when its status changed.
    pub fn decide_plan(&mut self, today: NaiveDate) -> Option<(u32, PlanStatus)> {
        if !self.plans.iter().any(|p| p.status.is_running()) {
            return None;
        }
        let payments = self.payments_made();
        let plan = self.plans.iter_mut().find(|p| p.status.is_running())?;
        let accepted_on = plan.status.accepted_on()?;
        let promise = plan.as_promise(accepted_on);
        let next = match promise.state(plan.grace_days, &payments, today) {
            PromiseState::Kept { on } => PlanStatus::Completed { on },
            PromiseState::Broken { deadline } => PlanStatus::Broken { deadline },
            PromiseState::Open { .. } => {
                let first = plan.schedule.first().map_or(0, |i| i.amount.minor());
                let mut paid = 0i64;
                let since = payments
                    .iter()
                    .filter(|(on, _)| *on >= accepted_on && *on <= today)
                    .map(|(on, m)| (*on, m.minor()))
                    .collect::<BTreeMap<NaiveDate, i64>>()
                    .into_iter()
                    .find(|(_, m)| {
                        paid += m;
                        paid >= first
                    })
                    .map(|(on, _)| on);
                match since {
                    Some(since) => PlanStatus::Active { accepted_on, since },
                    None => PlanStatus::Accepted { on: accepted_on },
                }
            }
        };
        if matches!(
            (&plan.status, &next),
            (PlanStatus::Active { .. }, PlanStatus::Active { .. })
                | (PlanStatus::Accepted { .. }, PlanStatus::Accepted { .. })
        ) {
            return None;
        }
        plan.status = next.clone();
        let (id, settles) = (plan.id, plan.settlement);
        if settles && matches!(next, PlanStatus::Completed { .. }) {
            self.settle();
        }
        Some((id, next))
    }

    /// A settlement was paid: what the accounts still owe is forgiven.
    fn settle(&mut self) {
        for a in &mut self.accounts {
            a.written_off_minor += a.owed.total().minor();
            a.owed = Owed::new(a.id.clone(), self.currency);
        }
    }

    /// An instalment's deadline has passed (its timer fired on `on`).
    pub fn pass_plan_deadline(
        &mut self,
        plan: u32,
        part: u32,
        on: NaiveDate,
    ) -> Result<Option<(u32, PlanStatus)>, LedgerError> {
        let p = self
            .plans
            .iter_mut()
            .find(|p| p.id == plan && p.status.is_running())
            .ok_or(LedgerError::PlanState {
                plan,
                status: "not running",
                expected: "accepted or active",
            })?;
        p.deadlines_passed = p.deadlines_passed.max(part.saturating_add(1));
        let on = after_deadline(&p.all_deadlines(), part, on);
        Ok(self.decide_plan(on))
    }

    fn apply(&mut self, allocation: &Allocation<String>) {
        for account in &mut self.accounts {
            let one = std::slice::from_ref(&account.owed);
            account.owed = allocation::apply(one, allocation).remove(0);
        }
        self.credit += allocation.credit.minor();
    }

    fn outcome(&self, allocation: Allocation<String>, repeated: bool) -> PaymentOutcome {
        let remaining = self.balance();
        PaymentOutcome {
            allocation,
            remaining,
            paid_in_full: remaining.is_zero(),
            repeated,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cop(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("COP").unwrap())
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
    }

    fn account(id: &str, principal: i64, interest: i64, fees: i64, since: u32) -> NewAccount {
        NewAccount {
            id: id.into(),
            product: "loan".into(),
            principal: cop(principal),
            interest: cop(interest),
            fees: cop(fees),
            costs: cop(0),
            delinquent_since: day(since),
            creditor: "bank".into(),
            portfolio: "2026-Q1".into(),
        }
    }

    fn ledger() -> Ledger {
        let mut l = Ledger::new(Currency::from_code("COP").unwrap());
        l.add_account(account("L-2", 50_000, 5_000, 1_000, 10))
            .unwrap();
        l.add_account(account("L-1", 100_000, 0, 2_000, 1)).unwrap();
        l
    }

    #[test]
    fn a_payment_pays_fees_then_interest_then_principal_oldest_first() {
        let mut l = ledger();
        let out = l
            .record_payment("P1", cop(10_000), day(20), &AllocationOrder::default())
            .unwrap();
        let parts: Vec<(&str, Component, i64)> = out
            .allocation
            .parts
            .iter()
            .map(|p| (p.account.as_str(), p.component, p.amount.minor()))
            .collect();
        assert_eq!(
            parts,
            vec![
                ("L-1", Component::Fees, 2_000),
                ("L-2", Component::Fees, 1_000),
                ("L-2", Component::Interest, 5_000),
                ("L-1", Component::Principal, 2_000),
            ]
        );
        assert_eq!(out.remaining, cop(148_000));
        assert!(!out.paid_in_full);
        assert_eq!(l.days_past_due(day(20)), 19);
    }

    #[test]
    fn paying_in_full_leaves_a_credit_and_no_days_past_due() {
        let mut l = ledger();
        let out = l
            .record_payment("P1", cop(160_000), day(20), &AllocationOrder::default())
            .unwrap();
        assert!(out.paid_in_full);
        assert_eq!(l.credit(), cop(2_000));
        assert_eq!(l.days_past_due(day(20)), 0);
        // Reversing reopens everything and takes the credit back.
        l.reverse_payment("P1", day(21), "chargeback").unwrap();
        assert_eq!(l.balance(), cop(158_000));
        assert!(l.credit().is_zero());
        assert!(matches!(
            l.reverse_payment("P1", day(22), "again"),
            Err(LedgerError::AlreadyReversed(_))
        ));
    }

    #[test]
    fn payments_are_idempotent_by_reference() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        l.record_payment("P1", cop(1_000), day(20), &order).unwrap();
        let again = l.record_payment("P1", cop(1_000), day(20), &order).unwrap();
        assert!(again.repeated);
        assert_eq!(l.balance(), cop(157_000));
        assert!(matches!(
            l.record_payment("P1", cop(2_000), day(20), &order),
            Err(LedgerError::ReferenceReused { .. })
        ));
    }

    #[test]
    fn bad_changes_are_refused_and_change_nothing() {
        let mut l = ledger();
        let before = l.clone();
        let order = AllocationOrder::default();
        assert!(matches!(
            l.add_account(account("L-1", 1, 0, 0, 1)),
            Err(LedgerError::DuplicateAccount(_))
        ));
        let mut usd = account("L-9", 1, 0, 0, 1);
        usd.principal = Money::from_minor(1, Currency::from_code("USD").unwrap());
        assert!(matches!(
            l.add_account(usd),
            Err(LedgerError::CurrencyNotOfCase { .. })
        ));
        assert!(matches!(
            l.record_payment("P", cop(0), day(20), &order),
            Err(LedgerError::Allocation(_))
        ));
        assert!(matches!(
            l.record_payment(" ", cop(5), day(20), &order),
            Err(LedgerError::BadReference)
        ));
        assert!(matches!(
            l.reverse_payment("nope", day(20), "x"),
            Err(LedgerError::UnknownPayment(_))
        ));
        assert!(matches!(
            Ledger::new(Currency::from_code("COP").unwrap()).record_payment(
                "P",
                cop(5),
                day(20),
                &order
            ),
            Err(LedgerError::NoAccounts)
        ));
        assert_eq!(l, before);
    }

    #[test]
    fn promises_are_kept_broken_or_superseded() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        let promise =
            |made, due, minor| Promise::new(day(made), vec![(day(due), cop(minor))]).unwrap();
        assert!(matches!(
            l.make_promise(promise(20, 25, 999_999), "agent", 3, Tz::UTC),
            Err(LedgerError::PromiseExceedsBalance { .. })
        ));
        let first = l
            .make_promise(promise(20, 25, 50_000), "agent", 3, Tz::UTC)
            .unwrap();
        assert_eq!(l.promise_deadline(day(20)), Some(day(28)));
        // A newer promise replaces it, on record.
        let second = l
            .make_promise(promise(21, 26, 40_000), "partner", 3, Tz::UTC)
            .unwrap();
        assert_eq!(
            l.promises()[0].status,
            PromiseStatus::Superseded { by: second }
        );
        assert_eq!(l.open_promise().map(|p| p.id), Some(second));
        assert_ne!(first, second);
        // Paid in time: kept on the day the payments reached it.
        l.record_payment("P1", cop(40_000), day(27), &order)
            .unwrap();
        assert_eq!(
            l.decide_promise(day(27)),
            Some((second, PromiseStatus::Kept { on: day(27) }))
        );
        assert_eq!(l.decide_promise(day(30)), None);
        assert!(l.open_promise().is_none());
        // A shortfall after the grace period breaks the next one.
        let third = l
            .make_promise(promise(28, 29, 10_000), "agent", 1, Tz::UTC)
            .unwrap();
        assert_eq!(l.decide_promise(day(30)), None);
        assert_eq!(
            l.decide_promise(day(31)),
            Some((third, PromiseStatus::Broken { deadline: day(30) }))
        );
        let mut paid = ledger();
        paid.record_payment("P", cop(158_000), day(20), &order)
            .unwrap();
        assert!(matches!(
            paid.make_promise(promise(21, 25, 1), "agent", 3, Tz::UTC),
            Err(LedgerError::NothingOwed)
        ));
    }

    #[test]
    fn deadlines_are_checked_part_by_part() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        let p = Promise::new(day(1), vec![(day(5), cop(1_000)), (day(15), cop(1_000))]).unwrap();
        let id = l.make_promise(p, "agent", 2, Tz::UTC).unwrap();
        let open = l.open_promise().unwrap().clone();
        assert_eq!(open.pending_deadlines(), vec![(0, day(7)), (1, day(17))]);
        l.record_payment("P1", cop(1_000), day(6), &order).unwrap();
        assert_eq!(l.pass_deadline(id, 0, day(8)).unwrap(), None);
        assert_eq!(
            l.open_promise().unwrap().pending_deadlines(),
            vec![(1, day(17))]
        );
        assert_eq!(
            l.pass_deadline(id, 1, day(18)).unwrap(),
            Some((id, PromiseStatus::Broken { deadline: day(17) }))
        );
        assert!(l.open_promise().is_none());
        assert_eq!(
            l.pass_deadline(id, 1, day(18)),
            Err(LedgerError::PromiseNotOpen(id))
        );
    }

    fn plan_of(total: i64, parts: &[(u32, i64)]) -> (Money, Vec<Instalment>) {
        let schedule = parts
            .iter()
            .enumerate()
            .map(|(i, (d, m))| Instalment {
                number: u32::try_from(i + 1).unwrap(),
                due: day(*d),
                amount: cop(*m),
            })
            .collect();
        (cop(total), schedule)
    }

    #[test]
    fn a_plan_runs_from_offer_to_completion() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        let (total, schedule) = plan_of(30_000, &[(22, 10_000), (29, 10_000), (31, 10_000)]);
        assert!(matches!(
            l.offer_plan(
                cop(29_999),
                schedule.clone(),
                3,
                "desk",
                day(20),
                false,
                false,
                Tz::UTC
            ),
            Err(LedgerError::Plan(PlanError::DoesNotAddUp { .. }))
        ));
        assert!(matches!(
            l.offer_plan(
                total,
                schedule.clone(),
                3,
                "desk",
                day(23),
                false,
                false,
                Tz::UTC
            ),
            Err(LedgerError::PlanStartsInThePast(_))
        ));
        let first = l
            .offer_plan(
                total,
                schedule.clone(),
                3,
                "desk",
                day(20),
                false,
                false,
                Tz::UTC,
            )
            .unwrap();
        let id = l
            .offer_plan(total, schedule, 3, "desk", day(20), false, false, Tz::UTC)
            .unwrap();
        assert_eq!(l.plans()[0].status, PlanStatus::Withdrawn { by: id });
        assert!(matches!(
            l.accept_plan(first, day(20)),
            Err(LedgerError::PlanState { .. })
        ));
        l.accept_plan(id, day(20)).unwrap();
        assert_eq!(l.plans()[1].pending_deadlines().len(), 3);
        let (t2, s2) = plan_of(1_000, &[(25, 1_000)]);
        assert!(matches!(
            l.offer_plan(t2, s2, 3, "desk", day(20), false, false, Tz::UTC),
            Err(LedgerError::PlanRunning(_))
        ));
        l.record_payment("P1", cop(10_000), day(21), &order)
            .unwrap();
        assert_eq!(
            l.decide_plan(day(21)),
            Some((
                id,
                PlanStatus::Active {
                    accepted_on: day(20),
                    since: day(21)
                }
            ))
        );
        assert_eq!(l.decide_plan(day(22)), None);
        l.record_payment("P2", cop(20_000), day(28), &order)
            .unwrap();
        assert_eq!(
            l.decide_plan(day(28)),
            Some((id, PlanStatus::Completed { on: day(28) }))
        );
    }

    #[test]
    fn a_paid_settlement_forgives_the_rest() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        let (total, schedule) = plan_of(120_000, &[(22, 60_000), (29, 60_000)]);
        let id = l
            .offer_plan(
                total,
                schedule.clone(),
                3,
                "desk",
                day(20),
                true,
                true,
                Tz::UTC,
            )
            .unwrap();
        assert_eq!(l.plans()[0].status, PlanStatus::AwaitingApproval);
        assert!(matches!(
            l.accept_plan(id, day(20)),
            Err(LedgerError::PlanState { .. })
        ));
        l.approve_plan(id).unwrap();
        l.accept_plan(id, day(20)).unwrap();
        l.record_payment("P1", cop(120_000), day(21), &order)
            .unwrap();
        assert!(matches!(
            l.decide_plan(day(21)),
            Some((_, PlanStatus::Completed { .. }))
        ));
        assert!(l.balance().is_zero());
        assert_eq!(l.written_off(), cop(38_000));
        let (t, s) = plan_of(158_000, &[(22, 158_000)]);
        assert!(matches!(
            ledger().offer_plan(t, s, 3, "desk", day(20), true, false, Tz::UTC),
            Err(LedgerError::NoDiscount)
        ));
    }

    #[test]
    fn a_missed_instalment_breaks_the_plan() {
        let mut l = ledger();
        let (total, schedule) = plan_of(20_000, &[(22, 10_000), (29, 10_000)]);
        let id = l
            .offer_plan(total, schedule, 2, "desk", day(20), false, false, Tz::UTC)
            .unwrap();
        l.accept_plan(id, day(20)).unwrap();
        assert_eq!(
            l.pass_plan_deadline(id, 0, day(25)).unwrap(),
            Some((id, PlanStatus::Broken { deadline: day(24) }))
        );
        assert!(l.plans()[0].pending_deadlines().is_empty());
        assert!(l.pass_plan_deadline(id, 1, day(30)).is_err());
    }

    #[test]
    fn accounts_journalled_before_creditors_belong_to_the_default_creditor() {
        let old = r#"{"id":"L-1","product":"loan","principal":"10.00 COP","interest":"0.00 COP",
            "fees":"0.00 COP","costs":"0.00 COP","delinquent_since":"2026-05-01"}"#;
        let opened: NewAccount = serde_json::from_str(old).unwrap();
        assert_eq!(
            (opened.creditor.as_str(), opened.portfolio.as_str()),
            (DEFAULT_CREDITOR, DEFAULT_PORTFOLIO)
        );
        let mut l = Ledger::new(Currency::from_code("COP").unwrap());
        l.add_account(opened).unwrap();
        assert_eq!(l.creditor(), Some(DEFAULT_CREDITOR));
        // Another creditor's account is refused; the ledger is unchanged.
        let before = l.clone();
        assert_eq!(
            l.add_account(account("L-2", 1, 0, 0, 1)),
            Err(LedgerError::CreditorNotOfCase {
                case: DEFAULT_CREDITOR.into(),
                account: "bank".into()
            })
        );
        assert_eq!(l, before);
    }

    #[test]
    fn east_of_utc_a_deadline_timer_decides_as_of_the_day_after() {
        // Tokyo: the deadline (25 May) ends at 15:00 UTC on 25 May, so the runtime names
        // the timer's day 25 May; the promise is still broken, not left open.
        let mut l = ledger();
        let p = Promise::new(day(20), vec![(day(22), cop(1_000))]).unwrap();
        let id = l
            .make_promise(p, "agent", 3, chrono_tz::Asia::Tokyo)
            .unwrap();
        assert_eq!(
            l.pass_deadline(id, 0, day(25)).unwrap(),
            Some((id, PromiseStatus::Broken { deadline: day(25) }))
        );
    }

    #[derive(Debug, Clone)]
    enum Op {
        Pay(i64),
        Reverse(usize),
        Charge(usize, i64),
    }

    fn arb_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1i64..200_000).prop_map(Op::Pay),
            (0usize..8).prop_map(Op::Reverse),
            (0usize..2, 1i64..10_000).prop_map(|(a, m)| Op::Charge(a, m)),
        ]
    }

    proptest! {
        /// Money is conserved through any mix of payments, reversals and charges:
        /// per account and component, owed = charged − allocated + reopened ≥ 0, and the
        /// payments that stand equal what they allocated plus the credit.
        #[test]
        fn money_is_conserved(ops in prop::collection::vec(arb_op(), 0..20)) {
            let mut l = ledger();
            let order = AllocationOrder::default();
            let mut n = 0;
            for op in ops {
                match op {
                    Op::Pay(m) => {
                        n += 1;
                        l.record_payment(&format!("P{n}"), cop(m), day(20), &order).unwrap();
                    }
                    Op::Reverse(i) => {
                        let _ = l.reverse_payment(&format!("P{i}"), day(21), "returned");
                    }
                    Op::Charge(a, m) => {
                        let id = if a == 0 { "L-1" } else { "L-2" };
                        l.charge(id, Component::Interest, cop(m)).unwrap();
                    }
                }
            }
            for a in l.accounts() {
                for c in Component::ALL {
                    let allocated: i64 = l.payments()
                        .filter(|p| p.reversed.is_none())
                        .flat_map(|p| p.allocation.parts.iter())
                        .filter(|p| p.account == a.id && p.component == c)
                        .map(|p| p.amount.minor())
                        .sum();
                    prop_assert_eq!(a.owed(c).minor(), a.charged(c).minor() - allocated);
                    prop_assert!(a.owed(c).minor() >= 0);
                }
            }
            let standing: i64 = l.payments_made().iter().map(|(_, m)| m.minor()).sum();
            let allocated: i64 = l.payments()
                .filter(|p| p.reversed.is_none())
                .flat_map(|p| p.allocation.parts.iter())
                .map(|p| p.amount.minor())
                .sum();
            prop_assert_eq!(standing, allocated + l.credit().minor());
        }
    }
}
