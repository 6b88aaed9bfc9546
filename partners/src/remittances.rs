//! Remittance reconciliation: a partner forwards the money it collected with an advice
//! listing each payment (its reference, the case, amount, currency, the day paid), and
//! the creditor matches each line to the partner's pending reported payment on that
//! case — same reference, same amount in the same currency — and confirms the matched
//! ones (`ReportedPaymentConfirmed`: they count on the ledger from then on).
//!
//! All lines are checked before any is confirmed: a remittance with one line that does
//! not match confirms nothing and names every bad line. A remittance is kept under the
//! partner's reference once checked, so sending it again confirms nothing twice (each
//! confirmation also carries an idempotency key of the remittance and the line, so a
//! reconciliation cut short is completed by sending it again). The paid-on day is kept
//! with the remittance but not matched: the report already carries the debtor's day.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use collections::ledger::ReportStatus;
use collections::money::{Currency, Money};
use orm::entities::{cases, partner_remittances};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use services::access::{Operation, Principal, Role};
use services::desk::{DeskError, require};
use services::error_code::{ApiError, ErrorCode};

use crate::Partners;
use crate::csv_reports::{MAX_ROWS, RowError};

/// A line as the partner wrote it, before it is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawLine {
    pub reference: String,
    pub case_ref: String,
    pub amount: String,
    pub currency: String,
    pub paid_on: String,
}

/// A line read: the partner's payment reference on a case, what it forwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceLine {
    pub reference: String,
    pub case_ref: String,
    pub amount: Money,
    pub paid_on: NaiveDate,
}

/// What a reconciliation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RemittanceOutcome {
    /// Lines confirmed now.
    pub confirmed: usize,
    /// Lines an earlier reconciliation of the same remittance confirmed.
    pub repeated: usize,
    /// Lines that do not match: when the check finds any, nothing was confirmed.
    pub errors: Vec<RowError>,
}

fn row_error(row: usize, column: &str, code: &'static str, message: String) -> RowError {
    RowError {
        row,
        column: column.to_string(),
        code,
        message,
    }
}

/// Reads every line (pure): each wrong field is named with its line and column; a
/// payment reference given twice is refused on its second line.
pub fn read_lines(raw: &[RawLine]) -> Result<Vec<RemittanceLine>, Vec<RowError>> {
    let (mut lines, mut errors) = (Vec::new(), Vec::new());
    if raw.is_empty() {
        errors.push(row_error(
            0,
            "",
            ErrorCode::BadInput.as_str(),
            "a remittance lists at least one payment".into(),
        ));
    }
    if raw.len() > MAX_ROWS {
        errors.push(row_error(
            0,
            "",
            ErrorCode::BadInput.as_str(),
            format!("a remittance lists at most {MAX_ROWS} payments"),
        ));
        return Err(errors);
    }
    let mut seen = HashSet::new();
    for (i, r) in raw.iter().enumerate() {
        let n = i + 1;
        let before = errors.len();
        let (reference, case_ref) = (r.reference.trim(), r.case_ref.trim());
        for (column, v) in [("reference", reference), ("case_ref", case_ref)] {
            if v.is_empty() || v.len() > 100 {
                errors.push(row_error(
                    n,
                    column,
                    ErrorCode::BadInput.as_str(),
                    format!("{column} holds 1 to 100 characters"),
                ));
            }
        }
        if !reference.is_empty() && !seen.insert((case_ref, reference)) {
            errors.push(row_error(
                n,
                "reference",
                ErrorCode::BadInput.as_str(),
                format!("payment {reference:?} is listed twice"),
            ));
        }
        let amount = match Currency::from_code(r.currency.trim()) {
            Err(e) => {
                errors.push(row_error(
                    n,
                    "currency",
                    ErrorCode::BadInput.as_str(),
                    e.to_string(),
                ));
                None
            }
            Ok(c) => match Money::parse(&r.amount, c).and_then(Money::positive) {
                Ok(a) => Some(a),
                Err(e) => {
                    errors.push(row_error(
                        n,
                        "amount",
                        ErrorCode::BadInput.as_str(),
                        e.to_string(),
                    ));
                    None
                }
            },
        };
        let paid_on = NaiveDate::parse_from_str(r.paid_on.trim(), "%Y-%m-%d")
            .map_err(|_| {
                errors.push(row_error(
                    n,
                    "paid_on",
                    ErrorCode::BadInput.as_str(),
                    format!("{:?} is not a YYYY-MM-DD date", r.paid_on),
                ));
            })
            .ok();
        if let (Some(amount), Some(paid_on), true) = (amount, paid_on, errors.len() == before) {
            lines.push(RemittanceLine {
                reference: reference.to_string(),
                case_ref: case_ref.to_string(),
                amount,
                paid_on,
            });
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

/// Reads a remittance CSV: a header naming `reference`, `case_ref`, `amount`,
/// `currency`, `paid_on` (any order, other columns ignored), a line per payment.
pub fn parse_csv(bytes: &[u8]) -> Result<Vec<RemittanceLine>, Vec<RowError>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader.headers().map_err(|e| {
        vec![row_error(
            0,
            "",
            ErrorCode::BadInput.as_str(),
            format!("the header row does not read: {e}"),
        )]
    })?;
    let headers = headers.clone();
    let mut at = HashMap::new();
    for name in ["reference", "case_ref", "amount", "currency", "paid_on"] {
        match headers.iter().position(|h| h == name) {
            Some(i) => {
                at.insert(name, i);
            }
            None => {
                return Err(vec![row_error(
                    0,
                    name,
                    ErrorCode::BadInput.as_str(),
                    format!("the header names no {name} column"),
                )]);
            }
        }
    }
    let mut raw = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= MAX_ROWS {
            return Err(vec![row_error(
                i + 1,
                "",
                ErrorCode::BadInput.as_str(),
                format!("a remittance lists at most {MAX_ROWS} payments"),
            )]);
        }
        let record = record.map_err(|e| {
            vec![row_error(
                i + 1,
                "",
                ErrorCode::BadInput.as_str(),
                format!("the line does not read: {e}"),
            )]
        })?;
        let get = |name: &str| record.get(at[name]).unwrap_or("").to_string();
        raw.push(RawLine {
            reference: get("reference"),
            case_ref: get("case_ref"),
            amount: get("amount"),
            currency: get("currency"),
            paid_on: get("paid_on"),
        });
    }
    read_lines(&raw)
}

fn reused(reference: &str) -> DeskError {
    DeskError::Conflict(format!(
        "remittance {reference:?} was reconciled with other lines: give a new remittance its own reference"
    ))
}

impl Partners {
    /// Reconciles a partner's remittance `reference` (admins, supervisors): every line
    /// matched to the partner's pending reported payment and confirmed, or none.
    pub async fn reconcile_remittance(
        &self,
        p: &Principal,
        partner_id: &str,
        reference: &str,
        lines: Vec<RemittanceLine>,
    ) -> Result<RemittanceOutcome, DeskError> {
        if p.role == Role::Partner {
            return Err(DeskError::Forbidden {
                role: p.role,
                what: "reconcile remittances (the creditor does)",
            });
        }
        require(p, Operation::ManagePartners, "reconcile remittances")?;
        require(p, Operation::DecideReportedPayment, "reconcile remittances")?;
        let reference = reference.trim();
        if reference.is_empty() || reference.len() > 100 {
            return Err(DeskError::Invalid(
                "a remittance's reference holds 1 to 100 characters".into(),
            ));
        }
        let partner = self.get(p, partner_id).await?;
        let json = serde_json::to_string(&lines)
            .map_err(|e| DeskError::Invalid(format!("the lines do not serialise: {e}")))?;
        let db = self.desk.db();
        let earlier = partner_remittances::Entity::find_by_id((
            p.tenant.clone(),
            partner.partner_id.clone(),
            reference.to_string(),
        ))
        .one(db)
        .await?;
        let cases = self.remitted_cases(p, &lines).await?;
        match earlier {
            Some(row) if row.lines != json => Err(reused(reference)),
            // Checked before: confirm what is left (normally nothing) under the same keys.
            Some(_) => {
                self.confirm_lines(p, &partner.partner_id, reference, &lines, &cases)
                    .await
            }
            None => {
                let errors = self
                    .check_lines(p, &partner.partner_id, &lines, &cases)
                    .await?;
                if !errors.is_empty() {
                    return Ok(RemittanceOutcome {
                        errors,
                        ..RemittanceOutcome::default()
                    });
                }
                let row = partner_remittances::ActiveModel {
                    tenant: Set(p.tenant.clone()),
                    partner_id: Set(partner.partner_id.clone()),
                    reference: Set(reference.to_string()),
                    lines: Set(json.clone()),
                    reconciled_at: Set(self.desk.clock().now()),
                    reconciled_by: Set(p.acting_identity()),
                };
                // Two reconciliations racing: the loser's insert fails; with the same
                // lines it confirms under the same keys as the winner, so nothing is
                // confirmed twice; with other lines it is refused like a later repeat.
                if let Err(e) = row.insert(db).await {
                    if !orm::is_unique_violation(&e) {
                        return Err(e.into());
                    }
                    let winner = partner_remittances::Entity::find_by_id((
                        p.tenant.clone(),
                        partner.partner_id.clone(),
                        reference.to_string(),
                    ))
                    .one(db)
                    .await?;
                    if winner.is_none_or(|w| w.lines != json) {
                        return Err(reused(reference));
                    }
                }
                self.confirm_lines(p, &partner.partner_id, reference, &lines, &cases)
                    .await
            }
        }
    }

    /// The tenant's cases the lines name: reference → (case id, partner placed with).
    async fn remitted_cases(
        &self,
        p: &Principal,
        lines: &[RemittanceLine],
    ) -> Result<HashMap<String, (String, Option<String>)>, DeskError> {
        let refs: BTreeSet<&str> = lines.iter().map(|l| l.case_ref.as_str()).collect();
        let rows: Vec<(Option<String>, String, Option<String>)> = cases::Entity::find()
            .select_only()
            .column(cases::Column::ExternalRef)
            .column(cases::Column::CaseId)
            .column(cases::Column::Partner)
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .filter(cases::Column::ExternalRef.is_in(refs))
            .into_tuple()
            .all(self.desk.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(r, id, partner)| Some((r?, (id, partner))))
            .collect())
    }

    /// Every line that does not match its reported payment, with why.
    async fn check_lines(
        &self,
        p: &Principal,
        partner_id: &str,
        lines: &[RemittanceLine],
        cases: &HashMap<String, (String, Option<String>)>,
    ) -> Result<Vec<RowError>, DeskError> {
        let mut errors = Vec::new();
        let mut ledgers = HashMap::new();
        for (i, line) in lines.iter().enumerate() {
            let n = i + 1;
            let Some((case_id, placed_with)) = cases.get(&line.case_ref) else {
                errors.push(row_error(
                    n,
                    "case_ref",
                    ErrorCode::CaseNotFound.as_str(),
                    format!("no case {:?}", line.case_ref),
                ));
                continue;
            };
            if placed_with.as_deref() != Some(partner_id) {
                errors.push(row_error(
                    n,
                    "case_ref",
                    ErrorCode::PlacementConflict.as_str(),
                    format!("case {:?} is not placed with the partner", line.case_ref),
                ));
                continue;
            }
            if !ledgers.contains_key(case_id) {
                let ledger = self.desk.ledger(p, case_id).await?;
                ledgers.insert(case_id.clone(), ledger);
            }
            let report = ledgers[case_id]
                .as_ref()
                .and_then(|l| l.report(&line.reference))
                .filter(|r| r.partner == partner_id);
            let Some(report) = report else {
                errors.push(row_error(
                    n,
                    "reference",
                    ErrorCode::PaymentReportNotFound.as_str(),
                    format!(
                        "the partner reported no payment {:?} on case {:?}",
                        line.reference, line.case_ref
                    ),
                ));
                continue;
            };
            if report.status != ReportStatus::Pending {
                errors.push(row_error(
                    n,
                    "reference",
                    ErrorCode::PaymentReportDecided.as_str(),
                    format!(
                        "payment {:?} is already {}",
                        line.reference,
                        report.status.as_str()
                    ),
                ));
            } else if report.amount.currency() != line.amount.currency() {
                errors.push(row_error(
                    n,
                    "currency",
                    ErrorCode::CurrencyMismatch.as_str(),
                    format!(
                        "payment {:?} was reported in {}, not {}",
                        line.reference,
                        report.amount.currency(),
                        line.amount.currency()
                    ),
                ));
            } else if report.amount != line.amount {
                errors.push(row_error(
                    n,
                    "amount",
                    ErrorCode::ReportAmountMismatch.as_str(),
                    format!(
                        "payment {:?} was reported as {}, not {}",
                        line.reference, report.amount, line.amount
                    ),
                ));
            }
        }
        Ok(errors)
    }

    /// Confirms each line under the remittance's key for it; a line that fails now (a
    /// report decided meanwhile) is named, the others stay confirmed.
    async fn confirm_lines(
        &self,
        p: &Principal,
        partner_id: &str,
        reference: &str,
        lines: &[RemittanceLine],
        cases: &HashMap<String, (String, Option<String>)>,
    ) -> Result<RemittanceOutcome, DeskError> {
        let mut out = RemittanceOutcome::default();
        for (i, line) in lines.iter().enumerate() {
            let Some((case_id, _)) = cases.get(&line.case_ref) else {
                out.errors.push(row_error(
                    i + 1,
                    "case_ref",
                    ErrorCode::CaseNotFound.as_str(),
                    format!("no case {:?}", line.case_ref),
                ));
                continue;
            };
            let key = format!("remittance:{partner_id}:{reference}:{}", line.reference);
            match self
                .desk
                .confirm_reported_payment(p, case_id, &line.reference, Some(key))
                .await
            {
                Ok(o) if o.repeated => out.repeated += 1,
                Ok(_) => out.confirmed += 1,
                Err(e) => out.errors.push(row_error(
                    i + 1,
                    "reference",
                    e.code().as_str(),
                    e.to_string(),
                )),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_good_advice_reads_every_line() {
        let lines = parse_csv(
            b"paid_on,reference,case_ref,amount,currency,note\n2026-12-03,P-77,AC-2,150000.50,COP,x\n2026-12-04,P-78,AC-2,10,COP,\n",
        )
        .unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].amount.minor(), 15_000_050);
        assert_eq!(
            lines[1].paid_on,
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
    }

    #[test]
    fn each_bad_line_is_named_with_its_column() {
        let errors = parse_csv(
            b"reference,case_ref,amount,currency,paid_on\nP-1,AC-1,12.345,COP,2026-12-01\nP-2,AC-1,10,XXX,2026-12-01\nP-3,,10,COP,yesterday\nP-1,AC-1,0,COP,2026-12-01\nP-1,AC-1,5,COP,2026-12-01\n",
        )
        .unwrap_err();
        let at: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            at,
            [
                (1, "amount"),
                (2, "currency"),
                (3, "case_ref"),
                (3, "paid_on"),
                (4, "reference"),
                (4, "amount"),
                (5, "reference"),
            ]
        );
        assert!(
            parse_csv(b"reference,amount,currency,paid_on\n").is_err(),
            "no case_ref"
        );
        assert!(read_lines(&[]).is_err(), "nothing to reconcile");
    }

    proptest! {
        /// Whatever the bytes, an advice either reads into lines or names errors;
        /// never a panic.
        #[test]
        fn any_bytes_read_or_are_refused(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut file = b"reference,case_ref,amount,currency,paid_on\n".to_vec();
            file.extend(body);
            match parse_csv(&file) {
                Ok(lines) => prop_assert!(!lines.is_empty() && lines.len() <= MAX_ROWS),
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }
    }
}
