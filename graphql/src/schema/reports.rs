//! Payments partners report for the creditor to confirm, over GraphQL: where a creditor
//! does not let partners take payments (Mexico, CONDUSEF), an agency reports what the
//! debtor paid the creditor; an internal user confirms (it becomes a payment) or rejects
//! it. Listed on the case as `reportedPayments`, apart from `payments`: a report is a
//! claim, not money on the ledger.

use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::NaiveDate;
use collections::ledger::{PaymentReport, ReportStatus};
use services::desk::{Desk, NewPayment};

use super::ledger::{Money, PaymentInput, of_case, parse_payment};
use super::mutation::{CommandResult, outcome};
use super::{desk, principal};

/// Where a reported payment stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum ReportedPaymentState {
    /// Waiting for the creditor.
    Pending,
    /// Recorded as a payment (under the same reference).
    Confirmed,
    Rejected,
}

pub struct ReportedPayment(pub PaymentReport);

#[Object]
impl ReportedPayment {
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn amount(&self) -> Money {
        self.0.amount.into()
    }
    /// The day the debtor says the money was paid.
    async fn received_on(&self) -> NaiveDate {
        self.0.received_on
    }
    async fn reported_on(&self) -> NaiveDate {
        self.0.reported_on
    }
    /// The partner organisation that reported it.
    async fn partner_id(&self) -> ID {
        ID(self.0.partner.clone())
    }
    async fn reported_by(&self) -> &str {
        &self.0.reported_by
    }
    async fn status(&self) -> ReportedPaymentState {
        match self.0.status {
            ReportStatus::Pending => ReportedPaymentState::Pending,
            ReportStatus::Confirmed { .. } => ReportedPaymentState::Confirmed,
            ReportStatus::Rejected { .. } => ReportedPaymentState::Rejected,
        }
    }
    /// Who confirmed or rejected it.
    async fn decided_by(&self) -> Option<&str> {
        match &self.0.status {
            ReportStatus::Pending => None,
            ReportStatus::Confirmed { by, .. } | ReportStatus::Rejected { by, .. } => Some(by),
        }
    }
    async fn decided_on(&self) -> Option<NaiveDate> {
        match &self.0.status {
            ReportStatus::Pending => None,
            ReportStatus::Confirmed { on, .. } | ReportStatus::Rejected { on, .. } => Some(*on),
        }
    }
    async fn rejection_reason(&self) -> Option<&str> {
        match &self.0.status {
            ReportStatus::Rejected { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// The case's reported payments the caller may see (a partner: its own), oldest first.
pub async fn of_case_visible(ctx: &Context<'_>, case_id: &str) -> Result<Vec<ReportedPayment>> {
    let p = principal(ctx)?;
    Ok(of_case(ctx, case_id)
        .await?
        .map(|l| Desk::visible_reports(p, &l))
        .unwrap_or_default()
        .into_iter()
        .map(ReportedPayment)
        .collect())
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// A partner reports a payment the debtor made to the creditor: listed on the case
    /// as pending, the balance unchanged until the creditor confirms it. Refused for a
    /// reference already recorded or reported on the case.
    async fn report_payment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: PaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let payment: NewPayment = parse_payment(input)?;
        outcome(
            desk(ctx)?
                .report_payment(principal(ctx)?, &case_id, payment, idempotency_key)
                .await,
        )
    }

    /// The creditor (an agent, supervisor or admin) confirms a reported payment: it is
    /// recorded now under its reference and day, allocated in the creditor's order, and
    /// the process receives `payment-received`. A decided report is refused
    /// (`PAYMENT_REPORT_DECIDED`).
    async fn confirm_reported_payment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reference: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .confirm_reported_payment(principal(ctx)?, &case_id, &reference, idempotency_key)
                .await,
        )
    }

    /// The creditor rejects a reported payment; it stays listed, with the reason.
    async fn reject_reported_payment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reference: String,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .reject_reported_payment(
                    principal(ctx)?,
                    &case_id,
                    &reference,
                    &reason,
                    idempotency_key,
                )
                .await,
        )
    }
}
