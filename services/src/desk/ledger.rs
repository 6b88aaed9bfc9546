//! The case's ledger at the desk: opening debts, recording and reversing payments,
//! reading balances. Each change is a journalled ledger fact, checked by the case actor
//! against the ledger as it stands (see `collections::ledger`).

use chrono::NaiveDate;
use collections::allocation::Component;
use collections::creditor::{CreditorSettings, above_limit, creditor_id, local_day};
use collections::ledger::{Ledger, NewAccount, PaymentReport};
use collections::money::Money;
use collections::schedule::Instalment;

use super::{Desk, DeskError, require};
use crate::access::{Operation, Principal, Role, permits};
use crate::case::{CaseFact, LedgerFact};
use crate::runtime::Outcome;

/// A payment as a caller reports it.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The payer's or bank's reference: a payment is recorded once per reference.
    pub reference: String,
    pub amount: Money,
    /// The day the money arrived; today in the creditor's zone when not given.
    pub received_on: Option<NaiveDate>,
}

/// A charge added to an account: interest accrued, a fee, a legal cost.
#[derive(Debug, Clone)]
pub struct NewCharge {
    pub account: String,
    pub component: Component,
    pub amount: Money,
    pub reason: String,
}

/// Who took a payment, promise or plan: an internal user at the desk, or a partner.
fn channel(p: &Principal) -> String {
    if p.role == Role::Partner {
        "partner"
    } else {
        "desk"
    }
    .to_string()
}

impl Desk {
    /// The caller sees the case and may do `op` on it (the refusal names `what`).
    async fn may(
        &self,
        p: &Principal,
        case_id: &str,
        op: Operation,
        what: &'static str,
    ) -> Result<(), DeskError> {
        self.case(p, case_id).await?;
        require(p, op, what)
    }

    /// Today in the creditor's zone: the day payments are received, promises made.
    fn today(&self, settings: &CreditorSettings) -> NaiveDate {
        local_day(self.clock().now(), settings.time_zone)
    }

    /// The day a payment was received: as given, not in the future; today if not given.
    fn received_on(
        &self,
        payment: &NewPayment,
        settings: &CreditorSettings,
    ) -> Result<(String, NaiveDate), DeskError> {
        let reference = payment.reference.trim();
        if reference.is_empty() || reference.len() > 100 {
            return Err(DeskError::Invalid(
                "a payment reference is 1 to 100 characters".into(),
            ));
        }
        let today = self.today(settings);
        let received_on = payment.received_on.unwrap_or(today);
        if received_on > today {
            return Err(DeskError::Invalid(format!(
                "a payment cannot be received in the future ({received_on}; today is {today})"
            )));
        }
        Ok((reference.to_string(), received_on))
    }

    async fn record_ledger(
        &self,
        p: &Principal,
        case_id: &str,
        fact: LedgerFact,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.record(p, case_id, CaseFact::Ledger(fact), idempotency_key)
            .await
    }

    /// Opens a debt on the case; the first fixes the case's currency.
    pub async fn open_account(
        &self,
        p: &Principal,
        case_id: &str,
        account: NewAccount,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::ManageAccounts, "open accounts")
            .await?;
        let fact = LedgerFact::AccountOpened {
            account: checked_account(account)?,
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// Adds a charge (interest, a fee, a legal cost) to an account of the case.
    pub async fn charge_account(
        &self,
        p: &Principal,
        case_id: &str,
        charge: NewCharge,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::ManageAccounts, "charge accounts")
            .await?;
        let fact = LedgerFact::Charged {
            account: charge.account,
            component: charge.component,
            amount: charge.amount,
            reason: charge.reason,
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// Records a payment, allocated in the creditor's order (by default costs → fees →
    /// interest → principal) across the case's accounts, oldest delinquency first. The
    /// process gets `payment-received` in the same journal entry if it waits for one. A
    /// partner of a creditor that does not let partners take payments must report it
    /// instead ([`Desk::report_payment`]).
    pub async fn record_payment(
        &self,
        p: &Principal,
        case_id: &str,
        payment: NewPayment,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::RecordPayment, "record payments")
            .await?;
        let (creditor, settings) = self.case_creditor(p, case_id).await?;
        if p.role == Role::Partner && !settings.partners_take_payments {
            return Err(DeskError::PaymentMustBeReported(creditor));
        }
        let (reference, received_on) = self.received_on(&payment, &settings)?;
        let fact = LedgerFact::PaymentRecorded {
            reference,
            amount: payment.amount,
            received_on,
            channel: channel(p),
            // Copied into the fact: replay allocates as it was allocated today.
            order: settings.allocation_order,
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// Reverses a payment: reopens exactly what it paid.
    pub async fn reverse_payment(
        &self,
        p: &Principal,
        case_id: &str,
        reference: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::ReversePayment, "reverse payments")
            .await?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid("say why the payment is reversed".into()));
        }
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::PaymentReversed {
            reference: reference.to_string(),
            on: self.today(&settings),
            reason: reason.trim().to_string(),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// Records a promise to pay: one or several dated amounts, decided kept or broken
    /// from the payments, with the creditor's promise grace after each due date; its
    /// deadlines end at midnight in the creditor's zone. It replaces the open promise,
    /// which stays on record.
    pub async fn make_promise(
        &self,
        p: &Principal,
        case_id: &str,
        parts: Vec<(NaiveDate, Money)>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::RecordPromise,
            "record promises to pay",
        )
        .await?;
        self.record_promise(p, case_id, parts, channel(p), idempotency_key)
            .await
    }

    /// A promise as [`Desk::make_promise`] records it, taken through `channel` (`desk`,
    /// `partner`, `voicebot`); the caller has checked who may record it.
    pub(super) async fn record_promise(
        &self,
        p: &Principal,
        case_id: &str,
        parts: Vec<(NaiveDate, Money)>,
        channel: String,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::PromiseMade {
            made_on: self.today(&settings),
            parts,
            channel,
            grace_days: settings.promise_grace_days,
            zone: settings.time_zone,
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// Offers an installment plan; the schedule is checked to add up to `total`, to start
    /// today or later and to be no more than the case owes. It withdraws a pending offer.
    /// A settlement (`settlement`: paying it settles the whole debt) forgives the rest;
    /// above the creditor's settlement limit (percent of the balance) an agent's or
    /// partner's offer waits for a supervisor's approval. Instalments get the creditor's
    /// plan grace.
    pub async fn offer_plan(
        &self,
        p: &Principal,
        case_id: &str,
        total: Money,
        schedule: Vec<Instalment>,
        settlement: bool,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::ManagePlans,
            "offer installment plans",
        )
        .await?;
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let needs_approval = settlement
            && !permits(p.role, Operation::ApproveSettlement)
            && self
                .runtime
                .case(case_id)
                .await?
                .and_then(|state| state.ledger)
                .is_some_and(|l| {
                    above_limit(l.balance(), total, settings.settlement_limit_percent)
                });
        let fact = LedgerFact::PlanOffered {
            total,
            schedule,
            offered_on: self.today(&settings),
            grace_days: settings.plan_grace_days,
            channel: channel(p),
            settlement,
            needs_approval,
            zone: settings.time_zone,
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// A supervisor approves a settlement offered above the offering role's limit.
    pub async fn approve_plan(
        &self,
        p: &Principal,
        case_id: &str,
        plan: u32,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::ApproveSettlement,
            "approve settlements",
        )
        .await?;
        let fact = LedgerFact::PlanApproved { plan };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// The debtor agrees to an offered plan (today): its instalments are watched from
    /// now on.
    pub async fn accept_plan(
        &self,
        p: &Principal,
        case_id: &str,
        plan: u32,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::ManagePlans,
            "record plan acceptances",
        )
        .await?;
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::PlanAccepted {
            plan,
            on: self.today(&settings),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// The debtor turns an offered plan down.
    pub async fn decline_plan(
        &self,
        p: &Principal,
        case_id: &str,
        plan: u32,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::ManagePlans, "record plan refusals")
            .await?;
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::PlanDeclined {
            plan,
            on: self.today(&settings),
            reason: reason.trim().to_string(),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// A partner reports a payment the debtor says they made to the creditor: on record
    /// on the case, owed unchanged until the creditor confirms it. Refused under a
    /// reference already recorded or reported on the case.
    pub async fn report_payment(
        &self,
        p: &Principal,
        case_id: &str,
        payment: NewPayment,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(p, case_id, Operation::ReportPayment, "report payments")
            .await?;
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let (reference, received_on) = self.received_on(&payment, &settings)?;
        let fact = LedgerFact::PaymentReported {
            reference,
            amount: payment.amount,
            received_on,
            reported_on: self.today(&settings),
            partner: p.partner.clone().unwrap_or_default(),
            reported_by: p.acting_identity(),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// The creditor confirms a reported payment: recorded now, allocated in the
    /// creditor's order in force now, with the confirmer on the report; the process gets
    /// `payment-received` in the same entry.
    pub async fn confirm_reported_payment(
        &self,
        p: &Principal,
        case_id: &str,
        reference: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::DecideReportedPayment,
            "confirm reported payments",
        )
        .await?;
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::ReportedPaymentConfirmed {
            reference: reference.trim().to_string(),
            order: settings.allocation_order,
            by: p.acting_identity(),
            on: self.today(&settings),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// The creditor rejects a reported payment (the money did not arrive); it stays on
    /// record with the reason.
    pub async fn reject_reported_payment(
        &self,
        p: &Principal,
        case_id: &str,
        reference: &str,
        reason: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.may(
            p,
            case_id,
            Operation::DecideReportedPayment,
            "reject reported payments",
        )
        .await?;
        if reason.trim().is_empty() {
            return Err(DeskError::Invalid(
                "say why the reported payment is rejected".into(),
            ));
        }
        let (_, settings) = self.case_creditor(p, case_id).await?;
        let fact = LedgerFact::ReportedPaymentRejected {
            reference: reference.trim().to_string(),
            by: p.acting_identity(),
            on: self.today(&settings),
            reason: reason.trim().to_string(),
        };
        self.record_ledger(p, case_id, fact, idempotency_key).await
    }

    /// The reported payments of a ledger the caller may see: a partner sees only its
    /// own organisation's reports (another partner's dealings with the debtor are not
    /// its business), everyone else all of them.
    pub fn visible_reports(p: &Principal, ledger: &Ledger) -> Vec<PaymentReport> {
        ledger
            .reports()
            .iter()
            .filter(|r| p.role != Role::Partner || p.partner.as_deref() == Some(&r.partner))
            .cloned()
            .collect()
    }

    /// The case's ledger as it stands (`None` before an account is opened).
    pub async fn ledger(&self, p: &Principal, case_id: &str) -> Result<Option<Ledger>, DeskError> {
        self.case(p, case_id).await?;
        let state = self
            .runtime
            .case(case_id)
            .await?
            .ok_or_else(|| DeskError::CaseNotFound(case_id.to_string()))?;
        Ok(state.ledger)
    }
}

/// An account as a caller gave it, its id and creditor checked and trimmed.
pub(super) fn checked_account(account: NewAccount) -> Result<NewAccount, DeskError> {
    let id = account.id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(DeskError::Invalid(
            "an account id is 1 to 100 characters".into(),
        ));
    }
    Ok(NewAccount {
        id: id.to_string(),
        creditor: creditor_id(&account.creditor)?,
        portfolio: account.portfolio.trim().to_string(),
        ..account
    })
}
