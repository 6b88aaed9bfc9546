//! Reports from agencies without an API: a CSV file of activities, legal milestones,
//! payments collected and returns of cases, one row each. Every row is checked before any is applied, so a
//! file with one wrong amount changes nothing and answers each bad row with its column
//! and why; a good file is applied row by row under the partner's references, so
//! sending it again records nothing twice.
//!
//! Columns (a header row names them, in any order): `case_ref` (the creditor's reference
//! of a case placed with the partner), `type` (`activity`, `legal_milestone`,
//! `payment`, `return`), `date` (YYYY-MM-DD), `reference` (the partner's own), `kind` (an
//! activity's kind, or `claim_filed`, `hearing_scheduled`, `judgment`, `seizure`),
//! `amount` and `currency` (a payment's, exact in the currency's places), `note` (a
//! return's reason). A return is its case's last row in the file.

use chrono::NaiveDate;
use collections::money::{Currency, Money};
use orm::entities::cases;
use std::collections::{BTreeSet, HashMap};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use services::access::{Principal, Role};
use services::case::legal::LegalMilestone;
use services::desk::{DeskError, NewPayment};

use crate::Partners;

/// Most rows one file holds.
pub const MAX_ROWS: usize = 5_000;

/// A row that cannot be applied, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1 for the first row after the header.
    pub row: usize,
    pub column: String,
    pub code: &'static str,
    pub message: String,
}

/// What a file did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReportOutcome {
    /// Rows recorded now.
    pub applied: usize,
    /// Rows recorded by an earlier upload (same reference).
    pub repeated: usize,
    /// When not empty, nothing was applied.
    pub errors: Vec<RowError>,
}

/// A checked row.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportRow {
    Activity {
        case_ref: String,
        reference: String,
        kind: String,
        note: String,
    },
    Milestone {
        case_ref: String,
        reference: String,
        milestone: LegalMilestone,
        on: NaiveDate,
        note: String,
    },
    Payment {
        case_ref: String,
        reference: String,
        amount: Money,
        on: NaiveDate,
    },
    /// The partner gives the case back.
    Return {
        case_ref: String,
        reference: String,
        reason: String,
    },
}

impl ReportRow {
    fn case_ref(&self) -> &str {
        match self {
            ReportRow::Activity { case_ref, .. }
            | ReportRow::Milestone { case_ref, .. }
            | ReportRow::Payment { case_ref, .. }
            | ReportRow::Return { case_ref, .. } => case_ref,
        }
    }
}

fn milestone(s: &str) -> Option<LegalMilestone> {
    [
        LegalMilestone::ClaimFiled,
        LegalMilestone::HearingScheduled,
        LegalMilestone::Judgment,
        LegalMilestone::Seizure,
    ]
    .into_iter()
    .find(|m| m.as_str() == s)
}

/// Reads and checks a file's rows without touching any case (pure: property-tested).
pub fn parse(bytes: &[u8]) -> Result<Vec<ReportRow>, Vec<RowError>> {
    let error = |row, column: &str, message: String| RowError {
        row,
        column: column.to_string(),
        code: "BAD_INPUT",
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![error(
                0,
                "",
                format!("the header row does not read: {e}"),
            )]);
        }
    };
    let at = |name: &str| headers.iter().position(|h| h == name);
    for required in ["case_ref", "type", "reference"] {
        if at(required).is_none() {
            return Err(vec![error(
                0,
                required,
                format!("the header names no {required} column"),
            )]);
        }
    }
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    for (i, record) in reader.records().enumerate() {
        let n = i + 1;
        if n > MAX_ROWS {
            errors.push(error(
                n,
                "",
                format!("a file holds at most {MAX_ROWS} rows"),
            ));
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(error(n, "", format!("the row does not read: {e}")));
                continue;
            }
        };
        let get = |name: &str| {
            at(name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_string()
        };
        let before = errors.len();
        let mut need = |name: &str| {
            let v = get(name);
            if v.is_empty() {
                errors.push(error(n, name, format!("{name} is required")));
            } else if v.len() > 200 {
                errors.push(error(
                    n,
                    name,
                    format!("{name} holds at most 200 characters"),
                ));
            }
            v
        };
        let (case_ref, reference, kind) = (need("case_ref"), need("reference"), get("kind"));
        let date = get("date");
        let on = match NaiveDate::parse_from_str(&date, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) if date.is_empty() => None,
            Err(_) => {
                errors.push(error(
                    n,
                    "date",
                    format!("{date:?} is not a YYYY-MM-DD date"),
                ));
                None
            }
        };
        let row = match get("type").as_str() {
            "activity" => {
                if kind.is_empty() || kind.len() > 50 {
                    errors.push(error(
                        n,
                        "kind",
                        "an activity needs a kind of 1 to 50 characters".into(),
                    ));
                }
                ReportRow::Activity {
                    case_ref,
                    reference,
                    kind,
                    note: get("note"),
                }
            }
            "legal_milestone" => {
                let Some(m) = milestone(&kind) else {
                    errors.push(error(
                        n,
                        "kind",
                        format!(
                            "{kind:?} is not claim_filed, hearing_scheduled, judgment or seizure"
                        ),
                    ));
                    continue;
                };
                let Some(on) = on else {
                    errors.push(error(n, "date", "a legal milestone needs its date".into()));
                    continue;
                };
                ReportRow::Milestone {
                    case_ref,
                    reference,
                    milestone: m,
                    on,
                    note: get("note"),
                }
            }
            "payment" => {
                let currency = match Currency::from_code(&get("currency")) {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(error(n, "currency", e.to_string()));
                        continue;
                    }
                };
                let amount = match Money::parse(&get("amount"), currency) {
                    Ok(a) if a.minor() > 0 => a,
                    Ok(_) => {
                        errors.push(error(n, "amount", "a payment is more than zero".into()));
                        continue;
                    }
                    Err(e) => {
                        errors.push(error(n, "amount", e.to_string()));
                        continue;
                    }
                };
                let Some(on) = on else {
                    errors.push(error(
                        n,
                        "date",
                        "a payment needs the day it was received".into(),
                    ));
                    continue;
                };
                ReportRow::Payment {
                    case_ref,
                    reference,
                    amount,
                    on,
                }
            }
            "return" => {
                let reason = get("note");
                if reason.is_empty() || reason.chars().count() > 500 {
                    errors.push(error(
                        n,
                        "note",
                        "a return needs its reason, 1 to 500 characters".into(),
                    ));
                    continue;
                }
                ReportRow::Return {
                    case_ref,
                    reference,
                    reason,
                }
            }
            other => {
                errors.push(error(
                    n,
                    "type",
                    format!("{other:?} is not activity, legal_milestone, payment or return"),
                ));
                continue;
            }
        };
        if errors.len() == before {
            rows.push(row);
        }
    }
    if errors.is_empty() {
        // After a return the case is no longer the partner's: nothing may follow it.
        let mut returned: HashMap<&str, usize> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            if let Some(at) = returned.get(row.case_ref()) {
                errors.push(error(
                    i + 1,
                    "case_ref",
                    format!(
                        "case {:?} is returned by row {at}: put its return last",
                        row.case_ref()
                    ),
                ));
            }
            if matches!(row, ReportRow::Return { .. }) {
                returned.entry(row.case_ref()).or_insert(i + 1);
            }
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

impl Partners {
    /// Applies a partner's report file: all rows, or (any row wrong) none.
    pub async fn apply_report(
        &self,
        p: &Principal,
        bytes: &[u8],
    ) -> Result<ReportOutcome, DeskError> {
        if p.role != Role::Partner {
            return Err(DeskError::Forbidden {
                role: p.role,
                what: "upload a partner's report (partners only)",
            });
        }
        let rows = match parse(bytes) {
            Ok(rows) => rows,
            Err(errors) => {
                return Ok(ReportOutcome {
                    errors,
                    ..ReportOutcome::default()
                });
            }
        };
        // Every row's case must be placed with the partner before any row is applied;
        // all of the file's cases in one query.
        let refs: BTreeSet<&str> = rows.iter().map(ReportRow::case_ref).collect();
        let placed: HashMap<String, String> = cases::Entity::find()
            .select_only()
            .column(cases::Column::ExternalRef)
            .column(cases::Column::CaseId)
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .filter(cases::Column::ExternalRef.is_in(refs))
            .filter(cases::Column::Partner.eq(p.partner.clone()))
            .into_tuple::<(Option<String>, String)>()
            .all(self.desk.db())
            .await?
            .into_iter()
            .filter_map(|(r, id)| Some((r?, id)))
            .collect();
        // None: a return this partner already made under the row's reference (the case
        // is no longer placed with it, so sending the file again repeats nothing).
        let mut case_ids = Vec::with_capacity(rows.len());
        let mut errors = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let returned = match row {
                ReportRow::Return { reference, .. } if !placed.contains_key(row.case_ref()) => {
                    let key = Self::reported_key(p, "return", reference);
                    self.desk
                        .runtime()
                        .store()
                        .idempotent(&p.tenant, &key)
                        .await
                        .map_err(services::runtime::RuntimeError::from)?
                        .is_some()
                }
                _ => false,
            };
            match placed.get(row.case_ref()) {
                Some(id) => case_ids.push(Some(id.clone())),
                None if returned => case_ids.push(None),
                None => errors.push(RowError {
                    row: i + 1,
                    column: "case_ref".into(),
                    code: "CASE_NOT_FOUND",
                    message: format!("no case {:?} is placed with you", row.case_ref()),
                }),
            }
        }
        if !errors.is_empty() {
            return Ok(ReportOutcome {
                errors,
                ..ReportOutcome::default()
            });
        }
        let mut out = ReportOutcome::default();
        for (row, case_id) in rows.into_iter().zip(case_ids) {
            let Some(case_id) = case_id else {
                out.repeated += 1;
                continue;
            };
            let outcome = match row {
                ReportRow::Activity {
                    reference,
                    kind,
                    note,
                    ..
                } => {
                    let key = Self::reported_key(p, "activity", &reference);
                    self.record_activity(p, &case_id, &kind, &note, Some(key))
                        .await?
                }
                ReportRow::Milestone {
                    reference,
                    milestone,
                    on,
                    note,
                    ..
                } => {
                    self.report_legal_milestone(p, &case_id, milestone, on, &reference, &note)
                        .await?
                }
                ReportRow::Payment {
                    reference,
                    amount,
                    on,
                    ..
                } => {
                    let key = Self::reported_key(p, "payment", &reference);
                    let payment = NewPayment {
                        reference,
                        amount,
                        received_on: Some(on),
                    };
                    self.desk
                        .report_payment(p, &case_id, payment, Some(key))
                        .await?
                }
                ReportRow::Return {
                    reference, reason, ..
                } => {
                    let key = Self::reported_key(p, "return", &reference);
                    self.return_placement(p, &case_id, &reason, Some(key))
                        .await?
                }
            };
            if outcome.repeated {
                out.repeated += 1;
            } else {
                out.applied += 1;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const GOOD: &str = "case_ref,type,date,reference,kind,amount,currency,note
AC-1,activity,2026-12-01,V-1,visit,,,not at home
AC-1,legal_milestone,2026-12-02,22/1931,claim_filed,,,Juzgado 3
AC-2,payment,2026-12-03,P-77,,150000.50,COP,
";

    #[test]
    fn a_good_file_reads_every_row() {
        let rows = parse(GOOD.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert!(
            matches!(&rows[2], ReportRow::Payment { amount, .. } if amount.minor() == 15_000_050)
        );
    }

    #[test]
    fn each_bad_row_is_named_with_its_column() {
        let bad = "case_ref,type,date,reference,kind,amount,currency
AC-1,payment,2026-12-03,P-1,,12.345,COP
AC-1,payment,2026-12-03,P-2,,10,XXX
,activity,2026-12-01,V-1,visit,,
AC-1,legal_milestone,yesterday,L-1,claim_filed,,
AC-1,call,2026-12-01,C-1,,,
AC-1,activity,2026-12-01,V-2,visit,,
";
        let errors = parse(bad.as_bytes()).unwrap_err();
        let at: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(
            at,
            [
                (1, "amount"),
                (2, "currency"),
                (3, "case_ref"),
                (4, "date"),
                (4, "date"),
                (5, "type")
            ]
        );
        assert!(
            parse(b"type,reference\nactivity,x\n").is_err(),
            "no case_ref column"
        );
    }

    #[test]
    fn a_return_is_its_cases_last_row() {
        let file = "case_ref,type,date,reference,kind,note
AC-1,return,,R-1,,debtor moved abroad
AC-1,activity,2026-12-01,V-1,visit,
AC-2,return,,R-2,,
";
        let errors = parse(file.as_bytes()).unwrap_err();
        let at: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(at, [(3, "note")]);
        let file = "case_ref,type,date,reference,kind,note
AC-1,return,,R-1,,debtor moved abroad
AC-1,activity,2026-12-01,V-1,visit,
";
        let errors = parse(file.as_bytes()).unwrap_err();
        assert_eq!((errors[0].row, errors[0].column.as_str()), (2, "case_ref"));
        assert!(
            errors[0].message.contains("returned by row 1"),
            "{}",
            errors[0].message
        );
        let good = "case_ref,type,date,reference,kind,note
AC-1,activity,2026-12-01,V-1,visit,
AC-1,return,,R-1,,debtor moved abroad
";
        assert!(
            matches!(&parse(good.as_bytes()).unwrap()[1], ReportRow::Return { reason, .. } if reason == "debtor moved abroad")
        );
    }

    proptest! {
        /// Whatever the bytes, reading either yields rows or names errors; it never
        /// panics, and an error-free read has a row per record.
        #[test]
        fn any_bytes_read_or_are_refused(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut file = b"case_ref,type,date,reference,kind,amount,currency\n".to_vec();
            file.extend(body);
            match parse(&file) {
                Ok(rows) => prop_assert!(rows.len() <= MAX_ROWS),
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }
    }
}
