//! Creditors' settings over GraphQL: read by internal users and auditors, set by
//! supervisors and admins. Every rule (roles, validation) is the desk's.

use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use collections::allocation::Component;
use collections::creditor::SettingsChange;
use services::desk::Creditor as DeskCreditor;

use super::ledger::DebtComponent;
use super::{desk, principal};
use crate::errors;

/// A creditor (whose receivables a case's accounts are) and its settings in force. A
/// creditor nobody has set up has the defaults.
pub struct Creditor(pub DeskCreditor);

#[Object]
impl Creditor {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The order a payment pays the parts of the debts in (default COSTS, FEES,
    /// INTEREST, PRINCIPAL); every account's first part before any account's second.
    async fn allocation_order(&self) -> Vec<DebtComponent> {
        self.0
            .settings
            .allocation_order
            .components()
            .into_iter()
            .map(DebtComponent::from)
            .collect()
    }
    /// Days after a promised date before a shortfall breaks the promise (default 3).
    async fn promise_grace_days(&self) -> u32 {
        self.0.settings.promise_grace_days
    }
    /// Days after an instalment's date before a shortfall breaks the plan (default 3).
    async fn plan_grace_days(&self) -> u32 {
        self.0.settings.plan_grace_days
    }
    /// The largest settlement discount, in percent of the balance, an agent or partner
    /// may offer without a supervisor's approval (default 10).
    async fn settlement_limit_percent(&self) -> u32 {
        u32::from(self.0.settings.settlement_limit_percent)
    }
    /// The IANA zone in which deadlines (a promised date or an instalment's, plus grace)
    /// end at midnight, and in which "today" is counted (default UTC).
    async fn time_zone(&self) -> &str {
        self.0.settings.time_zone.name()
    }
    /// ISO 3166-1 alpha-2 country whose law governs the creditor's collections.
    async fn jurisdiction(&self) -> Option<&str> {
        self.0.settings.jurisdiction.as_ref().map(|c| c.code())
    }
    /// Whether partners may take payments (`recordPayment`); if not, they report them
    /// (`reportPayment`) for the creditor to confirm. Never under Mexican law.
    async fn partners_take_payments(&self) -> bool {
        self.0.settings.partners_take_payments
    }
    /// When the settings were last set; `null` while they are the defaults.
    async fn updated_at(&self) -> Option<DateTime<Utc>> {
        self.0.updated.as_ref().map(|(at, _)| *at)
    }
    async fn updated_by(&self) -> Option<&str> {
        self.0.updated.as_ref().map(|(_, by)| by.as_str())
    }
}

/// A change to a creditor's settings: fields left out keep their value.
#[derive(InputObject, Default)]
pub struct CreditorSettingsInput {
    /// Each of the four parts exactly once.
    pub allocation_order: Option<Vec<DebtComponent>>,
    /// 0 to 365.
    pub promise_grace_days: Option<i64>,
    /// 0 to 365.
    pub plan_grace_days: Option<i64>,
    /// 0 to 100.
    pub settlement_limit_percent: Option<i64>,
    /// An IANA zone name, e.g. "America/Mexico_City".
    pub time_zone: Option<String>,
    /// ISO 3166-1 alpha-2; "" clears it. A new jurisdiction brings its law's default for
    /// `partnersTakePayments` unless that is given too.
    pub jurisdiction: Option<String>,
    pub partners_take_payments: Option<bool>,
}

impl From<CreditorSettingsInput> for SettingsChange {
    fn from(i: CreditorSettingsInput) -> Self {
        SettingsChange {
            allocation_order: i
                .allocation_order
                .map(|o| o.into_iter().map(Component::from).collect()),
            promise_grace_days: i.promise_grace_days,
            plan_grace_days: i.plan_grace_days,
            settlement_limit_percent: i.settlement_limit_percent,
            time_zone: i.time_zone,
            jurisdiction: i.jurisdiction,
            partners_take_payments: i.partners_take_payments,
        }
    }
}

/// The queries, called from [`super::Query`].
pub struct CreditorQuery;

impl CreditorQuery {
    pub async fn creditor(ctx: &Context<'_>, id: ID) -> Result<Creditor> {
        desk(ctx)?
            .creditor(principal(ctx)?, &id)
            .await
            .map(Creditor)
            .map_err(errors::api)
    }

    pub async fn creditors(ctx: &Context<'_>) -> Result<Vec<Creditor>> {
        let all = desk(ctx)?
            .creditors(principal(ctx)?)
            .await
            .map_err(errors::api)?;
        Ok(all.into_iter().map(Creditor).collect())
    }
}

#[derive(Default)]
pub struct CreditorMutation;

#[Object]
impl CreditorMutation {
    /// Changes a creditor's settings (supervisors, admins). Operations already made keep
    /// the settings they were made under: a payment its allocation order, a promise or
    /// plan its grace and zone.
    async fn set_creditor_settings(
        &self,
        ctx: &Context<'_>,
        creditor_id: ID,
        input: CreditorSettingsInput,
    ) -> Result<Creditor> {
        desk(ctx)?
            .set_creditor_settings(principal(ctx)?, &creditor_id, input.into())
            .await
            .map(Creditor)
            .map_err(errors::api)
    }
}
