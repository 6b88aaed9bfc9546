//! A partner's contract and its monthly statement. The statement is derived from the
//! case journals, not kept: the payments allocated and the legal milestones reported on
//! the cases the partner has held, priced by [`collections::commission`] under the
//! contract as it stands when the statement is asked for.
//!
//! Attribution (decision 0027): a payment earns the partner commission when it is
//! allocated while the case's placement with the partner is accepted and not yet ended
//! (returned, recalled, closed), or when it is a payment the partner itself reported
//! and the creditor confirmed (whenever that happens: the partner collected it). A
//! reversal of such a payment takes its commission back in the month it is reversed.
//! A fee is earned for each legal milestone a user of the partner reported. The month
//! of a line is the UTC day of its journal entry (when the payment was allocated, not
//! the day the debtor says they paid: a statement once issued does not change).
//! The stage is legal once any legal milestone was reported on the case; days past due
//! count from the case's `delinquentSince` to the day it was placed with the partner.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use collections::commission::statement::{self, Collected, MilestoneReported, Statement};
use collections::commission::{Contract, Stage};
use collections::money::Money;
use orm::entities::{case_journal, cases};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use services::access::{Operation, Principal, Role};
use services::case::{CaseEvent, CaseFact, LedgerFact};
use services::desk::{DeskError, require};

use crate::{Partner, Partners};

/// A partner's statement for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerStatement {
    pub partner_id: String,
    pub partner_name: String,
    /// `YYYY-MM`.
    pub month: String,
    pub statement: Statement,
}

/// The contract a partner's row holds, if any.
pub fn contract_of(partner: &Partner) -> Result<Option<Contract>, DeskError> {
    partner
        .contract
        .as_deref()
        .map(|json| {
            serde_json::from_str(json).map_err(|e| {
                DeskError::Invalid(format!(
                    "partner {}'s contract does not read: {e}",
                    partner.partner_id
                ))
            })
        })
        .transpose()
}

/// The first day of a `YYYY-MM` month and of the next.
pub fn month_bounds(month: &str) -> Result<(NaiveDate, NaiveDate), DeskError> {
    let bad = || DeskError::Invalid(format!("month {month:?} is not YYYY-MM"));
    if month.len() != 7 || month.as_bytes()[4] != b'-' {
        return Err(bad());
    }
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((first, next))
}

/// The journal entries a statement reads.
const STATEMENT_EVENTS: [&str; 11] = [
    "CasePlaced",
    "PlacementAccepted",
    "PlacementReturned",
    "PlacementRecalled",
    "PlacementClosed",
    "PlacementDeclined",
    "PaymentRecorded",
    "PaymentReported",
    "ReportedPaymentConfirmed",
    "PaymentReversed",
    "LegalMilestoneReported",
];

impl Partners {
    /// Sets (or, none, clears) a partner's contract (admins, supervisors).
    pub async fn set_contract(
        &self,
        p: &Principal,
        partner_id: &str,
        contract: Option<Contract>,
    ) -> Result<Partner, DeskError> {
        require(p, Operation::ManagePartners, "set partner contracts")?;
        let json = match &contract {
            Some(c) => {
                c.check().map_err(|e| DeskError::Invalid(e.to_string()))?;
                Some(serde_json::to_string(c).map_err(|e| {
                    DeskError::Invalid(format!("the contract does not serialise: {e}"))
                })?)
            }
            None => None,
        };
        let partner = self.get(p, partner_id).await?;
        let mut row = partner.into_active_model();
        row.contract = Set(json);
        Ok(row.update(self.desk.db()).await?)
    }

    /// The partner's contract, for its own users and the creditor's admins and
    /// supervisors (agents and auditors see partners, not what they earn).
    pub fn may_read_contract(p: &Principal, partner: &Partner) -> Result<(), DeskError> {
        if p.role == Role::Partner {
            return if p.partner.as_deref() == Some(&partner.partner_id) {
                Ok(())
            } else {
                Err(DeskError::PartnerNotFound(partner.partner_id.clone()))
            };
        }
        require(p, Operation::ManagePartners, "read partner contracts")
    }

    /// The partner's statement for `month` (`YYYY-MM`): a partner reads its own only.
    pub async fn statement(
        &self,
        p: &Principal,
        partner_id: &str,
        month: &str,
    ) -> Result<PartnerStatement, DeskError> {
        let (first, next) = month_bounds(month)?;
        let partner = self.get(p, partner_id).await?;
        Self::may_read_contract(p, &partner)?;
        let contract = contract_of(&partner)?.ok_or_else(|| {
            DeskError::Conflict(format!(
                "partner {} has no contract: set one (setPartnerContract) first",
                partner.name
            ))
        })?;
        let (collected, milestones) = self.earned(p, &partner.partner_id, first, next).await?;
        let statement = statement::statement(&contract, &collected, &milestones)?;
        Ok(PartnerStatement {
            partner_id: partner.partner_id,
            partner_name: partner.name,
            month: month.to_string(),
            statement,
        })
    }

    /// What the partner earned on between `first` and `next` (exclusive), by the rules
    /// in the module's comment, read from the journals of the cases it was offered.
    async fn earned(
        &self,
        p: &Principal,
        partner_id: &str,
        first: NaiveDate,
        next: NaiveDate,
    ) -> Result<(Vec<Collected>, Vec<MilestoneReported>), DeskError> {
        let db = self.desk.db();
        // The partner's id is a UUID: a substring of the payload finds its placements
        // without JSON operators both back-ends would spell differently; each entry is
        // then read to be sure.
        let placed = Query::select()
            .column(case_journal::Column::CaseId)
            .from(case_journal::Entity)
            .and_where(case_journal::Column::EventType.eq("CasePlaced"))
            .and_where(case_journal::Column::Payload.contains(partner_id))
            .to_owned();
        let cases: Vec<cases::Model> = cases::Entity::find()
            .filter(cases::Column::Tenant.eq(p.tenant.as_str()))
            .filter(cases::Column::CaseId.in_subquery(placed))
            .all(db)
            .await?;
        if cases.is_empty() {
            return Ok(Default::default());
        }
        let end: DateTime<Utc> = next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let ids: BTreeSet<&str> = cases.iter().map(|c| c.case_id.as_str()).collect();
        let entries = case_journal::Entity::find()
            .filter(case_journal::Column::CaseId.is_in(ids))
            .filter(case_journal::Column::EventType.is_in(STATEMENT_EVENTS))
            .filter(case_journal::Column::RecordedAt.lt(end))
            .order_by_asc(case_journal::Column::CaseId)
            .order_by_asc(case_journal::Column::Seq)
            .all(db)
            .await?;
        let by_id: HashMap<&str, &cases::Model> =
            cases.iter().map(|c| (c.case_id.as_str(), c)).collect();
        let mut out = (Vec::new(), Vec::new());
        let mut walk: Option<CaseWalk<'_>> = None;
        for e in &entries {
            if walk.as_ref().is_none_or(|w| w.case_id != e.case_id) {
                let Some(case) = by_id.get(e.case_id.as_str()) else {
                    continue;
                };
                walk = Some(CaseWalk::new(case, partner_id, first, next));
            }
            if let Some(w) = walk.as_mut() {
                w.step(e, &mut out)?;
            }
        }
        Ok(out)
    }
}

/// One case's journal read in order, for one partner.
struct CaseWalk<'a> {
    case_id: String,
    case_ref: String,
    delinquent_since: Option<NaiveDate>,
    partner: &'a str,
    first: NaiveDate,
    next: NaiveDate,
    /// The placement with the partner is accepted and not ended.
    active: bool,
    placed_on: Option<NaiveDate>,
    legal: bool,
    /// Reported payments: reference → (amount, reported by this partner).
    reports: HashMap<String, (Money, bool)>,
    /// Payments the partner earned on, for their reversals.
    earned: HashMap<String, (Money, Stage, u32)>,
}

impl<'a> CaseWalk<'a> {
    fn new(case: &cases::Model, partner: &'a str, first: NaiveDate, next: NaiveDate) -> Self {
        CaseWalk {
            case_id: case.case_id.clone(),
            case_ref: case
                .external_ref
                .clone()
                .unwrap_or_else(|| case.case_id.clone()),
            delinquent_since: case.delinquent_since,
            partner,
            first,
            next,
            active: false,
            placed_on: None,
            legal: false,
            reports: HashMap::new(),
            earned: HashMap::new(),
        }
    }

    fn days_past_due(&self) -> u32 {
        match (self.delinquent_since, self.placed_on) {
            (Some(since), Some(placed)) => {
                u32::try_from((placed - since).num_days().max(0)).unwrap_or(u32::MAX)
            }
            _ => 0,
        }
    }

    fn step(
        &mut self,
        e: &case_journal::Model,
        (collected, milestones): &mut (Vec<Collected>, Vec<MilestoneReported>),
    ) -> Result<(), DeskError> {
        let event: CaseEvent = serde_json::from_str(&e.payload).map_err(|err| {
            DeskError::Invalid(format!(
                "journal entry {}#{} does not read: {err}",
                e.case_id, e.seq
            ))
        })?;
        let CaseEvent::Fact { fact } = event else {
            return Ok(());
        };
        let on = e.recorded_at.date_naive();
        let in_month = on >= self.first && on < self.next;
        let mine = |partner: &str| partner == self.partner;
        match fact {
            CaseFact::Placed { partner, .. } if mine(&partner) => self.placed_on = Some(on),
            CaseFact::PlacementAccepted { partner } if mine(&partner) => self.active = true,
            CaseFact::PlacementReturned { partner, .. }
            | CaseFact::PlacementRecalled { partner, .. }
            | CaseFact::PlacementClosed { partner, .. }
            | CaseFact::PlacementDeclined { partner, .. }
                if mine(&partner) =>
            {
                self.active = false;
            }
            CaseFact::LegalMilestoneReported {
                milestone,
                reference,
                ..
            } => {
                self.legal = true;
                let by_partner = e.actor.rsplit_once('@').is_some_and(|(_, p)| mine(p));
                if by_partner && in_month {
                    milestones.push(MilestoneReported {
                        case_ref: self.case_ref.clone(),
                        on,
                        reference,
                        milestone: milestone.as_str().to_string(),
                    });
                }
            }
            CaseFact::Ledger(LedgerFact::PaymentReported {
                reference,
                amount,
                partner,
                ..
            }) => {
                let by_partner = mine(&partner);
                self.reports.insert(reference, (amount, by_partner));
            }
            CaseFact::Ledger(LedgerFact::PaymentRecorded {
                reference, amount, ..
            }) if self.active => self.earn(reference, amount, on, in_month, collected),
            CaseFact::Ledger(LedgerFact::ReportedPaymentConfirmed { reference, .. }) => {
                if let Some((amount, by_partner)) = self.reports.get(&reference).copied()
                    && (by_partner || self.active)
                {
                    self.earn(reference, amount, on, in_month, collected);
                }
            }
            CaseFact::Ledger(LedgerFact::PaymentReversed { reference, .. }) => {
                if let Some((amount, stage, days_past_due)) = self.earned.remove(&reference)
                    && in_month
                {
                    collected.push(Collected {
                        case_ref: self.case_ref.clone(),
                        on,
                        reference,
                        amount,
                        reversal: true,
                        stage,
                        days_past_due,
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn earn(
        &mut self,
        reference: String,
        amount: Money,
        on: NaiveDate,
        in_month: bool,
        collected: &mut Vec<Collected>,
    ) {
        let stage = if self.legal {
            Stage::Legal
        } else {
            Stage::Extrajudicial
        };
        let days_past_due = self.days_past_due();
        self.earned
            .insert(reference.clone(), (amount, stage, days_past_due));
        if in_month {
            collected.push(Collected {
                case_ref: self.case_ref.clone(),
                on,
                reference,
                amount,
                reversal: false,
                stage,
                days_past_due,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_yyyy_mm() {
        let d = |y, m| NaiveDate::from_ymd_opt(y, m, 1).unwrap();
        assert_eq!(month_bounds("2026-12").unwrap(), (d(2026, 12), d(2027, 1)));
        assert_eq!(month_bounds("2026-02").unwrap(), (d(2026, 2), d(2026, 3)));
        for bad in ["2026-13", "2026-1", "26-12", "2026/12", "", "2026-12-01"] {
            assert!(month_bounds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fee_milestones_are_the_legal_proceedings_names() {
        use services::case::legal::LegalMilestone as M;
        let names: Vec<&str> = [M::ClaimFiled, M::HearingScheduled, M::Judgment, M::Seizure]
            .iter()
            .map(|m| m.as_str())
            .collect();
        assert_eq!(names, collections::commission::FEE_MILESTONES);
    }
}
