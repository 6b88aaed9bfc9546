//! Cases: open, read, list, history, migrate, cancel, owner, messages.

use std::collections::BTreeMap;

use bpmn::expr::Vars;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use orm::entities::{case_notes, cases};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{Desk, DeskError, page_size, require};
use crate::access::{Operation, Principal, Role};
use crate::case::CaseFact;
use crate::journal::{Entry, verify_chain};
use crate::runtime::Outcome;

#[derive(Debug, Clone, Default)]
pub struct NewCase {
    pub process_id: String,
    pub version: Option<i32>,
    pub external_ref: Option<String>,
    pub debtor_id: Option<String>,
    pub debtor_name: Option<String>,
    /// Major units, e.g. 1250.50.
    pub amount_due: Option<f64>,
    pub currency: Option<String>,
    pub delinquent_since: Option<NaiveDate>,
    pub variables: Vars,
    pub idempotency_key: Option<String>,
    /// Debts opened with the case, in its first journal entry: the process's first
    /// steps (a reminder) already see the balance.
    pub accounts: Vec<collections::ledger::NewAccount>,
}

/// Filters for case lists; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub stage: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub partner: Option<String>,
    pub process_id: Option<String>,
    pub debtor_id: Option<String>,
    pub external_ref: Option<String>,
    /// Deprecated bounds in hundredths, whatever the currency.
    pub min_amount_minor: Option<i64>,
    pub max_amount_minor: Option<i64>,
    /// Only cases in this currency (ISO 4217).
    pub currency: Option<String>,
    /// Bounds in minor units of `currency`.
    pub min_balance_minor: Option<i64>,
    pub max_balance_minor: Option<i64>,
    pub min_days_past_due: Option<i64>,
    pub max_days_past_due: Option<i64>,
}

/// One page of cases, newest first.
#[derive(Debug, Clone)]
pub struct CasePage {
    pub cases: Vec<cases::Model>,
    pub has_next: bool,
}

#[derive(Debug, Clone)]
pub struct CaseHistory {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryCheck {
    pub entries: usize,
    /// Why the chain does not verify; `None` when it does.
    pub problem: Option<String>,
}

impl Desk {
    /// The case if the caller may see it; otherwise the same answer as a missing case.
    pub async fn case(&self, p: &Principal, case_id: &str) -> Result<cases::Model, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        self.visible_case(p, case_id).await
    }

    pub(super) async fn visible_case(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<cases::Model, DeskError> {
        let row = cases::Entity::find_by_id(case_id.to_string())
            .one(&self.db)
            .await?;
        match row {
            Some(c)
                if c.tenant == p.tenant && (p.role != Role::Partner || c.partner == p.partner) =>
            {
                Ok(c)
            }
            _ => Err(DeskError::CaseNotFound(case_id.to_string())),
        }
    }

    pub async fn open_case(&self, p: &Principal, new: NewCase) -> Result<Outcome, DeskError> {
        require(p, Operation::OpenCase, "open cases")?;
        let mut vars = new.variables;
        let mut set = |k: &str, v: serde_json::Value| {
            vars.insert(k.to_string(), v);
        };
        if let Some(d) = new.debtor_id {
            if d.trim().is_empty() {
                return Err(DeskError::Invalid("the debtor id must not be empty".into()));
            }
            set("debtorId", d.into());
        }
        if let Some(n) = new.debtor_name {
            set("debtorName", n.into());
        }
        // The deprecated float becomes the case's first account, checked before anything
        // is written; models that read `amountDue` still find it.
        let legacy_debt = match (new.amount_due, new.currency.as_deref()) {
            (Some(a), Some(currency)) => Some(super::legacy::money_of_float(a, currency)?),
            (Some(a), None) => {
                super::legacy::money_of_float(a, "USD")?;
                None
            }
            (None, _) => None,
        };
        if let Some(a) = new.amount_due {
            set("amountDue", serde_json::json!(a));
        }
        if let Some(c) = new.currency {
            set("currency", c.into());
        }
        if let Some(d) = new.delinquent_since {
            set("delinquentSince", d.format("%Y-%m-%d").to_string().into());
        }
        // Payments and bank files name the creditor's reference, so models correlate on it.
        if let Some(r) = &new.external_ref {
            set("externalRef", r.clone().into());
        }
        let since = new
            .delinquent_since
            .unwrap_or_else(|| self.clock.now().date_naive());
        let mut accounts = Vec::with_capacity(new.accounts.len() + 1);
        if let Some(principal) = legacy_debt {
            accounts.push(super::legacy::legacy_account(
                new.external_ref.as_deref(),
                principal,
                since,
            ));
        }
        // The deprecated float stays open to whoever may open cases, as it always was;
        // exact accounts need the right to open debts.
        if !new.accounts.is_empty() {
            require(p, Operation::ManageAccounts, "open cases with their debts")?;
        }
        for account in new.accounts {
            accounts.push(super::ledger::checked_account(account)?);
        }
        Ok(self
            .runtime
            .open_case_with_accounts(
                &p.tenant,
                &new.process_id,
                new.version,
                new.external_ref.clone(),
                vars,
                accounts,
                &p.acting_identity(),
                new.idempotency_key,
            )
            .await?)
    }

    pub async fn list_cases(
        &self,
        p: &Principal,
        filter: &CaseFilter,
        first: Option<i64>,
        after: Option<(DateTime<Utc>, String)>,
    ) -> Result<CasePage, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        let n = page_size(first)?;
        let mut q = cases::Entity::find().filter(cases::Column::Tenant.eq(p.tenant.as_str()));
        if p.role == Role::Partner {
            // Whatever the filter says, a partner sees its own placements only.
            q = q.filter(cases::Column::Partner.eq(p.partner.clone()));
        }
        let f = filter;
        if let Some(v) = &f.stage {
            q = q.filter(cases::Column::Stage.eq(v.as_str()));
        }
        if let Some(v) = &f.status {
            q = q.filter(cases::Column::Status.eq(v.as_str()));
        }
        if let Some(v) = &f.owner {
            q = q.filter(cases::Column::Owner.eq(v.as_str()));
        }
        if let Some(v) = &f.partner {
            q = q.filter(cases::Column::Partner.eq(v.as_str()));
        }
        if let Some(v) = &f.process_id {
            q = q.filter(cases::Column::ProcessId.eq(v.as_str()));
        }
        if let Some(v) = &f.debtor_id {
            q = q.filter(cases::Column::DebtorId.eq(v.as_str()));
        }
        if let Some(v) = &f.external_ref {
            q = q.filter(cases::Column::ExternalRef.eq(v.as_str()));
        }
        if let Some(v) = f.min_amount_minor {
            q = q.filter(cases::Column::AmountDueMinor.gte(v));
        }
        if let Some(v) = f.max_amount_minor {
            q = q.filter(cases::Column::AmountDueMinor.lte(v));
        }
        if let Some(v) = &f.currency {
            q = q.filter(cases::Column::Currency.eq(v.as_str()));
        }
        if let Some(v) = f.min_balance_minor {
            q = q.filter(cases::Column::AmountDueMinor.gte(v));
        }
        if let Some(v) = f.max_balance_minor {
            q = q.filter(cases::Column::AmountDueMinor.lte(v));
        }
        // Days past due grow daily: filter on the stored delinquency date instead.
        let today = self.clock.now().date_naive();
        if let Some(d) = f.min_days_past_due {
            q = q.filter(cases::Column::DelinquentSince.lte(today - Duration::days(d)));
        }
        if let Some(d) = f.max_days_past_due {
            q = q.filter(cases::Column::DelinquentSince.gte(today - Duration::days(d)));
        }
        if let Some((at, id)) = after {
            q = q.filter(
                Condition::any().add(cases::Column::CreatedAt.lt(at)).add(
                    Condition::all()
                        .add(cases::Column::CreatedAt.eq(at))
                        .add(cases::Column::CaseId.lt(id)),
                ),
            );
        }
        let mut rows = q
            .order_by_desc(cases::Column::CreatedAt)
            .order_by_desc(cases::Column::CaseId)
            .limit(n + 1)
            .all(&self.db)
            .await?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        Ok(CasePage {
            cases: rows,
            has_next,
        })
    }

    pub async fn history(&self, p: &Principal, case_id: &str) -> Result<CaseHistory, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        self.visible_case(p, case_id).await?;
        require(p, Operation::ReadHistory, "read case histories")?;
        Ok(CaseHistory {
            entries: self
                .runtime
                .store()
                .journal(case_id, 0)
                .await
                .map_err(crate::runtime::RuntimeError::from)?,
        })
    }

    pub async fn verify_history(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<HistoryCheck, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        self.visible_case(p, case_id).await?;
        require(p, Operation::VerifyHistory, "verify case histories")?;
        let entries = self
            .runtime
            .store()
            .journal(case_id, 0)
            .await
            .map_err(crate::runtime::RuntimeError::from)?;
        Ok(HistoryCheck {
            entries: entries.len(),
            problem: verify_chain(&entries).err().map(|e| e.to_string()),
        })
    }

    pub async fn notes(
        &self,
        p: &Principal,
        case_id: &str,
    ) -> Result<Vec<case_notes::Model>, DeskError> {
        self.case(p, case_id).await?;
        let mut q = case_notes::Entity::find().filter(case_notes::Column::CaseId.eq(case_id));
        // A partner reads its own organisation's notes only: the creditor's are internal
        // ("do not settle below 80 %"), and the agency before it is another firm.
        if p.role == Role::Partner {
            let ours = format!("@{}", p.partner.as_deref().unwrap_or_default());
            q = q
                .filter(case_notes::Column::Author.starts_with("partner:"))
                .filter(case_notes::Column::Author.ends_with(ours));
        }
        Ok(q.order_by_asc(case_notes::Column::Seq)
            .all(&self.db)
            .await?)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn migrate_case(
        &self,
        p: &Principal,
        case_id: &str,
        process_id: &str,
        version: i32,
        mapping: BTreeMap<String, String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        require(p, Operation::ReadCase, "read cases")?;
        self.visible_case(p, case_id).await?;
        require(p, Operation::MigrateCase, "migrate cases")?;
        Ok(self
            .runtime
            .migrate_case(
                case_id,
                process_id,
                version,
                mapping,
                &p.acting_identity(),
                idempotency_key,
            )
            .await?)
    }

    pub async fn cancel_case(
        &self,
        p: &Principal,
        case_id: &str,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::CancelCase, "cancel cases")?;
        Ok(self
            .runtime
            .cancel_case(case_id, &p.acting_identity(), idempotency_key)
            .await?)
    }

    pub async fn assign_owner(
        &self,
        p: &Principal,
        case_id: &str,
        owner: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<Outcome, DeskError> {
        self.case(p, case_id).await?;
        require(p, Operation::AssignOwner, "assign case owners")?;
        Ok(self
            .runtime
            .record_fact(
                case_id,
                CaseFact::OwnerAssigned { owner },
                &p.acting_identity(),
                idempotency_key,
            )
            .await?)
    }

    /// Correlates a message to one case, or (not for partners) to every case waiting for
    /// the name and correlation key.
    pub async fn correlate_message(
        &self,
        p: &Principal,
        case_id: Option<&str>,
        name: &str,
        correlation_key: Option<&str>,
        variables: Vars,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<Outcome>, DeskError> {
        require(p, Operation::CorrelateMessage, "correlate messages")?;
        if name.trim().is_empty() {
            return Err(DeskError::Invalid(
                "the message name must not be empty".into(),
            ));
        }
        match case_id {
            Some(id) => {
                self.visible_case(p, id).await?;
            }
            None if p.role == Role::Partner => {
                return Err(DeskError::Invalid(
                    "partners correlate messages to one case: give its id".into(),
                ));
            }
            None => {}
        }
        let targets = match case_id {
            Some(id) => vec![id.to_string()],
            None => self
                .runtime
                .store()
                .subscribers(name, correlation_key)
                .await
                .map_err(crate::runtime::RuntimeError::from)?,
        };
        let mut out = Vec::new();
        for id in targets {
            // Broadcasts stay inside the caller's tenant.
            if case_id.is_none() && self.visible_case(p, &id).await.is_err() {
                continue;
            }
            out.extend(
                self.runtime
                    .correlate_message(
                        Some(&id),
                        name,
                        correlation_key,
                        variables.clone(),
                        &p.acting_identity(),
                        idempotency_key,
                    )
                    .await?,
            );
        }
        Ok(out)
    }
}
