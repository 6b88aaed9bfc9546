//! Installment plans: the exact schedule of a down payment and N instalments.
//!
//! Rounding: the amount after the down payment is split into N instalments of whole
//! minor units; every instalment but the last is that amount divided by N, rounded
//! down, and the last absorbs the remainder — so the schedule sums exactly to the plan
//! amount and no instalment differs from the others by more than N - 1 minor units.
//!
//! Dates: weekly and fortnightly instalments fall 7 and 14 days apart; monthly ones on
//! the first due date's day of the month, or the month's last day when the month is
//! shorter (31 January → 28/29 February → 31 March). A first due date on the last day of
//! its month makes every instalment fall on a month end (30 April → 31 May).

use chrono::{Datelike, Days, Months, NaiveDate};

use crate::money::{Money, MoneyError};

/// Most instalments one plan may have (thirty years of monthly payments).
pub const MAX_INSTALMENTS: u32 = 360;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Weekly,
    Fortnightly,
    Monthly,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::EnumCount)]
pub enum PlanError {
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("a plan has 1 to {MAX_INSTALMENTS} instalments, not {0}")]
    InstalmentCount(u32),
    #[error("the down payment ({down}) must be less than the plan amount ({total})")]
    DownPaymentTooLarge { down: String, total: String },
    #[error("the down payment must be due before the first instalment")]
    DownPaymentNotFirst,
    #[error("{total} cannot be split into {count} instalments of at least one minor unit")]
    InstalmentsTooSmall { total: String, count: u32 },
    #[error("the instalments add up to {sum}, not to the plan amount {total}")]
    DoesNotAddUp { sum: String, total: String },
    #[error("instalment {0} is not due after the one before it")]
    DatesNotIncreasing(u32),
    #[error("the schedule runs past the last representable date")]
    DateOutOfRange,
}

/// What a debtor and the creditor agree on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanTerms {
    /// The whole amount the plan pays, down payment included.
    pub total: Money,
    /// An amount due first, on its own date.
    pub down_payment: Option<(Money, NaiveDate)>,
    pub instalments: u32,
    pub frequency: Frequency,
    pub first_due: NaiveDate,
}

/// One payment of a plan; number 0 is the down payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Instalment {
    pub number: u32,
    pub due: NaiveDate,
    pub amount: Money,
}

/// The schedule of `terms`.
pub fn schedule(terms: &PlanTerms) -> Result<Vec<Instalment>, PlanError> {
    let total = terms.total.positive()?;
    let n = terms.instalments;
    if !(1..=MAX_INSTALMENTS).contains(&n) {
        return Err(PlanError::InstalmentCount(n));
    }
    let mut out = Vec::with_capacity(n as usize + 1);
    let mut rest = total;
    if let Some((down, due)) = terms.down_payment {
        let down = down.positive()?;
        rest = total.checked_sub(down)?;
        if rest.minor() <= 0 {
            return Err(PlanError::DownPaymentTooLarge {
                down: down.to_string(),
                total: total.to_string(),
            });
        }
        if due >= terms.first_due {
            return Err(PlanError::DownPaymentNotFirst);
        }
        out.push(Instalment {
            number: 0,
            due,
            amount: down,
        });
    }
    let each = rest.minor() / i64::from(n);
    if each == 0 {
        return Err(PlanError::InstalmentsTooSmall {
            total: rest.to_string(),
            count: n,
        });
    }
    let last = rest.minor() - each * i64::from(n - 1);
    for k in 0..n {
        out.push(Instalment {
            number: k + 1,
            due: due_date(terms.first_due, terms.frequency, k)?,
            amount: Money::from_minor(if k + 1 == n { last } else { each }, total.currency()),
        });
    }
    Ok(out)
}

/// The `k`-th due date (0 = the first) of a schedule starting on `first`.
fn due_date(first: NaiveDate, frequency: Frequency, k: u32) -> Result<NaiveDate, PlanError> {
    let due = match frequency {
        Frequency::Weekly => first.checked_add_days(Days::new(7 * u64::from(k))),
        Frequency::Fortnightly => first.checked_add_days(Days::new(14 * u64::from(k))),
        Frequency::Monthly => {
            let month_end =
                first.checked_add_days(Days::new(1)).map(|d| d.month()) != Some(first.month());
            // From the first date each time, so a short month never drags later ones.
            first.checked_add_months(Months::new(k)).and_then(|d| {
                if month_end {
                    last_day_of_month(d)
                } else {
                    Some(d)
                }
            })
        }
    };
    due.ok_or(PlanError::DateOutOfRange)
}

fn last_day_of_month(d: NaiveDate) -> Option<NaiveDate> {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)?
    };
    first_next.pred_opt()
}

/// Checks a schedule agreed by hand: amounts positive and in the plan's currency, due
/// dates strictly increasing, and the sum exactly the plan amount.
pub fn check_schedule(total: Money, instalments: &[Instalment]) -> Result<(), PlanError> {
    let total = total.positive()?;
    if instalments.is_empty() || instalments.len() > MAX_INSTALMENTS as usize + 1 {
        return Err(PlanError::InstalmentCount(
            u32::try_from(instalments.len()).unwrap_or(u32::MAX),
        ));
    }
    let mut sum = Money::zero(total.currency());
    for (i, inst) in instalments.iter().enumerate() {
        sum = sum.checked_add(inst.amount.positive()?)?;
        if i > 0 && inst.due <= instalments[i - 1].due {
            return Err(PlanError::DatesNotIncreasing(inst.number));
        }
    }
    if sum != total {
        return Err(PlanError::DoesNotAddUp {
            sum: sum.to_string(),
            total: total.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::money::Currency;

    fn money(minor: i64, code: &str) -> Money {
        Money::from_minor(minor, Currency::from_code(code).unwrap())
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn terms(total: Money, n: u32, frequency: Frequency, first: NaiveDate) -> PlanTerms {
        PlanTerms {
            total,
            down_payment: None,
            instalments: n,
            frequency,
            first_due: first,
        }
    }

    #[test]
    fn the_last_instalment_absorbs_the_remainder() {
        let s = schedule(&terms(
            money(10_000, "USD"),
            3,
            Frequency::Monthly,
            date(2026, 1, 15),
        ))
        .unwrap();
        let amounts: Vec<i64> = s.iter().map(|i| i.amount.minor()).collect();
        assert_eq!(amounts, vec![3_333, 3_333, 3_334]);
        // CLP has no minor unit: whole pesos.
        let s = schedule(&terms(
            money(1_000, "CLP"),
            3,
            Frequency::Weekly,
            date(2026, 1, 5),
        ))
        .unwrap();
        let amounts: Vec<i64> = s.iter().map(|i| i.amount.minor()).collect();
        assert_eq!(amounts, vec![333, 333, 334]);
        assert_eq!(s[2].due, date(2026, 1, 19));
    }

    #[test]
    fn month_ends_stay_month_ends() {
        let s = schedule(&terms(
            money(400, "USD"),
            4,
            Frequency::Monthly,
            date(2026, 1, 31),
        ))
        .unwrap();
        let dues: Vec<NaiveDate> = s.iter().map(|i| i.due).collect();
        assert_eq!(
            dues,
            vec![
                date(2026, 1, 31),
                date(2026, 2, 28),
                date(2026, 3, 31),
                date(2026, 4, 30)
            ]
        );
        let s = schedule(&terms(
            money(300, "USD"),
            3,
            Frequency::Monthly,
            date(2026, 4, 30),
        ))
        .unwrap();
        let dues: Vec<NaiveDate> = s.iter().map(|i| i.due).collect();
        assert_eq!(
            dues,
            vec![date(2026, 4, 30), date(2026, 5, 31), date(2026, 6, 30)]
        );
        let s = schedule(&terms(
            money(300, "USD"),
            3,
            Frequency::Monthly,
            date(2027, 12, 31),
        ))
        .unwrap();
        assert_eq!(s[2].due, date(2028, 2, 29));
    }

    #[test]
    fn a_down_payment_comes_first() {
        let mut t = terms(
            money(100_000, "USD"),
            4,
            Frequency::Fortnightly,
            date(2026, 2, 1),
        );
        t.down_payment = Some((money(20_000, "USD"), date(2026, 1, 20)));
        let s = schedule(&t).unwrap();
        assert_eq!(s[0].number, 0);
        assert_eq!(s[0].amount.minor(), 20_000);
        assert!(s[1..].iter().all(|i| i.amount.minor() == 20_000));
        assert_eq!(s[4].due, date(2026, 3, 15));
    }

    #[test]
    fn impossible_plans_are_refused() {
        let first = date(2026, 1, 1);
        assert!(matches!(
            schedule(&terms(money(100, "USD"), 0, Frequency::Weekly, first)),
            Err(PlanError::InstalmentCount(0))
        ));
        assert!(matches!(
            schedule(&terms(money(2, "USD"), 3, Frequency::Weekly, first)),
            Err(PlanError::InstalmentsTooSmall { .. })
        ));
        let mut t = terms(money(100, "USD"), 2, Frequency::Weekly, first);
        t.down_payment = Some((money(100, "USD"), date(2025, 12, 31)));
        assert!(matches!(
            schedule(&t),
            Err(PlanError::DownPaymentTooLarge { .. })
        ));
        t.down_payment = Some((money(10, "USD"), first));
        assert!(matches!(schedule(&t), Err(PlanError::DownPaymentNotFirst)));
        t.down_payment = Some((money(10, "EUR"), date(2025, 12, 31)));
        assert!(matches!(
            schedule(&t),
            Err(PlanError::Money(MoneyError::CurrencyMismatch { .. }))
        ));
    }

    #[test]
    fn hand_made_schedules_must_add_up() {
        let total = money(1_000, "USD");
        let inst = |number, day, minor| Instalment {
            number,
            due: date(2026, 1, day),
            amount: money(minor, "USD"),
        };
        assert!(check_schedule(total, &[inst(1, 1, 500), inst(2, 8, 500)]).is_ok());
        assert!(matches!(
            check_schedule(total, &[inst(1, 1, 500), inst(2, 8, 400)]),
            Err(PlanError::DoesNotAddUp { .. })
        ));
        assert!(matches!(
            check_schedule(total, &[inst(1, 8, 500), inst(2, 8, 500)]),
            Err(PlanError::DatesNotIncreasing(2))
        ));
        assert!(matches!(
            check_schedule(total, &[inst(1, 1, 1_000), inst(2, 8, 0)]),
            Err(PlanError::Money(MoneyError::NotPositive(_)))
        ));
    }

    proptest! {
        /// A schedule sums exactly to the plan amount, all but the last instalment are
        /// equal, the last is at most n - 1 minor units more, and dates increase.
        #[test]
        fn schedules_sum_exactly(total in 1i64..10_000_000_000, n in 1u32..=MAX_INSTALMENTS,
                                 down in prop::option::of(1i64..1_000_000),
                                 freq in prop::sample::select(vec![Frequency::Weekly, Frequency::Fortnightly, Frequency::Monthly]),
                                 day in 1u32..=31, month in 1u32..=12) {
            let first = NaiveDate::from_ymd_opt(2026, month, day).or_else(|| NaiveDate::from_ymd_opt(2026, month, 28)).unwrap();
            let mut t = terms(money(total, "COP"), n, freq, first);
            let day_before = first.pred_opt().unwrap();
            t.down_payment = down.filter(|d| *d < total).map(|d| (money(d, "COP"), day_before));
            match schedule(&t) {
                Ok(s) => {
                    let sum: i64 = s.iter().map(|i| i.amount.minor()).sum();
                    prop_assert_eq!(sum, total);
                    prop_assert_eq!(check_schedule(t.total, &s), Ok(()));
                    let regular: Vec<&Instalment> = s.iter().filter(|i| i.number > 0).collect();
                    prop_assert_eq!(regular.len(), n as usize);
                    let each = regular[0].amount.minor();
                    prop_assert!(regular[..regular.len() - 1].iter().all(|i| i.amount.minor() == each));
                    let last = regular[regular.len() - 1].amount.minor();
                    prop_assert!(last >= each && last - each < i64::from(n));
                    prop_assert!(regular.windows(2).all(|w| w[0].due < w[1].due));
                }
                Err(PlanError::InstalmentsTooSmall { .. }) => {
                    let rest = total - t.down_payment.map_or(0, |(d, _)| d.minor());
                    prop_assert!(rest < i64::from(n));
                }
                Err(e) => prop_assert!(false, "{e}"),
            }
        }
    }
}
