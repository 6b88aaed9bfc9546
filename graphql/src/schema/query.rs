//! Queries.

use async_graphql::connection::{Connection, Edge, OpaqueCursor};
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};
use collections::money::{Currency, Money};
use services::desk::{CaseFilter, TaskKey};

use super::types::{Agenda, Case, Me, Partner, ProcessDefinition, Task};
use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

type CaseCursor = OpaqueCursor<(DateTime<Utc>, String)>;
type TaskCursor = OpaqueCursor<(i64, String, i64)>;

pub(super) fn decode<T: serde::de::DeserializeOwned + serde::Serialize>(
    after: Option<String>,
) -> Result<Option<T>> {
    after
        .map(|s| {
            async_graphql::connection::CursorType::decode_cursor(&s)
                .map(|c: OpaqueCursor<T>| c.0)
                .map_err(|_| coded(ErrorCode::BadCursor, "the cursor is malformed"))
        })
        .transpose()
}

/// Case list filters, combined with AND.
#[derive(InputObject, Default)]
pub struct CaseFilterInput {
    pub stage: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub partner_id: Option<ID>,
    pub process_id: Option<String>,
    pub debtor_id: Option<String>,
    pub external_ref: Option<String>,
    /// Major units read with two decimal places whatever the currency.
    #[graphql(
        deprecation = "a float cannot hold money exactly and ignores the currency: use minBalance/maxBalance with balanceCurrency"
    )]
    pub min_amount: Option<f64>,
    #[graphql(
        deprecation = "a float cannot hold money exactly and ignores the currency: use minBalance/maxBalance with balanceCurrency"
    )]
    pub max_amount: Option<f64>,
    /// Cases owing at least this much: a decimal string in `balanceCurrency`.
    pub min_balance: Option<String>,
    /// Cases owing at most this much: a decimal string in `balanceCurrency`.
    pub max_balance: Option<String>,
    /// ISO 4217; required with a balance bound, and only cases in it match.
    pub balance_currency: Option<String>,
    pub min_days_past_due: Option<i64>,
    pub max_days_past_due: Option<i64>,
}

fn minor(v: Option<f64>) -> Result<Option<i64>> {
    v.map(|a| {
        if a.is_finite() && a.abs() < 1e13 {
            Ok((a * 100.0).round() as i64)
        } else {
            Err(coded(
                ErrorCode::BadInput,
                format!("amount {a} is out of range"),
            ))
        }
    })
    .transpose()
}

/// A balance bound in its currency's minor units.
fn bound(amount: Option<&str>, currency: Option<Currency>) -> Result<Option<i64>> {
    let Some(amount) = amount else {
        return Ok(None);
    };
    let currency = currency.ok_or_else(|| {
        coded(
            ErrorCode::BadInput,
            "a balance bound needs balanceCurrency: amounts in different currencies do not compare",
        )
    })?;
    Money::parse(amount, currency)
        .map(|m| Some(m.minor()))
        .map_err(errors::api)
}

impl CaseFilterInput {
    pub(super) fn into_filter(self) -> Result<CaseFilter> {
        let currency = self
            .balance_currency
            .as_deref()
            .map(Currency::from_code)
            .transpose()
            .map_err(errors::api)?;
        let min_balance = bound(self.min_balance.as_deref(), currency)?;
        let max_balance = bound(self.max_balance.as_deref(), currency)?;
        Ok(CaseFilter {
            currency: currency.map(|c| c.code().to_string()),
            min_balance_minor: min_balance,
            max_balance_minor: max_balance,
            stage: self.stage,
            status: self.status,
            owner: self.owner,
            partner: self.partner_id.map(|p| p.0),
            process_id: self.process_id,
            debtor_id: self.debtor_id,
            external_ref: self.external_ref,
            min_amount_minor: minor(self.min_amount)?,
            max_amount_minor: minor(self.max_amount)?,
            min_days_past_due: self.min_days_past_due,
            max_days_past_due: self.max_days_past_due,
        })
    }
}

pub(super) fn task_key(id: &ID) -> Result<TaskKey> {
    TaskKey::parse(id).ok_or_else(|| {
        coded(
            ErrorCode::TaskNotFound,
            format!("task {} does not exist", id.0),
        )
    })
}

pub(super) fn task_connection(page: services::desk::TaskPage) -> Connection<TaskCursor, Task> {
    let mut conn = Connection::new(false, page.has_next);
    conn.edges.extend(page.tasks.into_iter().map(|t| {
        let cursor = OpaqueCursor((t.rank, t.case_id.clone(), t.task_id));
        Edge::new(cursor, Task(t))
    }));
    conn
}

/// A list field costs its page size times what each item asks for, so aliasing many
/// big pages hits the complexity limit.
pub(super) fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let n = first
        .unwrap_or(20)
        .clamp(1, services::desk::MAX_PAGE as i32) as usize;
    n.saturating_mul(child_complexity.max(1))
}

#[derive(Default)]
pub struct CaseQuery;

#[Object]
impl CaseQuery {
    /// Who the server thinks you are.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        Ok(Me::from(principal(ctx)?))
    }

    /// Deployed process versions, newest first.
    async fn process_definitions(
        &self,
        ctx: &Context<'_>,
        process_id: Option<String>,
    ) -> Result<Vec<ProcessDefinition>> {
        let rows = desk(ctx)?
            .definitions(principal(ctx)?, process_id.as_deref())
            .await
            .map_err(errors::api)?;
        Ok(rows.into_iter().map(ProcessDefinition).collect())
    }

    async fn process_definition(&self, ctx: &Context<'_>, id: ID) -> Result<ProcessDefinition> {
        let id: i64 = id.parse().map_err(|_| {
            coded(
                ErrorCode::DefinitionNotFound,
                format!("process definition {} does not exist", id.0),
            )
        })?;
        desk(ctx)?
            .definition(principal(ctx)?, id)
            .await
            .map(ProcessDefinition)
            .map_err(errors::api)
    }

    /// One case; `CASE_NOT_FOUND` when it does not exist or is not yours to see.
    async fn case(&self, ctx: &Context<'_>, id: ID) -> Result<Case> {
        desk(ctx)?
            .case(principal(ctx)?, &id)
            .await
            .map(Case)
            .map_err(errors::api)
    }

    /// Cases, newest first. A partner sees only cases placed with it.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn cases(
        &self,
        ctx: &Context<'_>,
        filter: Option<CaseFilterInput>,
        #[graphql(desc = "1 to 100; default 20")] first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<CaseCursor, Case>> {
        let after = decode::<(DateTime<Utc>, String)>(after)?;
        let filter = filter.unwrap_or_default().into_filter()?;
        let page = desk(ctx)?
            .list_cases(principal(ctx)?, &filter, first.map(i64::from), after)
            .await
            .map_err(errors::api)?;
        let mut conn = Connection::new(false, page.has_next);
        conn.edges.extend(
            page.cases
                .into_iter()
                .map(|c| Edge::new(OpaqueCursor((c.created_at, c.case_id.clone())), Case(c))),
        );
        Ok(conn)
    }

    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        desk(ctx)?
            .task(principal(ctx)?, &task_key(&id)?)
            .await
            .map(Task)
            .map_err(errors::api)
    }

    /// Unclaimed open tasks of a candidate group, most urgent first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn queue(
        &self,
        ctx: &Context<'_>,
        group: String,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<TaskCursor, Task>> {
        let after = decode::<(i64, String, i64)>(after)?;
        let page = desk(ctx)?
            .queue(principal(ctx)?, &group, first.map(i64::from), after)
            .await
            .map_err(errors::api)?;
        Ok(task_connection(page))
    }

    /// Open tasks assigned to you, most urgent first.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn my_tasks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<TaskCursor, Task>> {
        let after = decode::<(i64, String, i64)>(after)?;
        let page = desk(ctx)?
            .my_tasks(principal(ctx)?, first.map(i64::from), after)
            .await
            .map_err(errors::api)?;
        Ok(task_connection(page))
    }

    /// The next tasks you should work, ranked by priority, due date and amount at stake,
    /// each with the reasons for its place.
    #[graphql(complexity = "page_cost(Some(first), child_complexity)")]
    async fn agenda(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: i32,
    ) -> Result<Vec<Agenda>> {
        let items = desk(ctx)?
            .agenda(principal(ctx)?, i64::from(first))
            .await
            .map_err(errors::api)?;
        Ok(items.into_iter().map(Agenda).collect())
    }

    /// A document (its latest version unless `version`).
    async fn document(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: Option<i32>,
    ) -> Result<super::documents::Document> {
        super::documents::DocumentQuery::document(ctx, id, version).await
    }

    /// Every version of a document, oldest first.
    async fn document_versions(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Vec<super::documents::Document>> {
        super::documents::DocumentQuery::versions(ctx, id).await
    }

    /// Who downloaded which document when (auditors, admins), newest first.
    async fn document_access_log(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
        document_id: Option<ID>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<Vec<super::documents::AccessRecord>> {
        super::documents::DocumentQuery::access_log(ctx, case_id, document_id, first).await
    }

    /// Every read of a debtor's personal data by a partner (auditors, admins), newest
    /// first: who, through which case, what kind of data, when.
    async fn partner_read_log(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
        partner_id: Option<ID>,
        #[graphql(default = 100)] first: i32,
    ) -> Result<Vec<super::disclosure::PartnerReadLogEntry>> {
        let rows = super::partners(ctx)?
            .read_log(
                principal(ctx)?,
                case_id.as_ref().map(|c| c.as_str()),
                partner_id.as_ref().map(|c| c.as_str()),
                first.clamp(1, 1000) as u64,
            )
            .await
            .map_err(errors::api)?;
        Ok(rows
            .into_iter()
            .map(super::disclosure::PartnerReadLogEntry)
            .collect())
    }

    /// Re-hashes stored documents (of one case, or your tenant) against their records.
    async fn verify_documents(
        &self,
        ctx: &Context<'_>,
        case_id: Option<ID>,
    ) -> Result<super::documents::IntegrityReport> {
        super::documents::DocumentQuery::verify(ctx, case_id).await
    }

    /// API clients of partner systems in your tenant (admins).
    async fn api_clients(&self, ctx: &Context<'_>) -> Result<Vec<super::clients::ApiClient>> {
        super::clients::list(ctx).await
    }

    /// A creditor's settings in force (the defaults if nobody has set them); agents,
    /// supervisors, admins and auditors.
    async fn creditor(&self, ctx: &Context<'_>, id: ID) -> Result<super::creditors::Creditor> {
        super::creditors::CreditorQuery::creditor(ctx, id).await
    }

    /// The creditors whose settings were set, by id.
    async fn creditors(&self, ctx: &Context<'_>) -> Result<Vec<super::creditors::Creditor>> {
        super::creditors::CreditorQuery::creditors(ctx).await
    }

    /// Partner organisations (a partner sees its own).
    async fn partners(&self, ctx: &Context<'_>) -> Result<Vec<Partner>> {
        let rows = super::partners(ctx)?
            .list(principal(ctx)?)
            .await
            .map_err(errors::api)?;
        Ok(rows.into_iter().map(Partner).collect())
    }
}
