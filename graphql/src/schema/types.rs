//! Object types: cases, tasks, debtors, partners, history, definitions.

use async_graphql::{Context, Enum, ID, Json, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use collections::money::{Currency, Money};
use orm::entities::{case_notes, cases, process_definitions, tasks};
use services::access::Principal;
use services::desk::{AgendaItem, TaskKey};
use services::journal::Entry;

use super::debtors::Debtor;
use super::disclosure::disclose;
use super::loaders::Loaders;
use super::{desk, principal};
use crate::errors;
use collections::disclosure::CaseData as Data;

/// Minor units of an unknown currency shown with two places ("1250.50"): no float
/// rounding.
pub fn money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", (minor / 100).abs(), (minor % 100).abs())
}

pub struct Case(pub cases::Model);

#[Object]
impl Case {
    async fn id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// The creditor's own reference (account or loan number).
    async fn external_ref(&self) -> Option<&str> {
        self.0.external_ref.as_deref()
    }
    async fn process_id(&self) -> &str {
        &self.0.process_id
    }
    async fn process_version(&self) -> i32 {
        self.0.process_version
    }
    async fn definition_id(&self) -> ID {
        ID(self.0.definition_id.to_string())
    }
    /// Collection stage: early, late, extrajudicial, legal, closed (as the model names them).
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    /// active, incident, completed or cancelled.
    async fn status(&self) -> &str {
        &self.0.status
    }
    /// Number of entries in the case's history.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn owner(&self) -> Option<&str> {
        self.0.owner.as_deref()
    }
    async fn placement_status(&self) -> Option<&str> {
        self.0.placement_status.as_deref()
    }
    /// What the case owes, as a decimal string in its currency's places (the ledger's
    /// balance once the case has accounts; else the `amountDue` process variable).
    async fn amount_due(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        disclose(ctx, &self.0, Data::Balance).await?;
        let Some(minor) = self.0.amount_due_minor else {
            return Ok(None);
        };
        Ok(Some(
            match self
                .0
                .currency
                .as_deref()
                .and_then(|c| Currency::from_code(c).ok())
            {
                Some(currency) => Money::from_minor(minor, currency).amount().to_string(),
                None => money(minor),
            },
        ))
    }
    async fn currency(&self) -> Option<&str> {
        self.0.currency.as_deref()
    }
    async fn delinquent_since(&self) -> Option<NaiveDate> {
        self.0.delinquent_since
    }
    /// Days past due as of today (the server's clock).
    async fn days_past_due(&self, ctx: &Context<'_>) -> Result<Option<i64>> {
        let today = desk(ctx)?.runtime().clock().now().date_naive();
        Ok(self
            .0
            .delinquent_since
            .map(|d| (today - d).num_days().max(0)))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn debtor(&self, ctx: &Context<'_>) -> Result<Option<Debtor>> {
        let Some(id) = &self.0.debtor_id else {
            return Ok(None);
        };
        let loaders = ctx.data::<Loaders>()?;
        loaders
            .debtors
            .load_one(id.clone())
            .await
            .map_err(|e| (*e).clone())?
            .map(|record| Debtor::of_case(ctx, record, &self.0))
            .transpose()
    }
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        let Some(id) = &self.0.partner else {
            return Ok(None);
        };
        let loaders = ctx.data::<Loaders>()?;
        Ok(loaders
            .partners
            .load_one(id.clone())
            .await
            .map_err(|e| (*e).clone())?
            .map(Partner))
    }
    /// Open tasks (for a partner: those its organisation owns).
    async fn open_tasks(&self, ctx: &Context<'_>) -> Result<Vec<Task>> {
        let loaders = ctx.data::<Loaders>()?;
        Ok(loaders
            .open_tasks
            .load_one(self.0.case_id.clone())
            .await
            .map_err(|e| (*e).clone())?
            .unwrap_or_default()
            .into_iter()
            .map(Task)
            .collect())
    }
    /// What the case owes across its accounts (`null` before an account is opened).
    async fn balance(&self, ctx: &Context<'_>) -> Result<Option<super::ledger::Money>> {
        disclose(ctx, &self.0, Data::Balance).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger.map(|l| l.balance().into()))
    }
    /// Paid beyond what was owed, held for the debtor.
    async fn credit(&self, ctx: &Context<'_>) -> Result<Option<super::ledger::Money>> {
        disclose(ctx, &self.0, Data::Balance).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger.map(|l| l.credit().into()))
    }
    /// Forgiven by paid settlements.
    async fn written_off(&self, ctx: &Context<'_>) -> Result<Option<super::ledger::Money>> {
        disclose(ctx, &self.0, Data::Balance).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger.map(|l| l.written_off().into()))
    }
    /// The debts on the case.
    async fn accounts(&self, ctx: &Context<'_>) -> Result<Vec<super::ledger::Account>> {
        disclose(ctx, &self.0, Data::Balance).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger
            .map(|l| {
                l.accounts()
                    .iter()
                    .cloned()
                    .map(super::ledger::Account)
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Payments recorded on the case, reversed ones included, by reference.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<super::ledger::Payment>> {
        disclose(ctx, &self.0, Data::PaymentHistory).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger
            .map(|l| l.payments().cloned().map(super::ledger::Payment).collect())
            .unwrap_or_default())
    }
    /// Promises to pay made on the case, oldest first.
    async fn promises(&self, ctx: &Context<'_>) -> Result<Vec<super::ledger::PromiseToPay>> {
        disclose(ctx, &self.0, Data::PaymentHistory).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger
            .map(|l| {
                l.promises()
                    .iter()
                    .cloned()
                    .map(super::ledger::PromiseToPay)
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Installment plans offered on the case, oldest first.
    async fn plans(&self, ctx: &Context<'_>) -> Result<Vec<super::ledger::InstallmentPlan>> {
        disclose(ctx, &self.0, Data::PaymentHistory).await?;
        let ledger = super::ledger::of_case(ctx, &self.0.case_id).await?;
        Ok(ledger
            .map(|l| {
                l.plans()
                    .iter()
                    .cloned()
                    .map(super::ledger::InstallmentPlan)
                    .collect()
            })
            .unwrap_or_default())
    }
    /// Payments partners reported for the creditor to confirm, oldest first (a partner
    /// sees its own). Confirmed ones are also in `payments`.
    async fn reported_payments(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::reports::ReportedPayment>> {
        super::reports::of_case_visible(ctx, &self.0.case_id).await
    }
    /// The case's documents, every version.
    async fn documents(&self, ctx: &Context<'_>) -> Result<Vec<super::documents::Document>> {
        super::documents::of_case(ctx, &self.0.case_id).await
    }
    /// Every attempt to contact the debtor or a related party, oldest first, with its
    /// delivery status and outcome (destinations masked for partners).
    async fn contact_attempts(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::contacts::ContactAttempt>> {
        disclose(ctx, &self.0, Data::ContactHistory).await?;
        super::contacts::of_case(ctx, &self.0.case_id).await
    }
    /// May `channel` be used to reach the debtor (or `recipient`: `guarantor`,
    /// `co_debtor`) now? If not, each rule that blocks with its legal reference, and
    /// the next lawful slot in UTC and in the debtor's local time. Asking contacts no
    /// one and is not journalled.
    async fn contact_permission(
        &self,
        ctx: &Context<'_>,
        channel: super::debtors::ContactChannel,
        #[graphql(default = "debtor")] recipient: String,
    ) -> Result<super::compliance::ComplianceDecision> {
        disclose(ctx, &self.0, Data::DebtorContacts).await?;
        super::compliance::permission(ctx, &self.0.case_id, channel, &recipient).await
    }
    /// Every decision the compliance gate journalled on the case, oldest first, with the
    /// rule packs and facts it rested on: auditors, supervisors and admins.
    async fn compliance_decisions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<super::compliance::ComplianceDecision>> {
        super::compliance::decisions(ctx, &self.0.case_id).await
    }
    /// What stopped the case (status `incident`): supervisors, admins and auditors.
    async fn incidents(&self, ctx: &Context<'_>) -> Result<Vec<Incident>> {
        let open = desk(ctx)?
            .incidents(principal(ctx)?, &self.0.case_id)
            .await
            .map_err(errors::api)?;
        Ok(open
            .into_iter()
            .map(|i| Incident {
                id: i.id as i64,
                element_id: i.element_id,
                message: i.message,
                phase: i.phase.to_string(),
            })
            .collect())
    }
    /// Every journal entry, hash-chained: what happened, when, by whom.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<HistoryEntry>> {
        let h = desk(ctx)?
            .history(principal(ctx)?, &self.0.case_id)
            .await
            .map_err(errors::api)?;
        Ok(h.entries.into_iter().map(HistoryEntry).collect())
    }
    /// Recomputes the hash chain of the history.
    async fn history_check(&self, ctx: &Context<'_>) -> Result<HistoryCheck> {
        let c = desk(ctx)?
            .verify_history(principal(ctx)?, &self.0.case_id)
            .await
            .map_err(errors::api)?;
        Ok(HistoryCheck {
            valid: c.problem.is_none(),
            entries: c.entries as i64,
            problem: c.problem,
        })
    }
    /// Comments and recorded activities, oldest first.
    async fn notes(&self, ctx: &Context<'_>) -> Result<Vec<Note>> {
        let n = desk(ctx)?
            .notes(principal(ctx)?, &self.0.case_id)
            .await
            .map_err(errors::api)?;
        Ok(n.into_iter().map(Note).collect())
    }
}

/// A partner's allocation rules.
#[derive(SimpleObject)]
pub struct PartnerAllocation {
    /// ISO 3166-1 alpha-2 countries whose debtors it works; empty: any.
    pub jurisdictions: Vec<String>,
    /// Most cases placed with it at once; null: no limit.
    pub capacity: Option<i32>,
    /// Its share among the partners that qualify; 0 takes none.
    pub weight: i32,
}

#[derive(SimpleObject)]
pub struct HistoryCheck {
    pub valid: bool,
    pub entries: i64,
    pub problem: Option<String>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PartnerKind {
    Agency,
    LawFirm,
}

impl PartnerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerKind::Agency => "agency",
            PartnerKind::LawFirm => "law_firm",
        }
    }
}

pub struct Partner(pub partners::Partner);

#[Object]
impl Partner {
    async fn id(&self) -> ID {
        ID(self.0.partner_id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Which cases it takes when nobody names a partner.
    async fn allocation(&self) -> Result<PartnerAllocation> {
        let rules = partners::allocation::rules_of(&self.0).map_err(errors::api)?;
        Ok(PartnerAllocation {
            jurisdictions: rules.jurisdictions,
            capacity: rules.capacity.map(|c| c as i32),
            weight: rules.weight as i32,
        })
    }
    /// What it may read of the cases placed with it, by stage (the first entry, stage
    /// null, holds for stages without their own).
    async fn disclosure(&self) -> Result<Vec<super::disclosure::StageDisclosure>> {
        let policy = services::desk::disclosure::policy_of(&self.0).map_err(errors::api)?;
        Ok(super::disclosure::stages_of(&policy))
    }
    /// Where its events are sent (admins, supervisors, the partner itself).
    async fn webhook(&self, ctx: &Context<'_>) -> Result<Option<super::webhooks::PartnerWebhook>> {
        let p = super::principal(ctx)?;
        // A partner reaches only its own row; among the creditor's people, only those
        // who manage partners see where their events go.
        if p.role != services::access::Role::Partner {
            services::desk::require(
                p,
                services::access::Operation::ManagePartners,
                "read webhooks",
            )
            .map_err(errors::api)?;
        }
        let webhook = partners::webhooks::config_of(&self.0).map_err(errors::api)?;
        Ok(webhook.map(super::webhooks::PartnerWebhook))
    }
    /// Its own REST API Recobro calls, if set (admins, supervisors; the client secret
    /// is never shown).
    async fn api(&self, ctx: &Context<'_>) -> Result<Option<super::partner_api::PartnerApi>> {
        super::partner_api::api(ctx, &self.0).await
    }
    async fn kind(&self) -> PartnerKind {
        if self.0.kind == "law_firm" {
            PartnerKind::LawFirm
        } else {
            PartnerKind::Agency
        }
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    /// What it earns (null: no contract). Its own users and the creditor's admins and
    /// supervisors only: `FORBIDDEN` for agents and auditors.
    async fn contract(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<super::commissions::PartnerContract>> {
        super::commissions::contract_of(principal(ctx)?, &self.0)
    }
}

pub struct Task(pub tasks::Model);

#[Object]
impl Task {
    /// `<case id>:<task number>`.
    async fn id(&self) -> ID {
        ID(TaskKey {
            case_id: self.0.case_id.clone(),
            task_id: self.0.task_id,
        }
        .to_string())
    }
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    async fn case(&self, ctx: &Context<'_>) -> Result<Case> {
        desk(ctx)?
            .case(principal(ctx)?, &self.0.case_id)
            .await
            .map(Case)
            .map_err(errors::api)
    }
    /// The BPMN element id of the user task.
    async fn element_id(&self) -> &str {
        &self.0.element_id
    }
    async fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }
    /// open, completed or cancelled.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn assignee(&self) -> Option<&str> {
        self.0.assignee.as_deref()
    }
    async fn candidate_groups(&self) -> Vec<String> {
        serde_json::from_str(&self.0.candidate_groups).unwrap_or_default()
    }
    async fn candidate_users(&self) -> Vec<String> {
        serde_json::from_str(&self.0.candidate_users).unwrap_or_default()
    }
    /// 0..100 from the model; 50 when it sets none.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    async fn due_at(&self) -> Option<DateTime<Utc>> {
        self.0.due_at
    }
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    /// The partner organisation that owns this task.
    async fn partner_id(&self) -> Option<ID> {
        self.0.partner.clone().map(ID)
    }
    /// Agenda rank: higher is more urgent.
    async fn rank(&self) -> i64 {
        self.0.rank
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
    async fn completed_by(&self) -> Option<&str> {
        self.0.completed_by.as_deref()
    }
}

pub struct Agenda(pub AgendaItem);

#[Object]
impl Agenda {
    async fn task(&self) -> Task {
        Task(self.0.task.clone())
    }
    async fn score(&self) -> i64 {
        self.0.parts.score()
    }
    async fn priority_points(&self) -> i64 {
        self.0.parts.priority_points
    }
    async fn amount_points(&self) -> i64 {
        self.0.parts.amount_points
    }
    async fn due_points(&self) -> i64 {
        self.0.parts.due_points
    }
    /// The due date the ranking used: the task's, or its creation plus the default SLA.
    async fn effective_due(&self) -> DateTime<Utc> {
        self.0.parts.effective_due
    }
    /// Why the task ranks here, in words.
    async fn reasons(&self) -> &[String] {
        &self.0.reasons
    }
}

/// One open incident of a case.
#[derive(SimpleObject)]
pub struct Incident {
    /// Give it to `resolveIncident`.
    pub id: i64,
    /// The BPMN element that stopped.
    pub element_id: String,
    pub message: String,
    /// `activate`, `complete`, `job` or `unhandled_error`.
    pub phase: String,
}

pub struct HistoryEntry(pub Entry);

#[Object]
impl HistoryEntry {
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// What happened: CaseOpened, TaskCompleted, CasePlaced, ...
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    async fn payload(&self) -> Json<serde_json::Value> {
        Json(self.0.payload.clone())
    }
    /// Who did it: `role:subject[@partner]`, or `system:...`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    async fn recorded_at(&self) -> DateTime<Utc> {
        self.0.recorded_at
    }
    async fn prev_hash(&self) -> &str {
        &self.0.prev_hash
    }
    async fn hash(&self) -> &str {
        &self.0.hash
    }
}

pub struct Note(pub case_notes::Model);

#[Object]
impl Note {
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    /// `comment`, or the activity kind (call, letter, visit, filing, ...).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    async fn task_id(&self) -> Option<ID> {
        self.0
            .task_id
            .map(|t| ID(format!("{}:{t}", self.0.case_id)))
    }
    async fn author(&self) -> &str {
        &self.0.author
    }
    async fn text(&self) -> &str {
        &self.0.text
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

pub struct ProcessDefinition(pub process_definitions::Model);

#[Object]
impl ProcessDefinition {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn process_id(&self) -> &str {
        &self.0.process_id
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// SHA-256 of the XML.
    async fn content_hash(&self) -> &str {
        &self.0.content_hash
    }
    async fn deployed_by(&self) -> &str {
        &self.0.deployed_by
    }
    async fn deployed_at(&self) -> DateTime<Utc> {
        self.0.deployed_at
    }
    /// The BPMN XML as deployed.
    async fn xml(&self) -> &str {
        &self.0.bpmn_xml
    }
}

/// The caller, as the server understood their token.
#[derive(SimpleObject)]
pub struct Me {
    pub subject: String,
    pub tenant: String,
    pub role: String,
    pub partner_id: Option<ID>,
    pub groups: Vec<String>,
}

impl From<&Principal> for Me {
    fn from(p: &Principal) -> Self {
        Me {
            subject: p.subject.clone(),
            tenant: p.tenant.clone(),
            role: p.role.as_str().to_string(),
            partner_id: p.partner.clone().map(ID),
            groups: p.groups.clone(),
        }
    }
}
