//! The case's ledger over GraphQL: accounts, balances, payments and where each went.
//! Money is always a decimal string with its currency — never a float.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::NaiveDate;
use collections::allocation::Component;
use collections::creditor::{DEFAULT_CREDITOR, DEFAULT_PORTFOLIO};
use collections::ledger::{
    Account as LedgerAccount, Ledger, NewAccount, Payment as LedgerPayment, PlanRecord, PlanStatus,
    PromiseRecord, PromiseStatus,
};
use collections::money::{Currency, Money as Amount};
use collections::schedule::{PlanTerms, schedule};
use services::desk::{NewCharge, NewPayment};

use super::loaders::Loaders;
use super::mutation::{CommandResult, outcome};
use super::{desk, principal};
use crate::errors;

/// An exact amount: `amount` is a decimal string with exactly the currency's places
/// ("1250.50" USD, "1000" CLP, "0.125" KWD).
#[derive(SimpleObject)]
pub struct Money {
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<Amount> for Money {
    fn from(m: Amount) -> Self {
        Money {
            amount: m.amount().to_string(),
            currency: m.currency().code().to_string(),
        }
    }
}

/// The parts of a debt.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::allocation::Component")]
pub enum DebtComponent {
    Costs,
    Fees,
    Interest,
    Principal,
}

pub struct Account(pub LedgerAccount);

#[Object]
impl Account {
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn product(&self) -> &str {
        &self.0.product
    }
    /// The oldest unpaid due date.
    async fn delinquent_since(&self) -> NaiveDate {
        self.0.delinquent_since
    }
    /// Whose debt it is: every account of a case is one creditor's.
    async fn creditor_id(&self) -> ID {
        ID(self.0.creditor.clone())
    }
    /// The creditor's portfolio it belongs to.
    async fn portfolio(&self) -> &str {
        &self.0.portfolio
    }
    /// What the account still owes.
    async fn balance(&self) -> Money {
        self.0.balance().into()
    }
    /// What one part still owes.
    async fn owed(&self, component: DebtComponent) -> Money {
        self.0.owed(component.into()).into()
    }
    /// Everything ever charged to one part (before payments).
    async fn charged(&self, component: DebtComponent) -> Money {
        self.0.charged(component.into()).into()
    }
}

#[derive(SimpleObject)]
pub struct AllocationPart {
    pub account_id: String,
    pub component: DebtComponent,
    pub amount: Money,
}

pub struct Payment(pub LedgerPayment);

#[Object]
impl Payment {
    async fn reference(&self) -> &str {
        &self.0.reference
    }
    async fn amount(&self) -> Money {
        self.0.amount.into()
    }
    async fn received_on(&self) -> NaiveDate {
        self.0.received_on
    }
    /// Where the payment went, in order.
    async fn allocation(&self) -> Vec<AllocationPart> {
        self.0
            .allocation
            .parts
            .iter()
            .map(|p| AllocationPart {
                account_id: p.account.clone(),
                component: p.component.into(),
                amount: p.amount.into(),
            })
            .collect()
    }
    /// What was left over, held as the debtor's credit.
    async fn credit(&self) -> Money {
        self.0.allocation.credit.into()
    }
    async fn reversed_on(&self) -> Option<NaiveDate> {
        self.0.reversed.as_ref().map(|r| r.on)
    }
    async fn reversal_reason(&self) -> Option<&str> {
        self.0.reversed.as_ref().map(|r| r.reason.as_str())
    }
}

/// Where a promise to pay stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PromiseState {
    /// Waiting for payments or its deadline.
    Open,
    Kept,
    Broken,
    /// A newer promise replaced it while it was open.
    Superseded,
}

/// A promise to pay and where it stands.
pub struct PromiseToPay(pub PromiseRecord);

#[derive(SimpleObject)]
pub struct PromisedAmount {
    pub due: NaiveDate,
    pub amount: Money,
}

#[Object]
impl PromiseToPay {
    /// 1, 2, … in the order promises were made on the case.
    async fn id(&self) -> u32 {
        self.0.id
    }
    async fn made_on(&self) -> NaiveDate {
        self.0.promise.made_on
    }
    async fn parts(&self) -> Vec<PromisedAmount> {
        self.0
            .promise
            .parts
            .iter()
            .map(|(due, amount)| PromisedAmount {
                due: *due,
                amount: (*amount).into(),
            })
            .collect()
    }
    async fn total(&self) -> Money {
        self.0.promise.total().into()
    }
    /// `desk` or `partner`.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    async fn grace_days(&self) -> u32 {
        self.0.grace_days
    }
    async fn status(&self) -> PromiseState {
        match self.0.status {
            PromiseStatus::Open => PromiseState::Open,
            PromiseStatus::Kept { .. } => PromiseState::Kept,
            PromiseStatus::Broken { .. } => PromiseState::Broken,
            PromiseStatus::Superseded { .. } => PromiseState::Superseded,
        }
    }
    /// The day the payments reached it (kept).
    async fn kept_on(&self) -> Option<NaiveDate> {
        match self.0.status {
            PromiseStatus::Kept { on } => Some(on),
            _ => None,
        }
    }
    /// The deadline it missed (broken).
    async fn missed_deadline(&self) -> Option<NaiveDate> {
        match self.0.status {
            PromiseStatus::Broken { deadline } => Some(deadline),
            _ => None,
        }
    }
}

/// How often a plan's instalments fall due.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::schedule::Frequency")]
pub enum PlanFrequency {
    Weekly,
    Fortnightly,
    Monthly,
}

#[derive(SimpleObject)]
pub struct PlanInstalment {
    /// 0 is the down payment.
    pub number: u32,
    pub due: NaiveDate,
    pub amount: Money,
}

/// Where an installment plan stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    /// A settlement above the offering agent's discount limit, waiting for a supervisor.
    AwaitingApproval,
    Offered,
    Declined,
    /// A newer offer replaced it.
    Withdrawn,
    Accepted,
    /// Its first instalment is paid.
    Active,
    Completed,
    /// An instalment was missed beyond its grace.
    Broken,
}

/// An installment plan and where it stands.
pub struct InstallmentPlan(pub PlanRecord);

#[Object]
impl InstallmentPlan {
    async fn id(&self) -> u32 {
        self.0.id
    }
    async fn status(&self) -> PlanState {
        match self.0.status {
            PlanStatus::AwaitingApproval => PlanState::AwaitingApproval,
            PlanStatus::Offered => PlanState::Offered,
            PlanStatus::Declined { .. } => PlanState::Declined,
            PlanStatus::Withdrawn { .. } => PlanState::Withdrawn,
            PlanStatus::Accepted { .. } => PlanState::Accepted,
            PlanStatus::Active { .. } => PlanState::Active,
            PlanStatus::Completed { .. } => PlanState::Completed,
            PlanStatus::Broken { .. } => PlanState::Broken,
        }
    }
    async fn total(&self) -> Money {
        self.0.total.into()
    }
    async fn offered_on(&self) -> NaiveDate {
        self.0.offered_on
    }
    /// Paying it in full settles the whole debt: what remains is forgiven.
    async fn settlement(&self) -> bool {
        self.0.settlement
    }
    /// `desk` or `partner`.
    async fn channel(&self) -> &str {
        &self.0.channel
    }
    async fn grace_days(&self) -> u32 {
        self.0.grace_days
    }
    /// The exact schedule: it sums to `total`; the last instalment absorbs any remainder.
    async fn schedule(&self) -> Vec<PlanInstalment> {
        self.0
            .schedule
            .iter()
            .map(|i| PlanInstalment {
                number: i.number,
                due: i.due,
                amount: i.amount.into(),
            })
            .collect()
    }
}

#[derive(InputObject)]
pub struct PlanInput {
    pub currency: String,
    /// What the plan pays in all, down payment included (a decimal string).
    pub total: String,
    pub instalments: u32,
    pub frequency: PlanFrequency,
    pub first_due: NaiveDate,
    pub down_payment: Option<String>,
    /// Before `firstDue`.
    pub down_payment_due: Option<NaiveDate>,
    /// A settlement for less than the balance: paid in full, it forgives the rest. Above
    /// the creditor's settlement limit (default 10 %) an agent's or partner's offer waits
    /// for a supervisor's approval.
    pub settlement: Option<bool>,
}

#[derive(InputObject)]
pub struct PromisePartInput {
    pub due: NaiveDate,
    /// A decimal string in the case's currency.
    pub amount: String,
}

/// The ledger of a case as the caller may see it; `None` before an account is opened.
pub async fn of_case(ctx: &Context<'_>, case_id: &str) -> Result<Option<Arc<Ledger>>> {
    ctx.data::<Loaders>()?
        .ledgers
        .load_one(case_id.to_string())
        .await
        .map_err(|e| (*e).clone())
}

pub(super) fn parse_payment(input: PaymentInput) -> Result<NewPayment> {
    Ok(NewPayment {
        reference: input.reference,
        amount: parse_money(&input.amount, parse_currency(&input.currency)?)?,
        received_on: input.received_on,
    })
}

fn parse_money(amount: &str, currency: Currency) -> Result<Amount> {
    Amount::parse(amount, currency).map_err(errors::api)
}

fn parse_currency(code: &str) -> Result<Currency> {
    Currency::from_code(code).map_err(errors::api)
}

#[derive(InputObject)]
pub struct AccountInput {
    /// The creditor's account or loan number; unique on the case.
    pub id: String,
    /// loan, credit_card, telco_bill, b2b_invoice, …
    pub product: String,
    /// ISO 4217 code; every account of a case has the case's currency.
    pub currency: String,
    /// Decimal strings in the currency's places; interest, fees and costs default to 0.
    pub principal: String,
    pub interest: Option<String>,
    pub fees: Option<String>,
    pub costs: Option<String>,
    pub delinquent_since: NaiveDate,
    /// Whose debt it is; "default" (the deployment's single creditor) when not given.
    /// Every account of a case must be one creditor's (`CREDITOR_MISMATCH`).
    pub creditor_id: Option<ID>,
    /// The creditor's portfolio; "default" when not given.
    pub portfolio: Option<String>,
}

#[derive(InputObject)]
pub struct PaymentInput {
    /// The bank's or payer's reference: a payment is recorded once per reference.
    pub reference: String,
    /// A decimal string, e.g. "1250.50".
    pub amount: String,
    pub currency: String,
    /// The day the money arrived; today when not given.
    pub received_on: Option<NaiveDate>,
}

#[derive(Default)]
pub struct LedgerMutation;

#[Object]
impl LedgerMutation {
    /// Opens a debt on a case (supervisors, admins). The first account fixes the
    /// case's currency.
    async fn open_account(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: AccountInput,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let account = new_account(input)?;
        outcome(
            desk(ctx)?
                .open_account(principal(ctx)?, &case_id, account, idempotency_key)
                .await,
        )
    }

    /// Adds a charge (interest accrued, a fee, a legal cost) to an account.
    #[allow(clippy::too_many_arguments)]
    async fn charge_account(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        account_id: String,
        component: DebtComponent,
        amount: String,
        currency: String,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let charge = NewCharge {
            account: account_id,
            component: Component::from(component),
            amount: parse_money(&amount, parse_currency(&currency)?)?,
            reason,
        };
        outcome(
            desk(ctx)?
                .charge_account(principal(ctx)?, &case_id, charge, idempotency_key)
                .await,
        )
    }

    /// Records a payment: allocated in the creditor's order (by default costs → fees →
    /// interest → principal) across the case's accounts (oldest delinquency first); the
    /// process receives `payment-received` with `amount`, `remaining` and `paidInFull` if
    /// it waits for it. A partner of a creditor that does not let partners take payments
    /// is refused with `PAYMENT_MUST_BE_REPORTED`: it uses `reportPayment`.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: PaymentInput,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let payment = parse_payment(input)?;
        outcome(
            desk(ctx)?
                .record_payment(principal(ctx)?, &case_id, payment, idempotency_key)
                .await,
        )
    }

    /// Records the debtor's promise to pay: one or several dated amounts, kept when the
    /// payments reach each by its date plus the creditor's grace, broken otherwise; the process
    /// receives `promise-kept` or `promise-broken` if it waits for them. A new promise
    /// replaces the open one. The grace (default 3 days) and the zone whose midnight
    /// ends a deadline are the creditor's settings when the promise is made.
    async fn make_promise(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        currency: String,
        parts: Vec<PromisePartInput>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let currency = parse_currency(&currency)?;
        let parts = parts
            .into_iter()
            .map(|p| Ok((p.due, parse_money(&p.amount, currency)?)))
            .collect::<Result<Vec<_>>>()?;
        outcome(
            desk(ctx)?
                .make_promise(principal(ctx)?, &case_id, parts, idempotency_key)
                .await,
        )
    }

    /// Offers an installment plan (agents, partners, supervisors): the exact schedule is
    /// computed here (equal instalments, the last absorbing the remainder; monthly ones on
    /// the first due date's day, or the month's end). A pending offer is withdrawn.
    async fn offer_plan(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        input: PlanInput,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let currency = parse_currency(&input.currency)?;
        let down_payment = match (input.down_payment, input.down_payment_due) {
            (Some(amount), Some(due)) => Some((parse_money(&amount, currency)?, due)),
            (None, None) => None,
            _ => {
                return Err(crate::errors::coded(
                    crate::errors::ErrorCode::InvalidPlan,
                    "a down payment needs both downPayment and downPaymentDue",
                ));
            }
        };
        let terms = PlanTerms {
            total: parse_money(&input.total, currency)?,
            down_payment,
            instalments: input.instalments,
            frequency: input.frequency.into(),
            first_due: input.first_due,
        };
        let schedule =
            schedule(&terms).map_err(|e| errors::api(collections::ledger::LedgerError::Plan(e)))?;
        outcome(
            desk(ctx)?
                .offer_plan(
                    principal(ctx)?,
                    &case_id,
                    terms.total,
                    schedule,
                    input.settlement.unwrap_or(false),
                    idempotency_key,
                )
                .await,
        )
    }

    /// The debtor accepts an offered plan: its instalments are watched from today; the
    /// process receives `plan-accepted`, then `plan-active`, `plan-completed` or
    /// `plan-broken` if it waits for them.
    async fn accept_plan(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        plan_id: u32,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .accept_plan(principal(ctx)?, &case_id, plan_id, idempotency_key)
                .await,
        )
    }

    /// A supervisor approves a settlement offered above an agent's discount limit.
    async fn approve_plan(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        plan_id: u32,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .approve_plan(principal(ctx)?, &case_id, plan_id, idempotency_key)
                .await,
        )
    }

    /// The debtor turns an offered plan down.
    async fn decline_plan(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        plan_id: u32,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .decline_plan(principal(ctx)?, &case_id, plan_id, &reason, idempotency_key)
                .await,
        )
    }

    /// Reverses a payment (returned, charged back): reopens exactly what it paid.
    async fn reverse_payment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reference: String,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .reverse_payment(
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

/// An account as the API takes it: exact decimal strings in the currency's places.
pub(crate) fn new_account(input: AccountInput) -> Result<NewAccount> {
    let currency = parse_currency(&input.currency)?;
    let part = |v: Option<&str>| parse_money(v.unwrap_or("0"), currency);
    Ok(NewAccount {
        id: input.id,
        product: input.product,
        principal: parse_money(&input.principal, currency)?,
        interest: part(input.interest.as_deref())?,
        fees: part(input.fees.as_deref())?,
        costs: part(input.costs.as_deref())?,
        delinquent_since: input.delinquent_since,
        creditor: input
            .creditor_id
            .map_or_else(|| DEFAULT_CREDITOR.to_string(), |c| c.0),
        portfolio: input
            .portfolio
            .unwrap_or_else(|| DEFAULT_PORTFOLIO.to_string()),
    })
}
