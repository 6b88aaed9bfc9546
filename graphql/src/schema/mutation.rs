//! Mutations. Each command accepts an optional `idempotencyKey`: repeating a key returns
//! the first result and changes nothing.

use std::collections::BTreeMap;

use async_graphql::{Context, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::NaiveDate;
use partners::NewPartner;
use services::desk::NewCase;
use services::runtime::Outcome;

use super::query::task_key;
use super::types::{Case, Partner, PartnerKind, ProcessDefinition};
use super::{desk, partners, principal};
use crate::errors::{self, ErrorCode, coded};

type Variables = Json<serde_json::Map<String, serde_json::Value>>;

/// What a command did, answered after it was committed.
pub struct CommandResult(pub Outcome);

#[Object]
impl CommandResult {
    async fn case_id(&self) -> ID {
        ID(self.0.case_id.clone())
    }
    /// The history entry the command wrote.
    async fn seq(&self) -> i64 {
        self.0.seq
    }
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn stage(&self) -> Option<&str> {
        self.0.stage.as_deref()
    }
    /// True when the idempotency key was seen before: nothing changed.
    async fn repeated(&self) -> bool {
        self.0.repeated
    }
    /// The case after the command, if you may still see it.
    async fn case(&self, ctx: &Context<'_>) -> Result<Option<Case>> {
        Ok(desk(ctx)?
            .case(principal(ctx)?, &self.0.case_id)
            .await
            .ok()
            .map(Case))
    }
}

#[derive(InputObject)]
pub struct DebtorInput {
    /// The creditor's debtor reference.
    pub id: String,
    pub name: String,
}

#[derive(InputObject)]
pub struct OpenCaseInput {
    pub process_id: String,
    /// Latest when omitted.
    pub version: Option<i32>,
    pub external_ref: Option<String>,
    pub debtor: Option<DebtorInput>,
    /// Major units, e.g. 1250.50, with `currency`: read exactly as written (a float the
    /// currency cannot hold, such as 10.123 COP, is refused) and opened as the case's
    /// first account, named by `externalRef`.
    #[graphql(
        deprecation = "a float cannot hold money exactly: open the debt with openAccount (exact decimal strings) instead"
    )]
    pub amount_due: Option<f64>,
    pub currency: Option<String>,
    pub delinquent_since: Option<NaiveDate>,
    pub variables: Option<Variables>,
    pub idempotency_key: Option<String>,
    /// Debts opened with the case, in its first journal entry, so the process's first
    /// steps (a reminder stating the balance) already see them. Needs the right to open
    /// accounts (supervisors, admins).
    #[graphql(default)]
    pub accounts: Vec<super::ledger::AccountInput>,
}

#[derive(InputObject)]
pub struct ElementMapping {
    pub from: String,
    /// Empty: the element's tokens end (and its timers are dropped) on purpose.
    pub to: String,
}

#[derive(SimpleObject)]
pub struct DeployedProcess {
    pub definition: ProcessDefinition,
    /// False when the same XML was already deployed: nothing new was stored.
    pub created: bool,
}

pub(crate) fn outcome(
    r: std::result::Result<Outcome, services::desk::DeskError>,
) -> Result<CommandResult> {
    r.map(CommandResult).map_err(errors::api)
}

/// Processes, cases, tasks, messages, partners and API clients.
#[derive(Default)]
pub struct CaseMutation;

#[Object]
impl CaseMutation {
    /// Deploys BPMN XML; every process in it becomes a new version (unless unchanged).
    /// Problems come back with line and column in `extensions.problems`.
    async fn deploy_process(
        &self,
        ctx: &Context<'_>,
        name: String,
        xml: String,
    ) -> Result<Vec<DeployedProcess>> {
        let (d, p) = (desk(ctx)?, principal(ctx)?);
        let report = d.deploy(p, &name, &xml).await.map_err(errors::api)?;
        let mut out = Vec::new();
        for dep in report.deployed {
            let row = d
                .definition(p, dep.definition_id)
                .await
                .map_err(errors::api)?;
            out.push(DeployedProcess {
                definition: ProcessDefinition(row),
                created: dep.created,
            });
        }
        Ok(out)
    }

    async fn open_case(&self, ctx: &Context<'_>, input: OpenCaseInput) -> Result<CommandResult> {
        let (debtor_id, debtor_name) = match input.debtor {
            Some(d) => (Some(d.id), Some(d.name)),
            None => (None, None),
        };
        let new = NewCase {
            process_id: input.process_id,
            version: input.version,
            external_ref: input.external_ref,
            debtor_id,
            debtor_name,
            amount_due: input.amount_due,
            currency: input.currency,
            delinquent_since: input.delinquent_since,
            variables: input.variables.map(|v| v.0).unwrap_or_default(),
            idempotency_key: input.idempotency_key,
            accounts: input
                .accounts
                .into_iter()
                .map(super::ledger::new_account)
                .collect::<Result<_>>()?,
        };
        outcome(desk(ctx)?.open_case(principal(ctx)?, new).await)
    }

    /// Sets variables on a case's process, to fix the data behind an incident
    /// (supervisors, admins); `reason` goes into the history.
    async fn set_case_variables(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        variables: Variables,
        reason: String,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .set_case_variables(principal(ctx)?, &case_id, variables.0, &reason)
                .await,
        )
    }

    /// Resolves an incident: the step that failed runs again (supervisors, admins).
    async fn resolve_incident(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        incident_id: i64,
        reason: String,
    ) -> Result<CommandResult> {
        let incident = u64::try_from(incident_id).map_err(|_| {
            errors::coded(
                ErrorCode::BadInput,
                format!("incident {incident_id} is negative"),
            )
        })?;
        outcome(
            desk(ctx)?
                .resolve_incident(principal(ctx)?, &case_id, incident, &reason)
                .await,
        )
    }

    async fn migrate_case(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        process_id: String,
        version: i32,
        #[graphql(default)] mapping: Vec<ElementMapping>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let mapping: BTreeMap<String, String> =
            mapping.into_iter().map(|m| (m.from, m.to)).collect();
        outcome(
            desk(ctx)?
                .migrate_case(
                    principal(ctx)?,
                    &case_id,
                    &process_id,
                    version,
                    mapping,
                    idempotency_key,
                )
                .await,
        )
    }

    async fn cancel_case(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .cancel_case(principal(ctx)?, &case_id, idempotency_key)
                .await,
        )
    }

    /// Sets (or with `owner: null` clears) the agent who owns the case.
    async fn assign_case_owner(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        owner: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            desk(ctx)?
                .assign_owner(principal(ctx)?, &case_id, owner, idempotency_key)
                .await,
        )
    }

    async fn claim_task(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let key = task_key(&task_id)?;
        outcome(
            desk(ctx)?
                .claim_task(principal(ctx)?, &key, idempotency_key)
                .await,
        )
    }

    async fn unclaim_task(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let key = task_key(&task_id)?;
        outcome(
            desk(ctx)?
                .unclaim_task(principal(ctx)?, &key, idempotency_key)
                .await,
        )
    }

    /// Completes a task you hold (or may claim), with output variables.
    async fn complete_task(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        variables: Option<Variables>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let key = task_key(&task_id)?;
        let vars = variables.map(|v| v.0).unwrap_or_default();
        outcome(
            desk(ctx)?
                .complete_task(principal(ctx)?, &key, vars, idempotency_key)
                .await,
        )
    }

    /// Gives a task to a user, or with `user: null` back to its queue.
    async fn reassign_task(
        &self,
        ctx: &Context<'_>,
        task_id: ID,
        user: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let key = task_key(&task_id)?;
        outcome(
            desk(ctx)?
                .reassign_task(principal(ctx)?, &key, user, idempotency_key)
                .await,
        )
    }

    /// A comment on a case, or on one of its tasks (`taskId`).
    async fn add_comment(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        task_id: Option<ID>,
        text: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let task = match &task_id {
            Some(id) => {
                let key = task_key(id)?;
                if key.case_id != case_id.0 {
                    return Err(coded(
                        ErrorCode::BadInput,
                        "the task belongs to another case",
                    ));
                }
                Some(key.task_id)
            }
            None => None,
        };
        outcome(
            desk(ctx)?
                .add_comment(principal(ctx)?, &case_id, task, &text, idempotency_key)
                .await,
        )
    }

    /// Delivers a message (payment received, promise broken, ...) to one case, or to
    /// every case waiting for `name` with `correlationKey`.
    async fn correlate_message(
        &self,
        ctx: &Context<'_>,
        name: String,
        correlation_key: Option<String>,
        case_id: Option<ID>,
        variables: Option<Variables>,
        idempotency_key: Option<String>,
    ) -> Result<Vec<CommandResult>> {
        let vars = variables.map(|v| v.0).unwrap_or_default();
        let out = desk(ctx)?
            .correlate_message(
                principal(ctx)?,
                case_id.as_ref().map(|c| c.as_str()),
                &name,
                correlation_key.as_deref(),
                vars,
                idempotency_key.as_deref(),
            )
            .await
            .map_err(errors::api)?;
        Ok(out.into_iter().map(CommandResult).collect())
    }

    async fn register_partner(
        &self,
        ctx: &Context<'_>,
        name: String,
        kind: PartnerKind,
    ) -> Result<Partner> {
        partners(ctx)?
            .register(
                principal(ctx)?,
                NewPartner {
                    name,
                    kind: kind.as_str().to_string(),
                },
            )
            .await
            .map(Partner)
            .map_err(errors::api)
    }

    /// Sets what a partner may read of the cases placed with it at `stage` (omitted: at
    /// stages without a setting of their own). Its notes are always its own; the
    /// creditor's internal notes and other partners' are never shown (admins, supervisors).
    async fn set_partner_disclosure(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        stage: Option<String>,
        data: Vec<super::disclosure::CaseData>,
    ) -> Result<Partner> {
        partners(ctx)?
            .set_disclosure(
                principal(ctx)?,
                &partner_id,
                stage.as_deref(),
                data.into_iter().map(Into::into).collect(),
            )
            .await
            .map(Partner)
            .map_err(errors::api)
    }

    /// Offers a case to a partner agency or law firm (`partnerId` omitted: the agency
    /// the allocation rules choose): its partner-lane tasks become theirs. Not accepted
    /// within `acceptWithinHours` (1 to 2160, default 48), the offer is declined by
    /// itself; the process hears `placement-declined` (`lapsed: true`).
    async fn place_case(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        partner_id: Option<ID>,
        note: Option<String>,
        accept_within_hours: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .place_case(
                    principal(ctx)?,
                    &case_id,
                    partner_id.as_ref().map(|id| id.as_str()),
                    note,
                    accept_within_hours.map(|h| chrono::Duration::hours(i64::from(h))),
                    idempotency_key,
                )
                .await,
        )
    }

    /// Sets which cases a partner takes when nobody names one (admins, supervisors):
    /// the debtors' countries it works (ISO 3166-1 alpha-2; empty: any), the most
    /// cases placed with it at once, and its weight in the split between partners that
    /// qualify (champion and challenger; deterministic per case; 0 takes none).
    async fn set_partner_allocation(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        #[graphql(desc = "none: any")] jurisdictions: Option<Vec<String>>,
        capacity: Option<i32>,
        #[graphql(desc = "default 1")] weight: Option<i32>,
    ) -> Result<Partner> {
        let (jurisdictions, weight) = (jurisdictions.unwrap_or_default(), weight.unwrap_or(1));
        let bad = |what: &str| coded(ErrorCode::BadInput, what.to_string());
        let rules = partners::allocation::AllocationRules {
            jurisdictions,
            capacity: capacity
                .map(|c| u32::try_from(c).map_err(|_| bad("a capacity is 0 or more")))
                .transpose()?,
            weight: u32::try_from(weight).map_err(|_| bad("a weight is 0 to 1000"))?,
        };
        partners(ctx)?
            .set_allocation(principal(ctx)?, &partner_id, rules)
            .await
            .map(Partner)
            .map_err(errors::api)
    }

    /// Offers every case the filter selects (at most `limit`, 1 to 10,000) to a partner,
    /// or each to the agency the allocation rules choose; each case is its own command,
    /// and a case that cannot be placed is listed with why (admins, supervisors).
    async fn place_cases(
        &self,
        ctx: &Context<'_>,
        filter: super::query::CaseFilterInput,
        partner_id: Option<ID>,
        accept_within_hours: Option<i32>,
        #[graphql(desc = "1 to 10,000; default 1,000")] limit: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<BulkResult> {
        let limit = limit.unwrap_or(1000);
        let out = partners(ctx)?
            .place_cases(
                principal(ctx)?,
                &filter.into_filter()?,
                partner_id.as_ref().map(|id| id.as_str()),
                accept_within_hours.map(|h| chrono::Duration::hours(i64::from(h))),
                usize::try_from(limit).unwrap_or(0),
                idempotency_key,
            )
            .await
            .map_err(errors::api)?;
        Ok(BulkResult::from(out))
    }

    /// Recalls every placed case the filter selects (at most `limit`).
    async fn recall_cases(
        &self,
        ctx: &Context<'_>,
        filter: super::query::CaseFilterInput,
        reason: String,
        #[graphql(desc = "1 to 10,000; default 1,000")] limit: Option<i32>,
        idempotency_key: Option<String>,
    ) -> Result<BulkResult> {
        let limit = limit.unwrap_or(1000);
        let out = partners(ctx)?
            .recall_cases(
                principal(ctx)?,
                &filter.into_filter()?,
                &reason,
                usize::try_from(limit).unwrap_or(0),
                idempotency_key,
            )
            .await
            .map_err(errors::api)?;
        Ok(BulkResult::from(out))
    }

    /// Reports a step of the legal proceedings (law firms, agents, supervisors) under the
    /// reporter's own reference (docket, filing number): the same reference again
    /// records nothing new. A process waiting for `legal-claim-filed`, `legal-hearing`,
    /// `legal-judgment` or `legal-seizure` hears it in the same entry.
    async fn report_legal_milestone(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        milestone: LegalMilestone,
        on: NaiveDate,
        reference: String,
        note: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .report_legal_milestone(
                    principal(ctx)?,
                    &case_id,
                    milestone.into(),
                    on,
                    &reference,
                    note.as_deref().unwrap_or_default(),
                )
                .await,
        )
    }

    /// A partner's report file (CSV: activities, legal milestones, payments collected;
    /// columns in docs/api.md), multipart upload. Every row is checked first: with any
    /// row wrong nothing is applied and each bad row is named; a good file is applied
    /// under the partner's references, so sending it again records nothing twice.
    async fn upload_partner_report(
        &self,
        ctx: &Context<'_>,
        file: async_graphql::Upload,
    ) -> Result<PartnerReportResult> {
        use std::io::Read as _;
        const MAX_BYTES: u64 = 2 * 1024 * 1024;
        let mut bytes = Vec::new();
        file.value(ctx)?
            .content
            .take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                coded(
                    ErrorCode::BadRequest,
                    format!("reading the file failed: {e}"),
                )
            })?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(coded(
                ErrorCode::PayloadTooLarge,
                "a report file holds at most 2 MiB",
            ));
        }
        let out = partners(ctx)?
            .apply_report(principal(ctx)?, &bytes)
            .await
            .map_err(errors::api)?;
        Ok(PartnerReportResult {
            applied: out.applied as i32,
            repeated: out.repeated as i32,
            errors: out
                .errors
                .into_iter()
                .map(|e| ReportRowError {
                    row: e.row as i32,
                    column: e.column,
                    code: e.code.to_string(),
                    message: e.message,
                })
                .collect(),
        })
    }

    /// A partner turns down a case offered to it (an accepted case is returned instead).
    async fn decline_placement(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .decline_placement(principal(ctx)?, &case_id, &reason, idempotency_key)
                .await,
        )
    }

    /// Ends a placement whose work is done (admins, supervisors).
    async fn close_placement(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .close_placement(principal(ctx)?, &case_id, &reason, idempotency_key)
                .await,
        )
    }

    async fn recall_case(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .recall_case(principal(ctx)?, &case_id, &reason, idempotency_key)
                .await,
        )
    }

    /// A partner accepts a case placed with it.
    async fn accept_placement(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .accept_placement(principal(ctx)?, &case_id, idempotency_key)
                .await,
        )
    }

    /// A partner gives a case back, saying why.
    async fn return_placement(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        reason: String,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        outcome(
            partners(ctx)?
                .return_placement(principal(ctx)?, &case_id, &reason, idempotency_key)
                .await,
        )
    }

    /// Records work done on a case: a call, a letter, a visit, a filing. With the
    /// reporter's own `reference` (its system's id for the activity), a report sent
    /// again records nothing new — in place of an `idempotencyKey`.
    async fn record_activity(
        &self,
        ctx: &Context<'_>,
        case_id: ID,
        kind: String,
        note: String,
        reference: Option<String>,
        idempotency_key: Option<String>,
    ) -> Result<CommandResult> {
        let p = principal(ctx)?;
        let key = match (reference, idempotency_key) {
            (Some(_), Some(_)) => {
                return Err(coded(
                    ErrorCode::BadInput,
                    "give a reference or an idempotency key, not both",
                ));
            }
            (Some(r), None) => {
                let r = r.trim();
                if r.is_empty() || r.len() > 100 {
                    return Err(coded(
                        ErrorCode::BadInput,
                        "an activity's reference holds 1 to 100 characters",
                    ));
                }
                Some(partners::Partners::reported_key(p, "activity", r))
            }
            (None, key) => key,
        };
        outcome(
            partners(ctx)?
                .record_activity(p, &case_id, &kind, &note, key)
                .await,
        )
    }

    /// Registers an API client (OAuth2 client credentials) for a partner's system; the
    /// secret is in the answer and never again.
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        role: super::clients::RoleInput,
        partner_id: Option<ID>,
        #[graphql(default)] groups: Vec<String>,
    ) -> Result<super::clients::NewApiClient> {
        super::clients::create(ctx, role, partner_id, groups).await
    }

    /// Revokes an API client: it gets no new tokens (issued ones expire within their
    /// lifetime).
    async fn revoke_api_client(
        &self,
        ctx: &Context<'_>,
        client_id: ID,
    ) -> Result<super::clients::ApiClient> {
        super::clients::revoke(ctx, client_id).await
    }
}

/// What a bulk placement or recall did.
#[derive(SimpleObject)]
pub struct BulkResult {
    /// The cases changed.
    pub done: Vec<ID>,
    /// The cases left as they were, with why.
    pub refused: Vec<BulkRefusal>,
}

#[derive(SimpleObject)]
pub struct BulkRefusal {
    pub case_id: ID,
    /// The error code the single operation would have answered.
    pub code: String,
    pub message: String,
}

impl From<partners::bulk::BulkOutcome> for BulkResult {
    fn from(out: partners::bulk::BulkOutcome) -> Self {
        use services::error_code::ApiError as _;
        BulkResult {
            done: out.done.into_iter().map(ID).collect(),
            refused: out
                .refused
                .into_iter()
                .map(|(case_id, e)| BulkRefusal {
                    case_id: ID(case_id),
                    code: e.code().as_str().to_string(),
                    message: e.public_message(),
                })
                .collect(),
        }
    }
}

/// A step of the legal proceedings.
#[derive(async_graphql::Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "services::case::legal::LegalMilestone")]
pub enum LegalMilestone {
    ClaimFiled,
    /// Reported when set; its date may be in the future.
    HearingScheduled,
    Judgment,
    Seizure,
}

/// What a partner's report file did; with `errors`, nothing was applied.
#[derive(SimpleObject)]
pub struct PartnerReportResult {
    pub applied: i32,
    /// Rows an earlier upload recorded (same reference).
    pub repeated: i32,
    pub errors: Vec<ReportRowError>,
}

/// A row of a report file that cannot be applied.
#[derive(SimpleObject)]
pub struct ReportRowError {
    /// 1 for the first row after the header; 0 for the header.
    pub row: i32,
    pub column: String,
    pub code: String,
    pub message: String,
}
