//! Ledger facts recorded in the case journal: the debts opened on the case, charges,
//! payments and reversals. Each carries its inputs — amounts as exact text, the
//! allocation order in force — so replay recomputes the same allocation whatever the
//! creditor's settings say later; the ledger itself ([`collections::ledger`]) is derived.

use chrono::NaiveDate;
use collections::allocation::{AllocationError, AllocationOrder, Component};
use collections::ledger::{LedgerError, NewAccount};
use collections::money::{Money, MoneyError};
use collections::promise::PromiseError;
use serde::{Deserialize, Serialize};

use crate::error_code::{ApiError, ErrorCode};

/// The message a case's process receives when a payment is recorded, if it waits for it.
pub const PAYMENT_RECEIVED: &str = "payment-received";
/// The messages a case's process receives when a promise to pay is decided.
pub const PROMISE_KEPT: &str = "promise-kept";
pub const PROMISE_BROKEN: &str = "promise-broken";

/// The timer row of a promise part's deadline. Engine timers have positive ids; these
/// are negative, `-(promise << 20 | part)`, so the two never meet.
pub fn promise_timer_id(promise: u32, part: u32) -> i64 {
    -((i64::from(promise) << 20) | i64::from(part & 0xF_FFFF))
}

/// The (promise, part) of a promise deadline's timer row; `None` for engine timers.
pub fn promise_of_timer(timer_id: i64) -> Option<(u32, u32)> {
    let v = timer_id.checked_neg().filter(|v| *v > 0)?;
    Some((u32::try_from(v >> 20).ok()?, (v & 0xF_FFFF) as u32))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "ledger_event", rename_all = "snake_case")]
pub enum LedgerFact {
    /// A debt opened on the case; the first one fixes the case's currency.
    AccountOpened { account: NewAccount },
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
    },
    /// A part's deadline (due date plus grace) has passed: its timer fired on `on`.
    PromiseDeadlinePassed {
        promise: u32,
        part: u32,
        on: NaiveDate,
    },
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promise_timers_never_meet_engine_timers() {
        for (promise, part) in [(1, 0), (1, 7), (4_000, 99), (u32::MAX >> 1, 0)] {
            let id = promise_timer_id(promise, part);
            assert!(id < 0);
            assert_eq!(promise_of_timer(id), Some((promise, part)));
        }
        assert_eq!(promise_of_timer(42), None);
        assert_eq!(promise_of_timer(0), None);
    }
}
