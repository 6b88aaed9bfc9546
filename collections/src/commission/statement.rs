//! A partner's statement for a period: a line per payment it earns on (a reversal takes
//! the commission back, as a negative line), a line per legal milestone with a fee, and
//! totals per currency. The caller decides which payments and milestones belong to the
//! partner and the period; this only prices them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Contract, Rate, Stage};
use crate::money::{Currency, Money, MoneyError};

/// A payment allocated on a case while the partner earned on it, or its reversal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    pub case_ref: String,
    /// The day it was allocated (or reversed).
    pub on: NaiveDate,
    pub reference: String,
    /// Positive; a reversal's line carries it negated.
    pub amount: Money,
    pub reversal: bool,
    pub stage: Stage,
    pub days_past_due: u32,
}

/// A legal milestone the partner reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MilestoneReported {
    pub case_ref: String,
    pub on: NaiveDate,
    pub reference: String,
    /// One of [`super::FEE_MILESTONES`].
    pub milestone: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Commission,
    /// A reversed payment's commission, taken back.
    Reversal,
    Fee,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::Commission => "commission",
            LineKind::Reversal => "reversal",
            LineKind::Fee => "fee",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: LineKind,
    pub case_ref: String,
    pub on: NaiveDate,
    /// The payment's or the milestone's reference.
    pub reference: String,
    /// The payment (negative for a reversal); none for a fee.
    pub payment: Option<Money>,
    pub rate: Option<Rate>,
    /// A fee line's milestone.
    pub milestone: Option<String>,
    /// What the partner earns on the line: commission or fee (negative: taken back).
    pub amount: Money,
}

/// One currency's sums; `payable = commission + fees`, `net = collected - payable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub currency: Currency,
    /// Payments less reversals.
    pub collected: Money,
    pub commission: Money,
    pub fees: Money,
    /// What the creditor owes the partner.
    pub payable: Money,
    /// What the creditor keeps of what was collected.
    pub net: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// By day, then case, then reference.
    pub lines: Vec<Line>,
    /// By currency code.
    pub totals: Vec<Totals>,
}

/// Prices the payments and milestones under `contract` (milestones without a fee
/// earn nothing and get no line). Fails only on sums out of range.
pub fn statement(
    contract: &Contract,
    collected: &[Collected],
    milestones: &[MilestoneReported],
) -> Result<Statement, MoneyError> {
    let mut lines = Vec::with_capacity(collected.len() + milestones.len());
    for c in collected {
        let rate = contract.rate(c.stage, c.days_past_due);
        let payment = if c.reversal {
            Money::from_minor(-c.amount.minor(), c.amount.currency())
        } else {
            c.amount
        };
        lines.push(Line {
            kind: if c.reversal {
                LineKind::Reversal
            } else {
                LineKind::Commission
            },
            case_ref: c.case_ref.clone(),
            on: c.on,
            reference: c.reference.clone(),
            payment: Some(payment),
            rate: Some(rate),
            milestone: None,
            amount: rate.of(payment),
        });
    }
    for m in milestones {
        if let Some(fee) = contract.fee(&m.milestone) {
            lines.push(Line {
                kind: LineKind::Fee,
                case_ref: m.case_ref.clone(),
                on: m.on,
                reference: m.reference.clone(),
                payment: None,
                rate: None,
                milestone: Some(m.milestone.clone()),
                amount: fee,
            });
        }
    }
    lines.sort_by(|a, b| {
        (a.on, &a.case_ref, &a.reference, a.kind as u8).cmp(&(
            b.on,
            &b.case_ref,
            &b.reference,
            b.kind as u8,
        ))
    });
    Ok(Statement {
        totals: totals(&lines)?,
        lines,
    })
}

/// Sums of the lines per currency: exactly the lines, each already rounded.
pub fn totals(lines: &[Line]) -> Result<Vec<Totals>, MoneyError> {
    let mut by: BTreeMap<&'static str, Totals> = BTreeMap::new();
    for line in lines {
        let currency = line.amount.currency();
        let zero = Money::zero(currency);
        let t = by.entry(currency.code()).or_insert(Totals {
            currency,
            collected: zero,
            commission: zero,
            fees: zero,
            payable: zero,
            net: zero,
        });
        match line.kind {
            LineKind::Fee => t.fees = t.fees.checked_add(line.amount)?,
            LineKind::Commission | LineKind::Reversal => {
                t.commission = t.commission.checked_add(line.amount)?;
                if let Some(p) = line.payment {
                    t.collected = t.collected.checked_add(p)?;
                }
            }
        }
    }
    by.into_values()
        .map(|mut t| {
            t.payable = t.commission.checked_add(t.fees)?;
            t.net = t.collected.checked_sub(t.payable)?;
            Ok(t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::{Fee, Rates};
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::from_code(code).unwrap())
    }

    fn contract() -> Contract {
        Contract {
            rates: Rates::Stage {
                extrajudicial: Rate::parse("12.5").unwrap(),
                legal: Rate::parse("20").unwrap(),
            },
            fees: vec![Fee {
                milestone: "claim_filed".into(),
                amount: money(15_000_000, "COP"),
            }],
        }
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn paid(reference: &str, minor: i64, code: &str, stage: Stage, reversal: bool) -> Collected {
        Collected {
            case_ref: "AC-1".into(),
            on: day(3),
            reference: reference.into(),
            amount: money(minor, code),
            reversal,
            stage,
            days_past_due: 200,
        }
    }

    #[test]
    fn a_month_is_priced_line_by_line() {
        let s = statement(
            &contract(),
            &[
                paid("P-1", 10_000_050, "COP", Stage::Extrajudicial, false),
                paid("P-2", 5_000_000, "COP", Stage::Legal, false),
                paid("P-1", 10_000_050, "COP", Stage::Extrajudicial, true),
                paid("U-1", 1_005, "USD", Stage::Extrajudicial, false),
            ],
            &[
                MilestoneReported {
                    case_ref: "AC-1".into(),
                    on: day(2),
                    reference: "22/1931".into(),
                    milestone: "claim_filed".into(),
                },
                MilestoneReported {
                    case_ref: "AC-1".into(),
                    on: day(2),
                    reference: "H-1".into(),
                    milestone: "hearing_scheduled".into(),
                },
            ],
        )
        .unwrap();
        let earned: Vec<(LineKind, i64)> =
            s.lines.iter().map(|l| (l.kind, l.amount.minor())).collect();
        assert_eq!(
            earned,
            [
                (LineKind::Fee, 15_000_000),
                (LineKind::Commission, 1_250_006),
                (LineKind::Reversal, -1_250_006),
                (LineKind::Commission, 1_000_000),
                (LineKind::Commission, 126),
            ]
        );
        let cop = &s.totals[0];
        assert_eq!(cop.collected, money(5_000_000, "COP"));
        assert_eq!(cop.commission, money(1_000_000, "COP"));
        assert_eq!(cop.fees, money(15_000_000, "COP"));
        assert_eq!(cop.payable, money(16_000_000, "COP"));
        assert_eq!(cop.net, money(-11_000_000, "COP"));
        assert_eq!(s.totals[1].commission, money(126, "USD"));
        assert_eq!(s.totals[1].net, money(879, "USD"));
    }

    proptest! {
        /// The totals are exactly the sums of the lines, and no payment earns more
        /// than itself.
        #[test]
        fn totals_are_the_sums_of_the_lines(
            payments in proptest::collection::vec((1i64..1_000_000_000, any::<bool>(), 0u32..3), 0..40),
        ) {
            let collected: Vec<Collected> = payments
                .iter()
                .enumerate()
                .map(|(i, (minor, legal, cur))| {
                    let code = ["COP", "USD", "CLP"][*cur as usize];
                    let stage = if *legal { Stage::Legal } else { Stage::Extrajudicial };
                    paid(&format!("P-{i}"), *minor, code, stage, i % 7 == 6)
                })
                .collect();
            let s = statement(&contract(), &collected, &[]).unwrap();
            for line in &s.lines {
                let p = line.payment.unwrap();
                prop_assert!(line.amount.minor().abs() <= p.minor().abs());
            }
            for t in &s.totals {
                let sum: i64 = s
                    .lines
                    .iter()
                    .filter(|l| l.amount.currency() == t.currency)
                    .map(|l| l.amount.minor())
                    .sum();
                prop_assert_eq!(t.commission.minor() + t.fees.minor(), sum);
                prop_assert_eq!(t.payable.minor(), sum);
                prop_assert_eq!(t.net.minor(), t.collected.minor() - sum);
            }
        }
    }
}
