//! Ledger facts recorded in the case journal: the debts opened on the case, charges,
//! payments and reversals. Each carries its inputs — amounts as exact text, the
//! allocation order in force — so replay recomputes the same allocation whatever the
//! creditor's settings say later; the ledger itself ([`collections::ledger`]) is derived.

use chrono::NaiveDate;
use collections::allocation::{AllocationError, AllocationOrder, Component};
use collections::creditor::{SettingsError, Tz};
use collections::ledger::{LedgerError, NewAccount};
use collections::money::{Money, MoneyError};
use collections::promise::PromiseError;
use collections::schedule::{Instalment, PlanError};
use serde::{Deserialize, Serialize};

use crate::error_code::{ApiError, ErrorCode};

/// The message a case's process receives when a payment is recorded, if it waits for it.
pub const PAYMENT_RECEIVED: &str = "payment-received";
/// The message a case's process receives when the case's balance falls to zero (a
/// payment, or a settlement's write-off), if it waits for it.
pub const PAID_IN_FULL: &str = "paid-in-full";
/// The messages a case's process receives when a promise to pay is decided.
pub const PROMISE_KEPT: &str = "promise-kept";
pub const PROMISE_BROKEN: &str = "promise-broken";

/// The messages a case's process receives as an installment plan moves on.
pub const PLAN_ACCEPTED: &str = "plan-accepted";
pub const PLAN_DECLINED: &str = "plan-declined";
pub const PLAN_ACTIVE: &str = "plan-active";
pub const PLAN_COMPLETED: &str = "plan-completed";
pub const PLAN_BROKEN: &str = "plan-broken";

/// A deadline the ledger waits for: a promise part's or a plan instalment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerTimer {
    Promise { promise: u32, part: u32 },
    Plan { plan: u32, instalment: u32 },
}

/// Plan deadlines carry this bit; promise ids stay below it.
const PLAN_BIT: i64 = 1 << 52;

impl LedgerTimer {
    /// Its timer row's id. Engine timers have positive ids; ledger deadlines negative
    /// ones, `-(kind | id << 20 | part)`, so the two never meet.
    pub fn timer_id(self) -> i64 {
        let (kind, id, part) = match self {
            LedgerTimer::Promise { promise, part } => (0, promise, part),
            LedgerTimer::Plan { plan, instalment } => (PLAN_BIT, plan, instalment),
        };
        -(kind | (i64::from(id) << 20) | i64::from(part & 0xF_FFFF))
    }

    /// The ledger deadline of a timer row; `None` for engine timers.
    pub fn of(timer_id: i64) -> Option<LedgerTimer> {
        let v = timer_id.checked_neg().filter(|v| *v > 0)?;
        if super::placement::is_deadline_timer(timer_id) {
            return None;
        }
        let id = u32::try_from((v & (PLAN_BIT - 1)) >> 20).ok()?;
        let part = (v & 0xF_FFFF) as u32;
        Some(if v & PLAN_BIT == 0 {
            LedgerTimer::Promise { promise: id, part }
        } else {
            LedgerTimer::Plan {
                plan: id,
                instalment: part,
            }
        })
    }

    /// The fact its firing records, decided as of the timer's day however late it fires.
    pub fn passed(self, on: NaiveDate) -> LedgerFact {
        match self {
            LedgerTimer::Promise { promise, part } => {
                LedgerFact::PromiseDeadlinePassed { promise, part, on }
            }
            LedgerTimer::Plan { plan, instalment } => LedgerFact::PlanDeadlinePassed {
                plan,
                instalment,
                on,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ledger_event", rename_all = "snake_case")]
pub enum LedgerFact {
    /// A debt opened on the case; the first one fixes the case's currency.
    AccountOpened {
        account: NewAccount,
    },
    /// Interest accrued, a fee, a legal cost added to an account.
    Charged {
        account: String,
        component: Component,
        amount: Money,
        reason: String,
    },
    PaymentRecorded {
        reference: String,
        amount: Money,
        received_on: NaiveDate,
        /// Who took it: `agent`, `partner`, `import`, `provider`, `self_service`.
        channel: String,
        order: AllocationOrder,
    },
    /// Returned or charged back: reopens exactly what the payment paid.
    PaymentReversed {
        reference: String,
        on: NaiveDate,
        reason: String,
    },
    /// One or several dated amounts; replaces the open promise, if any.
    PromiseMade {
        made_on: NaiveDate,
        parts: Vec<(NaiveDate, Money)>,
        /// `desk` (an internal agent) or `partner`.
        channel: String,
        grace_days: u32,
        /// The creditor's zone when it was made: its deadlines end at local midnight
        /// there. UTC for promises made before creditors had settings.
        #[serde(default = "utc")]
        zone: Tz,
    },
    /// A part's deadline (due date plus grace) has passed: its timer fired on `on`.
    PromiseDeadlinePassed {
        promise: u32,
        part: u32,
        on: NaiveDate,
    },
    /// An installment plan offered to the debtor; withdraws a pending offer.
    PlanOffered {
        total: Money,
        schedule: Vec<Instalment>,
        offered_on: NaiveDate,
        grace_days: u32,
        channel: String,
        /// Paying it in full settles the debt; the rest is forgiven.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        settlement: bool,
        /// A settlement above the offering role's discount limit: a supervisor approves.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        needs_approval: bool,
        /// The creditor's zone when it was offered (see `PromiseMade`).
        #[serde(default = "utc")]
        zone: Tz,
    },
    /// A supervisor approves a settlement offered above the offering role's limit.
    PlanApproved {
        plan: u32,
    },
    PlanAccepted {
        plan: u32,
        on: NaiveDate,
    },
    PlanDeclined {
        plan: u32,
        on: NaiveDate,
        reason: String,
    },
    /// An instalment's deadline (due date plus grace) has passed: its timer fired on `on`.
    PlanDeadlinePassed {
        plan: u32,
        instalment: u32,
        on: NaiveDate,
    },
    /// A partner reports a payment it may not take: on record, owed unchanged.
    PaymentReported {
        reference: String,
        amount: Money,
        received_on: NaiveDate,
        reported_on: NaiveDate,
        partner: String,
        reported_by: String,
    },
    /// The creditor confirms a reported payment: recorded and allocated now, in the
    /// order in force now (copied here, as in `PaymentRecorded`).
    ReportedPaymentConfirmed {
        reference: String,
        order: AllocationOrder,
        by: String,
        on: NaiveDate,
    },
    /// The creditor rejects a reported payment; it stays on record.
    ReportedPaymentRejected {
        reference: String,
        by: String,
        on: NaiveDate,
        reason: String,
    },
}

fn utc() -> Tz {
    Tz::UTC
}

impl LedgerFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            LedgerFact::AccountOpened { .. } => "AccountOpened",
            LedgerFact::Charged { .. } => "AccountCharged",
            LedgerFact::PaymentRecorded { .. } => "PaymentRecorded",
            LedgerFact::PaymentReversed { .. } => "PaymentReversed",
            LedgerFact::PromiseMade { .. } => "PromiseMade",
            LedgerFact::PromiseDeadlinePassed { .. } => "PromiseDeadlinePassed",
            LedgerFact::PlanOffered { .. } => "PlanOffered",
            LedgerFact::PlanApproved { .. } => "PlanApproved",
            LedgerFact::PlanAccepted { .. } => "PlanAccepted",
            LedgerFact::PlanDeclined { .. } => "PlanDeclined",
            LedgerFact::PlanDeadlinePassed { .. } => "PlanDeadlinePassed",
            LedgerFact::PaymentReported { .. } => "PaymentReported",
            LedgerFact::ReportedPaymentConfirmed { .. } => "ReportedPaymentConfirmed",
            LedgerFact::ReportedPaymentRejected { .. } => "ReportedPaymentRejected",
        }
    }
}

impl ApiError for MoneyError {
    fn code(&self) -> ErrorCode {
        match self {
            MoneyError::UnknownCurrency(_) | MoneyError::NotACurrencyOfAccount(_) => {
                ErrorCode::UnknownCurrency
            }
            MoneyError::CurrencyMismatch { .. } => ErrorCode::CurrencyMismatch,
            MoneyError::NotANumber(_)
            | MoneyError::TooPrecise { .. }
            | MoneyError::OutOfRange(_)
            | MoneyError::NotPositive(_) => ErrorCode::InvalidAmount,
        }
    }
}

impl ApiError for LedgerError {
    fn code(&self) -> ErrorCode {
        match self {
            LedgerError::Money(m) | LedgerError::Allocation(AllocationError::Money(m)) => m.code(),
            LedgerError::Allocation(AllocationError::NotAnOrder) | LedgerError::BadReference => {
                ErrorCode::BadInput
            }
            LedgerError::Allocation(AllocationError::NegativeOwed(_)) => ErrorCode::CorruptData,
            LedgerError::CurrencyNotOfCase { .. } => ErrorCode::CurrencyMismatch,
            LedgerError::DuplicateAccount(_) => ErrorCode::DuplicateAccount,
            LedgerError::UnknownAccount(_) | LedgerError::NoAccounts => ErrorCode::AccountNotFound,
            LedgerError::ReferenceReused { .. } => ErrorCode::PaymentReferenceReused,
            LedgerError::UnknownPayment(_) => ErrorCode::PaymentNotFound,
            LedgerError::AlreadyReversed(_) => ErrorCode::PaymentAlreadyReversed,
            LedgerError::Promise(PromiseError::Money(m)) => m.code(),
            LedgerError::Promise(
                PromiseError::Empty
                | PromiseError::DueInThePast { .. }
                | PromiseError::DatesNotIncreasing(_),
            )
            | LedgerError::PromiseExceedsBalance { .. } => ErrorCode::InvalidPromise,
            LedgerError::NothingOwed | LedgerError::PromiseNotOpen(_) => ErrorCode::Conflict,
            LedgerError::Plan(PlanError::Money(m)) => m.code(),
            LedgerError::Plan(_)
            | LedgerError::PlanExceedsBalance { .. }
            | LedgerError::PlanStartsInThePast(_)
            | LedgerError::NoDiscount => ErrorCode::InvalidPlan,
            LedgerError::PlanRunning(_) | LedgerError::PlanState { .. } => ErrorCode::Conflict,
            LedgerError::UnknownPlan(_) => ErrorCode::PlanNotFound,
            LedgerError::CreditorNotOfCase { .. } => ErrorCode::CreditorMismatch,
            LedgerError::ReportPending(_) | LedgerError::AlreadyReported(_) => {
                ErrorCode::PaymentReferenceReused
            }
            LedgerError::UnknownReport(_) => ErrorCode::PaymentReportNotFound,
            LedgerError::ReportDecided { .. } => ErrorCode::PaymentReportDecided,
        }
    }
}

impl ApiError for SettingsError {
    fn code(&self) -> ErrorCode {
        match self {
            SettingsError::UnknownTimeZone(_) => ErrorCode::UnknownTimeZone,
            SettingsError::GraceDays(_) => ErrorCode::InvalidGraceDays,
            SettingsError::SettlementLimit(_) => ErrorCode::InvalidSettlementLimit,
            SettingsError::AllocationOrder => ErrorCode::InvalidAllocationOrder,
            SettingsError::UnknownCountry(_) => ErrorCode::UnknownCountry,
            SettingsError::PartnerPaymentsForbidden(_) => ErrorCode::PartnerPaymentsForbidden,
            SettingsError::BadCreditorId => ErrorCode::BadInput,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_journalled_before_creditor_settings_read_as_they_were() {
        let old = r#"{"ledger_event":"promise_made","made_on":"2026-05-01",
            "parts":[["2026-05-05","10.00 COP"]],"channel":"desk","grace_days":3}"#;
        let fact: LedgerFact = serde_json::from_str(old).unwrap();
        assert!(matches!(fact, LedgerFact::PromiseMade { zone, .. } if zone == Tz::UTC));
        let old = r#"{"ledger_event":"account_opened","account":{"id":"L-1","product":"loan",
            "principal":"10.00 COP","interest":"0.00 COP","fees":"0.00 COP",
            "costs":"0.00 COP","delinquent_since":"2026-05-01"}}"#;
        let fact: LedgerFact = serde_json::from_str(old).unwrap();
        assert!(
            matches!(fact, LedgerFact::AccountOpened { account } if account.creditor == "default")
        );
    }

    #[test]
    fn ledger_timers_never_meet_engine_timers() {
        let cases = [
            LedgerTimer::Promise {
                promise: 1,
                part: 0,
            },
            LedgerTimer::Promise {
                promise: 4_000,
                part: 99,
            },
            LedgerTimer::Plan {
                plan: 1,
                instalment: 0,
            },
            LedgerTimer::Plan {
                plan: 7,
                instalment: 359,
            },
            LedgerTimer::Promise {
                promise: u32::MAX >> 1,
                part: 0,
            },
        ];
        for t in cases {
            let id = t.timer_id();
            assert!(id < 0, "{t:?}");
            assert_eq!(LedgerTimer::of(id), Some(t));
        }
        assert_eq!(LedgerTimer::of(42), None);
        assert_eq!(LedgerTimer::of(0), None);
    }
}
