//! Data minimisation at the API: a partner reads of a case only the kinds of data its
//! policy gives it at the case's stage, and each kind of a debtor's personal data it
//! reads is logged once per request, before the answer leaves (decision 0023).

use std::collections::BTreeSet;
use std::sync::Mutex;

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use collections::disclosure::{CaseData as Data, DisclosurePolicy};
use orm::entities::cases;
use partners::disclosure::{PartnerRead, PartnerReadEntry};
use services::access::{Principal, Role};

use super::{desk, principal};
use crate::errors::{self, ErrorCode, coded};

/// A kind of case data a partner may be given.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "collections::disclosure::CaseData")]
pub enum CaseData {
    /// Name, kind, language, jurisdiction, time zone.
    DebtorIdentity,
    /// Contact points, consents, flags in force, parties that may be told.
    DebtorContacts,
    /// Balance, accounts, amount due.
    Balance,
    /// Payments, promises, installment plans.
    PaymentHistory,
    /// Contact attempts, call recordings.
    ContactHistory,
    /// The contract and identity documents.
    ContractDocuments,
    /// Account statements.
    AccountStatements,
}

/// A request's partner reads, and its partner's policy once looked up.
#[derive(Default)]
pub struct PartnerReads {
    policy: tokio::sync::OnceCell<DisclosurePolicy>,
    reads: Mutex<BTreeSet<PartnerRead>>,
    /// The stages of each debtor's cases placed with the partner, once read: a list of
    /// debtors asks for each field of each.
    stages: Mutex<std::collections::HashMap<String, Vec<Option<String>>>>,
}

impl PartnerReads {
    /// What the request read, each kind of each case once; taken, so a second call
    /// gives nothing.
    pub fn take(&self) -> BTreeSet<PartnerRead> {
        std::mem::take(&mut *self.reads.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn note(&self, read: PartnerRead) {
        self.reads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(read);
    }
}

fn is_partner(p: &Principal) -> bool {
    p.role == Role::Partner
}

async fn policy<'a>(ctx: &Context<'a>) -> Result<&'a DisclosurePolicy> {
    let reads = ctx.data::<std::sync::Arc<PartnerReads>>()?;
    reads
        .policy
        .get_or_try_init(|| async {
            desk(ctx)?
                .partner_policy(principal(ctx)?)
                .await
                .map_err(errors::api)?
                .ok_or_else(|| coded(ErrorCode::Forbidden, "not a partner"))
        })
        .await
}

fn refused(data: Data, stage: Option<&str>) -> async_graphql::Error {
    coded(
        ErrorCode::Forbidden,
        format!(
            "partner may not read {} of a case at stage {}",
            data.as_str(),
            stage.unwrap_or("(none)")
        ),
    )
}

/// Lets a partner read `data` of `case` (recording the read), or refuses; anyone else
/// reads what the role table lets it.
pub async fn disclose(ctx: &Context<'_>, case: &cases::Model, data: Data) -> Result<()> {
    if !is_partner(principal(ctx)?) {
        return Ok(());
    }
    if !policy(ctx).await?.allows(case.stage.as_deref(), data) {
        return Err(refused(data, case.stage.as_deref()));
    }
    ctx.data::<std::sync::Arc<PartnerReads>>()?
        .note(PartnerRead {
            case_id: Some(case.case_id.clone()),
            debtor_id: case.debtor_id.clone(),
            data,
        });
    Ok(())
}

/// A debtor reached without a case (looked up by reference): a partner reads what any
/// of the debtor's cases placed with it allows.
pub async fn disclose_debtor(ctx: &Context<'_>, debtor_id: &str, data: Data) -> Result<()> {
    let p = principal(ctx)?;
    if !is_partner(p) {
        return Ok(());
    }
    let reads = ctx.data::<std::sync::Arc<PartnerReads>>()?;
    let known = reads
        .stages
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(debtor_id)
        .cloned();
    let stages = match known {
        Some(stages) => stages,
        None => {
            let stages = desk(ctx)?
                .placed_case_stages(p, debtor_id)
                .await
                .map_err(errors::api)?;
            reads
                .stages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(debtor_id.to_string(), stages.clone());
            stages
        }
    };
    let policy = policy(ctx).await?;
    if !stages.iter().any(|s| policy.allows(s.as_deref(), data)) {
        return Err(refused(data, stages.first().and_then(|s| s.as_deref())));
    }
    ctx.data::<std::sync::Arc<PartnerReads>>()?
        .note(PartnerRead {
            case_id: None,
            debtor_id: Some(debtor_id.to_string()),
            data,
        });
    Ok(())
}

/// What a partner may read at a stage (`stage` null: at stages without their own).
#[derive(SimpleObject)]
pub struct StageDisclosure {
    pub stage: Option<String>,
    pub data: Vec<CaseData>,
}

pub fn stages_of(policy: &DisclosurePolicy) -> Vec<StageDisclosure> {
    let list = |set: &BTreeSet<Data>| set.iter().map(|&d| d.into()).collect();
    std::iter::once(StageDisclosure {
        stage: None,
        data: list(&policy.default),
    })
    .chain(policy.stages.iter().map(|(s, set)| StageDisclosure {
        stage: Some(s.clone()),
        data: list(set),
    }))
    .collect()
}

/// One read of a debtor's personal data by a partner.
pub struct PartnerReadLogEntry(pub PartnerReadEntry);

#[Object]
impl PartnerReadLogEntry {
    async fn partner_id(&self) -> ID {
        ID(self.0.partner_id.clone())
    }
    /// `partner:subject@partner`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// The case read through; null when the debtor was looked up directly.
    async fn case_id(&self) -> Option<ID> {
        self.0.case_id.clone().map(ID)
    }
    async fn debtor_id(&self) -> Option<ID> {
        self.0.debtor_id.clone().map(ID)
    }
    async fn data(&self) -> Option<CaseData> {
        Data::parse(&self.0.data).map(Into::into)
    }
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}
