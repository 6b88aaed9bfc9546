//! The debt as a float, before the ledger: `openCase(amountDue: Float, currency)` is
//! deprecated, not broken. A new case opened that way gets one account whose principal is
//! the float read exactly as written (`1250.5` → 1250.50 USD; `10.123` COP is refused,
//! never rounded), and a case opened before the ledger existed gets the same account,
//! journalled, when the server starts ([`Desk::adopt_legacy_debts`]).

use chrono::NaiveDate;
use collections::creditor::{DEFAULT_CREDITOR, DEFAULT_PORTFOLIO};
use collections::ledger::NewAccount;
use collections::money::{Currency, Money};
use orm::entities::{case_journal, cases, maintenance_runs};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set,
};

use super::{Desk, DeskError};
use crate::access::{Principal, Role};
use crate::case::{CaseFact, LedgerFact};

/// What a legacy account is called when the case has no external reference.
const LEGACY_ACCOUNT: &str = "legacy";
/// The product of an account carried over from `amountDue`: nobody said which it was.
const LEGACY_PRODUCT: &str = "unspecified";
/// The maintenance run's name, once it has finished.
const ADOPTION: &str = "legacy-amount-due-into-accounts";

/// The float a client sent as the exact amount it meant: Rust prints an `f64` as the
/// shortest decimal that reads back as the same float, which is what the client typed
/// (`0.1` stays "0.1", not 0.1000000000000000055…).
pub(super) fn money_of_float(amount: f64, currency: &str) -> Result<Money, DeskError> {
    let currency = Currency::from_code(currency)?;
    if !amount.is_finite() || amount < 0.0 {
        return Err(DeskError::Invalid(format!(
            "the amount due must be a non-negative number, not {amount}"
        )));
    }
    Ok(Money::parse(&format!("{amount}"), currency)?)
}

pub(super) fn legacy_account(
    external_ref: Option<&str>,
    principal: Money,
    delinquent_since: NaiveDate,
) -> NewAccount {
    let zero = Money::zero(principal.currency());
    NewAccount {
        id: external_ref
            .filter(|r| !r.trim().is_empty())
            .unwrap_or(LEGACY_ACCOUNT)
            .to_string(),
        product: LEGACY_PRODUCT.into(),
        principal,
        interest: zero,
        fees: zero,
        costs: zero,
        delinquent_since,
        creditor: DEFAULT_CREDITOR.into(),
        portfolio: DEFAULT_PORTFOLIO.into(),
    }
}

impl Desk {
    /// Gives every active case that still has only an `amountDue` (and a currency) its
    /// account: the amount as principal, journalled as `AccountOpened` by
    /// `system:migration`. Idempotent: a case with an account is left alone, so a run cut
    /// short is finished by the next; once finished it is recorded and later starts skip
    /// the scan (new cases get their account when opened). Closed cases keep their
    /// variable: a closed case's debt does not change. Answers how many cases it
    /// converted.
    pub async fn adopt_legacy_debts(&self) -> Result<usize, DeskError> {
        if maintenance_runs::Entity::find_by_id(ADOPTION.to_string())
            .one(&self.db)
            .await?
            .is_some()
        {
            return Ok(0);
        }
        let with_accounts = case_journal::Entity::find()
            .select_only()
            .column(case_journal::Column::CaseId)
            .filter(case_journal::Column::EventType.eq("AccountOpened"))
            .into_query();
        let legacy = cases::Entity::find()
            .filter(cases::Column::Status.eq("active"))
            .filter(cases::Column::AmountDueMinor.is_not_null())
            .filter(cases::Column::Currency.is_not_null())
            .filter(cases::Column::CaseId.not_in_subquery(with_accounts))
            .all(&self.db)
            .await?;
        let (mut adopted, mut failed) = (0, 0);
        for case in legacy {
            let (Some(minor), Some(code)) = (case.amount_due_minor, case.currency.as_deref())
            else {
                continue;
            };
            let Ok(currency) = Currency::from_code(code) else {
                tracing::warn!(case_id = %case.case_id, currency = code, "legacy amountDue in an unknown currency: left as it is");
                continue;
            };
            if minor <= 0 {
                continue;
            }
            let since = case
                .delinquent_since
                .unwrap_or_else(|| case.created_at.date_naive());
            let account = legacy_account(
                case.external_ref.as_deref(),
                Money::from_minor(minor, currency),
                since,
            );
            let system = Principal::new("migration", &case.tenant, Role::Admin, None, vec![])
                .map_err(|e| DeskError::Invalid(e.to_string()))?;
            let fact = CaseFact::Ledger(LedgerFact::AccountOpened { account });
            let key = format!("legacy-account:{}", case.case_id);
            match self.record(&system, &case.case_id, fact, Some(key)).await {
                Ok(_) => adopted += 1,
                // The case moved on meanwhile (closed, or an account opened): nothing to do.
                Err(DeskError::Runtime(crate::runtime::RuntimeError::Rejected(e))) => {
                    tracing::info!(case_id = %case.case_id, error = %e, "legacy amountDue not carried over");
                }
                Err(e) => {
                    failed += 1;
                    tracing::warn!(case_id = %case.case_id, error = %e, "legacy amountDue not carried over yet: the next start retries");
                }
            }
        }
        if failed > 0 {
            return Ok(adopted);
        }
        maintenance_runs::ActiveModel {
            name: Set(ADOPTION.into()),
            finished_at: Set(self.clock.now()),
            detail: Set(format!("{adopted} cases given an account")),
        }
        .insert(&self.db)
        .await?;
        Ok(adopted)
    }
}
