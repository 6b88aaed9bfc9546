//! Partner contracts, monthly statements (lines, totals, CSV, a stored PDF) and the
//! reconciliation of partners' remittances. Rules live in `partners` (attribution,
//! checks, who may), `collections::commission` (pricing) and `documents` (the PDF's
//! storage); the PDF is set here with the letter writer, the one crate both reach.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Upload};
use chrono::NaiveDate;
use collections::commission::{AgeBand, Contract, Fee, Rate, Rates};
use collections::money::{Currency, Money as Amount};
use partners::commissions::PartnerStatement as Statement;
use partners::remittances::{RawLine, RemittanceOutcome};

use super::documents::{SignedRequest, service};
use super::ledger::Money;
use super::mutation::{LegalMilestone, ReportRowError};
use super::{partners, principal};
use crate::errors::{self, ErrorCode, coded};

/// How a contract chooses a payment's rate.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum RateBasis {
    /// Extrajudicial until a legal milestone is reported on the case, then legal.
    Stage,
    /// By days past due when the case was placed.
    AgeBand,
}

#[derive(SimpleObject)]
pub struct StageRates {
    /// Percent, exact decimal ("12.5").
    pub extrajudicial: String,
    pub legal: String,
}

#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "AgeBandInput")]
pub struct AgeBandRate {
    pub from_days: i32,
    /// Included; null: and older (only the last band).
    pub to_days: Option<i32>,
    /// Percent, exact decimal ("12.5"), 0 to 100, at most 4 decimal places.
    pub rate: String,
}

#[derive(SimpleObject)]
pub struct MilestoneFee {
    pub milestone: LegalMilestone,
    pub amount: Money,
}

/// What a partner earns: rates on the payments it brings in, fees per legal milestone.
#[derive(SimpleObject)]
pub struct PartnerContract {
    pub basis: RateBasis,
    /// With basis STAGE.
    pub stage_rates: Option<StageRates>,
    /// With basis AGE_BAND: contiguous from 0 days, the last open-ended.
    pub age_bands: Vec<AgeBandRate>,
    pub fees: Vec<MilestoneFee>,
}

fn milestone_of(name: &str) -> Option<LegalMilestone> {
    use services::case::legal::LegalMilestone as M;
    [M::ClaimFiled, M::HearingScheduled, M::Judgment, M::Seizure]
        .into_iter()
        .find(|m| m.as_str() == name)
        .map(LegalMilestone::from)
}

impl From<Contract> for PartnerContract {
    fn from(c: Contract) -> Self {
        let (basis, stage_rates, age_bands) = match c.rates {
            Rates::Stage {
                extrajudicial,
                legal,
            } => (
                RateBasis::Stage,
                Some(StageRates {
                    extrajudicial: extrajudicial.to_string(),
                    legal: legal.to_string(),
                }),
                Vec::new(),
            ),
            Rates::AgeBand { bands } => (
                RateBasis::AgeBand,
                None,
                bands
                    .into_iter()
                    .map(|b| AgeBandRate {
                        from_days: b.from_days as i32,
                        to_days: b.to_days.map(|d| d as i32),
                        rate: b.rate.to_string(),
                    })
                    .collect(),
            ),
        };
        PartnerContract {
            basis,
            stage_rates,
            age_bands,
            fees: c
                .fees
                .into_iter()
                .filter_map(|f| {
                    Some(MilestoneFee {
                        milestone: milestone_of(&f.milestone)?,
                        amount: f.amount.into(),
                    })
                })
                .collect(),
        }
    }
}

/// `Partner.contract`: its own users and the creditor's admins and supervisors.
pub fn contract_of(
    p: &services::access::Principal,
    partner: &partners::Partner,
) -> Result<Option<PartnerContract>> {
    partners::Partners::may_read_contract(p, partner).map_err(errors::api)?;
    Ok(partners::commissions::contract_of(partner)
        .map_err(errors::api)?
        .map(PartnerContract::from))
}

#[derive(InputObject)]
pub struct StageRatesInput {
    pub extrajudicial: String,
    pub legal: String,
}

#[derive(InputObject)]
pub struct FeeInput {
    pub milestone: LegalMilestone,
    /// A decimal string in the currency's places.
    pub amount: String,
    pub currency: String,
}

/// Exactly one of `stageRates` and `ageBands`.
#[derive(InputObject)]
pub struct ContractInput {
    pub stage_rates: Option<StageRatesInput>,
    pub age_bands: Option<Vec<AgeBandRate>>,
    #[graphql(default)]
    pub fees: Vec<FeeInput>,
}

fn bad(message: impl Into<String>) -> async_graphql::Error {
    coded(ErrorCode::BadInput, message)
}

fn rate(text: &str) -> Result<Rate> {
    Rate::parse(text).map_err(|e| bad(e.to_string()))
}

fn days(n: i32, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| bad(format!("{what} is 0 or more, not {n}")))
}

fn contract_from(input: ContractInput) -> Result<Contract> {
    let rates = match (input.stage_rates, input.age_bands) {
        (Some(s), None) => Rates::Stage {
            extrajudicial: rate(&s.extrajudicial)?,
            legal: rate(&s.legal)?,
        },
        (None, Some(bands)) => Rates::AgeBand {
            bands: bands
                .into_iter()
                .map(|b| {
                    Ok(AgeBand {
                        from_days: days(b.from_days, "fromDays")?,
                        to_days: b.to_days.map(|d| days(d, "toDays")).transpose()?,
                        rate: rate(&b.rate)?,
                    })
                })
                .collect::<Result<_>>()?,
        },
        _ => {
            return Err(bad(
                "give either stageRates or ageBands, not both or neither",
            ));
        }
    };
    let fees = input
        .fees
        .into_iter()
        .map(|f| {
            let currency = Currency::from_code(&f.currency).map_err(|e| bad(e.to_string()))?;
            let amount = Amount::parse(&f.amount, currency).map_err(|e| bad(e.to_string()))?;
            Ok(Fee {
                milestone: services::case::legal::LegalMilestone::from(f.milestone)
                    .as_str()
                    .to_string(),
                amount,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Contract { rates, fees })
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "collections::commission::statement::LineKind")]
pub enum StatementLineKind {
    /// A payment's commission.
    Commission,
    /// A reversed payment's commission taken back (negative).
    Reversal,
    /// A legal milestone's fixed fee.
    Fee,
}

#[derive(SimpleObject)]
pub struct StatementLine {
    pub kind: StatementLineKind,
    /// The creditor's reference of the case (its id when it has none).
    pub case_ref: String,
    /// The day it was allocated, reversed or reported (UTC).
    pub date: NaiveDate,
    /// The payment's or the milestone's reference.
    pub reference: String,
    pub milestone: Option<LegalMilestone>,
    /// The payment (negative for a reversal); null for a fee.
    pub payment: Option<Money>,
    /// Percent applied; null for a fee.
    pub rate: Option<String>,
    /// Commission or fee earned (negative: taken back).
    pub amount: Money,
}

/// One currency's sums of the statement's lines.
#[derive(SimpleObject)]
pub struct StatementTotals {
    pub currency: String,
    /// Payments less reversals.
    pub collected: Money,
    pub commission: Money,
    pub fees: Money,
    /// Owed to the partner: commission plus fees.
    pub payable: Money,
    /// Kept by the creditor: collected less payable.
    pub net: Money,
}

pub struct PartnerStatement(Statement);

#[Object]
impl PartnerStatement {
    async fn partner_id(&self) -> ID {
        ID(self.0.partner_id.clone())
    }
    /// `YYYY-MM`.
    async fn month(&self) -> &str {
        &self.0.month
    }
    async fn lines(&self) -> Vec<StatementLine> {
        self.0
            .statement
            .lines
            .iter()
            .map(|l| StatementLine {
                kind: l.kind.into(),
                case_ref: l.case_ref.clone(),
                date: l.on,
                reference: l.reference.clone(),
                milestone: l.milestone.as_deref().and_then(milestone_of),
                payment: l.payment.map(Money::from),
                rate: l.rate.map(|r| r.to_string()),
                amount: l.amount.into(),
            })
            .collect()
    }
    async fn totals(&self) -> Vec<StatementTotals> {
        self.0
            .statement
            .totals
            .iter()
            .map(|t| StatementTotals {
                currency: t.currency.code().to_string(),
                collected: t.collected.into(),
                commission: t.commission.into(),
                fees: t.fees.into(),
                payable: t.payable.into(),
                net: t.net.into(),
            })
            .collect()
    }
    /// The statement as CSV (columns in docs/api.md).
    async fn csv(&self) -> String {
        partners::statement_files::csv(&self.0)
    }
}

/// A statement stored as PDF.
pub struct IssuedStatement(::documents::StoredStatement);

#[Object]
impl IssuedStatement {
    async fn id(&self) -> ID {
        ID(self.0.statement_id.clone())
    }
    async fn partner_id(&self) -> ID {
        ID(self.0.partner_id.clone())
    }
    async fn month(&self) -> &str {
        &self.0.month
    }
    /// Hex SHA-256 of the PDF.
    async fn sha256(&self) -> &str {
        &self.0.sha256
    }
    async fn size(&self) -> i64 {
        self.0.size_bytes
    }
    async fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.created_at
    }
    async fn created_by(&self) -> &str {
        &self.0.created_by
    }
}

#[derive(SimpleObject)]
pub struct StatementDownload {
    pub statement: IssuedStatement,
    pub request: SignedRequest,
}

/// What a remittance did; with `errors` from the check, nothing was confirmed.
#[derive(SimpleObject)]
pub struct RemittanceResult {
    /// Lines confirmed now.
    pub confirmed: i32,
    /// Lines an earlier reconciliation of the same remittance confirmed.
    pub repeated: i32,
    pub errors: Vec<ReportRowError>,
}

impl From<RemittanceOutcome> for RemittanceResult {
    fn from(o: RemittanceOutcome) -> Self {
        RemittanceResult {
            confirmed: o.confirmed as i32,
            repeated: o.repeated as i32,
            errors: o
                .errors
                .into_iter()
                .map(|e| ReportRowError {
                    row: e.row as i32,
                    column: e.column,
                    code: e.code.to_string(),
                    message: e.message,
                })
                .collect(),
        }
    }
}

#[derive(InputObject)]
pub struct RemittanceLineInput {
    /// The partner's reference of the payment, as it reported it.
    pub reference: String,
    pub case_ref: String,
    /// A decimal string in the currency's places.
    pub amount: String,
    pub currency: String,
    /// YYYY-MM-DD.
    pub paid_on: String,
}

#[derive(Default)]
pub struct CommissionQuery;

#[Object]
impl CommissionQuery {
    /// A partner's commission statement for a month (`YYYY-MM`), from the payments and
    /// legal milestones journalled in it, priced under the partner's contract. A
    /// partner reads its own only; admins and supervisors any.
    async fn partner_statement(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        month: String,
    ) -> Result<PartnerStatement> {
        partners(ctx)?
            .statement(principal(ctx)?, &partner_id, &month)
            .await
            .map(PartnerStatement)
            .map_err(errors::api)
    }

    /// The statements stored as PDF for a partner, newest first.
    async fn issued_partner_statements(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        month: Option<String>,
    ) -> Result<Vec<IssuedStatement>> {
        Ok(service(ctx)?
            .partner_statements(principal(ctx)?, &partner_id, month.as_deref())
            .await
            .map_err(errors::api)?
            .into_iter()
            .map(IssuedStatement)
            .collect())
    }
}

/// Reads an uploaded file whole, up to `max` bytes.
fn read_upload(ctx: &Context<'_>, file: Upload, max: u64) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    file.value(ctx)?
        .content
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            coded(
                ErrorCode::BadRequest,
                format!("reading the file failed: {e}"),
            )
        })?;
    if bytes.len() as u64 > max {
        return Err(coded(
            ErrorCode::PayloadTooLarge,
            format!("the file holds at most {max} bytes"),
        ));
    }
    Ok(bytes)
}

#[derive(Default)]
pub struct CommissionMutation;

#[Object]
impl CommissionMutation {
    /// Sets a partner's contract, or clears it (`contract: null`) (admins, supervisors).
    /// Rates are percentages 0–100 as exact decimals; age bands run from 0 days past due
    /// without gaps or overlaps, the last open-ended; fees are per legal milestone, once
    /// each, in one currency. Anything else is `BAD_INPUT`, naming what to fix.
    async fn set_partner_contract(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        contract: Option<ContractInput>,
    ) -> Result<super::types::Partner> {
        let contract = contract.map(contract_from).transpose()?;
        partners(ctx)?
            .set_contract(principal(ctx)?, &partner_id, contract)
            .await
            .map(super::types::Partner)
            .map_err(errors::api)
    }

    /// Reconciles a partner's remittance (admins, supervisors): each line is matched to
    /// the partner's pending reported payment on the case (same reference, same amount
    /// and currency) and, if every line matches, all are confirmed; otherwise none is
    /// and each bad line is named. The same remittance reference again confirms nothing
    /// twice (`repeated`); with other lines it is a `CONFLICT`.
    async fn reconcile_remittance(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        reference: String,
        lines: Vec<RemittanceLineInput>,
    ) -> Result<RemittanceResult> {
        let raw: Vec<RawLine> = lines
            .into_iter()
            .map(|l| RawLine {
                reference: l.reference,
                case_ref: l.case_ref,
                amount: l.amount,
                currency: l.currency,
                paid_on: l.paid_on,
            })
            .collect();
        reconcile(
            ctx,
            &partner_id,
            &reference,
            partners::remittances::read_lines(&raw),
        )
        .await
    }

    /// The same as `reconcileRemittance`, from a CSV advice (multipart; columns
    /// `reference`, `case_ref`, `amount`, `currency`, `paid_on`; at most 2 MiB).
    async fn upload_remittance(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        reference: String,
        file: Upload,
    ) -> Result<RemittanceResult> {
        let bytes = read_upload(ctx, file, 2 * 1024 * 1024)?;
        reconcile(
            ctx,
            &partner_id,
            &reference,
            partners::remittances::parse_csv(&bytes),
        )
        .await
    }

    /// Renders a partner's statement for a month as PDF and stores it (admins,
    /// supervisors); each call stores a new rendering, under the contract then in force.
    async fn issue_partner_statement(
        &self,
        ctx: &Context<'_>,
        partner_id: ID,
        month: String,
    ) -> Result<IssuedStatement> {
        let p = principal(ctx)?;
        let s = partners(ctx)?
            .statement(p, &partner_id, &month)
            .await
            .map_err(errors::api)?;
        let body = partners::statement_files::text(&s);
        let subject = format!("Commission statement {}", s.month);
        let reference = format!("{} {}", s.partner_name, s.month);
        let (pdf, _) = contact::pdf::render(&contact::pdf::Letter {
            date: &s.month,
            subject: Some(&subject),
            body: &body,
            reference: &reference,
            language: "en",
            preformatted: true,
        });
        service(ctx)?
            .store_partner_statement(p, &s.partner_id, &s.month, pdf)
            .await
            .map(IssuedStatement)
            .map_err(errors::api)
    }

    /// A short-lived download link for a stored statement: its partner's users, admins
    /// and supervisors.
    async fn download_partner_statement(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<StatementDownload> {
        let (row, request) = service(ctx)?
            .download_partner_statement(principal(ctx)?, &id)
            .await
            .map_err(errors::api)?;
        Ok(StatementDownload {
            statement: IssuedStatement(row),
            request: request.into(),
        })
    }
}

/// Reconciles a remittance whose lines read, or answers the line errors of one that did
/// not (nothing confirmed).
async fn reconcile(
    ctx: &Context<'_>,
    partner_id: &str,
    reference: &str,
    lines: std::result::Result<
        Vec<partners::remittances::RemittanceLine>,
        Vec<partners::csv_reports::RowError>,
    >,
) -> Result<RemittanceResult> {
    let lines = match lines {
        Ok(lines) => lines,
        Err(errors) => {
            return Ok(RemittanceOutcome {
                errors,
                ..RemittanceOutcome::default()
            }
            .into());
        }
    };
    partners(ctx)?
        .reconcile_remittance(principal(ctx)?, partner_id, reference, lines)
        .await
        .map(RemittanceResult::from)
        .map_err(errors::api)
}
