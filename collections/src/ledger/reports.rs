//! Payments a partner reports instead of taking: where the law or the creditor does not
//! let agencies take payments (Mexico, CONDUSEF), an agency tells the creditor what the
//! debtor says they paid, and the creditor confirms it (only then is it a payment,
//! allocated, and the balance moves) or rejects it. A report never changes what is owed.

use chrono::NaiveDate;

use super::{Ledger, LedgerError, PaymentOutcome};
use crate::allocation::AllocationOrder;
use crate::money::Money;

/// A payment a partner reported, and what the creditor decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PaymentReport {
    /// The payment's reference: the confirmed payment keeps it.
    pub reference: String,
    pub amount: Money,
    /// The day the debtor says the money was paid.
    pub received_on: NaiveDate,
    pub reported_on: NaiveDate,
    /// The partner organisation that reported it.
    pub partner: String,
    /// Who at the partner reported it (the acting identity).
    pub reported_by: String,
    pub status: ReportStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReportStatus {
    Pending,
    /// Recorded as a payment on `on`.
    Confirmed {
        by: String,
        on: NaiveDate,
    },
    Rejected {
        by: String,
        on: NaiveDate,
        reason: String,
    },
}

impl ReportStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            ReportStatus::Pending => "pending",
            ReportStatus::Confirmed { .. } => "confirmed",
            ReportStatus::Rejected { .. } => "rejected",
        }
    }
}

impl Ledger {
    /// Every payment reported on the case, oldest first.
    pub fn reports(&self) -> &[PaymentReport] {
        &self.reports
    }

    pub fn report(&self, reference: &str) -> Option<&PaymentReport> {
        self.reports.iter().find(|r| r.reference == reference)
    }

    /// Records a partner's report. It must be a payment the case could take (in its
    /// currency, positive, accounts open) under a reference neither recorded nor
    /// reported before; what is owed does not change.
    pub fn report_payment(&mut self, report: PaymentReport) -> Result<(), LedgerError> {
        let reference = report.reference.as_str();
        if reference.trim().is_empty() || reference.len() > 100 {
            return Err(LedgerError::BadReference);
        }
        if let Some(p) = self.payment(reference) {
            return Err(LedgerError::ReferenceReused {
                reference: reference.to_string(),
                recorded: p.amount.to_string(),
                now: report.amount.to_string(),
            });
        }
        if self.report(reference).is_some() {
            return Err(LedgerError::AlreadyReported(reference.to_string()));
        }
        if self.accounts.is_empty() {
            return Err(LedgerError::NoAccounts);
        }
        Money::zero(self.currency).checked_add(report.amount.positive()?)?;
        self.reports.push(PaymentReport {
            status: ReportStatus::Pending,
            ..report
        });
        Ok(())
    }

    /// The creditor confirms a pending report: it is recorded as a payment (its amount,
    /// its day) allocated in `order`, with the confirmer on the report.
    pub fn confirm_report(
        &mut self,
        reference: &str,
        by: &str,
        on: NaiveDate,
        order: &AllocationOrder,
    ) -> Result<PaymentOutcome, LedgerError> {
        let (amount, received_on) = {
            let r = self.pending(reference)?;
            (r.amount, r.received_on)
        };
        let outcome = self.record(reference, amount, received_on, order)?;
        self.decide_report(
            reference,
            ReportStatus::Confirmed {
                by: by.to_string(),
                on,
            },
        );
        Ok(outcome)
    }

    /// The creditor rejects a pending report (the money never arrived); it stays on
    /// record with the reason.
    pub fn reject_report(
        &mut self,
        reference: &str,
        by: &str,
        on: NaiveDate,
        reason: &str,
    ) -> Result<(), LedgerError> {
        self.pending(reference)?;
        self.decide_report(
            reference,
            ReportStatus::Rejected {
                by: by.to_string(),
                on,
                reason: reason.to_string(),
            },
        );
        Ok(())
    }

    fn pending(&self, reference: &str) -> Result<&PaymentReport, LedgerError> {
        let r = self
            .report(reference)
            .ok_or_else(|| LedgerError::UnknownReport(reference.to_string()))?;
        if r.status != ReportStatus::Pending {
            return Err(LedgerError::ReportDecided {
                reference: reference.to_string(),
                status: r.status.as_str(),
            });
        }
        Ok(r)
    }

    fn decide_report(&mut self, reference: &str, status: ReportStatus) {
        if let Some(r) = self.reports.iter_mut().find(|r| r.reference == reference) {
            r.status = status;
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ledger::NewAccount;
    use crate::money::{Currency, MoneyError};

    fn cop(minor: i64) -> Money {
        Money::from_minor(minor, Currency::from_code("COP").unwrap())
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 5, d).unwrap()
    }

    fn ledger() -> Ledger {
        let mut l = Ledger::new(Currency::from_code("COP").unwrap());
        l.add_account(NewAccount {
            id: "L-1".into(),
            product: "loan".into(),
            principal: cop(100_000),
            interest: cop(10_000),
            fees: cop(0),
            costs: cop(0),
            delinquent_since: day(1),
            creditor: "bank".into(),
            portfolio: "p".into(),
        })
        .unwrap();
        l
    }

    fn report(reference: &str, minor: i64) -> PaymentReport {
        PaymentReport {
            reference: reference.into(),
            amount: cop(minor),
            received_on: day(10),
            reported_on: day(11),
            partner: "agency".into(),
            reported_by: "partner:pat@agency".into(),
            status: ReportStatus::Pending,
        }
    }

    #[test]
    fn a_report_changes_nothing_owed_until_confirmed() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        l.report_payment(report("R-1", 15_000)).unwrap();
        assert_eq!(l.balance(), cop(110_000));
        assert_eq!(l.payments().count(), 0);
        // Neither reported nor recorded twice under one reference.
        assert_eq!(
            l.report_payment(report("R-1", 15_000)),
            Err(LedgerError::AlreadyReported("R-1".into()))
        );
        assert!(matches!(
            l.record_payment("R-1", cop(15_000), day(12), &order),
            Err(LedgerError::ReportPending(_))
        ));
        let out = l
            .confirm_report("R-1", "agent:alex", day(12), &order)
            .unwrap();
        assert_eq!(out.remaining, cop(95_000));
        assert_eq!(l.payment("R-1").unwrap().received_on, day(10));
        assert_eq!(
            l.report("R-1").unwrap().status,
            ReportStatus::Confirmed {
                by: "agent:alex".into(),
                on: day(12)
            }
        );
        assert_eq!(
            l.confirm_report("R-1", "agent:alex", day(12), &order),
            Err(LedgerError::ReportDecided {
                reference: "R-1".into(),
                status: "confirmed"
            })
        );
        assert!(matches!(
            l.report_payment(report("R-1", 1)),
            Err(LedgerError::ReferenceReused { .. })
        ));
    }

    #[test]
    fn a_rejected_report_stays_on_record_and_changes_nothing() {
        let mut l = ledger();
        let order = AllocationOrder::default();
        l.report_payment(report("R-2", 5_000)).unwrap();
        l.reject_report("R-2", "supervisor:sam", day(12), "not in the bank")
            .unwrap();
        assert_eq!(l.balance(), cop(110_000));
        assert!(matches!(
            l.confirm_report("R-2", "agent:alex", day(12), &order),
            Err(LedgerError::ReportDecided { .. })
        ));
        assert_eq!(
            l.reject_report("R-9", "x", day(12), "y"),
            Err(LedgerError::UnknownReport("R-9".into()))
        );
        let usd = Money::from_minor(5, Currency::from_code("USD").unwrap());
        assert!(matches!(
            l.report_payment(PaymentReport {
                amount: usd,
                ..report("R-3", 0)
            }),
            Err(LedgerError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
        assert!(matches!(
            l.report_payment(report("R-4", 0)),
            Err(LedgerError::Money(MoneyError::NotPositive(_)))
        ));
    }

    proptest! {
        /// Whatever is reported, rejected or confirmed, the balance is what the
        /// confirmed reports alone would have left.
        #[test]
        fn only_confirmed_reports_move_the_balance(
            ops in prop::collection::vec((1i64..50_000, 0u8..3), 0..12)
        ) {
            let mut l = ledger();
            let order = AllocationOrder::default();
            let mut confirmed = 0i64;
            for (i, (minor, decision)) in ops.into_iter().enumerate() {
                let reference = format!("R-{i}");
                l.report_payment(report(&reference, minor)).unwrap();
                match decision {
                    0 => {}
                    1 => l.reject_report(&reference, "s", day(12), "no").unwrap(),
                    _ => {
                        l.confirm_report(&reference, "s", day(12), &order).unwrap();
                        confirmed += minor;
                    }
                }
            }
            prop_assert_eq!(l.balance().minor(), (110_000 - confirmed).max(0));
            prop_assert_eq!(l.credit().minor(), (confirmed - 110_000).max(0));
        }
    }
}
