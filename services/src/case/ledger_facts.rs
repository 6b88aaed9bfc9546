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
}

impl LedgerFact {
    pub fn event_type(&self) -> &'static str {
        match self {
            LedgerFact::AccountOpened { .. } => "AccountOpened",
            LedgerFact::Charged { .. } => "AccountCharged",
            LedgerFact::PaymentRecorded { .. } => "PaymentRecorded",
            LedgerFact::PaymentReversed { .. } => "PaymentReversed",
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
            LedgerError::NothingOwed => ErrorCode::Conflict,
        }
    }
}
